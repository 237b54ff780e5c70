"""Tier B's two repair payments (Resolution 381): 70 % when the claim is paid, the other 30 % once the owner's
interim report (photos, receipts) is accepted. Both are ordinary payments: batched, approved, written to the
pain.001 file, sent and booked from the bank statement like any other (`payments.batches`, `payments.reconcile`).

* The first payment's share is ``Settings.repair_first_tranche_percent`` (70); the second is the rest, so the
  two add up to the award exactly.
* The second payment (``payments.tranche = 2``, end-to-end id ``EMS-<claim>-<attempt>``) goes to the account the
  first one reached; it posts ``tranche_sent`` (``payments.ledger_rules``); when the bank books it the payout's
  money on the account grows by it (``repair_payouts.second_paid_on``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from everymetre.claims.models import Claim
from everymetre.config import get_settings
from everymetre.payments.models import Payment, RepairPayout
from everymetre.payments.schedule import RepairTier, tier_for_amount
from everymetre.payments.states import DEAD_PAYMENT, PayoutState


def first_payment(awarded_kopiykas: int) -> int:
    """What the first repair payment carries: the whole award for tier A, the first share for tier B."""
    if tier_for_amount(awarded_kopiykas) is RepairTier.A:
        return awarded_kopiykas
    return awarded_kopiykas * get_settings().repair_first_tranche_percent // 100


def second_payment(awarded_kopiykas: int) -> int:
    """Tier B's second payment: the award less the first payment (0 for tier A)."""
    return awarded_kopiykas - first_payment(awarded_kopiykas)


def payable_second_payments(session: Session, hold: Any, tries: Any) -> list[dict[str, Any]]:
    """Rows for `payments` of every tier B payout whose interim report was accepted and whose second payment is
    not yet on its way (none live: a returned one is paid again). `hold(oblast, decided_by, flag)` says which to
    hold back; `tries(claim_ids)` the attempts so far (for the end-to-end id)."""
    first = aliased(Payment)
    live = exists().where(Payment.claim_id == RepairPayout.claim_id, Payment.tranche == 2, Payment.state.not_in(DEAD_PAYMENT))
    rows = session.execute(
        select(RepairPayout.claim_id, RepairPayout.awarded_kopiykas, Claim.oblast, Claim.decided_by_id, Claim.review_flag,
               first.decision_id, first.creditor_name, first.creditor_iban)
        .join(Claim, Claim.id == RepairPayout.claim_id).join(first, first.id == RepairPayout.payment_id)
        .where(RepairPayout.state == PayoutState.INTERIM_ACCEPTED, RepairPayout.second_paid_on.is_(None),
               RepairPayout.awarded_kopiykas.is_not(None), ~live)
        .order_by(RepairPayout.claim_id)).all()
    keep = [r for r in rows if not hold(r.oblast, r.decided_by_id, r.review_flag) and second_payment(int(r.awarded_kopiykas)) > 0]
    attempts = tries([r.claim_id for r in keep])
    out = []
    for r in keep:
        n = attempts.get(r.claim_id, 0) + 1
        out.append({"end_to_end_id": f"EMS-{r.claim_id:012d}-{n:02d}", "purpose": "repair", "tranche": 2,
                    "claim_id": r.claim_id, "certificate_id": None, "decision_id": r.decision_id,
                    "amount_kopiykas": second_payment(int(r.awarded_kopiykas)), "creditor_name": r.creditor_name,
                    "creditor_iban": r.creditor_iban})
    return out
