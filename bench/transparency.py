"""Benchmark the public transparency features on demo data.

Usage: .venv/bin/python bench/transparency.py [--claims N] [--db-url URL]

Writes N demo claims (a temporary SQLite file unless --db-url; a PostgreSQL URL's schema is dropped and
recreated), then times: `log sync` from empty (every decision appended and a head signed) against hashing the
same leaves with hashlib alone (the floor), an inclusion and a consistency proof as the API builds them
(the whole tree is rehashed from the stored leaf hashes per request), the statistics with suppression, and
the RD4U export. Prints seconds and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=50_000)
    ap.add_argument("--db-url")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="em-bench-transparency-"))
    url = args.db_url or f"sqlite:///{tmp / 'bench.db'}"
    os.environ["EVERYMETRE_DATABASE_URL"] = url
    os.environ["EVERYMETRE_DATA_DIR"] = str(tmp / "data")
    from sqlalchemy import text

    from everymetre.config import get_settings
    from everymetre.demo.generate import generate
    from everymetre.store.db import engine_for, is_postgres, session_factory
    from everymetre.store.migrate import upgrade
    from everymetre.transparency import log, merkle, rd4u, statistics

    eng = engine_for(url)
    if is_postgres(eng):
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
    upgrade(eng)
    t0 = time.perf_counter()
    generate(eng, args.claims, seed=7)
    print(f"demo data: {args.claims:,} claims in {time.perf_counter() - t0:.1f} s ({eng.dialect.name})")
    settings = get_settings()
    with session_factory(eng)() as s:
        entries = log.store_entries(s)
        t0 = time.perf_counter()
        hashes = [hashlib.sha256(b"\x00" + e.leaf.encode()).digest() for e in entries]
        merkle.root_of(hashes)
        floor = time.perf_counter() - t0
        t0 = time.perf_counter()
        rep = log.sync(s, settings)
        sync_s = time.perf_counter() - t0
        print(f"log sync: {rep.appended:,} leaves in {sync_s:.2f} s; hashing them alone {floor:.3f} s "
              f"(x{sync_s / floor:.0f})")
        n = rep.tree_size
        t0 = time.perf_counter()
        for i in range(5):
            log.tree(s, n).inclusion_proof((i * 7919) % n, n)
        incl = (time.perf_counter() - t0) / 5
        t0 = time.perf_counter()
        log.tree(s, n).consistency_proof(n // 3, n)
        cons = time.perf_counter() - t0
        print(f"inclusion proof over {n:,} leaves: {incl * 1000:.0f} ms per request; consistency: {cons * 1000:.0f} ms")
        t0 = time.perf_counter()
        st = statistics.compute(s, 10)
        stats_s = time.perf_counter() - t0
        hidden = sum(v is None for t in st.tables.values() for row in t.values for v in row)
        cells = sum(len(row) for t in st.tables.values() for row in t.values)
        print(f"statistics with suppression: {stats_s:.2f} s; {hidden:,} of {cells:,} cells hidden")
        t0 = time.perf_counter()
        written = rd4u.write_jsonl(s, tmp / "rd4u.jsonl")
        print(f"rd4u export: {written:,} records in {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
