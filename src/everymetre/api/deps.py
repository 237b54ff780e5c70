"""Typed dependencies: the database session and the signed-in principal (authorisation lives in the domain)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal, load_principal
from everymetre.api.security import read_token
from everymetre.config import Settings
from everymetre.kernel.errors import Unauthenticated

MAX_ID = 2**63 - 1
# A record id in a URL: a positive BIGINT. Larger numbers cannot name a record; they get a 422, not a database error.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, made and closed on the event loop (making one does no I/O; closing one whose
    transaction has ended only returns its connection to the pool), so a sync endpoint costs one hop to the
    thread pool, not three. A session left inside a transaction is closed (rolled back) in the pool."""
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


@dataclass(frozen=True, slots=True)
class Authed:
    """A signed-in request: its database session and who is acting."""

    session: Session
    principal: Principal
    session_id: str | None = None  # the server-side session the token names (sign-out revokes it)


def authenticated(request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2)]) -> Authed:
    """Load the principal on the request's session (one hop to the thread pool; the session is made and closed
    on the event loop)."""
    if not token:
        raise Unauthenticated("Sign in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/token.")
    read = read_token(request.app.state.settings, token)
    principal = load_principal(session, read[0], read[1]) if read is not None else None
    if principal is None:  # bad, expired or revoked (signed out, password changed, account closed)
        raise Unauthenticated("Your sign-in has expired or is not valid; sign in again.")
    return Authed(session, principal, read[1] if read else None)


AuthDep = Annotated[Authed, Depends(authenticated)]


def client_address(request: Request) -> str | None:
    """The caller's address, for throttling (behind a proxy, uvicorn's --forwarded-allow-ips decides it)."""
    return request.client.host if request.client else None
