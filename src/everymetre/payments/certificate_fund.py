"""The paying agent's fund and the funding queue of certificate reservations.

Money allocated to the agent is a ledger transaction (``fund_allocated``: Dr programme_budget, Cr agent_fund);
a confirmed reservation moves each certificate's value from ``agent_fund`` to ``certificate_reserved:<cert>``;
a lapse, expiry or revocation moves it back. The fund's balance is therefore read from the ledger, never
stored. Reservations are confirmed strictly in order of filing while the fund lasts: the first that does not
fit stops the queue (processing resumes when money arrives), so nobody is overtaken by a smaller booking.
Audit chains ``fund:agent`` and ``certificate:ID``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from everymetre.accounts.actions import SYSTEM, Principal
from everymetre.accounts.models import User
from everymetre.accounts.permissions import Action, require
from everymetre.audit.record import NewEvent, append_bulk, record
from everymetre.kernel.errors import Conflict, ValidationFailed
from everymetre.payments import ledger_rules
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.common import today_utc, uah
from everymetre.payments.ledger import Post, post
from everymetre.payments.models import Certificate, LedgerPosting, LedgerTransaction
from everymetre.payments.schedule import reservation_lapse_date
from everymetre.payments.states import CERTIFICATE, CertificateState, ReservationState
from everymetre.store.tx import atomic

C = CertificateState
R = ReservationState
FUND_CHAIN = "fund:agent"
RESERVE = CERTIFICATE.move(C.RESERVATION_FILED, C.FUNDS_RESERVED)


def fund_balance(session: Session) -> int:
    """What the paying agent holds and has not reserved (kopiykas)."""
    return int(session.scalar(select(func.coalesce(func.sum(LedgerPosting.credit - LedgerPosting.debit), 0))
                              .where(LedgerPosting.account == ledger_rules.agent_fund())) or 0)


def allocated_total(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(LedgerTransaction.amount_kopiykas), 0))
                              .where(LedgerTransaction.kind == ledger_rules.TransactionKind.FUND_ALLOCATED.value)) or 0)


def confirm_queue(session: Session, actor_id: int | None, today: date) -> int:
    """Confirm queued reservations in order of filing while the fund lasts (inside the caller's transaction);
    return how many were confirmed. Set-based: one read of the queue, then per 5,000 bookings one UPDATE per
    table, one ledger insert and one audit append."""
    available = fund_balance(session)
    take: list[int] = []
    after, full = 0, False
    while not full:  # the queue's head in chunks, up to the first booking the fund cannot cover
        chunk = session.execute(select(CertificateReservation.id, CertificateReservation.certificates_kopiykas)
                                .where(CertificateReservation.state == R.QUEUED, CertificateReservation.id > after)
                                .order_by(CertificateReservation.id).limit(2_000)).all()
        for rid, total in chunk:
            if total > available:
                full = True
                break
            available -= total
            take.append(rid)
        if len(chunk) < 2_000:
            break
        after = chunk[-1][0]
    if not take:
        return 0
    due = reservation_lapse_date(today)
    for i in range(0, len(take), 5_000):
        part = take[i:i + 5_000]
        session.execute(update(CertificateReservation).where(CertificateReservation.id.in_(part))
                        .values(state=R.CONFIRMED.value, confirmed_on=today, contract_due=due)
                        .execution_options(synchronize_session=False))
        session.execute(update(Certificate).where(Certificate.reservation_id.in_(part), Certificate.state == RESERVE.source)
                        .values(state=RESERVE.target, reserved_on=today, bookings=Certificate.bookings + 1)
                        .execution_options(synchronize_session=False))
        certs = session.execute(select(Certificate.id, Certificate.number, Certificate.claim_id, Certificate.bookings,
                                       Certificate.value_kopiykas, Certificate.reservation_id)
                                .where(Certificate.reservation_id.in_(part), Certificate.state == RESERVE.target,
                                       Certificate.reserved_on == today)).all()
        fund = ledger_rules.agent_fund()
        post(session, [Post(ledger_rules.certificate_reserved_transaction(f"CRS-{c.id}-{c.bookings}", c.number, c.value_kopiykas,
                                                                          source=fund), claim_id=c.claim_id, certificate_id=c.id)
                       for c in certs], actor_id)
        append_bulk(session, {f"certificate:{c.id}": [NewEvent("certificate.funds_reserved", {
            "number": c.number, "reservation": c.reservation_id, "on": today.isoformat(), "lapses_after": due.isoformat(),
            "value_kopiykas": c.value_kopiykas}, actor_id)] for c in certs}, {f"certificate:{c.id}": c.claim_id for c in certs})
    session.expire_all()
    return len(take)


def do_record_fund(session: Session, principal: Principal, amount_kopiykas: int, reference: str,
                   on: date | None = None) -> dict[str, Any]:
    """Record money the programme allocated to the paying agent (its transfer reference makes it post once),
    then confirm the queue while the money lasts."""
    on = on or today_utc()
    reference = reference.strip()
    if amount_kopiykas <= 0:
        raise ValidationFailed("The amount allocated must be positive.", field="amount_kopiykas")
    if not reference or len(reference) > 40 or any(ch.isspace() for ch in reference):
        raise ValidationFailed("Give the transfer's reference: 1-40 characters, no spaces.", field="reference")
    require(principal.actor, Action.FUND_RECORD)
    with atomic(session):
        txid = f"FND-{reference}"
        if session.get(LedgerTransaction, txid) is not None:
            raise Conflict(f"The allocation {reference} is already recorded.")
        post(session, [Post(ledger_rules.fund_allocated_transaction(txid, amount_kopiykas, memo=f"allocation {reference}"))],
             principal.user_id)
        record(session, FUND_CHAIN, "fund.allocated", principal.user_id,
               {"reference": reference, "amount_kopiykas": amount_kopiykas, "on": on.isoformat()})
        confirmed = confirm_queue(session, principal.user_id, on)
        balance = fund_balance(session)
    return {"reference": reference, "amount_kopiykas": amount_kopiykas, "confirmed": confirmed, "balance_kopiykas": balance}


def do_confirm_queue(session: Session, principal: Principal = SYSTEM, on: date | None = None) -> int:
    """Confirm what the fund allows now (the scheduled job; also run by every allocation and filing)."""
    require(principal.actor, Action.CERTIFICATE_RESERVE)
    with atomic(session):
        return confirm_queue(session, principal.user_id, on or today_utc())


def queue_position(session: Session, reservation: CertificateReservation) -> tuple[int, int]:
    """(position in the funding queue, 1 = next; money booked ahead of it in kopiykas)."""
    n, ahead = session.execute(select(func.count(), func.coalesce(func.sum(CertificateReservation.certificates_kopiykas), 0))
                               .where(CertificateReservation.state == R.QUEUED,
                                      CertificateReservation.id < reservation.id)).one()
    return int(n) + 1, int(ahead)


def fund_view(session: Session, principal: Principal, today: date | None = None, limit: int = 50) -> dict[str, Any]:
    """The fund's balance, the queue (oldest first) and the escalations (bookings the sweep found past their
    5-working-day confirmation target, still waiting), for payments officers and auditors."""
    require(principal.actor, Action.FUND_READ)
    today = today or today_utc()
    n, total = session.execute(select(func.count(), func.coalesce(func.sum(CertificateReservation.certificates_kopiykas), 0))
                               .where(CertificateReservation.state == R.QUEUED)).one()
    overdue = session.scalar(select(func.count()).where(CertificateReservation.state == R.QUEUED,
                                                        CertificateReservation.confirm_due < today)) or 0
    rows = session.execute(select(CertificateReservation.id, CertificateReservation.filed_on, CertificateReservation.confirm_due,
                                  CertificateReservation.certificates_kopiykas, CertificateReservation.escalated_on)
                           .where(CertificateReservation.state == R.QUEUED).order_by(CertificateReservation.id).limit(limit)).all()
    queue, ahead = [], 0
    for i, r in enumerate(rows, start=1):
        queue.append({"reservation_id": r.id, "position": i, "filed_on": r.filed_on, "confirm_due": r.confirm_due,
                      "amount_kopiykas": int(r.certificates_kopiykas), "ahead_kopiykas": ahead, "overdue": r.confirm_due < today,
                      "escalated_on": r.escalated_on})
        ahead += int(r.certificates_kopiykas)
    balance = fund_balance(session)
    waiting = CertificateReservation.state.in_((R.QUEUED, R.REVIEW))
    escalated = session.scalar(select(func.count()).where(waiting, CertificateReservation.escalated_on.is_not(None))) or 0
    escalations = [{"reservation_id": r.id, "state": r.state, "filed_on": r.filed_on, "confirm_due": r.confirm_due,
                    "escalated_on": r.escalated_on, "amount_kopiykas": int(r.certificates_kopiykas), "notary": r.email}
                   for r in session.execute(
                       select(CertificateReservation.id, CertificateReservation.state, CertificateReservation.filed_on,
                              CertificateReservation.confirm_due, CertificateReservation.escalated_on,
                              CertificateReservation.certificates_kopiykas, User.email)
                       .join(User, User.id == CertificateReservation.notary_id)
                       .where(waiting, CertificateReservation.escalated_on.is_not(None))
                       .order_by(CertificateReservation.confirm_due, CertificateReservation.id).limit(limit))]
    return {"balance_kopiykas": balance, "allocated_kopiykas": allocated_total(session), "queued": int(n),
            "queued_kopiykas": int(total), "shortfall_kopiykas": max(0, int(total) - balance), "overdue": int(overdue),
            "escalated": int(escalated), "escalations": escalations, "queue": queue, "balance_words": uah(balance)}


