"""The certificate deadlines the system enforces (`everymetre pay sweep`, the scheduled job): a confirmed
reservation without a signed contract lapses after its 30 days (the funds go back to the agent's fund and the
certificates can be booked again while valid); a certificate unused after 5 years expires (releasing what it
held); certificates whose seller was paid are redeemed (any unused part back to the fund); then the queue is
confirmed while the fund lasts. The 5-working-day confirmation target is a target, not a lapse: when the
agent has no money the queue waits, and a booking past it is escalated (flagged for payments officers on the
fund page and in the API, the notary told). Audit chains ``certificate:ID``, ``reservation:ID``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from everymetre.audit.record import NewEvent, append_bulk
from everymetre.notifications.outbox import StaffIntent, enqueue_staff
from everymetre.payments import ledger_rules
from everymetre.payments.certificate_fund import confirm_queue
from everymetre.payments.certificate_issue import Release, event, leave_reservation, release
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.ledger import Post, post
from everymetre.payments.models import Certificate, Payment
from everymetre.payments.states import (
    CERTIFICATE,
    RESERVED_CERTIFICATES,
    CertificateState,
    PaymentState,
    ReservationState,
)
from everymetre.store.bulk import update_rows

C = CertificateState
R = ReservationState


@dataclass
class CertificateSweep:
    reservations_lapsed: int = 0
    certificates_expired: int = 0
    certificates_redeemed: int = 0
    confirmed: int = 0
    released_kopiykas: int = 0
    escalated: int = 0


def _post(session: Session, releases: list[Release], actor_id: int | None) -> int:
    post(session, [Post(r.tx, claim_id=r.claim_id, certificate_id=r.certificate_id) for r in releases], actor_id)
    return sum(r.tx.amount for r in releases)


def _released(cert_id: int, number: str, bookings: int, amount: int, claim_id: int) -> Release:
    return Release(ledger_rules.certificate_released_transaction(f"CRL-{cert_id}-{bookings}", number, amount,
                                                                 to=ledger_rules.agent_fund()), claim_id, cert_id)


@dataclass
class _Moves:
    """Certificates moved together: their rows, what each releases to the fund, and their audit events."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    events: dict[str, list[NewEvent]] = field(default_factory=dict)
    claims: dict[str, int | None] = field(default_factory=dict)

    def add(self, c: Any, row: dict[str, Any], kind: str, detail: dict[str, Any], released: int, actor_id: int | None) -> None:
        if released:
            self.releases.append(_released(c.id, c.number, c.bookings, released, c.claim_id))
        self.updates.append({"id": c.id, **row})
        self.events[f"certificate:{c.id}"] = [NewEvent(kind, {"number": c.number, **detail}, actor_id)]
        self.claims[f"certificate:{c.id}"] = c.claim_id

    def write(self, session: Session, sources: tuple[str, ...], actor_id: int | None) -> int:
        """One UPDATE guarded by the states read under lock, one ledger insert, one audit append; the kopiykas released."""
        if update_rows(session, Certificate.__table__, ["id"], self.updates,
                       also="{t}state IN ('" + "', '".join(sources) + "')") != len(self.updates):
            raise RuntimeError("certificates moved while the sweep held their lock")  # cannot happen
        released = _post(session, self.releases, actor_id)
        append_bulk(session, self.events, self.claims)
        return released


def _held(c: Any) -> int:
    return c.value_kopiykas if c.state in RESERVED_CERTIFICATES and c.value_kopiykas > 0 else 0


def lapse_reservations(session: Session, actor_id: int | None, today: date, out: CertificateSweep) -> None:
    """Confirmed reservations past their 30 days without a contract lapse: their certificates' funds go back
    to the agent's fund. Set-based: one read per table, one UPDATE per table, one ledger insert, one audit append."""
    due = list(session.scalars(select(CertificateReservation.id).where(
        CertificateReservation.state.in_((R.CONFIRMED, R.OWNERSHIP_TERMINATED)),
        CertificateReservation.contract_due < today).order_by(CertificateReservation.id).with_for_update()))
    if not due:
        return
    lapsible = CERTIFICATE.sources(C.RESERVATION_LAPSED)
    moves = _Moves()
    for i in range(0, len(due), 5_000):
        part = due[i:i + 5_000]
        for c in session.execute(select(Certificate.id, Certificate.number, Certificate.state, Certificate.claim_id,
                                        Certificate.value_kopiykas, Certificate.bookings, Certificate.reserved_on,
                                        Certificate.expires_on, Certificate.reservation_id)
                                 .where(Certificate.reservation_id.in_(part), Certificate.state.in_(lapsible))
                                 .order_by(Certificate.id).with_for_update()):
            held = _held(c)
            moves.add(c, {"state": CERTIFICATE.move(c.state, C.RESERVATION_LAPSED, c.number).target, "closed_on": today},
                      "certificate.reservation_lapsed", {
                          "from": c.state, "reservation": c.reservation_id,
                          "reserved_on": c.reserved_on.isoformat() if c.reserved_on else None,
                          "expires_on": c.expires_on.isoformat(), "released_kopiykas": held}, held, actor_id)
        session.execute(update(CertificateReservation).where(CertificateReservation.id.in_(part))
                        .values(state=R.LAPSED.value, closed_on=today).execution_options(synchronize_session=False))
    out.released_kopiykas += moves.write(session, lapsible, actor_id)
    out.reservations_lapsed += len(due)
    session.expire_all()


