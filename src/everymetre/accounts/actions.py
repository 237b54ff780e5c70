"""Accounts, passwords (argon2) and who is acting."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache, lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from everymetre.accounts.models import AuthSession, User, UserOblast
from everymetre.accounts.roles import NATIONAL_ROLES, Actor, Role
from everymetre.audit.record import record, user_chain
from everymetre.kernel.errors import Conflict, Unauthenticated, ValidationFailed
from everymetre.kernel.geography import resolve_oblast
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

_hasher = PasswordHasher()
MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user as the services see them."""

    user_id: int | None  # None only for SYSTEM: scheduled jobs and automatic checks
    email: str
    role: Role
    oblasts: frozenset[str]
    all_oblasts: bool
    person_id: int | None
    full_name: str = ""
    verified_rnokpp: str | None = None  # the person this account is verified as (claims.identity)

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.role, self.oblasts, self.all_oblasts)


SYSTEM = Principal(user_id=None, email="system", role=Role.SYSTEM, oblasts=frozenset(), all_oblasts=True,
                   person_id=None, full_name="everymetre")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed(f"{email!r} is not a valid e-mail address: {exc}", field="email") from None


def do_create_user(session: Session, acting: Principal | None, email: str, password: str, role: str,
                   oblasts: list[str] | None = None, full_name: str = "", all_oblasts: bool = False, *,
                   password_hash: str | None = None, locale: str = "uk") -> User:
    """Create an account. `acting` is None for the CLI (the operator on the server) and sign-up. A confirmed
    sign-up passes the `password_hash` it kept (its `password` is then unused)."""
    email = normalise_email(email)
    try:
        role_ = Role(role)
    except ValueError:
        raise ValidationFailed(
            f"unknown role {role!r}; use one of: {', '.join(r.value for r in Role if r is not Role.SYSTEM)}",
            field="role") from None
    if role_ is Role.SYSTEM:
        raise ValidationFailed("the system role is not for people", field="role")
    if password_hash is None and len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"the password must have at least {MIN_PASSWORD} characters", field="password")
    codes = []
    for name in oblasts or []:
        try:
            codes.append(resolve_oblast(name))
        except KeyError as exc:
            raise ValidationFailed(str(exc.args[0]), field="oblast") from None
    if role_ in (Role.OFFICER, Role.INSPECTOR, Role.COMMISSION, Role.PAYMENTS) and not codes and not all_oblasts:
        raise ValidationFailed(f"a {role_} must be assigned at least one oblast (--oblast NAME)", field="oblast")
    with atomic(session):
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise Conflict(f"an account for {email} already exists")
        user = User(email=email, password_hash=password_hash or hash_password(password), role=role_.value,
                    full_name=full_name, locale=locale,
                    all_oblasts=all_oblasts, oblasts=[UserOblast(oblast=c) for c in sorted(set(codes))])
        session.add(user)
        session.flush()
        record(session, user_chain(user.id), "user.created", acting.user_id if acting else None,
               {"after": {"email": email, "role": role_.value, "oblasts": sorted(set(codes)), "all_oblasts": all_oblasts}})
    return user


@cache
def _dummy_hash() -> str:
    """A hash to verify against when there is no such account, so that unknown e-mails cost the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_credentials(session: Session, email: str, password: str) -> User | None:
    """The active account with this e-mail and password, or None. Runs one argon2 verification whether or not the
    account exists (against a dummy hash if not), so known and unknown e-mails answer in the same time."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return user if user is not None and user.is_active else None


def authenticate(session: Session, email: str, password: str) -> User:
    """Check an e-mail and password (no throttling: sign-in goes through `accounts.signin.sign_in`)."""
    user = verify_credentials(session, email, password)
    if user is None:
        raise Unauthenticated("The e-mail or password is wrong.")
    return user


@lru_cache(maxsize=2)
def _principal_query(with_session: bool) -> Select:
    """load_principal's statement, built once (every request runs it; its values are bound parameters)."""
    query = (select(User.email, User.role, User.all_oblasts, User.person_id, User.full_name, User.is_active,
                    User.verified_rnokpp, UserOblast.oblast)
             .outerjoin(UserOblast, UserOblast.user_id == User.id).where(User.id == bindparam("user_id")))
    if with_session:
        from everymetre.accounts.sessions import live

        query = query.join(AuthSession, live(bindparam("session_id"), bindparam("now")))  # type: ignore[arg-type]
    return query


def load_principal(session: Session, user_id: int, session_id: str | None = None) -> Principal | None:
    """Who is acting, on every signed-in request: one query of plain columns (no ORM objects to build). With
    `session_id` (every page and API request), only while that server-side session is live."""
    params: dict[str, object] = {"user_id": user_id}
    if session_id is not None:
        params.update(session_id=session_id, now=utcnow())
    rows = session.execute(_principal_query(session_id is not None), params).all()
    if not rows or not rows[0].is_active:
        return None
    first = rows[0]
    role = Role(first.role)
    return Principal(user_id, first.email, role, frozenset(r.oblast for r in rows if r.oblast is not None),
                     first.all_oblasts or role in NATIONAL_ROLES, first.person_id, first.full_name,
                     first.verified_rnokpp if role is Role.CLAIMANT else None)
