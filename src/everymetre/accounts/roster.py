"""Who has which role where: listing accounts and changing a staff member's role and oblasts (audited).

Kept apart from `accounts.actions` (creating, signing in, loading the principal) so each stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal, normalise_email
from everymetre.accounts.models import User, UserOblast
from everymetre.accounts.permissions import Action, require
from everymetre.accounts.roles import NATIONAL_ROLES, Role
from everymetre.audit.record import record, user_chain
from everymetre.kernel.errors import NotFound, ValidationFailed
from everymetre.kernel.geography import resolve_oblast
from everymetre.store.tx import atomic

SCOPED_ROLES = frozenset({Role.OFFICER, Role.INSPECTOR, Role.COMMISSION, Role.PAYMENTS})


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    full_name: str
    role: str
    oblasts: tuple[str, ...]
    all_oblasts: bool  # listed for every oblast (a national role, or --all-oblasts)
    is_active: bool
    created_at: datetime


def list_users(session: Session, acting: Principal | None, role: str | None = None, oblast: str | None = None,
               active: bool | None = None) -> list[Account]:
    """Accounts by e-mail, optionally only one role, those covering one oblast, or only (in)active ones."""
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    stmt = select(User).order_by(User.email)
    if role:
        stmt = stmt.where(User.role == parse_role(role).value)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    rows = []
    code = _oblast(oblast) if oblast else None
    for u in session.scalars(stmt):
        national = u.all_oblasts or Role(u.role) in NATIONAL_ROLES
        if code and not (national or code in u.oblast_codes):
            continue
        rows.append(Account(u.id, u.email, u.full_name, u.role, tuple(sorted(u.oblast_codes)), national, u.is_active,
                            u.created_at))
    return rows


def parse_role(role: str) -> Role:
    try:
        r = Role(role)
    except ValueError:
        raise ValidationFailed(f"unknown role {role!r}; use one of: "
                               f"{', '.join(x.value for x in Role if x is not Role.SYSTEM)}", field="role") from None
    if r is Role.SYSTEM:
        raise ValidationFailed("the system role is not for people", field="role")
    return r


def _oblast(name: str) -> str:
    try:
        return resolve_oblast(name)
    except KeyError as exc:
        raise ValidationFailed(str(exc.args[0]), field="oblast") from None


def check_assignment(role: Role, codes: list[str], all_oblasts: bool) -> None:
    """The oblast assignment a role may have: scoped staff need oblasts (or all), claimants none."""
    if role is Role.CLAIMANT and (codes or all_oblasts):
        raise ValidationFailed("a claimant account has no oblasts", field="oblast")
    if role in SCOPED_ROLES and not codes and not all_oblasts:
        raise ValidationFailed(f"a {role} must be assigned at least one oblast (--oblast NAME) or --all-oblasts",
                               field="oblast")
    if codes and all_oblasts:
        raise ValidationFailed("give either --oblast or --all-oblasts, not both", field="oblast")


def do_set_role(session: Session, acting: Principal | None, email: str, role: str, oblasts: list[str] | None = None,
                all_oblasts: bool = False) -> User:
    """Change a staff account's role and oblast assignment (replacing the old one). `acting` is None for the
    CLI. The change applies to the account's next request: the principal is loaded from the store each time."""
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    new_role = parse_role(role)
    codes = sorted({_oblast(o) for o in oblasts or []})
    check_assignment(new_role, codes, all_oblasts)
    with atomic(session):
        user = session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise NotFound(f"no account {email}")
        old_role = Role(user.role)
        if (old_role is Role.CLAIMANT) != (new_role is Role.CLAIMANT):
            raise ValidationFailed("a claimant account cannot become staff, nor staff a claimant: create a separate "
                                   "account", field="role")
        if acting is not None and acting.user_id == user.id and new_role is not Role.ADMIN:
            raise ValidationFailed("you cannot take the administrator role from yourself", field="role")
        before = {"role": user.role, "oblasts": sorted(user.oblast_codes), "all_oblasts": user.all_oblasts}
        after = {"role": new_role.value, "oblasts": codes, "all_oblasts": all_oblasts}
        if before == after:
            return user
        user.role, user.all_oblasts = new_role.value, all_oblasts
        user.oblasts = [UserOblast(oblast=c) for c in codes]
        session.flush()
        record(session, user_chain(user.id), "user.role_changed", acting.user_id if acting else None,
               {"before": before, "after": after})
    return user
