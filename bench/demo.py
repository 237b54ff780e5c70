"""Benchmark `everymetre demo`: each stage of the demo's run through the real actions, against a bulk-load floor.

Usage: .venv/bin/python bench/demo.py [--claims N] [--db-url URL] [--no-checks]

Into a fresh database (a temporary SQLite file, or --db-url, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/bench_demo: its schema is dropped and recreated) the demo is run
as `everymetre demo --claims N` runs it (`demo.generate.generate`), each of its stages timed (wall and this
process's CPU): plan (the synthetic input), file, verify, inspect, compute, inspect after compute, decide
(bulk decisions, award proposals and the second member's bulk approval), the demo citizen's claims, certify,
pay, payouts. Then `ledger check`, `audit verify` and `rules recheck` are run through the CLI (their exit codes
printed; --no-checks skips them).

The floor, measured in the same run: the same N claims' rows (homes, claims, people) written by a bare
executemany INSERT (store.bulk.insert_rows) into copies of those tables, no actions, no audit, no ledger. Each
stage prints its time and its ratio to that floor; the load average (os.getloadavg) is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def _floor(engine: Any, n: int, seed: int) -> tuple[float, float]:
    """Seconds (wall, CPU) to insert n claims' homes, claims and people with a bare executemany, into copies of
    the tables (dropped after)."""
    from sqlalchemy import MetaData

    from everymetre.claims.models import Claim, Person, Property
    from everymetre.demo.generate import _Generator
    from everymetre.store.bulk import insert_rows
    from everymetre.store.types import utcnow

    gen = _Generator(random.Random(seed), utcnow())
    plans = [gen.plan() for _ in range(n)]
    meta = MetaData()
    copies = {}
    for model in (Property, Claim, Person):
        t = model.__table__.to_metadata(meta, name=f"floor_{model.__tablename__}")
        t.constraints = {c for c in t.constraints if c.__class__.__name__ == "PrimaryKeyConstraint"}
        t.foreign_keys.clear()
        t.indexes.clear()  # names are per database: the floor has none (a floor)
        for c in t.columns:
            c.foreign_keys.clear()
        copies[model] = t
    meta.create_all(engine)
    at = datetime.now(UTC)
    homes = [{"id": i, **p.data.property.model_dump()} for i, p in enumerate(plans, 1)]
    claims = [dict(id=i, ref_year=p.times[0].year, kind=p.data.kind.value, state="auto_checked", version=1,
                   oblast=p.data.property.oblast, property_id=i, filed_as_representative=False, channel="cnap",
                   damage_date=p.data.damage_date, description=p.data.description, priority_mask=p.data.priority_mask,
                   is_redamage=False, created_at=p.times[0], submitted_at=p.times[0], state_changed_at=p.times[0],
                   decision_paused_days=0) for i, p in enumerate(plans, 1)]
    people = [dict(full_name=o.full_name, full_name_latin=o.full_name, birth_date=o.birth_date, rnokpp=o.rnokpp,
                   phone=o.phone, email=o.email, iban=o.iban, created_at=at) for p in plans for o in p.data.owners]
    people = [{"id": i, **r} for i, r in enumerate(people, 1)]
    wall, cpu = time.perf_counter(), time.process_time()
    with engine.begin() as conn:
        for model, rows in ((Property, homes), (Claim, claims), (Person, people)):
            for i in range(0, len(rows), 5000):
                insert_rows(conn, copies[model], rows[i:i + 5000])
    took = time.perf_counter() - wall, time.process_time() - cpu
    meta.drop_all(engine)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--db-url")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--no-checks", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.db_url or f"sqlite:///{tmp.name}/bench.db"
    os.environ["EVERYMETRE_DATABASE_URL"] = url
    os.environ.setdefault("EVERYMETRE_DATA_DIR", f"{tmp.name}/data")
    from sqlalchemy import text

    from everymetre.demo import generate as demo
    from everymetre.store.db import make_engine
    from everymetre.store.migrate import upgrade

    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    print(f"demo of {args.claims:,} claims on {engine.dialect.name}; load average before {os.getloadavg()}")
    floor_wall, floor_cpu = _floor(engine, args.claims, args.seed)
    print(f"floor (bare INSERT of the claims' homes, claims, people): {floor_wall:.2f} s wall, {floor_cpu:.2f} s CPU")

    times: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*a: Any, **kw: Any) -> Any:
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                acc = times.setdefault(name, [0.0, 0.0])
                acc[0] += time.perf_counter() - w
                acc[1] += time.process_time() - c
        return run

    # each stage the run calls (module functions and the planner), timed where it is looked up
    stages = ("ensure_demo_users", "_file", "_verify", "_inspect", "_compute", "_inspect_after_compute", "_decide",
              "_citizen", "_certify", "_pay", "_payouts")
    for name in stages:
        setattr(demo, name, timed(name.strip("_"), getattr(demo, name)))
    demo._Generator.plan = timed("plan", demo._Generator.plan)  # type: ignore[method-assign]
    wall, cpu = time.perf_counter(), time.process_time()
    demo.generate(engine, args.claims, seed=args.seed)
    total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
    # the citizen's plans are made inside its stage: count them there only
    print(f"{'stage':<24}{'wall s':>9}{'CPU s':>9}{'× floor':>9}")
    for name, (w, c) in times.items():
        print(f"{name:<24}{w:>9.2f}{c:>9.2f}{w / floor_wall:>9.1f}")
    print(f"{'total (demo.generate)':<24}{total_wall:>9.2f}{total_cpu:>9.2f}{total_wall / floor_wall:>9.1f}")
    print(f"claims/s {args.claims / total_wall:,.0f}; load average after {os.getloadavg()}")
    if not args.no_checks:
        env = {**os.environ, "EVERYMETRE_DATABASE_URL": url}
        for check in (["ledger", "check"], ["audit", "verify"], ["rules", "recheck"]):
            w = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "everymetre", *check], env=env, capture_output=True, text=True)
            print(f"everymetre {' '.join(check)}: exit {r.returncode} ({time.perf_counter() - w:.1f} s)")
    engine.dispose()


if __name__ == "__main__":
    main()
