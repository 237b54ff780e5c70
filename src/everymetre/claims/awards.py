"""Award controls: what one commission member may award alone, and the second member's approval of the rest.

* An award equals the rules' computed amount (`Claim.assessed_amount_kopiykas`) unless the decision records
  why it differs (`DecisionIn.amount_reason`; refused with `AWARD_REASON_NEEDED` otherwise).
* An award above the computed amount, above the cap of the computed tier (repair tier A: `repair.tier_a_cap`;
  tier B: `repair.tier_b_cap_<kind>`), or above EVERYMETRE_AWARD_SECOND_APPROVAL_ABOVE_KOPIYKAS needs a second
  commission member: the decision is recorded `pending` and the claim stays where it was (assessed, or
  appealed) until another member — not the one who made the award, not the claim's inspector, and for an
  appeal not the member whose decision was appealed (`Action.AWARD_APPROVE`, `Segregation`) — approves it (the
  claim then moves, the decision document is made and the ledger posted) or refuses it (the claim is decided
  again). The moves are `claims.lifecycle.AWARD_MOVES`.
* The decision row and its audit events hold the amount, the computed amount, the reason and why a second
  approval was needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, check, require
from everymetre.audit.record import NewEvent, claim_chain, record_many
from everymetre.claims.access import get_claim
from everymetre.claims.lifecycle import AWARD_MOVES, MOVES, AwardState, ClaimKind, State, side_move
from everymetre.claims.models import Claim, Decision
from everymetre.config import get_settings
from everymetre.documents.service import record_document
from everymetre.kernel.errors import Conflict, ErrorCode, InvalidTransition, ValidationFailed
from everymetre.payments.ledger import post_decision
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

if TYPE_CHECKING:
    from everymetre.rules.ruleset import RuleSet

ABOVE_COMPUTED = "above_computed"
ABOVE_TIER_CAP = "above_tier_cap"
ABOVE_THRESHOLD = "above_threshold"


@dataclass(frozen=True, slots=True)
class AwardCheck:
    amount: int
    computed: int | None
    tier_cap: int | None
    threshold: int
    second_approval_because: tuple[str, ...]  # empty: one member's decision stands

    def as_dict(self) -> dict[str, Any]:
        return {"amount_kopiykas": self.amount, "computed_amount_kopiykas": self.computed,
                "tier_cap_kopiykas": self.tier_cap, "threshold_kopiykas": self.threshold,
                "second_approval_because": list(self.second_approval_because)}


def tier_cap(claim: Claim, on: date) -> int | None:
    """The cap of the tier the rules' amount falls in (repair money only; certificates have no tier)."""
    return tier_cap_of(claim.kind, claim.assessed_amount_kopiykas, claim.home.kind, on)


def tier_cap_of(kind: str, computed: int | None, home_kind: str, on: date, rules: RuleSet | None = None) -> int | None:
    """`tier_cap` from the claim's kind, computed amount and home kind (for bulk decisions, which read rows and
    pass the rule set they loaded once)."""
    if kind == ClaimKind.DESTROYED_HOUSING_APPLICATION.value or computed is None:
        return None
    if rules is None:
        from everymetre.claims.assessment import current_ruleset

        rules = current_ruleset()
    a_cap = int(rules.value("repair.tier_a_cap", on).value)
    if computed <= a_cap:
        return a_cap
    return int(rules.value(f"repair.tier_b_cap_{home_kind}", on).value)


def check_award(claim: Claim, amount: int, on: date) -> AwardCheck:
    return award_check(claim.kind, claim.assessed_amount_kopiykas, claim.home.kind, amount, on)


def award_check(kind: str, computed: int | None, home_kind: str, amount: int, on: date,
                rules: RuleSet | None = None) -> AwardCheck:
    """What one member may award alone (the module's text), from the claim's facts as values."""
    cap = tier_cap_of(kind, computed, home_kind, on, rules)
    threshold = get_settings().award_second_approval_above_kopiykas
    because = []
    if computed is not None and amount > computed:
        because.append(ABOVE_COMPUTED)
    if cap is not None and amount > cap:
        because.append(ABOVE_TIER_CAP)
    if amount > threshold:
        because.append(ABOVE_THRESHOLD)
    return AwardCheck(amount, computed, cap, threshold, tuple(because))


def require_reason(award: AwardCheck, reason: str | None) -> None:
    if award.computed is not None and award.amount != award.computed and not (reason or "").strip():
        raise ValidationFailed("The amount differs from the amount the rules computed: say why in the reason for "
                               "the amount.", field="decision.amount_reason", code=ErrorCode.AWARD_REASON_NEEDED,
                               amount=award.amount, computed=award.computed)


