"""Set-based writes for bulk actions (issue #19): what the database needs, not one statement per row.

PostgreSQL: `COPY ... FROM STDIN` straight into the table, or into a temporary staging table (shaped like the
target, dropped at commit) followed by one `UPDATE ... FROM`. SQLite: the driver's own executemany of one
prepared statement. Either way in the caller's transaction, and every value goes through its column's type
first (the same bind processing SQLAlchemy applies), so what is stored is what an ORM write would store.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, text
from sqlalchemy.orm import Session

_stage_ids = itertools.count(1)
SMALL = 100  # up to this many rows (what one request writes) a staging table costs more than it saves


def _conn(conn: Connection | Session) -> Connection:
    return conn.connection() if isinstance(conn, Session) else conn


def _processors(conn: Connection, table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    return [table.c[c].type._cached_bind_processor(conn.dialect) for c in columns]


def _tuples(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows as tuples in `columns` order, each value bound by its column's type (column by column: one
    map() per column that needs processing, none for the rest)."""
    procs = _processors(conn, table, columns)
    cols = []
    for c, p in zip(columns, procs, strict=True):
        values = [r[c] for r in rows]
        if p is not None and values and all(v is values[0] for v in values):  # one value for all (a time: `now`)
            values = [None if values[0] is None else p(values[0])] * len(values)
        elif p is not None and isinstance(values[0], date):
            values = _memoised(p, values)
        elif p is not None:
            values = [None if v is None else p(v) for v in values]
        cols.append(values)
    return list(zip(*cols, strict=True))


