"""Signed-in sessions kept on the server: a page cookie or an API token names one, and it ends when revoked
(sign-out, password change or reset, deactivation) or expired, whatever the cookie or the token still says."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from everymetre.accounts.models import AuthSession, User
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

PAGE, API = "page", "api"



def token_digest(token: str) -> str:
    """The SHA-256 (hex) kept in place of a one-time link's token or a client secret: never the secret itself."""
    return hashlib.sha256(token.encode()).hexdigest()

def open_session(session: Session, user_id: int, kind: str, minutes: int, now: datetime | None = None) -> str:
    """A new session row (in the caller's transaction); returns its id, for the cookie or the token's jti."""
    now = now or utcnow()
    sid = secrets.token_urlsafe(32)
    session.add(AuthSession(id=sid, user_id=user_id, kind=kind, created_at=now, expires_at=now + timedelta(minutes=minutes)))
    session.flush()
    return sid


def live(session_id: str, now: datetime | None = None) -> ColumnElement[bool]:
    """The join condition of a signed-in request: the session exists, is the user's, and is neither revoked nor expired."""
    return and_(AuthSession.id == session_id, AuthSession.user_id == User.id, AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > (now if now is not None else utcnow()))


def revoke(session: Session, session_id: str | None) -> None:
    """End one session (sign-out); ending one already ended or unknown does nothing."""
    if not session_id:
        return
    with atomic(session):
        session.execute(update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))


def revoke_all(session: Session, user_id: int, now: datetime | None = None) -> int:
    """End every session of the user, page and API (in the caller's transaction); returns how many were live."""
    result = session.execute(update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                             .values(revoked_at=now or utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
