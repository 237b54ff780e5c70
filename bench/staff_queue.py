"""The staff work queue at scale: first page of the queue over 100,000 demo claims, with GET /health as baseline.

Loads N demo claims (everymetre.demo.generate) into a temporary SQLite database, signs a staff user in to the
pages, then times in-process (TestClient, no network) GET requests of:

- /api/v1/health                                   the ratio baseline (a trivial request through the same stack)
- /staff/queue                                     the officer's default "My work" view, counts included
- /staff/queue?view=all&sort=waiting               every state, longest waiting first
- /staff/queue?state=assigned&priority=combatant   a filtered view
- /staff/queue?view=all&page=500                   a deep page

and the search (GET /api/v1/claims?q=... with a bearer token, and /staff/queue?q=...) by a reference, an RNOKPP,
a common surname in Cyrillic and in Latin, a full name, an address and a registry number taken from the store,

and prints median and p95 in ms, and each as a multiple of the health check's median.

    .venv/bin/python bench/staff_queue.py [--claims 100000] [--runs 30] [--db PATH | --url postgresql+psycopg://...]
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
    "/staff/queue?state=assigned&priority=combatant",
    "/staff/queue?view=all&sort=deadline",
    "/staff/queue?view=all&page=500",
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
    parser.add_argument("--replicate", type=int, default=1,
                        help="PostgreSQL: copy the generated claims (homes, owners, search keys) by SQL until there are "
                             "this many times as many (quicker than generating them; copies share names and numbers)")
    args = parser.parse_args()

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
        generate(engine, args.claims)
        print(f"loaded {args.claims:,} demo claims into {args.url or db} in {time.perf_counter() - t:.1f} s")
    if args.replicate > 1:
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
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from everymetre.accounts.models import User
        from everymetre.api.security import issue_token

        with Session(engine) as session:
            officer = session.execute(select(User.id).where(User.email == "officer@demo.everymetre.org")).scalar_one()
            bearer = {"Authorization": f"Bearer {issue_token(session, get_settings(), officer)}"}
        views = [] if args.only_search else list(VIEWS)
        for label, q in searches:
            views += [(f"/api/v1/claims?q={label}", f"/api/v1/claims?{urlencode({'q': q})}"),
                      (f"/staff/queue?q={label}", f"/staff/queue?{urlencode({'q': q})}")]
        for view in views:
            label, url = view if isinstance(view, tuple) else (view, view)
            values = timings(client, url, args.runs, bearer if url.startswith("/api/") else None)
            med = statistics.median(values)
            print(f"{label:52} {med:10.1f} {p95(values):8.1f} {med / base:9.1f}")


def replicate(engine, times: int) -> None:
    """Copy persons, properties, claims, ownerships and claim_search `times - 1` times (ids shifted), PostgreSQL."""
    from sqlalchemy import func, insert, literal, select, text

    import everymetre.store.schema  # noqa: F401
    from everymetre.store.base import Base

    names = ("persons", "properties", "claims", "ownerships", "claim_search")
    tables = [Base.metadata.tables[n] for n in names]
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM claims WHERE id > 0")).scalar_one() == 0:
            return
        top = max(conn.execute(select(func.max(next(iter(t.primary_key.columns))))).scalar() or 0 for t in tables) + 1
        conn.execute(text("DROP INDEX ix_claim_search_keys"))  # rebuilt once at the end: quicker than per row
        for k in range(1, times):
            shift = literal(k * top)
            for t in tables:
                cols = []
                for c in t.columns:
                    fk_to = {fk.column.table.name for fk in c.foreign_keys}
                    moved = (c.primary_key and t.name != "claim_search") or (fk_to & set(names))
                    cols.append((c + shift).label(c.name) if moved else c)
                conn.execute(insert(t).from_select([c.name for c in t.columns],
                                                   select(*cols).where(next(iter(t.primary_key.columns)) < top)))
        for t in ("persons", "properties", "claims", "ownerships"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
        conn.execute(text("CREATE INDEX ix_claim_search_keys ON claim_search USING gin (keys gin_trgm_ops)"))
        conn.execute(text("ANALYZE"))


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
            ("<street building, hromada>", f"{street} {building} {hromada}"), ("<registry number>", registry)]


if __name__ == "__main__":
    main()
