"""Service accounts for integrating systems (an administrative centre's system, a bank, a register): OAuth2
client credentials (RFC 6749 4.4). Each client acts as an account of its own with a role and oblasts, so its
tokens are scoped exactly like a person's in that role (`accounts.permissions`); the role may not be an
administrator's or a commission member's (people decide). The secret is shown once, kept as a SHA-256;
rotating it or revoking the client ends every token at once. An administrator creates, rotates and revokes
(the admin pages and `everymetre service-accounts ...`, the same actions), each audited on the client's trail.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts import throttle
from everymetre.accounts.actions import Principal, hash_password
from everymetre.accounts.models import SERVICE_EMAIL_DOMAIN, ServiceClient, User, UserOblast
from everymetre.accounts.permissions import Action, require
from everymetre.accounts.roles import NATIONAL_ROLES, Role
from everymetre.accounts.roster import _oblast, check_assignment, parse_role
from everymetre.accounts.sessions import API, open_session, revoke_all, token_digest
from everymetre.audit.record import record, user_chain
from everymetre.config import Settings
from everymetre.kernel.errors import NotFound, Unauthenticated, ValidationFailed
from everymetre.kernel.text import text_problem
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

SERVICE_ROLES = (Role.OFFICER, Role.INSPECTOR, Role.PAYMENTS, Role.AUDITOR)
EMAIL_DOMAIN = SERVICE_EMAIL_DOMAIN  # a service account's e-mail: never deliverable, never a person's
INVALID_CLIENT = "The client id or secret is wrong, or the client is revoked."
_DUMMY = hashlib.sha256(b"no such client").hexdigest()




@dataclass(frozen=True, slots=True)
class ServiceAccount:
    id: int
    client_id: str
    name: str
    role: str
    oblasts: tuple[str, ...]
    all_oblasts: bool
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def list_service_accounts(session: Session, acting: Principal | None) -> list[ServiceAccount]:
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    rows = session.execute(select(ServiceClient, User).join(User, User.id == ServiceClient.user_id)
                           .order_by(ServiceClient.revoked_at.is_not(None), ServiceClient.name))
    return [ServiceAccount(c.id, c.client_id, c.name, u.role, tuple(sorted(u.oblast_codes)),
                           u.all_oblasts or Role(u.role) in NATIONAL_ROLES, c.created_at, c.rotated_at, c.revoked_at)
            for c, u in rows]


def do_create_service_account(session: Session, acting: Principal | None, name: str, role: str,
                              oblasts: list[str] | None = None, all_oblasts: bool = False) -> tuple[ServiceClient, str]:
    """A new client and its secret (returned once). `acting` is None for the operator's CLI."""
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    label = name.strip()
    if not label or len(label) > 200 or text_problem(label):
        raise ValidationFailed("give the system a name of at most 200 characters (no control characters)", field="name")
    new_role = parse_role(role)
    if new_role not in SERVICE_ROLES:
        raise ValidationFailed(f"a service account's role is one of: {', '.join(r.value for r in SERVICE_ROLES)}",
                               field="role")
    codes = sorted({_oblast(o) for o in oblasts or []})
    check_assignment(new_role, codes, all_oblasts)
    client_id = "svc_" + secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    with atomic(session):
        user = User(email=f"{client_id}@{EMAIL_DOMAIN}", password_hash=hash_password(secrets.token_urlsafe(32)),
                    role=new_role.value, full_name=label, all_oblasts=all_oblasts,
                    oblasts=[UserOblast(oblast=c) for c in codes])
        session.add(user)
        session.flush()
        client = ServiceClient(client_id=client_id, user_id=user.id, name=label, secret_sha256=token_digest(secret),
                               created_at=now, created_by=acting.user_id if acting else None)
        session.add(client)
        session.flush()
        record(session, user_chain(user.id), "service_account.created", acting.user_id if acting else None,
               {"client_id": client_id, "name": label, "role": new_role.value, "oblasts": codes,
                "all_oblasts": all_oblasts}, at=now)
    return client, secret


def _client(session: Session, client_id: str) -> ServiceClient:
    client = session.scalar(select(ServiceClient).where(ServiceClient.client_id == client_id.strip()).with_for_update())
    if client is None:
        raise NotFound(f"There is no service account {client_id}.")
    return client


def do_rotate_secret(session: Session, acting: Principal | None, client_id: str) -> str:
    """A new secret (returned once); the old one and every token issued with it stop working at once."""
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    with atomic(session):
        client = _client(session, client_id)
        if client.revoked_at is not None:
            raise ValidationFailed("this service account is revoked: create a new one", field="client_id")
        client.secret_sha256, client.rotated_at = token_digest(secret), now
        ended = revoke_all(session, client.user_id, now)
        record(session, user_chain(client.user_id), "service_account.secret_rotated",
               acting.user_id if acting else None, {"client_id": client.client_id, "tokens_ended": ended}, at=now)
    return secret


def do_revoke_service_account(session: Session, acting: Principal | None, client_id: str) -> ServiceClient:
    """End a client for good: no new tokens, and every token it holds stops working at once."""
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    now = utcnow()
    with atomic(session):
        client = _client(session, client_id)
        if client.revoked_at is not None:
            return client
        client.revoked_at = now
        user = session.get(User, client.user_id, with_for_update=True)
        assert user is not None
        user.is_active = False
        ended = revoke_all(session, client.user_id, now)
        record(session, user_chain(client.user_id), "service_account.revoked", acting.user_id if acting else None,
               {"client_id": client.client_id, "tokens_ended": ended}, at=now)
    return client


def client_credentials(session: Session, settings: Settings, client_id: str, secret: str,
                       address: str | None) -> tuple[User, str]:
    """The client's account and a new API session, for a right id and secret of an active client. Failures are
    throttled like sign-ins (per client id and per address) and answered in the same words."""
    limits = throttle.signin_limits(settings, f"client:{client_id[:64]}", address)
    throttle.refuse_if_locked(session, [x.key for x in limits])
    client = session.scalar(select(ServiceClient).where(ServiceClient.client_id == client_id))
    good = hmac.compare_digest(client.secret_sha256 if client else _DUMMY, token_digest(secret))
    user = session.get(User, client.user_id) if client is not None and good else None
    if client is None or not good or client.revoked_at is not None or user is None or not user.is_active:
        throttle.count_attempt(session, settings, limits, address)
        raise Unauthenticated(INVALID_CLIENT, error="invalid_client")
    with atomic(session):
        session.execute(throttle.delete_key(limits[0].key))
        sid = open_session(session, user.id, API, settings.token_minutes)
    return user, sid