def pending_decision(session: Session, claim_id: int) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.claim_id == claim_id, Decision.approval == AwardState.PENDING.value)
                          .order_by(Decision.id.desc()).limit(1))


def refuse_if_pending(session: Session, claim: Claim) -> None:
    if pending_decision(session, claim.id) is not None:
        raise Conflict(f"An award on claim {claim.reference} waits for a second commission member: approve or refuse "
                       "it first.", ErrorCode.AWARD_PENDING, reference=claim.reference)


def approval_subject(claim: Claim, decision: Decision) -> Subject:
    first = claim.decided_by_id if decision.stage == "appeal" else None
    return Subject(oblasts=frozenset({claim.oblast}), inspector_id=claim.inspector_id,
                   proposed_by_id=decision.decided_by_id, first_decider_id=first)


def pending_award_view(session: Session, principal: Principal, claim: Claim) -> dict[str, Any] | None:
    """The award waiting for a second member, as a page or the API shows it (with whether this viewer may act)."""
    decision = pending_decision(session, claim.id)
    if decision is None:
        return None
    problem = check(principal.actor, Action.AWARD_APPROVE, approval_subject(claim, decision))
    return {"decision_id": decision.id, "outcome": decision.outcome, "stage": decision.stage,
            "amount_kopiykas": decision.amount_kopiykas, "computed_amount_kopiykas": decision.computed_amount_kopiykas,
            "amount_reason": decision.amount_reason, "reasons": decision.reasons,
            "second_approval_because": decision.approval_needed_because or [], "proposed_by_id": decision.decided_by_id,
            "proposed_at": decision.decided_at, "can_review": problem is None,
            "cannot_review_because": problem.detail if problem else None,
            "cannot_review_code": problem.code.value if problem else None}


def do_review_award(session: Session, principal: Principal, reference: str, approve: bool, reason: str,
                    now: datetime | None = None) -> Claim:
    """The second commission member approves (the claim moves to the decided state with this award, its document
    is made and the ledger posted, all in this transaction) or refuses (the claim stays to be decided again) an
    award waiting for them, with their reason."""
    now = now or utcnow()
    with atomic(session):
        claim = get_claim(session, principal, reference)
        require(principal.actor, Action.AWARD_APPROVE, Subject(oblasts=frozenset({claim.oblast})))  # the role first
        decision = pending_decision(session, claim.id)
        if decision is None:
            raise Conflict(f"No award on claim {claim.reference} waits for approval.", ErrorCode.NO_AWARD_PENDING,
                           reference=claim.reference)
        target = AwardState.APPROVED if approve else AwardState.REFUSED
        side_move(AWARD_MOVES, "award", decision.approval, target.value)
        require(principal.actor, Action.AWARD_APPROVE, approval_subject(claim, decision))
        if not reason.strip():
            raise ValidationFailed("Give the reason for approving or refusing the award.", field="reason")
        source, outcome = claim.state, decision.outcome
        if approve and (State(source), State(outcome)) not in MOVES:
            raise InvalidTransition(f"The claim is {source} now; the award for {outcome} can no longer be approved.",
                                    ErrorCode.INVALID_TRANSITION, state=source, target=outcome)
        decision.approval, decision.approved_by_id = target.value, principal.user_id
        decision.approved_at, decision.approval_reason = now, reason.strip()
        review = {"decision_id": decision.id, "approved": approve, "reason": reason.strip(), "outcome": outcome,
                  "amount_kopiykas": decision.amount_kopiykas, "computed_amount_kopiykas": decision.computed_amount_kopiykas,
                  "amount_reason": decision.amount_reason, "proposed_by_id": decision.decided_by_id,
                  "second_approval_because": decision.approval_needed_because or []}
        events = [NewEvent("claim.award_approved" if approve else "claim.award_refused", review, principal.user_id, now)]
        if approve:
            claim.state, claim.state_changed_at = outcome, now
            claim.awarded_amount_kopiykas = decision.amount_kopiykas
            claim.decided_by_id, claim.decided_at = decision.decided_by_id, now
            events.append(NewEvent("claim.transition", {"from": source, "to": outcome, "reason": reason.strip(),
                                   "decision": {"stage": decision.stage, "outcome": outcome,
                                                "amount_kopiykas": decision.amount_kopiykas,
                                                "computed_amount_kopiykas": decision.computed_amount_kopiykas,
                                                "amount_reason": decision.amount_reason, "reasons": decision.reasons,
                                                "ruleset_hash": decision.ruleset_hash, "approved_by_id": principal.user_id}},
                                   principal.user_id, now))
        session.flush()
        record_many(session, claim_chain(claim.id), events, claim_id=claim.id)
        if approve:
            record_document(session, claim.id, outcome)
            post_decision(session, claim, principal.user_id)
    return claim