def lapse_legacy(session: Session, actor_id: int | None, today: date, out: CertificateSweep) -> None:
    """Certificates reserved directly by a payments officer (no notary's reservation): 30 days from reserving."""
    from everymetre.payments.schedule import reservation_lapse_date

    rows = session.scalars(select(Certificate).where(Certificate.reservation_id.is_(None),
                                                     Certificate.state.in_((C.FUNDS_RESERVED, C.OWNERSHIP_TERMINATED)))
                           .with_for_update()).all()
    for cert in rows:
        if cert.reserved_on is None or reservation_lapse_date(cert.reserved_on) >= today:
            continue
        r = release(cert)
        was = cert.state
        cert.state, cert.closed_on = CERTIFICATE.move(cert.state, C.RESERVATION_LAPSED, cert.number).target, today
        event(session, actor_id, cert, "certificate.reservation_lapsed",
              {"from": was, "reserved_on": cert.reserved_on.isoformat(), "expires_on": cert.expires_on.isoformat(),
               "released_kopiykas": r.tx.amount if r else 0})
        session.flush()
        out.released_kopiykas += _post(session, [r] if r else [], actor_id)
        out.reservations_lapsed += 1


def expire_certificates(session: Session, actor_id: int | None, today: date, out: CertificateSweep) -> None:
    """Certificates unused after their 5 years expire, releasing what they held. Set-based for those outside
    an open reservation (most: one day's decisions expire together); one in an open reservation takes the
    single path, which cancels the reservation and frees its other certificates."""
    open_res = (R.REVIEW, R.QUEUED, R.CONFIRMED, R.OWNERSHIP_TERMINATED, R.CONTRACT_SIGNED)
    expirable = CERTIFICATE.sources(C.EXPIRED)
    rows = session.execute(select(Certificate.id, Certificate.number, Certificate.state, Certificate.claim_id,
                                  Certificate.value_kopiykas, Certificate.bookings, Certificate.reserved_on,
                                  Certificate.expires_on, CertificateReservation.state.label("res_state"))
                           .outerjoin(CertificateReservation, CertificateReservation.id == Certificate.reservation_id)
                           .where(Certificate.state.in_(expirable), Certificate.expires_on < today)
                           .order_by(Certificate.id).with_for_update(of=Certificate)).all()
    moves = _Moves()
    booked: list[int] = []
    for c in rows:
        if c.res_state in open_res:
            booked.append(c.id)
            continue
        held = _held(c)
        moves.add(c, {"state": CERTIFICATE.move(c.state, C.EXPIRED, c.number).target, "closed_on": today},
                  "certificate.expired", {"from": c.state, "reserved_on": c.reserved_on.isoformat() if c.reserved_on else None,
                                          "expires_on": c.expires_on.isoformat(), "released_kopiykas": held}, held, actor_id)
    if moves.updates:
        out.released_kopiykas += moves.write(session, expirable, actor_id)
        out.certificates_expired += len(moves.updates)
        session.expire_all()
    for cert in session.scalars(select(Certificate).where(Certificate.id.in_(booked)).order_by(Certificate.id)):
        session.refresh(cert)
        if cert.state not in expirable:  # moved meanwhile (another certificate of its reservation expired first)
            continue
        mine = [r for r in [release(cert)] if r is not None]
        others = leave_reservation(session, cert, actor_id, today, "expired")
        was = cert.state
        cert.state, cert.closed_on = CERTIFICATE.move(cert.state, C.EXPIRED, cert.number).target, today
        event(session, actor_id, cert, "certificate.expired",
              {"from": was, "reserved_on": cert.reserved_on.isoformat() if cert.reserved_on else None,
               "expires_on": cert.expires_on.isoformat(), "released_kopiykas": sum(r.tx.amount for r in mine)})
        session.flush()
        out.released_kopiykas += _post(session, mine + others, actor_id)
        out.certificates_expired += 1


