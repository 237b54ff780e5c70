"""Sign-in for systems and scripts: OAuth2 password flow -> a bearer token naming a revocable session; sign-out,
password change and password reset."""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from everymetre.accounts import passwords, service_accounts
from everymetre.accounts.sessions import API, open_session, revoke
from everymetre.accounts.signin import sign_in
from everymetre.api.deps import AuthDep, SessionDep, SettingsDep, client_address
from everymetre.api.problems import problem_responses
from everymetre.api.security import make_token
from everymetre.kernel.errors import DomainError
from everymetre.store.tx import atomic

router = APIRouter(prefix="/api/v1")
PROBLEM_RESPONSES = problem_responses({401: "Wrong e-mail or password",
                                       429: "Too many failed attempts: wait as long as Retry-After says"})


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: str


class PasswordChange(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"current_password": "the password you use now", "new_password": "a new long passphrase"}]})

    current_password: str = Field(max_length=1000)
    new_password: str = Field(max_length=1000)


class ResetRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "olena.shevchenko@example.com"}]})

    email: str = Field(max_length=320)


class ResetConfirm(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"token": "the token from the one-time link", "new_password": "a new long passphrase"}]})

    token: str = Field(max_length=200)
    new_password: str = Field(max_length=1000)


class Accepted(BaseModel):
    detail: str


@router.post("/auth/token", response_model=Token, tags=["auth"], responses=PROBLEM_RESPONSES)
def token(request: Request, session: SessionDep, settings: SettingsDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password flow: send `username` (e-mail) and `password` as a form; use the token as a Bearer.
    Failed attempts are throttled per e-mail and per address (429 with Retry-After)."""
    user, sid = sign_in(session, settings, form.username, form.password, client_address(request), API,
                        settings.token_minutes)
    return Token(access_token=make_token(settings, user.id, sid), role=user.role)


class ClientToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


CLIENT_PROBLEMS = problem_responses({400: "grant_type is not client_credentials",
                                     401: "Wrong client id or secret, or the client is revoked (error: invalid_client)",
                                     429: "Too many failed attempts: wait as long as Retry-After says"})


@router.post("/token", response_model=ClientToken, tags=["auth"], responses=CLIENT_PROBLEMS)
def client_token(request: Request, session: SessionDep, settings: SettingsDep,
                 grant_type: Annotated[str, Form(max_length=50)],
                 client_id: Annotated[str | None, Form(max_length=64)] = None,
                 client_secret: Annotated[str | None, Form(max_length=200)] = None) -> ClientToken:
    """OAuth2 client credentials (RFC 6749 4.4) for integrating systems: `grant_type=client_credentials` with the
    client id and secret an administrator gave (HTTP Basic, or `client_id` and `client_secret` in the form). The
    token acts with the service account's role and oblasts; rotating the secret or revoking the client ends it."""
    if grant_type != "client_credentials":
        raise DomainError("grant_type must be client_credentials (people sign in at /api/v1/auth/token)",
                          error="unsupported_grant_type")
    basic = _basic(request)
    cid, secret = basic if basic else (client_id or "", client_secret or "")
    user, sid = service_accounts.client_credentials(session, settings, cid, secret, client_address(request))
    return ClientToken(access_token=make_token(settings, user.id, sid), expires_in=settings.token_minutes * 60,
                       role=user.role)


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    cid, sep, secret = raw.partition(":")
    return (unquote_plus(cid), unquote_plus(secret)) if sep else None


@router.post("/auth/revoke", status_code=204, tags=["auth"], responses=PROBLEM_RESPONSES)
def revoke_token(auth: AuthDep) -> Response:
    """Sign out: the token used for this request stops working at once."""
    revoke(auth.session, auth.session_id)
    return Response(status_code=204)


@router.post("/auth/password", response_model=Token, tags=["auth"], responses=PROBLEM_RESPONSES)
def change_password(request: Request, body: PasswordChange, auth: AuthDep, settings: SettingsDep) -> Token:
    """Change your password: every session and token of yours ends, and a fresh token is returned."""
    passwords.do_change_password(auth.session, settings, auth.principal, body.current_password, body.new_password,
                                 client_address(request))
    assert auth.principal.user_id is not None
    with atomic(auth.session):
        sid = open_session(auth.session, auth.principal.user_id, API, settings.token_minutes)
    return Token(access_token=make_token(settings, auth.principal.user_id, sid), role=auth.principal.role.value)


NEUTRAL = ("If an account uses this e-mail, a link to set a new password has been sent to it; "
           "it works once, within an hour.")


@router.post("/auth/password-reset", status_code=202, response_model=Accepted, tags=["auth"], responses=PROBLEM_RESPONSES)
def request_reset(request: Request, body: ResetRequest, session: SessionDep, settings: SettingsDep) -> Accepted:
    """Ask for a password-reset link, sent to the account's e-mail. The answer is the same whether or not an
    account uses the e-mail; requests are throttled per address (429)."""
    passwords.request_reset_throttled(session, settings, body.email, client_address(request))  # the outbox sends it
    return Accepted(detail=NEUTRAL)


@router.post("/auth/password-reset/confirm", status_code=204, tags=["auth"], responses=PROBLEM_RESPONSES)
def confirm_reset(body: ResetConfirm, session: SessionDep) -> Response:
    """Set a new password with the token from a reset link (single use, one hour); every session ends."""
    passwords.do_reset_password(session, body.token, body.new_password)
    return Response(status_code=204)
