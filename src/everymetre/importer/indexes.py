"""Deferred index maintenance for a large import into PostgreSQL (`everymetre import claims --defer-indexes`).

Keeping a dozen secondary indexes current row by row is about half of a large COPY's time; building them once
after the rows are in is several times quicker (a sort per index, in parallel). With `defer` the import drops
the secondary indexes of the tables it writes (never a primary key or a unique constraint: those keep the data
right and the import idempotent), writes, and builds them again, `jobs` at a time. Meanwhile queues and search
over those tables are slow: it is for a first load or a maintenance window.

Every import on PostgreSQL starts by building any of these indexes that is missing, so an import stopped
before the rebuild (a crash, Ctrl-C) is repaired by the next one; `restore` does the same on its own.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, Index, text
from sqlalchemy.schema import CreateIndex

TABLES = ("persons", "properties", "claims", "ownerships", "claim_search", "claim_search_words", "audit_events")


def deferrable() -> list[Index]:
    """The secondary indexes of the tables an import writes (not primary keys, not unique)."""
    import everymetre.store.schema  # noqa: F401  (every feature's tables)
    from everymetre.store.base import Base

    out = []
    for name in TABLES:
        out += sorted((i for i in Base.metadata.tables[name].indexes if not i.unique), key=lambda i: str(i.name))
    return out


def missing(engine: Engine) -> list[Index]:
    with engine.connect() as conn:
        present = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))
                      .scalars())
    return [i for i in deferrable() if i.name not in present]


def drop(engine: Engine) -> list[Index]:
    """Drop the deferrable indexes (one transaction); returns those dropped."""
    indexes = deferrable()
    with engine.begin() as conn:
        for i in indexes:
            conn.execute(text(f'DROP INDEX IF EXISTS "{i.name}"'))
    return indexes


def restore(engine: Engine, jobs: int = 2, skip: tuple[str, ...] = ()) -> int:
    """Build every deferrable index that is missing (but those of the tables in `skip`), `jobs` at once (each on
    its own connection)."""
    todo = [i for i in missing(engine) if i.table is None or i.table.name not in skip]

    def build(index: Index) -> None:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            conn.execute(CreateIndex(index, if_not_exists=True))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(build, todo))
    return len(todo)
