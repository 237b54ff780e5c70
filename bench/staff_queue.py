"""The staff work queue at scale: first page of the queue over 100,000 demo claims, with GET /health as baseline.

Loads N demo claims (everymetre.demo.generate) into a temporary SQLite database, signs a staff user in to the
pages, then times in-process (TestClient, no network) GET requests of:

- /api/v1/health                                   the ratio baseline (a trivial request through the same stack)
- /staff/queue                                     the officer's default "My work" view, counts included
- /staff/queue?view=all&sort=waiting               every state, longest waiting first
- /staff/queue?state=assigned&priority=combatant   a filtered view
- /staff/queue?view=all&page=500                   a deep page

and the search (GET /api/v1/claims?q=... with a bearer token, and /staff/queue?q=...) by a reference, an RNOKPP,
a common surname in Cyrillic and in Latin, a full name, an address (street and building, with and without the
hromada) and a registry number taken from the store, each as the demo officer (every oblast, one by one) and as
the auditor (a national role),

and prints median and p95 in ms, and each as a multiple of the health check's median.

    .venv/bin/python bench/staff_queue.py [--claims 100000] [--runs 30] [--db PATH | --url postgresql+psycopg://...]

With `--store postgresql` the database is `bench_queue` on 127.0.0.1 (more than 100,000 claims: 100,000 are
generated and copied by SQL with their search keys and word index, see --replicate). With `--users N` the views are timed under load instead: the app
is served by `everymetre serve --workers 2` and `wrk` (N connections, one view at a time for --seconds) reports
each view's rate, median and p95 beside GET /api/v1/health's.

    .venv/bin/python bench/staff_queue.py --store postgresql --claims 1000000 --users 16
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `queue`: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

VIEWS = (
    "/staff/queue",
    "/staff/queue?view=all&sort=waiting",
    "/staff/queue?view=all&sort=newest",
    "/staff/queue?state=assigned&priority=combatant",
    "/staff/queue?view=all&sort=deadline",
    "/staff/queue?view=all&page=50",
    "/staff/queue?view=all&page=500",
    "/staff/queue?view=all&overdue=1",
    "/staff/queue?view=all&oblast=kyivska&sort=waiting",
    "/api/v1/claims",
    "/api/v1/claims?state=assigned",
    "/api/v1/claims?oblast=kyivska",
    "/api/v1/claims?overdue=true&oblast=kharkivska",
    "/api/v1/claims?kind=destroyed_housing_application&priority=disability",
)


def timings(client, url: str, runs: int, headers: dict[str, str] | None = None) -> list[float]:
    client.get(url, headers=headers)  # warm caches and templates
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url, headers=headers)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--db", help="reuse this SQLite file (generated on first use)")
    parser.add_argument("--url", help="a database URL instead (e.g. PostgreSQL; generated on first use)")
    parser.add_argument("--only-search", action="store_true", help="time only the search views")
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", type=int, default=0, help="concurrent users (wrk connections) against a served app")
    parser.add_argument("--workers", type=int, default=2, help="with --users: server worker processes")
    parser.add_argument("--seconds", type=float, default=5, help="with --users: seconds per view")
    parser.add_argument("--port", type=int, default=8060, help="with --users: the server's port")
    parser.add_argument("--replicate", type=int, default=0,
                        help="PostgreSQL: copy the generated claims (homes, owners, search keys) by SQL until there are "
                             "this many times as many (quicker than generating them; copies share names and numbers)")
    args = parser.parse_args()
    if args.store == "postgresql" and not args.url:
        args.url = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_queue"
    generate_n = args.claims
    if not args.replicate:
        args.replicate = 1
        if args.url and args.url.startswith("postgresql") and args.claims > 100_000:
            generate_n, args.replicate = 100_000, -(-args.claims // 100_000)

    tmp = Path(tempfile.mkdtemp(prefix="everymetre-bench-queue-"))
    db = Path(args.db) if args.db else tmp / "queue.db"
    os.environ["EVERYMETRE_DATABASE_URL"] = args.url or f"sqlite:///{db}"
    os.environ["EVERYMETRE_DATA_DIR"] = str(tmp / "data")
    os.environ.setdefault("EVERYMETRE_SECRET_KEY", "bench-only-secret-key-0123456789abcdef")

    from fastapi.testclient import TestClient

    from everymetre.api.app import create_app
    from everymetre.config import get_settings
    from everymetre.demo.generate import DEMO_PASSWORD, generate, has_claims
    from everymetre.store.db import engine_for
    from everymetre.store.migrate import upgrade

    engine = engine_for(os.environ["EVERYMETRE_DATABASE_URL"])
    upgrade(engine)
    if not has_claims(engine):
        t = time.perf_counter()
        generate(engine, generate_n)
        print(f"loaded {generate_n:,} demo claims into {args.url or db} in {time.perf_counter() - t:.1f} s")
    with engine.connect() as conn:
        from sqlalchemy import text as sql_text

        have = conn.execute(sql_text("SELECT count(*) FROM claims")).scalar_one()
    if args.replicate > 1 and have <= generate_n:  # not copied yet (the demo makes a few claims fewer than asked)
        t = time.perf_counter()
        replicate(engine, args.replicate)
        print(f"replicated the claims to {args.replicate}x in {time.perf_counter() - t:.1f} s")
    with engine.connect() as conn:
        from sqlalchemy import text

        n = conn.execute(text("SELECT count(*) FROM claims")).scalar_one()
        conn.execute(text("ANALYZE"))
        conn.commit()
        searches = search_urls(conn)
    print(f"claims in the store: {n:,}")
    if args.users:
        load(args, searches)
        return

    app = create_app(get_settings())
    with TestClient(app) as client, TestClient(app) as national:
        for c, email in ((client, "officer@demo.everymetre.org"), (national, "auditor@demo.everymetre.org")):
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/signin").text).group(1)
            r = c.post("/signin", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token},
                       follow_redirects=False)
            assert r.status_code == 303, r.text
        health = timings(client, "/api/v1/health", args.runs)
        base = statistics.median(health)
        print(f"\n{'GET':52} {'median ms':>10} {'p95 ms':>8} {'x health':>9}")
        print(f"{'/api/v1/health':52} {base:10.1f} {p95(health):8.1f} {1.0:9.1f}")
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from everymetre.accounts.models import User
        from everymetre.api.security import issue_token

        with Session(engine) as session:
            bearers = {}
            for who in ("officer", "auditor"):
                uid = session.execute(select(User.id).where(User.email == f"{who}@demo.everymetre.org")).scalar_one()
                bearers[who] = {"Authorization": f"Bearer {issue_token(session, get_settings(), uid)}"}
        views = [] if args.only_search else [(v, v, "officer") for v in VIEWS]
        for label, q in searches:
            for who in ("officer", "auditor"):  # the demo officer works in every oblast; the auditor is national
                views += [(f"{who}: /api/v1/claims?q={label}", f"/api/v1/claims?{urlencode({'q': q})}", who),
                          (f"{who}: /staff/queue?q={label}", f"/staff/queue?{urlencode({'q': q})}", who)]
        for label, url, who in views:
            values = timings(client if who == "officer" else national, url, args.runs,
                             bearers[who] if url.startswith("/api/") else None)
            med = statistics.median(values)
            print(f"{label:52} {med:10.1f} {p95(values):8.1f} {med / base:9.1f}")


WRK_SCRIPT = """
wrk.headers["Accept"] = "text/html,application/json"
%s
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%d\\n", summary.requests, summary.duration,
                         latency:percentile(50) / 1000, latency:percentile(95) / 1000,
                         summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def load(args, searches: list[tuple[str, str]]) -> None:
    """Serve the app (`everymetre serve --workers N`) and time each view with wrk, N users at once."""
    import subprocess

    import httpx

    env = {**os.environ}
    everymetre = str(Path(sys.executable).with_name("everymetre"))
    server = subprocess.Popen([everymetre, "serve", "--port", str(args.port), "--workers", str(args.workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        from everymetre.demo.generate import DEMO_PASSWORD

        with httpx.Client(base_url=base) as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/signin").text).group(1)
            r = c.post("/signin", data={"email": "officer@demo.everymetre.org", "password": DEMO_PASSWORD,
                                        "csrf_token": token}, follow_redirects=False)
            assert r.status_code == 303, r.text
            cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
            bearer = c.post("/api/v1/auth/token", data={"username": "officer@demo.everymetre.org",
                                                        "password": DEMO_PASSWORD}).json()["access_token"]
        views = [] if args.only_search else [(v, v) for v in VIEWS]
        for label, q in searches:
            views += [(f"/api/v1/claims?q={label}", f"/api/v1/claims?{urlencode({'q': q})}"),
                      (f"/staff/queue?q={label}", f"/staff/queue?{urlencode({'q': q})}")]
        print(f"\n{args.users} users (wrk connections), {args.workers} server workers, {args.seconds:.0f} s per view, "
              f"load before: {os.getloadavg()[0]:.2f}")
        print(f"{'GET':52} {'req/s':>7} {'median ms':>10} {'p95 ms':>8} {'x health':>9} {'errors':>6}")
        base_med = None
        for label, url in [("/api/v1/health", "/api/v1/health"), *views]:
            header = (f'wrk.headers["Authorization"] = "Bearer {bearer}"' if url.startswith("/api/")
                      else f'wrk.headers["Cookie"] = "{cookie}"')
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
                fh.write(WRK_SCRIPT % header)
            out = subprocess.run(["nice", "wrk", "-t2", f"-c{args.users}", f"-d{args.seconds:.0f}s", "--timeout", "10s",
                                  "-s", fh.name, base + url], capture_output=True, text=True, check=True).stdout
            m = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)", out)
            assert m, out
            n, dur, med, p95_ms, errors = int(m[1]), int(m[2]), float(m[3]), float(m[4]), int(m[5])
            base_med = base_med or med
            print(f"{label:52} {n / (dur / 1e6):7.0f} {med:10.1f} {p95_ms:8.1f} {med / base_med:9.1f} {errors:6d}")
        print(f"load after: {os.getloadavg()[0]:.2f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def replicate(engine, times: int) -> None:
    """Copy persons, properties, claims, ownerships and the search keys and word index `times - 1` times (ids
    shifted), PostgreSQL."""
    from sqlalchemy import func, insert, literal, select, text

    import everymetre.store.schema  # noqa: F401
    from everymetre.store.base import Base

    names = ("persons", "properties", "claims", "ownerships", "claim_search", "claim_search_words")
    tables = [Base.metadata.tables[n] for n in names]

    def key(t):  # the column that orders a table's rows by claim (or its own id)
        return t.c.claim_id if t.name.startswith("claim_search") else t.c.id

    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM claims WHERE id > 0")).scalar_one() == 0:
            return
        top = max(conn.execute(select(func.max(key(t)))).scalar() or 0 for t in tables) + 1
        # rebuilt once at the end: quicker than per row
        conn.execute(text("DROP INDEX ix_claim_search_words_claim"))
        conn.execute(text("ALTER TABLE claim_search_words DROP CONSTRAINT pk_claim_search_words"))
        for k in range(1, times):
            shift = literal(k * top)
            for t in tables:
                cols = []
                for c in t.columns:
                    fk_to = {fk.column.table.name for fk in c.foreign_keys}
                    moved = (c.primary_key and c.name == "id") or (fk_to & set(names))
                    cols.append((c + shift).label(c.name) if moved else c)
                conn.execute(insert(t).from_select([c.name for c in t.columns], select(*cols).where(key(t) < top)))
        for t in ("persons", "properties", "claims", "ownerships"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        conn.execute(text("ALTER TABLE claim_search_words ADD CONSTRAINT pk_claim_search_words "
                          "PRIMARY KEY (word_key, oblast, claim_id)"))
        conn.execute(text("CREATE INDEX ix_claim_search_words_claim ON claim_search_words (claim_id, word_key)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # the visibility map autovacuum keeps: index-only scans stay index-only


def search_urls(conn) -> list[tuple[str, str]]:
    """(label, query) pairs with values that exist in the store: the searches a person would type."""
    from sqlalchemy import text

    from everymetre.kernel.identifiers import claim_reference
    from everymetre.kernel.translit import translit_uk

    cid, year = conn.execute(text("SELECT id, ref_year FROM claims ORDER BY id DESC LIMIT 1")).one()
    rnokpp, name = conn.execute(text(
        "SELECT p.rnokpp, p.full_name FROM persons p JOIN ownerships o ON o.person_id = p.id "
        "WHERE p.rnokpp IS NOT NULL ORDER BY p.id DESC LIMIT 1")).one()
    street, building, hromada, registry = conn.execute(text(
        "SELECT street, building, hromada, registry_number FROM properties WHERE registry_number IS NOT NULL "
        "ORDER BY id DESC LIMIT 1")).one()
    surname = name.split()[0]
    return [("<reference>", claim_reference(year, cid)), ("<rnokpp>", rnokpp), ("<surname, Cyrillic>", surname),
            ("<surname, Latin>", translit_uk(surname) or surname), ("<full name, Latin>", translit_uk(name) or name),
            ("<street building>", f"{street} {building}"), ("<street building, hromada>", f"{street} {building} {hromada}"),
            ("<registry number>", registry)]


if __name__ == "__main__":
    main()
