"""One transaction per action (the Zulip `do_*` pattern)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """Run the block in one transaction: everything in it, audit events included, commits or none does.

    Reads made before the block (loading the signed-in user, say) ran in an implicit read transaction;
    it is ended first so that the block's transaction starts clean.
    """
    if session.in_transaction():
        session.commit()
    with session.begin():
        yield session

