"""Read helpers for certificates: returned seller payments (a kind of the payments officer's exceptions
queue: register it with one line as "returned seller payments"), a holder's certificates, and the notary's
own filings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.claims.models import Claim
from everymetre.kernel.identifiers import claim_reference, mask
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.models import Certificate, Payment
from everymetre.payments.states import DEAD_PAYMENT, CertificateState, PaymentState


def returned_seller_payments(session: Session, principal: Principal, limit: int = 200) -> list[dict[str, Any]]:
    """Certificates whose seller payment the bank returned and that have no payment on its way: the seller's
    account is to be corrected (`certificates.do_correct_seller_account`; page and API route
    ``POST /api/v1/certificates/{number}/seller-account``), then the next batch pays again. Oldest first."""
    require(principal.actor, Action.BATCH_READ)
    other = aliased(Payment)
    live = exists().where(other.certificate_id == Certificate.id, other.state.not_in(DEAD_PAYMENT))
    last = (select(Payment.certificate_id, func.max(Payment.id).label("pid")).where(Payment.certificate_id.is_not(None))
            .group_by(Payment.certificate_id).subquery())
    rows = session.execute(
        select(Certificate.number, Certificate.seller_name, Certificate.seller_iban, Claim.id, Claim.ref_year, Claim.oblast,
               Payment.end_to_end_id, Payment.amount_kopiykas, Payment.reason_code, Payment.reason, Payment.settled_on)
        .join(last, last.c.certificate_id == Certificate.id).join(Payment, Payment.id == last.c.pid)
        .join(Claim, Claim.id == Certificate.claim_id)
        .where(Certificate.state == CertificateState.CONTRACT_SIGNED, Payment.state == PaymentState.REJECTED, ~live,
               # not yet corrected (a corrected account waits for the next batch)
               Certificate.seller_iban == Payment.creditor_iban, Certificate.seller_name == Payment.creditor_name)
        .order_by(Payment.settled_on, Payment.id).limit(limit)).all()
    return [{"kind": "returned_seller_payment", "number": r.number, "claim": claim_reference(r.ref_year, r.id),
             "oblast": r.oblast, "seller_name": r.seller_name, "seller_iban": mask(r.seller_iban, 4),
             "end_to_end_id": r.end_to_end_id, "amount_kopiykas": int(r.amount_kopiykas), "reason_code": r.reason_code,
             "reason": r.reason, "returned_on": r.settled_on, "action": f"/staff/certificates/{r.number}/seller-account"}
            for r in rows if principal.actor.covers(r.oblast) or principal.actor.role == "system"]


def own_filings(session: Session, principal: Principal, limit: int = 100) -> list[CertificateReservation]:
    """A notary's reservations, newest first (staff with the right: every one, newest first)."""
    require(principal.actor, Action.RESERVATION_READ, _any_subject(principal))
    stmt = select(CertificateReservation).order_by(CertificateReservation.id.desc()).limit(limit)
    if principal.actor.role == "notary":
        stmt = stmt.where(CertificateReservation.notary_id == principal.user_id)
    return list(session.scalars(stmt))


def _any_subject(principal: Principal) -> Subject:
    return Subject(notary_id=principal.user_id)


def holder_certificates(session: Session, claim_id: int, person_id: int | None) -> list[Certificate]:
    """A claim's certificates, the signed-in holder's first."""
    certs = list(session.scalars(select(Certificate).where(Certificate.claim_id == claim_id).order_by(Certificate.id)))
    return sorted(certs, key=lambda c: (c.holder_person_id != person_id, c.id))
