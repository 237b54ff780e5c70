"""Repair payouts after the money lands (Resolution 381): spending, closing, repeat damage and the deadlines the
system enforces (`do_sweep`, which also lapses and expires certificates). The owner's interim and final reports
and their check are `payments.repair_reports`; the bank's card file is `payments.card_transactions`.

Which step follows which is `payments.states.PAYOUT`; who may take it is `accounts.permissions` (PAYOUT_*).
Audit chains ``payout:ID`` and ``certificate:ID``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from everymetre.accounts.actions import SYSTEM, Principal
from everymetre.accounts.permissions import Action, require
from everymetre.audit.record import record
from everymetre.claims.access import get_claim
from everymetre.claims.lifecycle import State as ClaimState
from everymetre.claims.models import Claim
from everymetre.kernel.errors import (
    ErrorCode,
    GuardFailed,
    NotFound,
    ValidationFailed,
)
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments import ledger_rules
from everymetre.payments.certificate_sweep import sweep_certificates
from everymetre.payments.common import claim_subject, today_utc, uah
from everymetre.payments.ledger import Post, post
from everymetre.payments.models import Payment, RepairPayout
from everymetre.payments.schedule import final_report_due
from everymetre.payments.states import PAYOUT, PaymentState, PayoutState
from everymetre.store.tx import atomic

PO = PayoutState
# tier B's second payment on its way: the payout does not expire under it (it expires once it lands or returns)
SECOND_IN_FLIGHT = (PaymentState.PENDING.value, PaymentState.BATCHED.value, PaymentState.SENT.value)


def payout_for(session: Session, principal: Principal, reference: str, action: Action,
            lock: bool = True) -> tuple[RepairPayout, Claim]:
    """The claim's payout, if the principal may see the claim (else 404) and take `action` on it (else 403)."""
    claim = get_claim(session, principal, reference)
    require(principal.actor, action, claim_subject(principal, claim))
    stmt = select(RepairPayout).where(RepairPayout.claim_id == claim.id)
    payout = session.scalar(stmt.with_for_update() if lock else stmt)
    if payout is None:
        raise NotFound(f"Claim {claim.reference} has no repair payout yet (the money has not reached the account).")
    return payout, claim


def payout_event(session: Session, principal: Principal, payout: RepairPayout, claim: Claim, action: str,
           payload: dict[str, Any]) -> None:
    record(session, f"payout:{payout.id}", action, principal.user_id, {"claim": claim.reference, **payload}, claim_id=claim.id)


def do_record_spending(session: Session, principal: Principal, reference: str, amount_kopiykas: int,
                       on: date | None = None) -> RepairPayout:
    """Money spent from the special account on a participating vendor (reported by the bank)."""
    if amount_kopiykas <= 0:
        raise ValidationFailed("The amount spent must be positive.", field="amount_kopiykas")
    on = on or today_utc()
    with atomic(session):
        payout, claim = payout_for(session, principal, reference, Action.PAYOUT_SPEND)
        target = payout.state if payout.state != PO.FUNDS_TRANSFERRED else PO.SPENDING
        move = PAYOUT.move(payout.state, target)
        if on > payout.window_end:
            raise GuardFailed(f"The spending window closed on {payout.window_end.isoformat()}.", ErrorCode.DEADLINE_PASSED,
                              deadline="spending_window", last_day=payout.window_end.isoformat())
        left = payout.amount_kopiykas - payout.spent_kopiykas
        if amount_kopiykas > left:
            raise ValidationFailed(f"Only {uah(left)} is left on the account.", field="amount_kopiykas")
        payout.spent_kopiykas += amount_kopiykas
        payout.state = move.target
        payout_event(session, principal, payout, claim, "payout.spent", {"amount_kopiykas": amount_kopiykas, "on": on.isoformat()})
    return payout


def return_balance(payout: RepairPayout, claim_ref: str) -> list[Post]:
    left = payout.amount_kopiykas - payout.spent_kopiykas - payout.returned_kopiykas
    if left <= 0:
        return []
    payout.returned_kopiykas += left
    return [Post(ledger_rules.balance_returned_transaction(f"RET-{payout.id}", left, claim=claim_ref), claim_id=payout.claim_id),
            Post(ledger_rules.returned_to_budget_transaction(f"RTB-{payout.id}", left, claim=claim_ref), claim_id=payout.claim_id)]


def do_close_payout(session: Session, principal: Principal, reference: str, on: date | None = None) -> RepairPayout:
    """Close a verified payout; any unspent balance returns to the budget."""
    on = on or today_utc()
    with atomic(session):
        payout, claim = payout_for(session, principal, reference, Action.PAYOUT_CLOSE)
        move = PAYOUT.move(payout.state, PO.CLOSED)
        posts = return_balance(payout, claim.reference)
        payout.state, payout.closed_on = move.target, on
        session.flush()
        post(session, posts, principal.user_id)
        payout_event(session, principal, payout, claim, "payout.closed",
               {"on": on.isoformat(), "spent_kopiykas": payout.spent_kopiykas, "returned_kopiykas": payout.returned_kopiykas})
    return payout


# ---------------------------------------------------------------------------------------------- deadlines


