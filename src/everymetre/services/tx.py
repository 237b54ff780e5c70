"""One transaction per action (the Zulip `do_*` pattern)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """Run the block in one transaction: everything in it, audit events included, commits or none does.

    Reads made before the block (loading the signed-in user, say) began an implicit transaction; the block
    continues it rather than paying for a COMMIT and a new BEGIN (nothing was written in it).
    """
    if not session.in_transaction():
        session.begin()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()
