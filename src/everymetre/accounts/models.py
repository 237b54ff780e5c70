"""Accounts: staff and claimant users and the oblasts a staff user works in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, event, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from everymetre.store.base import Base
from everymetre.store.types import utcnow

SERVICE_EMAIL_DOMAIN = "service-accounts.invalid"  # service accounts' e-mails (accounts.service_accounts)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    # "<issuer>|<sub>": the identity-provider account this account signs in with (accounts.oidc), once linked
    oidc_subject: Mapped[str | None] = mapped_column(String(300), index=True, unique=True)
    all_oblasts: Mapped[bool] = mapped_column(Boolean, default=False)
    # the person this account is verified as (claims.identity, accounts.identity): their RNOKPP, when and how
    verified_rnokpp: Mapped[str | None] = mapped_column(String(10), index=True, unique=True)
    verified_at: Mapped[datetime | None] = mapped_column()
    verified_through: Mapped[str | None] = mapped_column(String(20))  # birth_date | oidc
    # the e-mail and name casefolded (str.casefold: Cyrillic too, which SQLite's lower() leaves as it is), so the
    # admin search is case-insensitive on both stores; kept by the listener below on every insert and update
    search_key: Mapped[str] = mapped_column(String(460), default="", server_default="")
    locale: Mapped[str] = mapped_column(String(5), default="uk")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the channels the person chose for news of their claims (the inbox on "My claims" is always on)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    notify_sms: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    oblasts: Mapped[list[UserOblast]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def oblast_codes(self) -> frozenset[str]:
        return frozenset(o.oblast for o in self.oblasts)


def search_key(email: str | None, full_name: str | None) -> str:
    return f"{email or ''} {full_name or ''}".casefold()


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
def _keep_search_key(_mapper: Any, _connection: Any, user: User) -> None:
    user.search_key = search_key(user.email, user.full_name)


class UserOblast(Base):
    __tablename__ = "user_oblasts"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    oblast: Mapped[str] = mapped_column(String(40), primary_key=True)


class AuthSession(Base):
    """A signed-in session, page or API: the cookie and the token carry its id, and it ends when revoked (sign-out,
    password change or reset, deactivation) or expired, whatever the signed cookie or token still says."""

    __tablename__ = "auth_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random; the cookie's "i", the token's jti
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # page | api
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class PasswordReset(Base):
    """A one-time password-reset link: only the SHA-256 of its token is kept; used once, within its expiry."""

    __tablename__ = "password_resets"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class SignupRequest(Base):
    """A sign-up waiting for its e-mail to be confirmed (when sign-ups are confirmed by e-mail): the account is
    made only when the link is opened, so a sign-up never shows whether an e-mail already has an account. Only
    the SHA-256 of the link's token is kept; the password is kept as its argon2 hash."""

    __tablename__ = "signup_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5), default="uk")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class SignInThrottle(Base):
    """Failed sign-in (and sign-up) attempts per key ("account:<e-mail>", "address:<ip>", "signup:<ip>"), kept in
    the database so every server worker sees the same counts."""

    __tablename__ = "signin_throttle"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()


class ServiceClient(Base):
    """An integrating system's OAuth2 client (client-credentials): it acts as its own account (`user_id`, a role
    and oblasts like a person's), its secret kept only as a SHA-256 (a 256-bit random secret needs no slow hash).
    Revoked clients keep their row: the audit trail names them."""

    __tablename__ = "service_clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
