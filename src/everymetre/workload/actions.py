"""Naming a claim's inspector (audited) and reading an inspector's day list.

The inspector must be an active inspector account covering the claim's oblast; only an officer of that oblast
names one, and only while the claim waits for its inspection (assigned or inspection scheduled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.models import User, UserOblast
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.accounts.roles import Role
from everymetre.audit.record import claim_chain, record
from everymetre.claims.access import get_claim, visible_claims
from everymetre.claims.lifecycle import State
from everymetre.claims.models import Claim
from everymetre.kernel.errors import ErrorCode, GuardFailed, NotFound, StaleVersion, ValidationFailed
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

AWAITING_INSPECTION = frozenset({State.ASSIGNED.value, State.INSPECTION_SCHEDULED.value})


@dataclass(frozen=True)
class Inspector:
    id: int
    email: str
    full_name: str

    @property
    def label(self) -> str:
        return f"{self.full_name} ({self.email})" if self.full_name else self.email


def inspectors_for(session: Session, oblast: str) -> list[Inspector]:
    """The active inspectors who work in `oblast` (listed for it, or for every oblast), by name."""
    listed = select(UserOblast.user_id).where(UserOblast.oblast == oblast)
    rows = session.execute(
        select(User.id, User.email, User.full_name).where(
            User.role == Role.INSPECTOR.value, User.is_active.is_(True),
            User.all_oblasts.is_(True) | User.id.in_(listed))
    ).all()
    return sorted((Inspector(*r) for r in rows), key=lambda i: (i.full_name.casefold() or i.email, i.email))


def _inspector(session: Session, claim: Claim, who: int | str) -> User:
    stmt = select(User).where(User.id == who) if isinstance(who, int) else select(User).where(User.email == who.strip().lower())
    user = session.scalar(stmt)
    if user is None:
        raise ValidationFailed(f"No account {who!r}.", field="inspector", code=ErrorCode.INSPECTOR_UNSUITABLE,
                               reason="unknown")
    if user.role != Role.INSPECTOR.value:
        raise ValidationFailed(f"{user.email} is not an inspector.", field="inspector",
                               code=ErrorCode.INSPECTOR_UNSUITABLE, reason="not_inspector")
    if not user.is_active:
        raise ValidationFailed(f"{user.email} is deactivated.", field="inspector", code=ErrorCode.INSPECTOR_UNSUITABLE,
                               reason="inactive")
    if not (user.all_oblasts or claim.oblast in user.oblast_codes):
        raise ValidationFailed(f"{user.email} does not work in {claim.oblast}.", field="inspector",
                               code=ErrorCode.INSPECTOR_UNSUITABLE, reason="out_of_scope")
    return user


def do_assign_inspector(session: Session, principal: Principal, reference: str, inspector: int | str,
                        expected_version: int, now: datetime | None = None) -> Claim:
    """Name the inspector of a claim (by user id or e-mail), recorded on the claim's trail."""
    now = now or utcnow()
    with atomic(session):
        claim = get_claim(session, principal, reference)
        require(principal.actor, Action.INSPECTOR_ASSIGN, Subject(frozenset({claim.oblast})))
        if claim.version != expected_version:
            raise StaleVersion(f"The claim is at version {claim.version}, not {expected_version}: someone changed it. "
                               "Reload it and try again.", current_version=claim.version)
        if claim.state not in AWAITING_INSPECTION:
            raise GuardFailed("An inspector is named while the claim waits for its inspection (assigned or "
                              "inspection scheduled).", ErrorCode.NOT_AWAITING_INSPECTION, state=claim.state)
        user = _inspector(session, claim, inspector)
        before = claim.inspector_id
        if before == user.id:
            return claim
        claim.inspector_id = user.id
        session.flush()
        record(session, claim_chain(claim.id), "claim.inspector_assigned", principal.user_id,
               {"before": {"inspector_id": before}, "after": {"inspector_id": user.id, "inspector": user.email}},
               at=now, claim_id=claim.id)
    return claim


@dataclass(frozen=True)
class Visit:
    claim: Claim
    owners: list[tuple[str, str | None]]  # (full name, phone)


def day_list(session: Session, principal: Principal, day: date, inspector_id: int | None = None) -> list[Visit]:
    """The inspections on `day`, in order of place (oblast, hromada, street, building). An inspector sees their
    own; an officer sees those of their oblasts, or of one inspector."""
    require(principal.actor, Action.INSPECTIONS_READ)
    if principal.role is Role.INSPECTOR:
        inspector_id = principal.user_id
    from everymetre.claims.models import Property

    stmt = (visible_claims(principal).join(Property, Property.id == Claim.property_id)
            .where(Claim.inspection_date == day, Claim.state == State.INSPECTION_SCHEDULED.value)
            .order_by(Claim.oblast, Property.hromada, Property.street, Property.building, Claim.id))
    if inspector_id is not None:
        stmt = stmt.where(Claim.inspector_id == inspector_id)
    claims = list(session.scalars(stmt).unique())
    return [Visit(c, [(o.person.full_name, o.person.phone) for o in c.owners]) for c in claims]


def inspector_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: name or email for i, name, email in session.execute(
        select(User.id, User.full_name, User.email).where(User.id.in_(ids)))}


def get_inspector_id(session: Session, email: str) -> int:
    uid = session.scalar(select(User.id).where(User.email == email.strip().lower(), User.role == Role.INSPECTOR.value))
    if uid is None:
        raise NotFound(f"No inspector {email}.")
    return uid
