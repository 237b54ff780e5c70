"""Signing in (pages and API) and signing up, throttled, in the same time and words for known and unknown e-mails.

Sign-ups are confirmed by e-mail when `Settings.confirms_signups` (whenever SMTP is configured, unless turned
off): the form makes a `SignupRequest` and mails its link, or, for an address that has an account already, mails
its owner a notice instead; both answer "check your e-mail". The account is made when the link is opened. Without
confirmation (development, no SMTP) a new address is signed in at once and a taken one sees the same neutral page.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts import throttle
from everymetre.accounts.actions import MIN_PASSWORD, do_create_user, hash_password, normalise_email, verify_credentials
from everymetre.accounts.models import SignupRequest, User
from everymetre.accounts.sessions import open_session, token_digest
from everymetre.config import Settings
from everymetre.kernel.errors import Conflict, ErrorCode, Unauthenticated, ValidationFailed
from everymetre.notifications.account import enqueue_account_mail, site_url
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

CONFIRM_PATH = "/signup/confirm"

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
            minutes: int, locale: str = "uk") -> tuple[User, str] | None:
    """Create a claimant account and open a page session for it. Returns None, creating nothing, when the
    e-mail already has an account or when sign-ups are confirmed by e-mail (then a link or a notice is mailed):
    the caller answers with the neutral "check your e-mail" (never "already exists").
    Sign-ups from one address are throttled (429)."""
    limits = throttle.signup_limits(settings, address)
    throttle.refuse_if_locked(session, [x.key for x in limits])
    throttle.count_attempt(session, settings, limits, address, window_minutes=settings.signin_window_minutes * 4)
    if settings.confirms_signups:
        _request_signup(session, settings, email, password, full_name, locale)
        return None
    try:
        user = do_create_user(session, None, email, password, "claimant", full_name=full_name)
    except Conflict:
        hash_password(password)  # the same work as creating one: the answer takes the same time
        return None
    with atomic(session):
        sid = open_session(session, user.id, "page", minutes)
    return user, sid






def _request_signup(session: Session, settings: Settings, email: str, password: str, full_name: str,
                    locale: str) -> None:
    """Mail a confirmation link to a new address, or a notice to the owner of a taken one; the same work
    (one argon2 hash, one queued e-mail) either way."""
    address = normalise_email(email)
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"the password must have at least {MIN_PASSWORD} characters", field="password")
    password_hash = hash_password(password)
    now = utcnow()
    with atomic(session):
        user = session.scalar(select(User).where(User.email == address))
        if user is not None:  # tell the owner, in their language; at most one notice an hour
            enqueue_account_mail(session, key=f"signup-exists:{address}:{now:%Y%m%d%H}", kind="signup_exists",
                                 email=address, language=user.locale, user_id=user.id, now=now,
                                 params={"signin": site_url("/signin"), "forgot": site_url("/password/forgot")})
            return
        token = secrets.token_urlsafe(32)
        session.add(SignupRequest(email=address, full_name=full_name, password_hash=password_hash, locale=locale,
                                  token_hash=token_digest(token), created_at=now,
                                  expires_at=now + timedelta(hours=settings.signup_confirm_hours)))
        enqueue_account_mail(session, key=f"signup:{token_digest(token)}", kind="signup_confirm", email=address,
                             language=locale, now=now, params={"url": site_url(f"{CONFIRM_PATH}?token={token}"),
                                                               "hours": settings.signup_confirm_hours})


def confirm_sign_up(session: Session, token: str, minutes: int) -> tuple[User, str]:
    """Open a sign-up link: make the account from the request it names and sign it in. A used, expired or
    mistyped link, or an address that got an account meanwhile, is refused in one set of words."""
    now = utcnow()
    invalid = ValidationFailed("This sign-up link is not valid: it was used already, has expired, or is mistyped. "
                               "Sign up again.", field="token", code=ErrorCode.SIGNUP_LINK_INVALID)
    with atomic(session):
        request = session.scalar(select(SignupRequest).where(SignupRequest.token_hash == token_digest(token or ""))
                                 .with_for_update())
        if request is None or request.used_at is not None or request.expires_at <= now:
            raise invalid
        request.used_at = now
        try:
            user = do_create_user(session, None, request.email, "", "claimant", full_name=request.full_name,
                                  password_hash=request.password_hash, locale=request.locale)
        except Conflict:
            raise invalid from None
        sid = open_session(session, user.id, "page", minutes)
    return user, sid
