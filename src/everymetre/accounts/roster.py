"""Who has which role where: listing accounts and changing a staff member's role and oblasts (audited).

Kept apart from `accounts.actions` (creating, signing in, loading the principal) so each stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal, normalise_email
from everymetre.accounts.models import SERVICE_EMAIL_DOMAIN, AuthSession, User, UserOblast
from everymetre.accounts.permissions import Action, require
from everymetre.accounts.roles import NATIONAL_ROLES, Role
from everymetre.audit.record import record, user_chain
from everymetre.kernel.errors import ErrorCode, GuardFailed, NotFound, ValidationFailed
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
    last_sign_in: datetime | None = None  # the newest page or API session opened (the access review)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_users(session: Session, acting: Principal | None, role: str | None = None, oblast: str | None = None,
               active: bool | None = None, q: str | None = None, staff_only: bool = False,
               limit: int | None = None, user_id: int | None = None) -> list[Account]:
    """Accounts by e-mail, optionally only one role, those covering one oblast, only (in)active ones, those whose
    e-mail or name contains `q`, or only staff; each with its last sign-in."""
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    last = (select(AuthSession.user_id, func.max(AuthSession.created_at).label("last"))
            .group_by(AuthSession.user_id).subquery())
    stmt = (select(User, last.c.last).outerjoin(last, last.c.user_id == User.id)
            .where(User.email.not_like(f"%@{SERVICE_EMAIL_DOMAIN}")).order_by(User.email))  # service accounts apart
    if role:
        stmt = stmt.where(User.role == parse_role(role).value)
    elif staff_only:
        stmt = stmt.where(User.role != Role.CLAIMANT.value)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    if user_id is not None:
        stmt = stmt.where(User.id == user_id)
    if q and q.strip():  # casefolded on both sides (users.search_key): "ОЛЕНА" finds "Олена" on SQLite too
        stmt = stmt.where(User.search_key.like(_like(q.strip().casefold()), escape="\\"))
    rows = []
    code = _oblast(oblast) if oblast else None
    for u, last_at in session.execute(stmt):
        national = u.all_oblasts or Role(u.role) in NATIONAL_ROLES
        if code and not (national or code in u.oblast_codes):
            continue
        rows.append(Account(u.id, u.email, u.full_name, u.role, tuple(sorted(u.oblast_codes)), national, u.is_active,
                            u.created_at, last_at))
        if limit is not None and len(rows) >= limit:
            break
    return rows


def get_account(session: Session, acting: Principal | None, user_id: int) -> Account:
    if acting is not None:
        require(acting.actor, Action.USER_MANAGE)
    rows = list_users(session, None, user_id=user_id)
    if not rows:
        raise NotFound(f"There is no account {user_id}.")
    return rows[0]


def active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN.value,
                                                                      User.is_active.is_(True))) or 0


def guard_admin_change(session: Session, acting: Principal | None, user: User, *, stays_admin: bool) -> None:
    """An administrator does not change their own account (another administrator does: nobody raises their own
    rights), and no change leaves the programme without an active administrator."""
    if acting is not None and acting.user_id == user.id:
        raise GuardFailed("You cannot change your own role, oblasts or account: ask another administrator.",
                          ErrorCode.SELF_ADMINISTRATION)
    if user.role == Role.ADMIN.value and user.is_active and not stays_admin and active_admins(session) <= 1:
        raise GuardFailed("This is the last active administrator: make another administrator first.",
                          ErrorCode.LAST_ADMIN)


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
        guard_admin_change(session, acting, user, stays_admin=new_role is Role.ADMIN)
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
