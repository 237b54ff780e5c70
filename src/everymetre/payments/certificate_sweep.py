"""The certificate deadlines the system enforces (`everymetre pay sweep`, the scheduled job): a confirmed
reservation without a signed contract lapses after its 30 days (the funds go back to the agent's fund and the
certificates can be booked again while valid); a certificate unused after 5 years expires (releasing what it
held); certificates whose seller was paid are redeemed (any unused part back to the fund); then the queue is
confirmed while the fund lasts. The 5-working-day confirmation target is a target, not a lapse: when the
agent has no money the queue waits (`fund_view` counts the overdue). Audit chain ``certificate:ID``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from everymetre.payments.certificate_fund import confirm_queue
from everymetre.payments.certificate_issue import Release, event, leave_reservation, release
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.ledger import Post, post
from everymetre.payments.models import Certificate, Payment
from everymetre.payments.states import CERTIFICATE, CertificateState, PaymentState, ReservationState

C = CertificateState
R = ReservationState


@dataclass
class CertificateSweep:
    reservations_lapsed: int = 0
    certificates_expired: int = 0
    certificates_redeemed: int = 0
    confirmed: int = 0
    released_kopiykas: int = 0


def _post(session: Session, releases: list[Release], actor_id: int | None) -> int:
    post(session, [Post(r.tx, claim_id=r.claim_id, certificate_id=r.certificate_id) for r in releases], actor_id)
    return sum(r.tx.amount for r in releases)


def lapse_reservations(session: Session, actor_id: int | None, today: date, out: CertificateSweep) -> None:
    due = session.scalars(select(CertificateReservation).where(
        CertificateReservation.state.in_((R.CONFIRMED, R.OWNERSHIP_TERMINATED)),
        CertificateReservation.contract_due < today).order_by(CertificateReservation.id).with_for_update()).all()
    for res in due:
        releases = []
        for cert in session.scalars(select(Certificate).where(Certificate.reservation_id == res.id).with_for_update()):
            if not CERTIFICATE.can(cert.state, C.RESERVATION_LAPSED):
                continue
            if (r := release(cert)) is not None:
                releases.append(r)
            was = cert.state
            cert.state, cert.closed_on = CERTIFICATE.move(cert.state, C.RESERVATION_LAPSED, cert.number).target, today
            event(session, actor_id, cert, "certificate.reservation_lapsed",
                  {"from": was, "reservation": res.id, "reserved_on": cert.reserved_on.isoformat() if cert.reserved_on else None,
                   "expires_on": cert.expires_on.isoformat(), "released_kopiykas": r.tx.amount if r else 0})
        res.state, res.closed_on = R.LAPSED.value, today
        session.flush()
        out.released_kopiykas += _post(session, releases, actor_id)
        out.reservations_lapsed += 1


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
    rows = session.scalars(select(Certificate).where(Certificate.state.in_(CERTIFICATE.sources(C.EXPIRED)),
                                                     Certificate.expires_on < today).order_by(Certificate.id)
                           .with_for_update()).all()
    for cert in rows:
        releases = [r for r in [release(cert)] if r is not None]
        mine = sum(r.tx.amount for r in releases)
        releases += leave_reservation(session, cert, actor_id, today, "expired")
        was = cert.state
        cert.state, cert.closed_on = CERTIFICATE.move(cert.state, C.EXPIRED, cert.number).target, today
        event(session, actor_id, cert, "certificate.expired",
              {"from": was, "reserved_on": cert.reserved_on.isoformat() if cert.reserved_on else None,
               "expires_on": cert.expires_on.isoformat(), "released_kopiykas": mine})
        session.flush()
        out.released_kopiykas += _post(session, releases, actor_id)
        out.certificates_expired += 1


def redeem_paid(session: Session, actor_id: int | None, today: date, out: CertificateSweep) -> None:
    """Certificates whose seller payment the bank booked: redeemed for what was paid, the rest released."""
    move = CERTIFICATE.move(C.PAID_TO_SELLER, C.REDEEMED)
    paid = (select(Payment.certificate_id, func.sum(Payment.amount_kopiykas).label("paid"))
            .where(Payment.state == PaymentState.BOOKED, Payment.certificate_id.is_not(None))
            .group_by(Payment.certificate_id).subquery())
    rows = session.execute(select(Certificate, paid.c.paid).join(paid, paid.c.certificate_id == Certificate.id)
                           .where(Certificate.state == move.source).with_for_update(of=Certificate)).all()
    done_reservations: set[int] = set()
    for cert, amount in rows:
        amount = int(amount or 0)
        if amount <= 0 or amount > cert.value_kopiykas:
            continue
        releases = [r for r in [release(cert, cert.value_kopiykas - amount)] if r is not None]
        cert.state, cert.redeemed_on, cert.redeemed_kopiykas = move.target, today, amount
        event(session, actor_id, cert, "certificate.redeemed",
              {"on": today.isoformat(), "redeemed_kopiykas": amount, "released_kopiykas": cert.value_kopiykas - amount})
        session.flush()
        out.released_kopiykas += _post(session, releases, actor_id)
        out.certificates_redeemed += 1
        if cert.reservation_id is not None:
            done_reservations.add(cert.reservation_id)
    for rid in sorted(done_reservations):
        left = session.scalar(select(func.count()).where(Certificate.reservation_id == rid, Certificate.state != C.REDEEMED))
        res = session.get(CertificateReservation, rid)
        if res is not None and not left and res.state == R.CONTRACT_SIGNED:
            res.state, res.closed_on = R.COMPLETED.value, today


def sweep_certificates(session: Session, actor_id: int | None, today: date) -> CertificateSweep:
    """Every certificate deadline as of `today`, inside the caller's transaction. Safe to run any number of times."""
    out = CertificateSweep()
    lapse_reservations(session, actor_id, today, out)
    lapse_legacy(session, actor_id, today, out)
    expire_certificates(session, actor_id, today, out)
    redeem_paid(session, actor_id, today, out)
    out.confirmed = confirm_queue(session, actor_id, today)
    return out
