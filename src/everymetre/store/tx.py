"""One transaction per action (the Zulip `do_*` pattern)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from everymetre.store.db import SQLITE_WRITE


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """Run the block in one transaction: everything in it, audit events included, commits or none does.

    Reads made before the block (loading the signed-in user, say) began an implicit transaction. On
    PostgreSQL the block continues it rather than paying for a COMMIT and a new BEGIN (nothing was written
    in it). On SQLite that read is ended and the block starts with the write lock taken (BEGIN IMMEDIATE),
    so that concurrent writers queue instead of failing.
    """
    if session.get_bind().dialect.name == "sqlite":
        if session.in_transaction():
            session.commit()
        session.connection(execution_options={SQLITE_WRITE: True})
    elif not session.in_transaction():
        session.begin()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()
