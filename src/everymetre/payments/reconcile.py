"""Reconciliation: a camt.053 bank statement applied to our payments.

Booked payments become booked (a repair payout starts; a certificate's seller is paid); returned ones become
rejected with the bank's reason and are reversed in the ledger; a returned repair payment marks the account it went
to `returned` (claims.payout_accounts.mark_returned), so its claim "needs a new account" and waits for one; once
given, the claim returns to the payable queue and is paid again with a new payment (the next end-to-end id).
Applying the same statement again changes nothing. Audit chain ``statement:MSGID``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, require
from everymetre.audit.record import record
from everymetre.claims.models import Claim
from everymetre.claims.payout_accounts import mark_returned
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments import ledger_rules
from everymetre.payments.camt053 import EntryStatus, parse_camt053
from everymetre.payments.common import today_utc, uah
from everymetre.payments.ledger import Post, post
from everymetre.payments.models import Certificate, Payment, RepairPayout
from everymetre.payments.schedule import spending_window_end, tier_for_amount
from everymetre.payments.states import (
    CERTIFICATE,
    PAYMENT,
    CertificateState,
    PaymentState,
    PayoutState,
)
from everymetre.store.tx import atomic

P = PaymentState
BOOK = PAYMENT.move(P.SENT, P.BOOKED)
RETURN = PAYMENT.move(P.SENT, P.REJECTED)
SELLER_PAID = CERTIFICATE.move(CertificateState.CONTRACT_SIGNED, CertificateState.PAID_TO_SELLER)


def _years(session: Session, claim_ids: Iterable[int]) -> dict[int, int]:
    ids = sorted(claim_ids)
    out: dict[int, int] = {}
    for start in range(0, len(ids), 5000):
        out.update(session.execute(select(Claim.id, Claim.ref_year).where(Claim.id.in_(ids[start:start + 5000]))).all())
    return out


def _awards(session: Session, claim_ids: Iterable[int]) -> dict[int, int | None]:
    ids = sorted(claim_ids)
    out: dict[int, int | None] = {}
    for start in range(0, len(ids), 5000):
        out.update(session.execute(select(Claim.id, Claim.awarded_amount_kopiykas)
                                   .where(Claim.id.in_(ids[start:start + 5000]))).tuples().all())
    return out


def _second_booked(session: Session, principal: Principal, p: Payment, on: date, ref: str) -> None:
    """Tier B's second payment reached the account: the payout's money grows by it."""
    payout = session.scalar(select(RepairPayout).where(RepairPayout.claim_id == p.claim_id).with_for_update())
    if payout is None or payout.second_paid_on is not None:
        return
    payout.amount_kopiykas += p.amount_kopiykas
    payout.second_paid_on = on
    record(session, f"payout:{payout.id}", "payout.second_payment_booked", principal.user_id,
           {"claim": ref, "end_to_end_id": p.end_to_end_id, "amount_kopiykas": p.amount_kopiykas, "on": on.isoformat()},
           claim_id=p.claim_id)


@dataclass
class ReconcileReport:
    statement_id: str = ""
    booked: int = 0
    rejected: int = 0
    already: int = 0
    ignored: int = 0
    unmatched: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def do_reconcile(session: Session, principal: Principal, xml_bytes: bytes) -> ReconcileReport:
    """Apply a camt.053 statement: booked payments become booked (a repair payout starts; a certificate's
    seller is paid), rejected ones become rejected with the bank's reason, are reversed in the ledger and
    their claims return to the payable queue. Applying the same statement again changes nothing."""
    require(principal.actor, Action.STATEMENT_RECONCILE)
    statement = parse_camt053(xml_bytes)
    report = ReconcileReport(statement_id=statement.statement_id)
    with atomic(session):
        ids = [e.end_to_end_id for e in statement.entries if e.end_to_end_id]
        payments: dict[str, Payment] = {}
        for start in range(0, len(ids), 5000):
            for row in session.scalars(select(Payment).where(Payment.end_to_end_id.in_(ids[start:start + 5000]))):
                payments[row.end_to_end_id] = row
        years = _years(session, {p.claim_id for p in payments.values()})
        awards = _awards(session, {p.claim_id for p in payments.values() if p.purpose == "repair" and p.tranche == 1})
        returned_accounts: list[tuple[int, str, str, str]] = []
        certs = {c.id: c for c in session.scalars(select(Certificate).where(
            Certificate.id.in_({p.certificate_id for p in payments.values() if p.certificate_id})))}
        posts: list[Post] = []
        payouts: list[dict[str, Any]] = []
        booked_ids: list[str] = []
        rejected_ids: list[str] = []
        for e in statement.entries:
            where = f"entry {e.end_to_end_id or '(no id)'} (line {e.line})"
            if e.status in (EntryStatus.PENDING, EntryStatus.INFO) or not e.end_to_end_id:
                report.ignored += 1
                continue
            p = payments.get(e.end_to_end_id)
            if p is None:
                report.unmatched.append(e.end_to_end_id)
                continue
            if e.amount_kopiykas != p.amount_kopiykas:
                report.problems.append(f"{where}: amount {uah(e.amount_kopiykas)} but the payment is {uah(p.amount_kopiykas)}; not applied")
                continue
            is_return = e.status is EntryStatus.REJECTED or e.reversal or e.credit_debit == "CRDT"
            on = e.booking_date or today_utc()
            if not is_return:
                if p.state == BOOK.target:
                    report.already += 1
                elif p.state != BOOK.source:
                    report.problems.append(f"{where}: booked by the bank but the payment is {p.state}; not applied")
                else:
                    p.state, p.settled_on = BOOK.target, on
                    booked_ids.append(p.end_to_end_id)
                    report.booked += 1
                    if p.purpose == "repair" and p.tranche == 2:
                        _second_booked(session, principal, p, on, claim_reference(years[p.claim_id], p.claim_id))
                    elif p.purpose == "repair":
                        awarded = int(awards.get(p.claim_id) or p.amount_kopiykas)
                        tier = tier_for_amount(awarded)  # by the award: tier B's first payment is only 70 % of it
                        payouts.append({"claim_id": p.claim_id, "payment_id": p.id, "tier": tier.value,
                                        "amount_kopiykas": p.amount_kopiykas, "awarded_kopiykas": awarded,
                                        "transferred_on": on, "window_end": spending_window_end(on, tier),
                                        "state": PayoutState.FUNDS_TRANSFERRED.value,
                                        "spent_kopiykas": 0, "returned_kopiykas": 0})
                    else:
                        assert p.certificate_id is not None
                        cert = certs[p.certificate_id]
                        if cert.state == SELLER_PAID.source:
                            cert.state, cert.paid_on = SELLER_PAID.target, on
                continue
            # a return: the bank rejected the transfer
            if p.state == RETURN.target:
                report.already += 1
            elif p.state != RETURN.source:
                report.problems.append(f"{where}: returned by the bank but the payment is {p.state}; handle it by hand")
            else:
                p.state, p.settled_on, p.reason_code = RETURN.target, on, (e.reason_code or "NARR")[:10]
                p.reason = e.reason_text or f"returned by the bank ({e.reason_code or 'no reason given'})"
                rejected_ids.append(p.end_to_end_id)
                report.rejected += 1
                ref = claim_reference(years[p.claim_id], p.claim_id)
                if p.purpose == "repair":
                    # the account it went to is marked returned: the claim needs a new one before it is paid again
                    returned_accounts.append((p.claim_id, p.creditor_iban, p.end_to_end_id, p.reason or ""))
                if p.purpose == "repair" and p.tranche == 2:
                    tx = ledger_rules.tranche_returned_transaction(f"RTN-{p.end_to_end_id}", ref, p.end_to_end_id, p.amount_kopiykas,
                                                                   p.reason_code)
                elif p.purpose == "repair":
                    tx = ledger_rules.payment_returned_transaction(f"RTN-{p.end_to_end_id}", ref, p.end_to_end_id, p.amount_kopiykas, p.reason_code)
                else:
                    assert p.certificate_id is not None
                    number = certs[p.certificate_id].number
                    tx = ledger_rules.Transaction(f"CPR-{p.end_to_end_id}", ledger_rules.TransactionKind.CERTIFICATE_PAID,
                                       (ledger_rules.Posting(ledger_rules.bank_clearing(), debit=p.amount_kopiykas),
                                        ledger_rules.Posting(ledger_rules.certificate_reserved(number), credit=p.amount_kopiykas)),
                                       certificate=number, payment_id=p.end_to_end_id, memo=f"reversal: returned {p.reason_code}")
                posts.append(Post(tx, claim_id=p.claim_id, payment_id=p.id, certificate_id=p.certificate_id))
        session.flush()
        for claim_id, iban, e2e, why in returned_accounts:
            mark_returned(session, claim_id, iban, e2e, why, principal.user_id)
        post(session, posts, principal.user_id)
        if payouts:
            session.execute(insert(RepairPayout), payouts)
        if booked_ids or rejected_ids or report.problems:
            record(session, f"statement:{statement.statement_id[:45]}", "statement.reconciled", principal.user_id,
                   {"message_id": statement.message_id, "booked": booked_ids, "rejected": rejected_ids,
                    "unmatched": report.unmatched[:100], "problems": report.problems[:100]})
    return report


