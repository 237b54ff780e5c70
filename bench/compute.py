"""Benchmark `everymetre compute` against the store floor (issue #19), on PostgreSQL and SQLite.

    .venv/bin/python bench/compute.py [--claims 200000] [--sqlite-claims 100000]
                                      [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_compute]
                                      [--skip-pg] [--skip-sqlite]

Setup (not timed): claims imported by `everymetre import claims` (bench/import.py's realistic rows), each given
an inspection act and moved to `inspected` by SQL. Before compute the store is copied (PostgreSQL: CREATE
DATABASE ... TEMPLATE; SQLite: the file). Timed: `do_compute` end to end (read the claims, the vectorised
rules, the writes: claims' amounts and rules records, audit events, chain heads, the "assessed" notices in the
outbox). Then the store floor, measured in the same run: exactly the rows compute wrote, exported afterwards,
loaded into the copy by the database's own bulk path in one transaction (PostgreSQL: psql `\\copy` into a
staging table + one UPDATE ... FROM for claims and chain heads, `\\copy` for audit events and notifications;
SQLite: the sqlite3 driver's executemany of the same statements). Printed: both rates and compute / floor
(issue #19's target: at least 0.5).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

CLAIM_COLS = ("id", "version", "state", "state_changed_at", "assessed_amount_kopiykas", "assessment")
AUDIT_COLS = ("chain", "seq", "claim_id", "actor_id", "action", "at", "payload", "prev_hash", "hash")
HEAD_COLS = ("chain", "last_seq", "last_hash")


def _notification_cols(engine) -> list[str]:
    from everymetre.notifications.models import Notification

    return [c.name for c in Notification.__table__.columns if c.name != "id"]


def prepare(url: str, n: int, tmp: Path) -> None:
    """n imported claims, each with an inspection act, in state inspected."""
    import importlib

    from sqlalchemy import text

    from everymetre.accounts.actions import do_create_user
    from everymetre.store.db import make_engine, session_factory

    bench_import = importlib.import_module("import")
    csv = tmp / "claims.csv"
    bench_import.make_rows(n).write_csv(csv)
    bench_import.run_import(url, csv, 20_000)
    eng = make_engine(url)
    with session_factory(eng)() as s:
        uid = do_create_user(s, None, "inspector@bench.org", "a bench password long", "inspector", ["kyivska"]).id
    true = "true" if eng.dialect.name == "postgresql" else "1"
    with eng.begin() as c:
        c.execute(text(
            "INSERT INTO inspection_acts (claim_id, inspector_id, method, inspected_on, damage_category, damaged_elements, "
            "works, works_total_kopiykas, technical_report_required, notes, created_at) "
            f"SELECT id, {uid}, 'on_site', damage_date, 'moderate', '[]', '[]', (id % 40 + 1) * 250000, {true}, '', "
            "CURRENT_TIMESTAMP FROM claims"))
        c.execute(text("UPDATE claims SET state = 'inspected', version = version + 1"))
        # the import leaves what a certificate needs (rooms, year built) for the inspection to establish
        c.execute(text("UPDATE properties SET rooms = COALESCE(rooms, 1 + id % 4), year_built = COALESCE(year_built, 1950 + id % 70)"))
    eng.dispose()


def timed_compute(url: str) -> tuple[float, int]:
    from everymetre.claims.assessment import do_compute
    from everymetre.store.db import make_engine

    eng = make_engine(url)
    t = time.perf_counter()
    report = do_compute(eng)
    elapsed = time.perf_counter() - t
    eng.dispose()
    return elapsed, report.assessed


def _psql(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def pg_floor(url: str, floor_url: str, tmp: Path, max_event: int, max_note: int, note_cols: list[str]) -> tuple[float, dict[str, int]]:
    def export(query: str, name: str) -> Path:
        f = tmp / f"{name}.csv"
        subprocess.run(["psql", "-q", _psql(url), "-c", f"\\copy ({query}) TO '{f}' CSV"], check=True)
        return f

    files = {
        "claims": export(f"SELECT {', '.join(CLAIM_COLS).replace('version', 'version - 1')} FROM claims WHERE state = 'assessed'", "claims"),
        "audit": export(f"SELECT {', '.join(AUDIT_COLS)} FROM audit_events WHERE id > {max_event}", "audit"),
        "heads": export(f"SELECT {', '.join(HEAD_COLS)} FROM audit_chains WHERE chain IN "
                        f"(SELECT chain FROM audit_events WHERE id > {max_event})", "heads"),
        "notes": export(f"SELECT {', '.join(note_cols)} FROM notifications WHERE id > {max_note}", "notes"),
    }
    counts = {k: sum(1 for _ in f.open(encoding="utf-8")) for k, f in files.items()}
    script = f"""BEGIN;
CREATE TEMP TABLE s_claims ON COMMIT DROP AS SELECT {', '.join(CLAIM_COLS)} FROM claims WITH NO DATA;
\\copy s_claims FROM '{files['claims']}' CSV
UPDATE claims AS t SET state = s.state, state_changed_at = s.state_changed_at, assessed_amount_kopiykas = s.assessed_amount_kopiykas,
  assessment = s.assessment, version = t.version + 1 FROM s_claims AS s WHERE t.id = s.id AND t.version = s.version;
