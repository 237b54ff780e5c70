"""Engines and sessions for the two supported stores: SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import os
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        _private_sqlite_file(make_url(url).database)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    # No pre-ping: it costs a round trip on every checkout. After a database restart the first request on a
    # stale connection fails (a 503 "try again shortly"), and SQLAlchemy then replaces the whole pool.
    kwargs.setdefault("pool_pre_ping", False)
    return create_engine(url, **kwargs)


SQLITE_WRITE = "everymetre_sqlite_write"


def _private_sqlite_file(database: str | None) -> None:
    """Create the database file readable by this account only (0600): it holds personal data and password
    hashes. SQLite gives its -wal and -shm files the database file's mode. A wider file of ours is narrowed."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return  # a folder that does not exist yet, or not ours: sqlite3 reports it on connect
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins (see "begin" below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # Up to 64 MiB of pages per connection (the default is 2 MiB): bulk writes (the importer, the demo) insert
        # into indexes keyed on hashes, chains and references, whose pages a small cache evicts and writes again
        # and again to the WAL; a request's few rows never fill it. Memory is taken as pages are read, not upfront.
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Readers take no lock (WAL lets them run beside the writer). A transaction that will write asks for
        # the write lock at its start (services.tx.atomic sets the option): a read that later turned into
        # a write could otherwise fail with "database is locked" instead of waiting its turn.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(SQLITE_WRITE) else "BEGIN")


def is_postgres(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


def analyze(engine: Engine, *tables: str) -> None:
    """Refresh PostgreSQL's planner statistics of `tables` after a bulk write, which autovacuum reaches only later
    (a read planned without them can take minutes: compute after a 1M-claim demo filing). SQLite: nothing."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in tables:
                conn.exec_driver_sql(f'ANALYZE "{table}"')


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def pool_capacity(engine: Engine) -> int:
    """How many connections the engine's pool lends at once (its size plus overflow); 64 if unbounded."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    if not callable(size) or overflow < 0:
        return 64
    return max(1, size() + overflow)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def advance_sequences(engine: Engine) -> list[str]:
    """PostgreSQL: move every table's id sequence past the largest id in the table. Bulk writers that insert
    explicit ids (demo data, fraud demo) call this after writing, so later inserts that draw from the sequence
    (claims filed via the API, decisions, acts, the importer's nextval) never collide. SQLite needs nothing.
    Returns the sequences set."""
    if engine.dialect.name != "postgresql":
        return []
    from sqlalchemy import text

    import everymetre.store.schema  # noqa: F401  (every table)
    from everymetre.store.base import Base

    done: list[str] = []
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            if len(pk) != 1 or not _is_int(pk[0]):
                continue
            col = pk[0].name
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": col}).scalar()
            if seq is None:
                continue
            conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT MAX("{col}") FROM "{table.name}"), 0) + 1, false)'),
                         {"s": seq})
            done.append(seq)
    return done


def _is_int(column) -> bool:
    try:
        return column.type.python_type is int
    except NotImplementedError:
        return False
