"""Throttling of sign-in and sign-up, kept in the database so that every server worker sees the same counts.

Keys: "account:<e-mail>" (known or not: both are counted alike, so a lock says nothing about whether an account
exists), "address:<client address>" for failed sign-ins, "signup:<client address>" for sign-ups. A key that
reaches its limit within the window is locked for `signin_lock_minutes`; while locked, attempts are refused
before any password is hashed (cheap), with 429 and Retry-After. Locking an existing account writes
`user.locked_out` on that user's audit chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Delete, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from everymetre.accounts.models import SignInThrottle, User
from everymetre.audit.record import record, user_chain
from everymetre.config import Settings
from everymetre.kernel.errors import TooManyAttempts
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

LOCKED = "Too many attempts. For your safety, sign-in is paused; try again in {minutes} minutes."


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    limit: int


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:280]


def address_key(address: str | None, prefix: str = "address") -> str:
    return f"{prefix}:{(address or 'unknown')[:200]}"


def signin_limits(settings: Settings, email: str, address: str | None) -> list[Limit]:
    return [Limit(account_key(email), settings.signin_max_failures_account),
            Limit(address_key(address), settings.signin_max_failures_address)]


def signup_limits(settings: Settings, address: str | None, prefix: str = "signup") -> list[Limit]:
    return [Limit(address_key(address, prefix), settings.signup_max_per_address)]


def refuse_if_locked(session: Session, keys: list[str], now: datetime | None = None) -> None:
    """Raise TooManyAttempts if any key is locked now (one indexed read; no hashing)."""
    now = now or utcnow()
    until = session.scalar(select(SignInThrottle.locked_until).where(
        SignInThrottle.key.in_(keys), SignInThrottle.locked_until > now).order_by(SignInThrottle.locked_until.desc()).limit(1))
    if session.in_transaction():
        session.commit()  # end the read (SQLite: the next write begins with the write lock)
    if until is not None:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        raise TooManyAttempts(LOCKED.format(minutes=max(1, math.ceil(seconds / 60))), retry_after=seconds)


def _row(session: Session, key: str, now: datetime) -> SignInThrottle:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(SignInThrottle).values(key=key, failures=0, window_started_at=now).on_conflict_do_nothing())
    row = session.get(SignInThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def count_attempt(session: Session, settings: Settings, limits: list[Limit], address: str | None,
                  now: datetime | None = None, window_minutes: int | None = None) -> list[str]:
    """Count one failed attempt against each key (its own transaction, committed even though the sign-in fails);
    return the keys this attempt locked. Locking an existing account is audited on its chain."""
    now = now or utcnow()
    window = timedelta(minutes=window_minutes or settings.signin_window_minutes)
    locked: list[str] = []
    with atomic(session):
        for item in sorted(limits, key=lambda x: x.key):  # one lock order: no deadlock between two workers
            row = _row(session, item.key, now)
            if row.window_started_at < now - window or (row.locked_until is not None and row.locked_until <= now):
                row.failures, row.window_started_at, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= item.limit and row.locked_until is None:
                row.locked_until = now + timedelta(minutes=settings.signin_lock_minutes)
                locked.append(item.key)
        for key in locked:
            if key.startswith("account:"):
                uid = session.scalar(select(User.id).where(User.email == key.removeprefix("account:")))
                if uid is not None:
                    record(session, user_chain(uid), "user.locked_out", None,
                           {"failures": settings.signin_max_failures_account, "address": address,
                            "until": (now + timedelta(minutes=settings.signin_lock_minutes)).isoformat()}, at=now)
    return locked


def delete_key(key: str) -> Delete:
    """A successful sign-in clears its account's count (never the address's: one good account must not reset it)."""
    return delete(SignInThrottle).where(SignInThrottle.key == key)
