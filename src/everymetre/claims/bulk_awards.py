"""The second commission member's approval (or refusal) of many awards in one transaction.

The same rules as `claims.awards.do_review_award` for one claim: only a commission member in the claim's oblast,
not the member who proposed the award, not the claim's inspector, and for an appeal not the member whose
decision was appealed (`Action.AWARD_APPROVE` with `approval_subject`); only an award that waits (`AWARD_MOVES`);
a reason; an approved award moves the claim to the decided state only if the lifecycle still allows that move.
Approved: the claim moves with the proposed amount and the ledger is posted (repair payables, or the
certificates of a destroyed home: `ledger.post_certificates`) in the same transaction; refused: the claim
stays to be decided again. The audit events per claim are those of the one-claim action.

As for the other bulk decisions (`claims.bulk`), the decision's PDF document is not made here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import NewEvent, append_bulk, claim_chain
from everymetre.claims.lifecycle import AWARD_MOVES, MOVES, AwardState, State, side_move
from everymetre.claims.models import Claim, Decision
from everymetre.kernel.errors import Conflict, ErrorCode, InvalidTransition, StaleVersion, ValidationFailed
from everymetre.kernel.identifiers import claim_reference
from everymetre.store.bulk import update_rows
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

_CHUNK = 5000


def do_review_awards_bulk(session: Session, principal: Principal, claim_ids: Sequence[int], approve: bool, reason: str,
                          now: datetime | None = None) -> int:
    """Approve (or refuse) the awards waiting on these claims, all or none; returns how many were reviewed."""
    from everymetre.payments.ledger import committed_amounts, decision_posts, post, post_certificates
    from everymetre.payments.states import COMMITTED_CLAIMS, DESTROYED

    now = now or utcnow()
    if not claim_ids:
        return 0
    if len(set(claim_ids)) != len(claim_ids):
        raise ValidationFailed("A claim is named twice in one bulk review.", field="claim_id")
    if not reason.strip():
        raise ValidationFailed("Give the reason for approving or refusing the award.", field="reason")
    why = reason.strip()
    uid = principal.user_id
    target = AwardState.APPROVED if approve else AwardState.REFUSED
    with atomic(session):
        claims, pending = _read(session, claim_ids)
        decision_rows: list[dict[str, Any]] = []
        claim_rows: list[dict[str, Any]] = []
        events: dict[str, list[NewEvent]] = {}
        owners: dict[str, int | None] = {}
        decided: list[tuple[int, int, int, int]] = []
        homes: list[int] = []
        for cid in claim_ids:
            c = claims.get(cid)
            if c is None:
                raise ValidationFailed(f"No claim with id {cid}.", field="claim_id")
            ref = claim_reference(c.ref_year, c.id)
            require(principal.actor, Action.AWARD_APPROVE, Subject(oblasts=frozenset({c.oblast})))  # the role first
            d = pending.get(cid)
            if d is None:
                raise Conflict(f"No award on claim {ref} waits for approval.", ErrorCode.NO_AWARD_PENDING, reference=ref)
            side_move(AWARD_MOVES, "award", d.approval, target.value)
            require(principal.actor, Action.AWARD_APPROVE, Subject(
                oblasts=frozenset({c.oblast}), inspector_id=c.inspector_id, proposed_by_id=d.decided_by_id,
                first_decider_id=c.decided_by_id if d.stage == "appeal" else None))
            source, outcome = c.state, d.outcome
            if approve and (State(source), State(outcome)) not in MOVES:
                raise InvalidTransition(f"Claim {ref} is {source} now; the award for {outcome} can no longer be approved.",
                                        ErrorCode.INVALID_TRANSITION, state=source, target=outcome)
            decision_rows.append({"id": d.id, "approval": target.value, "approved_by_id": uid, "approved_at": now,
                                  "approval_reason": why})
            review = {"decision_id": d.id, "approved": approve, "reason": why, "outcome": outcome,
                      "amount_kopiykas": d.amount_kopiykas, "computed_amount_kopiykas": d.computed_amount_kopiykas,
                      "amount_reason": d.amount_reason, "proposed_by_id": d.decided_by_id,
                      "second_approval_because": d.approval_needed_because or []}
            trail = [NewEvent("claim.award_approved" if approve else "claim.award_refused", review, uid, now)]
            if approve:
                claim_rows.append({"id": c.id, "version": c.version, "state": outcome, "state_changed_at": now,
                                   "awarded_amount_kopiykas": d.amount_kopiykas, "decided_by_id": d.decided_by_id,
                                   "decided_at": now})
                trail.append(NewEvent("claim.transition", {"from": source, "to": outcome, "reason": why, "decision": {
                    "stage": d.stage, "outcome": outcome, "amount_kopiykas": d.amount_kopiykas,
                    "computed_amount_kopiykas": d.computed_amount_kopiykas, "amount_reason": d.amount_reason,
                    "reasons": d.reasons, "ruleset_hash": d.ruleset_hash, "approved_by_id": uid}}, uid, now))
                if c.kind == DESTROYED:
                    homes.append(c.id)
                else:
                    decided.append((c.id, c.ref_year, (d.amount_kopiykas or 0) if outcome in COMMITTED_CLAIMS else 0, d.id))
            events[claim_chain(c.id)], owners[claim_chain(c.id)] = trail, c.id
        if update_rows(session, Decision.__table__, ["id"], decision_rows, also="{t}approval = 'pending'") != len(decision_rows):
            raise StaleVersion("Awards were reviewed meanwhile; nothing was saved. Reload and try again.")
        if claim_rows and update_rows(session, Claim.__table__, ["id", "version"], claim_rows,
                                      fixed="version = {t}version + 1") != len(claim_rows):
            raise StaleVersion("Claims changed while their awards were reviewed; nothing was saved. Reload and try again.")
        append_bulk(session, events, owners)
        if decided:
            committed = committed_amounts(session, [r[0] for r in decided])
            post(session, decision_posts(decided, committed), uid)
        if homes:
            post_certificates(session, homes, uid)
    return len(claim_ids)


def _read(session: Session, claim_ids: Sequence[int]) -> tuple[dict[int, Any], dict[int, Any]]:
    """The claims, and each one's latest award waiting for a second member."""
    claims: dict[int, Any] = {}
    pending: dict[int, Any] = {}
    wanted = sorted(set(claim_ids))
    for i in range(0, len(wanted), _CHUNK):
        part = wanted[i:i + _CHUNK]
        claims.update({r.id: r for r in session.execute(
            select(Claim.id, Claim.ref_year, Claim.kind, Claim.state, Claim.version, Claim.oblast, Claim.inspector_id,
                   Claim.decided_by_id).where(Claim.id.in_(part)))})
        for d in session.execute(select(Decision.id, Decision.claim_id, Decision.stage, Decision.outcome, Decision.approval,
                                        Decision.amount_kopiykas, Decision.computed_amount_kopiykas, Decision.amount_reason,
                                        Decision.reasons, Decision.ruleset_hash, Decision.decided_by_id,
                                        Decision.approval_needed_because)
                                 .where(Decision.claim_id.in_(part), Decision.approval == AwardState.PENDING.value)
                                 .order_by(Decision.id)):
            pending[d.claim_id] = d  # the latest wins
    return claims, pending