\\copy audit_events ({', '.join(AUDIT_COLS)}) FROM '{files['audit']}' CSV
CREATE TEMP TABLE s_heads ON COMMIT DROP AS SELECT {', '.join(HEAD_COLS)} FROM audit_chains WITH NO DATA;
\\copy s_heads FROM '{files['heads']}' CSV
UPDATE audit_chains AS t SET last_seq = s.last_seq, last_hash = s.last_hash FROM s_heads AS s WHERE t.chain = s.chain;
\\copy notifications ({', '.join(note_cols)}) FROM '{files['notes']}' CSV
COMMIT;
"""
    sql = tmp / "floor.sql"
    sql.write_text(script, encoding="utf-8")
    t = time.perf_counter()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", _psql(floor_url), "-f", str(sql)], check=True)
    return time.perf_counter() - t, counts


def sqlite_floor(db: Path, floor_db: Path, max_event: int, max_note: int, note_cols: list[str]) -> tuple[float, dict[str, int]]:
    src = sqlite3.connect(db)
    claims = src.execute("SELECT state, state_changed_at, assessed_amount_kopiykas, assessment, id, version - 1 "
                         "FROM claims WHERE state = 'assessed'").fetchall()
    audit = src.execute(f"SELECT {', '.join(AUDIT_COLS)} FROM audit_events WHERE id > ?", (max_event,)).fetchall()
    heads = src.execute("SELECT last_seq, last_hash, chain FROM audit_chains WHERE chain IN "
                        "(SELECT chain FROM audit_events WHERE id > ?)", (max_event,)).fetchall()
    notes = src.execute(f"SELECT {', '.join(note_cols)} FROM notifications WHERE id > ?", (max_note,)).fetchall()
    src.close()
    dst = sqlite3.connect(floor_db, isolation_level=None)
    t = time.perf_counter()
    dst.execute("BEGIN IMMEDIATE")
    dst.executemany("UPDATE claims SET state = ?, state_changed_at = ?, assessed_amount_kopiykas = ?, assessment = ?, "
                    "version = version + 1 WHERE id = ? AND version = ?", claims)
    dst.executemany(f"INSERT INTO audit_events ({', '.join(AUDIT_COLS)}) VALUES ({', '.join('?' * len(AUDIT_COLS))})", audit)
    dst.executemany("UPDATE audit_chains SET last_seq = ?, last_hash = ? WHERE chain = ?", heads)
    dst.executemany(f"INSERT INTO notifications ({', '.join(note_cols)}) VALUES ({', '.join('?' * len(note_cols))})", notes)
    dst.execute("COMMIT")
    elapsed = time.perf_counter() - t
    dst.close()
    return elapsed, {"claims": len(claims), "audit": len(audit), "heads": len(heads), "notes": len(notes)}


def _max(url: str, table: str) -> int:
    from sqlalchemy import text

    from everymetre.store.db import make_engine

    eng = make_engine(url)
    with eng.connect() as c:
        v = int(c.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar() or 0)
    eng.dispose()
    return v


def report(store: str, n: int, elapsed: float, floor: float, counts: dict[str, int]) -> None:
    rate, floor_rate = n / elapsed, n / floor
    print(f"{store}: compute assessed {n:,} claims in {elapsed:.2f} s = {rate:,.0f} claims/s")
    print(f"{store}: store floor (the same {counts['claims']:,} claim updates, {counts['audit']:,} audit rows, "
          f"{counts['heads']:,} chain heads, {counts['notes']:,} outbox rows by the database's bulk path): "
          f"{floor:.2f} s = {floor_rate:,.0f} claims/s")
    print(f"{store}: compute / store floor = {rate / floor_rate:.2f}  (issue #19 target >= 0.50)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=200_000)
    ap.add_argument("--sqlite-claims", type=int, default=100_000)
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_compute"))
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    args = ap.parse_args()
    from sqlalchemy import create_engine, text

    tmp = Path(tempfile.mkdtemp(prefix="everymetre-bench-compute-"))
    os.environ.setdefault("EVERYMETRE_DATA_DIR", str(tmp / "data"))
    print(f"load before: {os.getloadavg()[0]:.1f} (1-min average, {os.cpu_count()} cores)")
    if not args.skip_pg:
        from sqlalchemy.engine import make_url

        u = make_url(args.pg_url)
        admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
        name, floor_name = u.database, f"{u.database}_floor"
        url = u.render_as_string(hide_password=False)
        floor_url = u.set(database=floor_name).render_as_string(hide_password=False)
        with admin.connect() as c:
            for db in (floor_name, name):
                c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        t = time.perf_counter()
        prepare(url, args.claims, tmp)
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{floor_name}" TEMPLATE "{name}"'))
        print(f"PostgreSQL: {args.claims:,} inspected claims prepared in {time.perf_counter() - t:.0f} s (not timed)")
        max_event, max_note = _max(url, "audit_events"), _max(url, "notifications")
        note_cols = _notification_cols(None)
        elapsed, n = timed_compute(url)
        floor, counts = pg_floor(url, floor_url, tmp, max_event, max_note, note_cols)
        report("PostgreSQL", n, elapsed, floor, counts)
        with admin.connect() as c:
            for db in (floor_name, name):
                c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
    if not args.skip_sqlite:
        db = tmp / "bench.db"
        url = f"sqlite:///{db}"
        t = time.perf_counter()
        prepare(url, args.sqlite_claims, tmp)
        floor_db = tmp / "floor.db"
        shutil.copy(db, floor_db)
        print(f"SQLite: {args.sqlite_claims:,} inspected claims prepared in {time.perf_counter() - t:.0f} s (not timed)")
        max_event, max_note = _max(url, "audit_events"), _max(url, "notifications")
        elapsed, n = timed_compute(url)
        floor, counts = sqlite_floor(db, floor_db, max_event, max_note, _notification_cols(None))
        report("SQLite", n, elapsed, floor, counts)
    print(f"load after: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
