"""Sign-in for systems and scripts: OAuth2 password flow -> a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from everymetre.accounts.actions import authenticate
from everymetre.api.deps import SessionDep, SettingsDep
from everymetre.api.problems import problem_responses
from everymetre.api.security import make_token

router = APIRouter(prefix="/api/v1")
PROBLEM_RESPONSES = problem_responses({401: "Wrong e-mail or password"})


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: str


@router.post("/auth/token", response_model=Token, tags=["auth"], responses=PROBLEM_RESPONSES)
def token(session: SessionDep, settings: SettingsDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password flow: send `username` (e-mail) and `password` as a form; use the token as a Bearer."""
    user = authenticate(session, form.username, form.password)
    return Token(access_token=make_token(settings, user.id), role=user.role)
