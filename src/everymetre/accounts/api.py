"""Sign-in for systems and scripts: OAuth2 password flow -> a bearer token naming a revocable session; sign-out,
password change and password reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from everymetre.accounts import passwords
from everymetre.accounts.sessions import API, open_session, revoke
from everymetre.accounts.signin import sign_in
from everymetre.api.deps import AuthDep, SessionDep, SettingsDep, client_address
from everymetre.api.problems import problem_responses
from everymetre.api.security import make_token
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
        {"current_password": "correct horse battery", "new_password": "a new long pass phrase"}]})
    current_password: str = Field(max_length=1000)
    new_password: str = Field(max_length=1000)


class ResetRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "olena@example.org"}]})
    email: str = Field(max_length=320)


class ResetConfirm(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"token": "the token from the reset link", "new_password": "a new long pass phrase"}]})
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
