"""Benchmark `everymetre import claims`: a million realistic rows into PostgreSQL, beside the ceiling of a raw
`COPY` of the same file by psql into a plain staging table; and into SQLite.

    .venv/bin/python bench/import.py [--rows 1000000] [--sqlite-rows 200000] [--batch-size 20000]
                                     [--pg-url postgresql://postgres@127.0.0.1:5432/everymetre_bench_import]
                                     [--verify] [--keep DIR]

The rows (names from `everymetre.demo.vocab`, oblasts and cities from `everymetre.kernel.geography`, valid
RNOKPPs computed column-wise like `make_rnokpp`, valid IBANs, Ukrainian headers and words as a CNAP export
would have them, ~1 % of rows with a typo or an impossible date) are written to a CSV with the mapping in
examples/import/mapping.toml; generating them is not timed. The PostgreSQL database is dropped and created
afresh (schema by `everymetre db upgrade`). Timed: the import end to end (read, validate, write with the audit
trail), then `psql -c "\\copy staging FROM file CSV HEADER"` into an unindexed table of text columns (the
ceiling the issue names), then the store floor: psql loading exactly the rows the import wrote (the six tables
of the claim and its trail, and the search keys and word index: about twenty rows and thirty index entries per
input row) into the same schema, which is what the database itself needs for them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from everymetre.demo import vocab  # noqa: E402
from everymetre.kernel.geography import OBLASTS  # noqa: E402
from everymetre.kernel.iban import make_ua_iban  # noqa: E402

MAPPING = ROOT / "examples" / "import" / "mapping.toml"
HEADERS = ["Номер заяви", "Прізвище", "Ім'я", "По батькові", "Дата народження", "РНОКПП", "Телефон", "IBAN", "Частка",
           "Область", "Населений пункт", "Вулиця", "Будинок", "Квартира", "Реєстраційний номер об'єкта", "Тип об'єкта",
           "Загальна площа", "Дата пошкодження", "Вид заяви", "Повторне пошкодження", "Попередня заява"]
WEIGHTS = np.array([-1, 5, 7, 9, 4, 6, 10, 5, 7])


def _pick(rng: np.random.Generator, items, n: int, weights=None) -> np.ndarray:
    p = None if weights is None else np.asarray(weights, float) / np.sum(weights)
    return rng.choice(len(items), n, p=p)


def make_rows(n: int, seed: int = 2024, today: date | None = None) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    today = today or datetime.now(UTC).date()
    female = rng.random(n) < 0.55
    sur_i = _pick(rng, vocab.SURNAMES, n, [s[2] for s in vocab.SURNAMES])
    surname = np.where(female, np.array([s[1] for s in vocab.SURNAMES])[sur_i], np.array([s[0] for s in vocab.SURNAMES])[sur_i])
    male_given = np.array([g[0] for g in vocab.MALE_GIVEN])[_pick(rng, vocab.MALE_GIVEN, n, [g[1] for g in vocab.MALE_GIVEN])]
    fem_given = np.array([g[0] for g in vocab.FEMALE_GIVEN])[_pick(rng, vocab.FEMALE_GIVEN, n, [g[1] for g in vocab.FEMALE_GIVEN])]
    given = np.where(female, fem_given, male_given)
    pat_i = rng.integers(0, len(vocab.PATRONYMICS), n)
    patronymic = np.where(female, np.array([p[1] for p in vocab.PATRONYMICS])[pat_i], np.array([p[0] for p in vocab.PATRONYMICS])[pat_i])
    # birth dates 1940..2004 and their RNOKPP (days since 1899-12-31, serial, sex digit, check digit)
    born = np.datetime64("1940-01-01") + rng.integers(0, 365 * 64, n).astype("timedelta64[D]")
    days = (born - np.datetime64("1899-12-31")).astype(np.int64)
    serial = rng.integers(0, 1000, n)
    ninth = (serial % 5) * 2 + (~female).astype(np.int64)
    digits = np.stack([days // 10**4 % 10, days // 1000 % 10, days // 100 % 10, days // 10 % 10, days % 10,
                       serial // 100, serial // 10 % 10, serial % 10, ninth], axis=1)
    check = (digits @ WEIGHTS) % 11 % 10
    typo = rng.random(n) < 0.005  # a mistyped check digit
    check = np.where(typo, (check + 1) % 10, check)
    rnokpp_num = days * 10**5 + serial * 100 + ninth * 10 + check
    # IBANs: 80 % give one, drawn from a pool of valid numbers (a pool keeps generation quick)
    pool = np.array([make_ua_iban(b, a) for b, a in zip(rng.choice(["300528", "305299", "322001", "320649", "380805"], 200_000),
                                                         rng.integers(10**9, 10**14, 200_000), strict=True)])
    iban = np.where(rng.random(n) < 0.8, pool[rng.integers(0, len(pool), n)], "")
    phone_op = np.array(["50", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99"])[rng.integers(0, 11, n)]
    # home: oblast weighted by damage, one of its cities
    ob_i = _pick(rng, OBLASTS, n, [o.damage_weight for o in OBLASTS])
    counts = np.array([len(o.cities) for o in OBLASTS])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cities = np.array([c for o in OBLASTS for c in o.cities])
    city = cities[offsets[ob_i] + (rng.random(n) * counts[ob_i]).astype(np.int64)]
    oblast_name = np.array([o.name_uk for o in OBLASTS])[ob_i]
    kind_r = rng.random(n)
    kind = np.where(kind_r < 0.5, "квартира", np.where(kind_r < 0.95, "будинок", "кімната"))
    is_flat = kind != "будинок"
    area = np.where(kind == "кімната", rng.integers(1100, 3000, n), np.where(is_flat, rng.integers(2800, 12000, n), rng.integers(4500, 26000, n)))
    span = (today - date(2022, 2, 24)).days - 10
    damage = np.datetime64("2022-02-24") + (span * rng.random(n) ** 1.8).astype(np.int64).astype("timedelta64[D]")
    before_war = rng.random(n) < 0.003
    damage = np.where(before_war, np.datetime64("2021-12-01"), damage)
    ck = np.array(["повідомлення", "ремонт", "ремонт", "знищене"])[_pick(rng, range(4), n, [45, 40, 40, 12])]
    redamage = rng.random(n) < 0.01
    idx = np.arange(n)
    prev_idx = np.maximum(idx - rng.integers(1, 5000, n), 0)
    ids = pl.Series(idx).cast(pl.String).str.zfill(8)
    df = pl.DataFrame({
        "Номер заяви": "CNAP-" + ids,
        "Прізвище": surname, "Ім'я": given, "По батькові": patronymic,
        "Дата народження": pl.Series(born).dt.strftime("%d.%m.%Y"),
        "РНОКПП": pl.Series(rnokpp_num).cast(pl.String).str.zfill(10),
    })
    df = df.with_columns(
        pl.concat_str([pl.lit("+380"), pl.Series(phone_op), pl.Series(rng.integers(0, 10**7, n)).cast(pl.String).str.zfill(7)]).alias("Телефон"),
        pl.Series("IBAN", iban),
        pl.Series("Частка", np.where(rng.random(n) < 0.3, "1/2", "1")),
        pl.Series("Область", oblast_name),
        pl.Series("Населений пункт", city),
        pl.Series("Вулиця", np.char.add(np.char.add(np.array(vocab.STREET_KINDS)[rng.integers(0, len(vocab.STREET_KINDS), n)], " "),
                                        np.array(vocab.STREETS)[rng.integers(0, len(vocab.STREETS), n)])),
        pl.Series("Будинок", rng.integers(1, 180, n)).cast(pl.String),
        pl.Series("Квартира", np.where(is_flat, rng.integers(1, 220, n).astype(str), "")),
        pl.Series("Реєстраційний номер об'єкта", np.where(rng.random(n) < 0.7, rng.integers(10**12, 10**13, n).astype(str), "")),
        pl.Series("Тип об'єкта", kind),
        pl.concat_str([pl.Series(area // 100).cast(pl.String), pl.lit(","), pl.Series(area % 100).cast(pl.String).str.zfill(2)]).alias("Загальна площа"),
        pl.Series("Дата пошкодження", damage).dt.strftime("%d.%m.%Y"),
        pl.Series("Вид заяви", ck),
        pl.Series("Повторне пошкодження", np.where(redamage, "так", "")),
        pl.when(pl.Series(redamage) & (pl.Series(idx) > 0)).then("CNAP-" + pl.Series(prev_idx).cast(pl.String).str.zfill(8)).alias("Попередня заява"),
    )
    return df.select(HEADERS)


def pg(url: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = u.set(database="postgres")
    return u.render_as_string(hide_password=False), admin.render_as_string(hide_password=False)


def psql_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def run_import(url: str, csv: Path, batch_size: int, defer_indexes: bool = False) -> tuple[float, object]:
    from everymetre.importer import load_mapping
    from everymetre.importer import run_import as do_import
    from everymetre.store.db import make_engine
    from everymetre.store.migrate import upgrade

    eng = make_engine(url)
    upgrade(eng)
    t = time.perf_counter()
    report = do_import(eng, csv, load_mapping(MAPPING), "bench", batch_size=batch_size,
                       rejects_path=csv.with_suffix(".rejects.csv"), defer_indexes=defer_indexes)
    elapsed = time.perf_counter() - t
    eng.dispose()
    return elapsed, report


def breakdown(report) -> str:
    t = report.timings
    keys = ["read", "validate", "resolve", "write"]
    parts = [f"{k} {t[k]:.2f}s" for k in keys if k in t]
    inner = [f"{k} {v:.2f}s" for k, v in sorted(t.items(), key=lambda kv: -kv[1]) if k not in keys]
    return "; ".join(parts) + "\n      inside write: " + ", ".join(inner)


def store_floor(url: str, admin: str, tmp: Path, tables: list[str] | None = None) -> tuple[float, dict[str, int]]:
    """The database's own time for what the import wrote: every row of the six tables, exported after the import
    and loaded by psql into a fresh database with the same schema (indexes, keys, constraints), in one transaction.
    The gap between this and the raw COPY is the schema's cost; the gap between the import and this is ours."""
    from sqlalchemy import create_engine, text

    from everymetre.importer.writer import COLUMNS

    counts: dict[str, int] = {}
    script = ["BEGIN;"]
    for table, cols in COLUMNS.items():
        if tables is not None and table not in tables:
            continue
        f = tmp / f"floor-{table}.csv"
        subprocess.run(["psql", "-q", psql_url(url), "-c", f"\\copy (SELECT {', '.join(cols)} FROM {table}) TO '{f}' CSV"],
                       check=True)
        counts[table] = sum(1 for _ in f.open(encoding="utf-8"))
        script.append(f"\\copy {table} ({', '.join(cols)}) FROM '{f}' CSV")
    script.append("COMMIT;")
    sql = tmp / "floor.sql"
    sql.write_text("\n".join(script) + "\n", encoding="utf-8")
    floor_url = url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1] + "_floor"
    with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{floor_url.rsplit("/", 1)[1]}"'))
        conn.execute(text(f'CREATE DATABASE "{floor_url.rsplit("/", 1)[1]}"'))
    from everymetre.store.db import make_engine
    from everymetre.store.migrate import upgrade

    eng = make_engine(floor_url)
    upgrade(eng)
    eng.dispose()
    t = time.perf_counter()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", psql_url(floor_url), "-f", str(sql)], check=True)
    return time.perf_counter() - t, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--sqlite-rows", type=int, default=200_000)
    ap.add_argument("--batch-size", type=int, default=20_000)
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/everymetre_bench_import"))
    ap.add_argument("--defer-indexes", action=argparse.BooleanOptionalAction, default=True,
                    help="PostgreSQL import with --defer-indexes (default; --no-defer-indexes keeps them)")
    ap.add_argument("--verify", action="store_true", help="also run the audit verification (slow: it rehashes every event)")
    ap.add_argument("--keep", type=Path, help="write the generated files here and keep them")
    args = ap.parse_args()

    from sqlalchemy import create_engine, text

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="everymetre-bench-import-"))
    tmp.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    rows = make_rows(args.rows)
    csv = tmp / "claims.csv"
    rows.write_csv(csv)
    sqlite_csv = tmp / "claims-sqlite.csv"
    rows.head(args.sqlite_rows).write_csv(sqlite_csv)
    print(f"generated {args.rows:,} rows ({csv.stat().st_size / 1e6:.0f} MB CSV) in {time.perf_counter() - t:.1f} s (not timed)")

    url, admin = pg(args.pg_url)
    dbname = url.rsplit("/", 1)[1]
    with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}"'))
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    elapsed, report = run_import(url, csv, args.batch_size, args.defer_indexes)
    rate = args.rows / elapsed
    print(f"PostgreSQL import{' (indexes deferred)' if args.defer_indexes else ''}: {args.rows:,} rows in {elapsed:.2f} s = {rate:,.0f} rows/s "
          f"({report.imported:,} imported, {report.rejected:,} rejected, batches of {args.batch_size:,})")
    print("   " + breakdown(report))

    cols = ", ".join(f'c{i} text' for i in range(len(HEADERS)))
    subprocess.run(["psql", "-q", psql_url(url), "-c", f"DROP TABLE IF EXISTS staging; CREATE TABLE staging ({cols})"], check=True)
    t = time.perf_counter()
    subprocess.run(["psql", "-q", psql_url(url), "-c", f"\\copy staging FROM '{csv}' CSV HEADER"], check=True)
    raw = time.perf_counter() - t
    raw_rate = args.rows / raw
    print(f"raw COPY ceiling (psql \\copy into an unindexed table of text columns): {raw:.2f} s = {raw_rate:,.0f} rows/s")
    print(f"import / raw COPY = {rate / raw_rate:.2f}")
    floor = store_floor(url, admin, tmp)
    print(f"store floor (psql \\copy of the rows the import wrote, {sum(floor[1].values()):,} in {len(floor[1])} tables, into the same "
          f"schema, one connection): {floor[0]:.2f} s = {args.rows / floor[0]:,.0f} input rows/s")
    print(f"import / store floor = {floor[0] / elapsed:.2f} (speed: target at least 1.5)")
    from everymetre.importer.writer import COLUMNS

    claim_tables = [t for t in COLUMNS if not t.startswith("claim_search")]
    six = store_floor(url, admin, tmp, claim_tables)
    print(f"   (for comparison with earlier runs: the floor of the {len(claim_tables)} claim and audit tables alone, "
          f"without the search keys and word index, {sum(six[1].values()):,} rows: {six[0]:.2f} s; "
          f"import / that = {six[0] / elapsed:.2f})")
    if args.verify:
        t = time.perf_counter()
        r = subprocess.run([str(Path(sys.executable).with_name("everymetre")), "audit", "verify"], capture_output=True,
                           text=True, env={**os.environ, "EVERYMETRE_DATABASE_URL": url})
        print(f"audit verify: {r.stdout.strip() or r.stderr.strip()[-200:]} ({time.perf_counter() - t:.0f} s)")

    db = tmp / "bench.db"
    for p in (db, db.with_suffix(".db-wal"), db.with_suffix(".db-shm")):
        p.unlink(missing_ok=True)
    elapsed, report = run_import(f"sqlite:///{db}", sqlite_csv, args.batch_size)
    print(f"SQLite import: {args.sqlite_rows:,} rows in {elapsed:.2f} s = {args.sqlite_rows / elapsed:,.0f} rows/s "
          f"({report.imported:,} imported, {report.rejected:,} rejected)")
    print("   " + breakdown(report))


if __name__ == "__main__":
    main()
