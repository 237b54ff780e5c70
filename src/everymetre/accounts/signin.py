"""Signing in (pages and API) and signing up, throttled, in the same time and words for known and unknown e-mails."""

from __future__ import annotations

from sqlalchemy.orm import Session

from everymetre.accounts import throttle
from everymetre.accounts.actions import do_create_user, hash_password, verify_credentials
from everymetre.accounts.models import User
from everymetre.accounts.sessions import open_session
from everymetre.config import Settings
from everymetre.kernel.errors import Conflict, Unauthenticated
from everymetre.store.tx import atomic

WRONG = "The e-mail or password is wrong."


def sign_in(session: Session, settings: Settings, email: str, password: str, address: str | None, kind: str,
            minutes: int) -> tuple[User, str]:
    """Check the e-mail and password and open a server-side session; returns the user and the session id.

    Refused with 429 (TooManyAttempts) before any hashing while the e-mail or the address is locked; a wrong
    e-mail or password is counted against both and answered with 401 in the same words either way."""
    limits = throttle.signin_limits(settings, email, address)
    throttle.refuse_if_locked(session, [x.key for x in limits])
    user = verify_credentials(session, email, password)
    if user is None:
        throttle.count_attempt(session, settings, limits, address)
        raise Unauthenticated(WRONG)
    with atomic(session):
        session.execute(throttle.delete_key(limits[0].key))  # the account's count starts again
        sid = open_session(session, user.id, kind, minutes)
    return user, sid


def sign_up(session: Session, settings: Settings, email: str, password: str, full_name: str, address: str | None,
            minutes: int) -> tuple[User, str] | None:
    """Create a claimant account and open a page session for it. Returns None, creating nothing, when the
    e-mail already has an account: the caller answers that case in neutral words (never "already exists").
    Sign-ups from one address are throttled (429)."""
    limits = throttle.signup_limits(settings, address)
    throttle.refuse_if_locked(session, [x.key for x in limits])
    throttle.count_attempt(session, settings, limits, address, window_minutes=settings.signin_window_minutes * 4)
    try:
        user = do_create_user(session, None, email, password, "claimant", full_name=full_name)
    except Conflict:
        hash_password(password)  # the same work as creating one: the answer takes the same time
        return None
    with atomic(session):
        sid = open_session(session, user.id, "page", minutes)
    return user, sid


