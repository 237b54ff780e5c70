"""Repair payouts after the money lands (Resolution 381): spending, the interim and final reports, verification,
closing, and the deadlines the system enforces (`do_sweep`, which also lapses and expires certificates).

Which step follows which is `payments.states.PAYOUT`; who may take it is `accounts.permissions` (PAYOUT_*).
Audit chains ``payout:ID`` and ``certificate:ID``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import SYSTEM, Principal
from everymetre.accounts.permissions import Action, require
from everymetre.audit.record import record
from everymetre.claims.access import get_claim
from everymetre.claims.models import Claim
from everymetre.kernel.errors import (
    ErrorCode,
    GuardFailed,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments import ledger_rules
from everymetre.payments.certificate_sweep import sweep_certificates
from everymetre.payments.common import claim_subject, today_utc, uah
from everymetre.payments.ledger import Post, post
from everymetre.payments.models import RepairPayout
from everymetre.payments.states import PAYOUT, Needs, PayoutState
from everymetre.store.tx import atomic

PO = PayoutState


def _payout(session: Session, principal: Principal, reference: str, action: Action,
            lock: bool = True) -> tuple[RepairPayout, Claim]:
    """The claim's payout, if the principal may see the claim (else 404) and take `action` on it (else 403)."""
    claim = get_claim(session, principal, reference)
    require(principal.actor, action, claim_subject(principal, claim))
    stmt = select(RepairPayout).where(RepairPayout.claim_id == claim.id)
    payout = session.scalar(stmt.with_for_update() if lock else stmt)
    if payout is None:
        raise NotFound(f"Claim {claim.reference} has no repair payout yet (the money has not reached the account).")
    return payout, claim


def _event(session: Session, principal: Principal, payout: RepairPayout, claim: Claim, action: str,
           payload: dict[str, Any]) -> None:
    record(session, f"payout:{payout.id}", action, principal.user_id, {"claim": claim.reference, **payload}, claim_id=claim.id)


def do_record_spending(session: Session, principal: Principal, reference: str, amount_kopiykas: int,
                       on: date | None = None) -> RepairPayout:
    """Money spent from the special account on a participating vendor (reported by the bank)."""
    if amount_kopiykas <= 0:
        raise ValidationFailed("The amount spent must be positive.", field="amount_kopiykas")
    on = on or today_utc()
    with atomic(session):
        payout, claim = _payout(session, principal, reference, Action.PAYOUT_SPEND)
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
        _event(session, principal, payout, claim, "payout.spent", {"amount_kopiykas": amount_kopiykas, "on": on.isoformat()})
    return payout


def do_interim_report(session: Session, principal: Principal, reference: str, on: date | None = None,
                      note: str = "") -> RepairPayout:
    """The owner's interim report (photos, receipts) — required for tier B before the final report."""
    on = on or today_utc()
    with atomic(session):
        payout, claim = _payout(session, principal, reference, Action.PAYOUT_REPORT)
        payout.state = PAYOUT.move(payout.state, PO.INTERIM_REPORTED).target
        payout.interim_reported_on = on
        _event(session, principal, payout, claim, "payout.interim_reported", {"on": on.isoformat(), "note": note})
    return payout


def do_final_report(session: Session, principal: Principal, reference: str, on: date | None = None,
                    note: str = "") -> RepairPayout:
    """The owner's final repair report (up to 10 photos). Tier B needs the interim report first."""
    on = on or today_utc()
    with atomic(session):
        payout, claim = _payout(session, principal, reference, Action.PAYOUT_REPORT)
        move = PAYOUT.move(payout.state, PO.FINAL_REPORTED)
        if Needs.TIER_A in move.needs and payout.tier == "B":
            raise InvalidTransition(f"The payout is {payout.state}; a final report cannot be filed now (tier B: file the "
                                    "interim report first).", machine="payout", state=payout.state,
                                    target=PO.FINAL_REPORTED.value, allowed=[PO.INTERIM_REPORTED.value])
        payout.state, payout.final_reported_on = move.target, on
        _event(session, principal, payout, claim, "payout.final_reported",
               {"on": on.isoformat(), "spent_kopiykas": payout.spent_kopiykas, "note": note})
    return payout


def do_verify_payout(session: Session, principal: Principal, reference: str, on: date | None = None) -> RepairPayout:
    """An officer or commission member checks the final report against the works."""
    on = on or today_utc()
    with atomic(session):
        payout, claim = _payout(session, principal, reference, Action.PAYOUT_VERIFY)
        payout.state = PAYOUT.move(payout.state, PO.VERIFIED).target
        payout.verified_on, payout.verified_by_id = on, principal.user_id
        _event(session, principal, payout, claim, "payout.verified", {"on": on.isoformat()})
    return payout


def _return_balance(payout: RepairPayout, claim_ref: str) -> list[Post]:
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
        payout, claim = _payout(session, principal, reference, Action.PAYOUT_CLOSE)
        move = PAYOUT.move(payout.state, PO.CLOSED)
        posts = _return_balance(payout, claim.reference)
        payout.state, payout.closed_on = move.target, on
        session.flush()
        post(session, posts, principal.user_id)
        _event(session, principal, payout, claim, "payout.closed",
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
    certificates_redeemed: int = 0
    reservations_confirmed: int = 0


def do_sweep(session: Session, principal: Principal = SYSTEM, today: date | None = None) -> SweepReport:
    """The deadlines the system enforces, as of `today`: repair money unspent when the window closes returns
    to the budget; a certificate reservation lapses 30 days after it was made without a contract; a
    certificate not used within 5 years expires. Safe to run any number of times."""
    require(principal.actor, Action.PAYMENTS_SWEEP)
    today = today or today_utc()
    report = SweepReport()
    expire = PO.EXPIRED_BALANCE_RETURNED
    with atomic(session):
        due = session.execute(select(RepairPayout, Claim.ref_year).join(Claim, Claim.id == RepairPayout.claim_id)
                              .where(RepairPayout.state.in_(PAYOUT.sources(expire)), RepairPayout.window_end < today)
                              .with_for_update(of=RepairPayout)).all()
        for payout, year in due:
            ref = claim_reference(year, payout.claim_id)
            posts = _return_balance(payout, ref)
            payout.state, payout.closed_on = PAYOUT.move(payout.state, expire).target, today
            session.flush()
            post(session, posts, principal.user_id)
            report.payouts_expired += 1
            report.returned_kopiykas += sum(p.tx.amount for p in posts[:1])
            record(session, f"payout:{payout.id}", "payout.expired_balance_returned", principal.user_id,
                   {"claim": ref, "window_end": payout.window_end.isoformat(), "spent_kopiykas": payout.spent_kopiykas,
                    "returned_kopiykas": payout.returned_kopiykas}, claim_id=payout.claim_id)
        # certificates: lapsed reservations, expiry, redemption of paid ones, the funding queue (certificate_sweep)
        certs = sweep_certificates(session, principal.user_id, today)
        report.reservations_lapsed, report.certificates_expired = certs.reservations_lapsed, certs.certificates_expired
        report.released_kopiykas = certs.released_kopiykas
        report.certificates_redeemed, report.reservations_confirmed = certs.certificates_redeemed, certs.confirmed
    return report
