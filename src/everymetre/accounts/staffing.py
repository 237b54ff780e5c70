"""An administrator adds a staff member: the account is created with no usable password and a one-time link
(valid `password_reset_minutes`) with which its owner sets one, in one transaction, both audited. The admin pages
and `everymetre users add --link` call the same action."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal, hash_password, normalise_email
from everymetre.accounts.models import User, UserOblast
from everymetre.accounts.passwords import issue_reset
from everymetre.accounts.permissions import Action, require
from everymetre.accounts.roles import Role
from everymetre.accounts.roster import _oblast, check_assignment, parse_role
from everymetre.audit.record import record, user_chain
from everymetre.config import Settings
from everymetre.kernel.errors import Conflict, ValidationFailed
from everymetre.kernel.text import text_problem
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow


def do_create_staff(session: Session, settings: Settings, acting: Principal | None, email: str, role: str,
                    oblasts: list[str] | None = None, all_oblasts: bool = False,
                    full_name: str = "") -> tuple[User, str]:
    """Create a staff account and its first one-time password link; returns the account and the link's token
    (shown once to whoever created it, never stored). `acting` is None for the operator's CLI."""
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    address = normalise_email(email)
    new_role = parse_role(role)
    if new_role is Role.CLAIMANT:
        raise ValidationFailed("applicants create their own accounts; here you add staff", field="role")
    name = full_name.strip()
    if problem := text_problem(name):
        raise ValidationFailed(problem, field="full_name")
    if len(name) > 200:
        raise ValidationFailed("the name is longer than 200 characters", field="full_name")
    codes = sorted({_oblast(o) for o in oblasts or []})
    check_assignment(new_role, codes, all_oblasts)
    now = utcnow()
    with atomic(session):
        if session.scalar(select(User.id).where(User.email == address)) is not None:
            raise Conflict(f"an account for {address} already exists")
        user = User(email=address, password_hash=hash_password(secrets.token_urlsafe(32)), role=new_role.value,
                    full_name=name, all_oblasts=all_oblasts, oblasts=[UserOblast(oblast=c) for c in codes])
        session.add(user)
        session.flush()
        record(session, user_chain(user.id), "user.created", acting.user_id if acting else None,
               {"after": {"email": address, "role": new_role.value, "oblasts": codes, "all_oblasts": all_oblasts}},
               at=now)
        token = issue_reset(session, settings, acting, user, now)
    return user, token
