"""Password change, one-time reset links and deactivation: each ends every session of the account, audited.

A reset link is made by `do_request_password_reset` (the token is returned once and only its SHA-256 is kept;
single use, valid `password_reset_minutes`, 1 h by default). The notifications outbox e-mails the link to the
account's address (`notifications.account`); with no SMTP configured an operator prints one with
`everymetre users reset-password EMAIL`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from everymetre.accounts import throttle
from everymetre.accounts.actions import MIN_PASSWORD, Principal, hash_password, normalise_email, verify_credentials
from everymetre.accounts.models import SERVICE_EMAIL_DOMAIN, PasswordReset, User
from everymetre.accounts.permissions import Action, require
from everymetre.accounts.roster import guard_admin_change
from everymetre.accounts.sessions import revoke_all, token_digest
from everymetre.audit.record import record, user_chain
from everymetre.config import Settings
from everymetre.kernel.errors import ErrorCode, NotFound, ValidationFailed
from everymetre.notifications.account import enqueue_account_mail, site_url
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

RESET_PATH = "/password/reset"




def _check_new(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"the password must have at least {MIN_PASSWORD} characters", field="new_password")


def _set_password(session: Session, user: User, password: str, now: datetime) -> int:
    """New hash, outstanding reset links spent, every session ended (in the caller's transaction)."""
    user.password_hash = hash_password(password)
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                    .values(used_at=now))
    return revoke_all(session, user.id, now)


def do_change_password(session: Session, settings: Settings, principal: Principal, current: str, new: str,
                       address: str | None = None) -> None:
    """The signed-in user changes their password; every session of theirs ends (the caller opens a fresh one).
    A wrong current password counts as a failed sign-in (throttled like one)."""
    if principal.user_id is None:
        raise ValidationFailed("the system has no password", field="current_password")
    limits = throttle.signin_limits(settings, principal.email, address)
    throttle.refuse_if_locked(session, [x.key for x in limits])
    user = verify_credentials(session, principal.email, current)
    if user is None or user.id != principal.user_id:
        throttle.count_attempt(session, settings, limits, address)
        raise ValidationFailed("The current password is wrong.", field="current_password")
    _check_new(new)
    now = utcnow()
    with atomic(session):
        user = session.get(User, principal.user_id, with_for_update=True)
        assert user is not None
        ended = _set_password(session, user, new, now)
        record(session, user_chain(user.id), "user.password_changed", user.id, {"sessions_ended": ended}, at=now)


def do_request_password_reset(session: Session, settings: Settings, acting: Principal | None, email: str) -> str | None:
    """Make a one-time reset token for the account with this e-mail; None (and nothing written) if there is no
    active account. Callers answer both cases in the same words. `acting` is None for the person themselves (or
    the operator's CLI); an administrator's reset (the admin pages) needs `user.manage`."""
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    try:
        address = normalise_email(email)
    except ValidationFailed:
        return None
    now = utcnow()
    with atomic(session):
        user = session.scalar(select(User).where(User.email == address))
        if user is None or not user.is_active or user.email.endswith("@" + SERVICE_EMAIL_DOMAIN):
            return None  # a service account has a client secret, never a password
        token = issue_reset(session, settings, acting, user, now)
        if acting is None:  # the person asked: the link goes to their address (an operator's link is printed)
            enqueue_account_mail(session, key=f"reset:{token_digest(token)}", kind="password_reset", email=user.email,
                                 language=user.locale, user_id=user.id, now=now,
                                 params={"url": site_url(f"{RESET_PATH}?token={token}"),
                                         "minutes": settings.password_reset_minutes})
    return token


def issue_reset(session: Session, settings: Settings, acting: Principal | None, user: User, now: datetime) -> str:
    """A one-time reset token for `user`, audited (inside the caller's transaction)."""
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(user_id=user.id, token_hash=token_digest(token), created_at=now,
                              expires_at=now + timedelta(minutes=settings.password_reset_minutes)))
    record(session, user_chain(user.id), "user.password_reset_requested", acting.user_id if acting else None,
           {"expires_in_minutes": settings.password_reset_minutes}, at=now)
    return token


def request_reset_throttled(session: Session, settings: Settings, email: str, address: str | None) -> str | None:
    """A person asking for a reset link from a page or the API: counted per address like sign-ups (429 when over)."""
    limits = throttle.signup_limits(settings, address, prefix="reset")
    throttle.refuse_if_locked(session, [x.key for x in limits])
    throttle.count_attempt(session, settings, limits, address, window_minutes=settings.signin_window_minutes * 4)
    return do_request_password_reset(session, settings, None, email)


def reset_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{RESET_PATH}?token={token}"


def _valid_reset(session: Session, token: str, now: datetime, lock: bool = False) -> PasswordReset:
    query = select(PasswordReset).where(PasswordReset.token_hash == token_digest(token or ""))
    reset = session.scalar(query.with_for_update() if lock else query)
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise ValidationFailed("This password-reset link is not valid: it was used already, has expired, or is "
                               "mistyped. Ask for a new one.", field="token", code=ErrorCode.RESET_LINK_INVALID)
    return reset


def reset_token_usable(session: Session, token: str) -> bool:
    try:
        _valid_reset(session, token, utcnow())
    except ValidationFailed:
        return False
    return True


def do_reset_password(session: Session, token: str, new: str) -> User:
    """Set a new password from a reset link: the link is spent and every session of the account ends."""
    _check_new(new)
    now = utcnow()
    with atomic(session):
        reset = _valid_reset(session, token, now, lock=True)
        user = session.get(User, reset.user_id, with_for_update=True)
        if user is None or not user.is_active:
            raise ValidationFailed("This account is closed.", field="token", code=ErrorCode.RESET_LINK_INVALID)
        reset.used_at = now
        ended = _set_password(session, user, new, now)
        record(session, user_chain(user.id), "user.password_reset", user.id, {"sessions_ended": ended}, at=now)
        session.execute(throttle.delete_key(throttle.account_key(user.email)))  # the owner proved themselves
    return user


def do_deactivate_user(session: Session, acting: Principal | None, email: str) -> User:
    """Close an account: it can no longer sign in, and every page session and API token of it ends at once."""
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    address = normalise_email(email)
    now = utcnow()
    with atomic(session):
        user = session.scalar(select(User).where(User.email == address).with_for_update())
        if user is None:
            raise NotFound(f"There is no account {address}.")
        guard_admin_change(session, acting, user, stays_admin=False)
        if not user.is_active:
            return user
        user.is_active = False
        ended = revoke_all(session, user.id, now)
        record(session, user_chain(user.id), "user.deactivated", acting.user_id if acting else None,
               {"sessions_ended": ended}, at=now)
    return user