def redeem_paid(session: Session, actor_id: int | None, today: date, out: CertificateSweep) -> None:
    """Certificates whose seller payment the bank booked: redeemed for what was paid, the rest released.
    Set-based: one read, one UPDATE of the certificates, one ledger insert, one audit append, one UPDATE
    completing the reservations whose every certificate is redeemed."""
    move = CERTIFICATE.move(C.PAID_TO_SELLER, C.REDEEMED)
    paid = (select(Payment.certificate_id, func.sum(Payment.amount_kopiykas).label("paid"))
            .where(Payment.state == PaymentState.BOOKED, Payment.certificate_id.is_not(None))
            .group_by(Payment.certificate_id).subquery())
    rows = session.execute(select(Certificate.id, Certificate.number, Certificate.claim_id, Certificate.value_kopiykas,
                                  Certificate.bookings, Certificate.reservation_id, paid.c.paid)
                           .join(paid, paid.c.certificate_id == Certificate.id)
                           .where(Certificate.state == move.source).order_by(Certificate.id).with_for_update(of=Certificate)).all()
    moves = _Moves()
    done: set[int] = set()
    for r in rows:
        amount = int(r.paid or 0)
        if amount <= 0 or amount > r.value_kopiykas:
            continue
        rest = r.value_kopiykas - amount
        moves.add(r, {"state": move.target, "redeemed_on": today, "redeemed_kopiykas": amount}, "certificate.redeemed",
                  {"on": today.isoformat(), "redeemed_kopiykas": amount, "released_kopiykas": rest}, rest, actor_id)
        if r.reservation_id is not None:
            done.add(r.reservation_id)
    if not moves.updates:
        return
    out.released_kopiykas += moves.write(session, (move.source,), actor_id)
    out.certificates_redeemed += len(moves.updates)
    ids = sorted(done)
    unredeemed = select(Certificate.id).where(Certificate.reservation_id == CertificateReservation.id,
                                              Certificate.state != C.REDEEMED).exists()
    for i in range(0, len(ids), 5_000):
        session.execute(update(CertificateReservation).where(CertificateReservation.id.in_(ids[i:i + 5_000]),
                                                             CertificateReservation.state == R.CONTRACT_SIGNED, ~unredeemed)
                        .values(state=R.COMPLETED.value, closed_on=today).execution_options(synchronize_session=False))
    session.expire_all()


def escalate_overdue(session: Session, actor_id: int | None, today: date, out: CertificateSweep) -> None:
    """Bookings still waiting (queued, or in a related-party review) after their 5-working-day confirmation
    target: escalated once (``escalated_on``: the fund page's and the API's escalation queue for payments
    officers), a ``reservation.escalated`` event each, and a notice to the notary who filed it. Set-based."""
    rows = session.execute(select(CertificateReservation.id, CertificateReservation.notary_id, CertificateReservation.state,
                                  CertificateReservation.confirm_due, CertificateReservation.certificates_kopiykas)
                           .where(CertificateReservation.state.in_((R.QUEUED, R.REVIEW)),
                                  CertificateReservation.confirm_due < today, CertificateReservation.escalated_on.is_(None))
                           .order_by(CertificateReservation.id).with_for_update()).all()
    if not rows:
        return
    ids = [r.id for r in rows]
    numbers: dict[int, list[str]] = {}
    for i in range(0, len(ids), 5_000):
        session.execute(update(CertificateReservation).where(CertificateReservation.id.in_(ids[i:i + 5_000]))
                        .values(escalated_on=today).execution_options(synchronize_session=False))
        for rid, number in session.execute(select(Certificate.reservation_id, Certificate.number)
                                           .where(Certificate.reservation_id.in_(ids[i:i + 5_000])).order_by(Certificate.id)):
            numbers.setdefault(int(rid or 0), []).append(number)
    append_bulk(session, {f"reservation:{r.id}": [NewEvent("reservation.escalated", {
        "reservation": r.id, "state": r.state, "confirm_due": r.confirm_due.isoformat(), "on": today.isoformat(),
        "amount_kopiykas": r.certificates_kopiykas, "notary_id": r.notary_id}, actor_id)] for r in rows})
    enqueue_staff(session, [StaffIntent(f"reservation:{r.id}:escalated", "reservation_escalated", r.notary_id,
                                        {"ref": str(r.id), "number": ", ".join(numbers.get(r.id, [])),
                                         "until": r.confirm_due.isoformat()}) for r in rows])
    out.escalated += len(rows)
    session.expire_all()


def sweep_certificates(session: Session, actor_id: int | None, today: date) -> CertificateSweep:
    """Every certificate deadline as of `today`, inside the caller's transaction. Safe to run any number of times."""
    out = CertificateSweep()
    lapse_reservations(session, actor_id, today, out)
    lapse_legacy(session, actor_id, today, out)
    expire_certificates(session, actor_id, today, out)
    redeem_paid(session, actor_id, today, out)
    out.confirmed = confirm_queue(session, actor_id, today)
    escalate_overdue(session, actor_id, today, out)  # what the money just arriving could not confirm
    return out
