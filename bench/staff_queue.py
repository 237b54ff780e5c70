"""The staff work queue at scale: first page of the queue over 100,000 demo claims, with GET /health as baseline.

Loads N demo claims (everymetre.demo.generate) into a temporary SQLite database, signs a staff user in to the
pages, then times in-process (TestClient, no network) GET requests of:

- /api/v1/health                                   the ratio baseline (a trivial request through the same stack)
- /staff/queue                                     the officer's default "My work" view, counts included
- /staff/queue?view=all&sort=waiting               every state, longest waiting first
- /staff/queue?state=assigned&priority=combatant   a filtered view
- /staff/queue?view=all&page=500                   a deep page

and prints median and p95 in ms, and each as a multiple of the health check's median.

    .venv/bin/python bench/staff_queue.py [--claims 100000] [--runs 30] [--db PATH]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

VIEWS = (
    "/staff/queue",
    "/staff/queue?view=all&sort=waiting",
    "/staff/queue?state=assigned&priority=combatant",
    "/staff/queue?view=all&sort=deadline",
    "/staff/queue?view=all&page=500",
)


def timings(client, url: str, runs: int) -> list[float]:  # noqa: ANN001
    client.get(url)  # warm caches and templates
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--db", help="reuse this SQLite file (generated on first use)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="everymetre-bench-queue-"))
    db = Path(args.db) if args.db else tmp / "queue.db"
    os.environ["EVERYMETRE_DATABASE_URL"] = f"sqlite:///{db}"
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
        generate(engine, args.claims)
        print(f"loaded {args.claims:,} demo claims into {db} in {time.perf_counter() - t:.1f} s")
    with engine.connect() as conn:
        from sqlalchemy import text

        n = conn.execute(text("SELECT count(*) FROM claims")).scalar_one()
        conn.execute(text("ANALYZE"))
    print(f"claims in the store: {n:,}")

    with TestClient(create_app(get_settings())) as client:
        page = client.get("/signin").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = client.post("/signin", data={"email": "officer@demo.everymetre.org", "password": DEMO_PASSWORD,
                                         "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        health = timings(client, "/api/v1/health", args.runs)
        base = statistics.median(health)
        print(f"\n{'GET':52} {'median ms':>10} {'p95 ms':>8} {'x health':>9}")
        print(f"{'/api/v1/health':52} {base:10.1f} {p95(health):8.1f} {1.0:9.1f}")
        for url in VIEWS:
            values = timings(client, url, args.runs)
            med = statistics.median(values)
            print(f"{url:52} {med:10.1f} {p95(values):8.1f} {med / base:9.1f}")


if __name__ == "__main__":
    main()