@dataclass
class SweepReport:
    payouts_expired: int = 0
    returned_kopiykas: int = 0
    reservations_lapsed: int = 0
    certificates_expired: int = 0
    released_kopiykas: int = 0
    payouts_redamaged: int = 0
    certificates_redeemed: int = 0
    reservations_confirmed: int = 0
    reservations_escalated: int = 0


def final_report_deadline(payout: RepairPayout) -> date:
    """The last day to file the final report: 15 working days after the spending window's end."""
    return final_report_due(payout.window_end)


def _expire(session: Session, principal: Principal, payout: RepairPayout, ref: str, today: date, report: SweepReport) -> None:
    posts = return_balance(payout, ref)
    payout.state, payout.closed_on = PAYOUT.move(payout.state, PO.EXPIRED_BALANCE_RETURNED).target, today
    session.flush()
    post(session, posts, principal.user_id)
    report.payouts_expired += 1
    report.returned_kopiykas += sum(p.tx.amount for p in posts[:1])
    record(session, f"payout:{payout.id}", "payout.expired_balance_returned", principal.user_id,
           {"claim": ref, "window_end": payout.window_end.isoformat(), "report_due": final_report_deadline(payout).isoformat(),
            "spent_kopiykas": payout.spent_kopiykas, "returned_kopiykas": payout.returned_kopiykas}, claim_id=payout.claim_id)


def close_for_redamage(session: Session, principal: Principal, payout: RepairPayout, ref: str, new_ref: str, today: date) -> int:
    """The home was damaged again (a new claim, `new_ref`): the earlier payout's card is closed and its unspent
    balance returns to the budget (ledger). Inside the caller's transaction; returns the kopiykas returned."""
    posts = return_balance(payout, ref)
    payout.state, payout.closed_on = PAYOUT.move(payout.state, PO.REDAMAGED).target, today
    session.flush()
    post(session, posts, principal.user_id)
    record(session, f"payout:{payout.id}", "payout.redamaged", principal.user_id,
           {"claim": ref, "new_claim": new_ref, "spent_kopiykas": payout.spent_kopiykas,
            "returned_kopiykas": payout.returned_kopiykas}, claim_id=payout.claim_id)
    return sum(p.tx.amount for p in posts[:1])


# claims that do not count as a repeat damage of the same home
_NOT_A_NEW_CLAIM = (ClaimState.DRAFT.value, ClaimState.WITHDRAWN.value, ClaimState.DUPLICATE.value)


def _redamaged(session: Session) -> list[tuple[RepairPayout, int, int, int]]:
    """Open payouts whose home has a newer claim: (payout, claim year, newer claim's id, its year)."""
    old, new = aliased(Claim), aliased(Claim)
    rows = session.execute(
        select(RepairPayout, old.ref_year, func.min(new.id), func.min(new.ref_year))
        .join(old, old.id == RepairPayout.claim_id)
        .join(new, (new.id > old.id) & ((new.property_id == old.property_id) | (new.previous_claim_id == old.id)))
        .where(RepairPayout.state.in_(PAYOUT.sources(PO.REDAMAGED)), new.state.not_in(_NOT_A_NEW_CLAIM))
        .group_by(RepairPayout.id, old.ref_year)).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def do_sweep(session: Session, principal: Principal = SYSTEM, today: date | None = None) -> SweepReport:
    """The deadlines the system enforces, as of `today`: a repair payout whose final report was not filed within
    15 working days of the spending window's end expires and its unspent money returns to the budget; an open
    payout whose home has a newer claim (repeat damage) is closed and its balance returned; a certificate
    reservation lapses 30 days after it was made without a contract; a certificate not used within 5 years
    expires; a booking still unconfirmed after its 5-working-day target is escalated. Safe to run any number of
    times."""
    require(principal.actor, Action.PAYMENTS_SWEEP)
    today = today or today_utc()
    report = SweepReport()
    with atomic(session):
        for payout, year, new_id, new_year in _redamaged(session):
            report.returned_kopiykas += close_for_redamage(session, principal, payout, claim_reference(year, payout.claim_id),
                                                           claim_reference(new_year, new_id), today)
            report.payouts_redamaged += 1
        due = session.execute(select(RepairPayout, Claim.ref_year).join(Claim, Claim.id == RepairPayout.claim_id)
                              .where(RepairPayout.state.in_(PAYOUT.sources(PO.EXPIRED_BALANCE_RETURNED)),
                                     RepairPayout.window_end < today)
                              .with_for_update(of=RepairPayout)).all()
        in_flight = set(session.scalars(select(Payment.claim_id).where(
            Payment.claim_id.in_([p.claim_id for p, _ in due]), Payment.tranche == 2, Payment.state.in_(SECOND_IN_FLIGHT))))
        for payout, year in due:
            if final_report_deadline(payout) < today and payout.claim_id not in in_flight:
                _expire(session, principal, payout, claim_reference(year, payout.claim_id), today, report)
        # certificates: lapsed reservations, expiry, redemption of paid ones, the funding queue (certificate_sweep)
        certs = sweep_certificates(session, principal.user_id, today)
        report.reservations_lapsed, report.certificates_expired = certs.reservations_lapsed, certs.certificates_expired
        report.released_kopiykas = certs.released_kopiykas
        report.certificates_redeemed, report.reservations_confirmed = certs.certificates_redeemed, certs.confirmed
        report.reservations_escalated = certs.escalated
    return report