def _memoised(p: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """`p` over a column of dates or times, once per value object (a claim's events share their time object):
    by identity, so two equal values (equal instants in two zones, written differently) are never merged."""
    done: dict[int, Any] = {}
    out: list[Any] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        r = done.get(id(v), done)
        if r is done:
            r = done[id(v)] = p(v)
        out.append(r)
    return out


def _copy(conn: Connection, target: str, columns: Sequence[str], values: Sequence[tuple[Any, ...]]) -> None:
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for v in values:
            copy.write_row(v)


def new_ids(conn: Connection | Session, table: Table, n: int) -> list[int]:
    """`n` fresh primary keys for `table`, for rows written with `insert_rows`: drawn from the sequence on
    PostgreSQL (other writers go on meanwhile); on SQLite after the largest id (the caller's transaction holds
    the write lock: `store.tx.atomic`)."""
    if n <= 0:
        return []
    c = _conn(conn)
    if c.dialect.name == "postgresql":
        rows = c.exec_driver_sql(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                 f"FROM generate_series(1, {int(n)})").scalars().all()
        return sorted(int(i) for i in rows)
    first = int(c.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}").scalar() or 0) + 1
    return list(range(first, first + n))


def unnest_insert(conn: Connection | Session, table: Table, rows: Sequence[dict[str, Any]], prefix: str
                  ) -> tuple[str, dict[str, Any]]:
    """PostgreSQL: `INSERT INTO table (...) SELECT * FROM unnest(...)` with one array parameter per column (named
    `prefix` + column), for a few rows in one statement whose text does not depend on how many (so its plan and
    SQLAlchemy's compiled form are reused; a multi-row VALUES is compiled afresh every time). Use it inside
    `text()`, e.g. as a data-modifying CTE of another statement. Values are bound by their columns' types."""
    c = _conn(conn)
    columns = list(rows[0])
    cols = list(zip(*_tuples(c, table, columns, rows), strict=True))
    return _unnest_sql(c.dialect, table, tuple(columns), prefix), {
        f"{prefix}{col}": list(values) for col, values in zip(columns, cols, strict=True)}


@lru_cache(maxsize=64)
def _unnest_sql(dialect: Any, table: Table, columns: tuple[str, ...], prefix: str) -> str:
    types = [re.sub(r' COLLATE "[^"]*"', "", table.c[col].type.compile(dialect)) for col in columns]  # collation: the column's
    arrays = ", ".join(f"CAST(:{prefix}{col} AS {t}[])" for col, t in zip(columns, types, strict=True))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"


def insert_rows(conn: Connection | Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys; defaults are not applied: give every value)."""
    if not rows:
        return
    c = _conn(conn)
    columns = list(rows[0])
    values = _tuples(c, table, columns, rows)
    if c.dialect.name == "postgresql":
        _copy(c, table.name, columns, values)
        return
    cur = c.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values)
    finally:
        cur.close()


def insert_new_rows(conn: Connection | Session, table: Table, rows: Sequence[dict[str, Any]], unique: Sequence[str]) -> int:
    """`insert_rows`, skipping rows whose `unique` columns match a stored row (ON CONFLICT DO NOTHING);
    returns how many were new. PostgreSQL: COPY into a staging table, then one INSERT ... SELECT (for a few
    rows, one INSERT ... VALUES ... ON CONFLICT DO NOTHING)."""
    if not rows:
        return 0
    c = _conn(conn)
    if c.dialect.name == "postgresql" and len(rows) <= SMALL:  # one request's rows: one INSERT, no staging table
        sql, params = unnest_insert(c, table, rows, "r_")
        returning = f" ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING {unique[0]}"
        return len(c.execute(text(sql + returning), params).all())  # rowcount is not kept here (-1)
    columns = list(rows[0])
    values = _tuples(c, table, columns, rows)
    names = ", ".join(columns)
    conflict = f"ON CONFLICT ({', '.join(unique)}) DO NOTHING"
    if c.dialect.name == "postgresql":
        stage = f"_stage_{table.name}_{next(_stage_ids)}"
        raw = c.connection.driver_connection
        with raw.cursor() as cur:  # type: ignore[union-attr]
            cur.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {table.name} WITH NO DATA")
        _copy(c, stage, columns, values)
        with raw.cursor() as cur:  # type: ignore[union-attr]
            cur.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage} {conflict}")
            n = cur.rowcount
            cur.execute(f"DROP TABLE {stage}")
        return n
    cur = c.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))}) {conflict}", values)
        return cur.rowcount
    finally:
        cur.close()


def update_rows(conn: Connection | Session, table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]],
                also: str = "", fixed: str = "") -> int:
    """UPDATE `table` from `rows`: each row names its target by the columns `keys` and gives new values for
    the rest of its keys. `also` adds SQL conditions on the target, `fixed` SQL assignments the same for every
    row, both naming the target's columns as `{t}column` (e.g. fixed="version = {t}version + 1"). Returns the rows updated (compare it with len(rows) to see
    that none changed meanwhile)."""
    if not rows:
        return 0
    c = _conn(conn)
    columns = list(rows[0])
    sets = [col for col in columns if col not in keys]
    values = _tuples(c, table, columns, rows)
    if c.dialect.name == "postgresql":
        stage = f"_stage_{table.name}_{next(_stage_ids)}"
        raw = c.connection.driver_connection
        with raw.cursor() as cur:  # type: ignore[union-attr]
            cur.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {', '.join(columns)} FROM {table.name} WITH NO DATA")
        _copy(c, stage, columns, values)
        assign = [f"{col} = s.{col}" for col in sets] + ([fixed.format(t="t.")] if fixed else [])
        where = " AND ".join([f"t.{k} = s.{k}" for k in keys] + ([also.format(t="t.")] if also else []))
        with raw.cursor() as cur:  # type: ignore[union-attr]
            cur.execute(f"UPDATE {table.name} AS t SET {', '.join(assign)} FROM {stage} AS s WHERE {where}")
            n = cur.rowcount
            cur.execute(f"DROP TABLE {stage}")
        return n
    order = sets + list(keys)
    pos = [columns.index(col) for col in order]
    own = f"{table.name}."
    assign = [f"{col} = ?" for col in sets] + ([fixed.format(t=own)] if fixed else [])
    where = " AND ".join([f"{k} = ?" for k in keys] + ([also.format(t=own)] if also else []))
    cur = c.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(f"UPDATE {table.name} SET {', '.join(assign)} WHERE {where}", [tuple(v[i] for i in pos) for v in values])
        return cur.rowcount
    finally:
        cur.close()
