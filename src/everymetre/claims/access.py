"""Reading claims with the caller's rights: who may see which claim, the facts the lifecycle judges, queues.

Other features (payments, linkage, pages) read claims through here; they never call the claim actions.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.roles import Role
from everymetre.claims.lifecycle import ClaimFacts, Move, Policy, State, available_moves, can_see
from everymetre.claims.models import Claim, Ownership, Person
from everymetre.claims.values import PriorityGroup
from everymetre.config import get_settings
from everymetre.kernel.errors import NotFound, ValidationFailed
from everymetre.kernel.identifiers import MAX_ID, parse_claim_reference
from everymetre.store.types import utcnow


def policy() -> Policy:
    s = get_settings()
    return Policy(s.suspension_default_days, s.suspension_max_days, s.appeal_window_days)


# ---------------------------------------------------------------------------------------------- reading


def is_party(principal: Principal, claim: Claim) -> bool:
    """The claimant filed the claim (as owner or representative), or is named on it: as the person their account
    was made from, or, once their identity is verified (claims.identity), by their RNOKPP on a claim that is no
    longer a draft (filed for them at a service centre, imported, or naming them as a co-owner)."""
    if principal.role is not Role.CLAIMANT:
        return False
    if claim.submitted_by_id == principal.user_id:
        return True
    if principal.person_id is not None and any(o.person_id == principal.person_id for o in claim.owners):
        return True
    return (principal.verified_rnokpp is not None and claim.state != State.DRAFT.value
            and any(o.person.rnokpp == principal.verified_rnokpp for o in claim.owners))


def facts(principal: Principal, claim: Claim) -> ClaimFacts:
    return ClaimFacts(
        state=State(claim.state), oblast=claim.oblast, is_party=is_party(principal, claim),
        inspector_id=claim.inspector_id, decided_by_id=claim.decided_by_id, decided_at=claim.decided_at,
        filed_by_id=filer_id(claim),
        power_of_attorney=claim.power_of_attorney.state if claim.filed_as_representative and claim.power_of_attorney
        else None,
    )


def filer_id(claim: Claim) -> int | None:
    """The staff member who filed the claim for the applicant at a service centre (channel "cnap"), if any."""
    return claim.submitted_by_id if claim.channel == "cnap" else None


def claim_id_from_reference(reference: str) -> int:
    parsed = parse_claim_reference(reference)
    if parsed is None:
        raise NotFound(f"No claim {reference!r}: a reference looks like EM-2026-0001234.")
    return parsed[1]


def get_claim(session: Session, principal: Principal, reference: str) -> Claim:
    """The claim if the principal may see it; otherwise 404, so others' claims cannot even be probed."""
    claim = session.get(Claim, claim_id_from_reference(reference))
    if claim is None or claim.reference != reference.strip().upper() or not can_see(principal.actor, facts(principal, claim)):
        raise NotFound(f"No claim {reference} that you can see.")
    return claim


def moves_for(principal: Principal, claim: Claim, now: datetime | None = None) -> list[Move]:
    return available_moves(principal.actor, facts(principal, claim), now or utcnow(), policy())


@dataclass
class QueueFilter:
    states: list[str] = field(default_factory=list)
    oblasts: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    min_days_waiting: int | None = None
    deadline_within_days: int | None = None
    review_flagged: bool | None = None
    assigned_to_me: bool = False
    overdue: bool = False  # past the decision clock (sla.due: paused while suspended, stopped by a decision)
    q: str = ""  # search text: reference, RNOKPP, name (any spelling), address, registry number


CURSOR_PATTERN = r"^[0-9]{0,18}$"  # what the API documents; any such string is a valid cursor (empty: the first page)


def encode_cursor(last_id: int) -> str:
    """The last id of the page, in decimal: every string of up to 18 digits is a cursor (a page after it)."""
    return str(last_id)


def decode_cursor(cursor: str) -> int:
    if cursor.isascii() and cursor.isdigit() and len(cursor) <= 18:
        return int(cursor)
    try:  # the earlier form, base64 of "after:<id>", still read for links made before
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "after" or not value.isdigit() or len(value) > 19 or int(value) > MAX_ID:
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("The cursor is not one this service gave out; start again without it.", field="cursor") from None


def visible_claims(principal: Principal) -> Select:
    """SELECT of the claims this principal may see: the scoping rule of `lifecycle.can_see`, in SQL."""
    stmt = select(Claim)
    if principal.role is Role.CLAIMANT:
        own = select(Ownership.claim_id).where(Ownership.person_id == principal.person_id)
        conds = [Claim.submitted_by_id == principal.user_id]
        if principal.person_id is not None:
            conds.append(Claim.id.in_(own))
        if principal.verified_rnokpp is not None:  # named on it by RNOKPP, once verified (is_party)
            named = (select(Ownership.claim_id).join(Person, Person.id == Ownership.person_id)
                     .where(Person.rnokpp == principal.verified_rnokpp))
            conds.append(and_(Claim.id.in_(named), Claim.state != State.DRAFT.value))
        return stmt.where(or_(*conds))
    if (scope := oblast_scope(principal, Claim.oblast)) is not None:
        stmt = stmt.where(scope)
    return stmt


def oblast_scope(principal: Principal, oblast: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[bool] | None:
    """The SQL condition that `oblast` is in the principal's assignment (None: national roles see every oblast).

    The one SQL form of `Actor.covers`; queries over claims, findings and payments scope with it."""
    return None if principal.all_oblasts else oblast.in_(sorted(principal.oblasts))


def list_claims(session: Session, principal: Principal, flt: QueueFilter, cursor: str | None = None,
                limit: int = 50, now: datetime | None = None) -> tuple[list[Claim], str | None]:
    stmt = filtered_claims(principal, flt, now)
    if cursor:
        stmt = stmt.where(Claim.id > decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(Claim.id).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def filtered_claims(principal: Principal, flt: QueueFilter, now: datetime | None = None) -> Select:
    """SELECT of the claims this principal may see that match `flt` (unordered): queues and counts use it."""
    now = now or utcnow()
    stmt = visible_claims(principal)
    if flt.states:
        stmt = stmt.where(Claim.state.in_(flt.states))
    if flt.oblasts:
        stmt = stmt.where(Claim.oblast.in_(flt.oblasts))
    if flt.kinds:
        stmt = stmt.where(Claim.kind.in_(flt.kinds))
    if flt.priority:
        stmt = stmt.where(Claim.priority_mask.op("&")(PriorityGroup.mask(flt.priority)) != 0)
    if flt.min_days_waiting is not None:
        stmt = stmt.where(Claim.state_changed_at <= now - timedelta(days=flt.min_days_waiting))
    if flt.deadline_within_days is not None:
        stmt = stmt.where(Claim.suspension_deadline <= now.date() + timedelta(days=flt.deadline_within_days))
    if flt.review_flagged is not None:
        stmt = stmt.where(Claim.review_flag.is_not(None) if flt.review_flagged else Claim.review_flag.is_(None))
    if flt.assigned_to_me:
        stmt = stmt.where(Claim.assignee_id == principal.user_id)
    if flt.overdue:
        from everymetre.sla.due import kyiv_day

        stmt = stmt.where(Claim.decision_due_on < kyiv_day(now))
    if flt.q.strip():
        from everymetre.claims.search import condition

        stmt = stmt.where(condition(flt.q))
    return stmt
