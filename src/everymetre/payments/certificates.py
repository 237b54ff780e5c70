"""Housing certificates for destroyed homes: issue (value split exactly between co-owners), reserve the funds,
record the ownership termination and the purchase contract, correct the seller's account, redeem.

The seller is paid through a payment batch (`payments.batches`); lapsing and expiry are in `payouts.do_sweep`.
Which step follows which is `payments.states.CERTIFICATE`; who may take it is `accounts.permissions`
(CERTIFICATE_*). Audit chain ``certificate:ID``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import record
from everymetre.claims.access import facts, get_claim
from everymetre.claims.lifecycle import can_see
from everymetre.claims.models import Claim, Decision
from everymetre.kernel.errors import Conflict, GuardFailed, NotFound, ValidationFailed
from everymetre.kernel.iban import IBANError, validate_iban
from everymetre.kernel.identifiers import mask
from everymetre.payments import ledger_rules
from everymetre.payments.certificate_number import (
    CertificateNumberError,
    make_certificate_number,
    validate_certificate_number,
)
from everymetre.payments.common import (
    claim_subject,
    seller_amount,
    today_utc,
    uah,
)
from everymetre.payments.ledger import Post, post
from everymetre.payments.models import Certificate, CertificateShare, Payment
from everymetre.payments.schedule import certificate_expiry_date, reservation_lapse_date
from everymetre.payments.states import (
    CERTIFICATE,
    DEAD_PAYMENT,
    DESTROYED,
    PAYABLE_CLAIMS,
    CertificateState,
    PaymentState,
)
from everymetre.store.tx import atomic

C = CertificateState


def split_value(value: int, shares: Sequence[Fraction]) -> list[int]:
    """Split `value` kopiykas by `shares` exactly: floor each part, then give the kopiykas left over to the
    largest remainders (ties: the earlier owner). The parts always add up to `value`."""
    total = sum(shares, Fraction(0))
    if total <= 0:
        raise ValidationFailed("The co-owners' shares add up to nothing.", field="owners")
    exact = [value * s / total for s in shares]
    parts = [int(x) for x in exact]  # floor: all non-negative
    left = value - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def find_certificate(session: Session, principal: Principal, number: str, lock: bool = True) -> tuple[Certificate, Claim]:
    """The certificate and its claim, if the principal may see the claim; otherwise 404."""
    try:
        number = validate_certificate_number(number.strip().upper())
    except CertificateNumberError as exc:
        raise NotFound(f"No certificate {number!r}: {exc}") from None
    stmt = select(Certificate).where(Certificate.number == number)
    cert = session.scalar(stmt.with_for_update() if lock else stmt)
    claim = session.get(Claim, cert.claim_id) if cert is not None else None
    if cert is None or claim is None or not can_see(principal.actor, facts(principal, claim)):
        raise NotFound(f"No certificate {number} that you can see.")
    return cert, claim


def _acting_on(session: Session, principal: Principal, number: str, action: Action) -> tuple[Certificate, Claim]:
    cert, claim = find_certificate(session, principal, number)
    require(principal.actor, action, claim_subject(principal, claim))
    return cert, claim


def _event(session: Session, principal: Principal, cert: Certificate, action: str, payload: dict[str, Any]) -> None:
    record(session, f"certificate:{cert.id}", action, principal.user_id, {"number": cert.number, **payload}, claim_id=cert.claim_id)


def do_issue_certificate(session: Session, principal: Principal, reference: str, today: date | None = None) -> Certificate:
    """Issue the housing certificate for an approved destroyed-housing claim: a unique checkable number, the
    decided value, and each co-owner's part (value x share, split exactly). Not by whoever decided the claim."""
    today = today or today_utc()
    with atomic(session):
        claim = get_claim(session, principal, reference)
        require(principal.actor, Action.CERTIFICATE_ISSUE, Subject(oblasts=frozenset({claim.oblast})))
        if claim.kind != DESTROYED:
            raise ValidationFailed("Only a destroyed-housing claim gets a housing certificate; repairs are paid in money.", field="kind")
        if claim.state not in PAYABLE_CLAIMS or not claim.awarded_amount_kopiykas or claim.awarded_amount_kopiykas <= 0:
            raise GuardFailed(f"Claim {claim.reference} is {claim.state} without an amount awarded: no certificate can be issued.")
        if claim.review_flag is not None:
            raise GuardFailed(f"Claim {claim.reference} has an open review finding ({claim.review_flag}); nothing is issued until it is resolved.")
        require(principal.actor, Action.CERTIFICATE_ISSUE, claim_subject(principal, claim))  # segregation: not the decider
        if session.scalar(select(Certificate.id).where(Certificate.claim_id == claim.id)) is not None:
            raise Conflict(f"Claim {claim.reference} already has a certificate.")
        owners = sorted(claim.owners, key=lambda o: o.id)
        if not owners:
            raise ValidationFailed("The claim has no owners to issue the certificate to.", field="owners")
        value = int(claim.awarded_amount_kopiykas)
        parts = split_value(value, [o.share for o in owners])
        serial = (session.scalar(select(func.max(Certificate.serial)).where(Certificate.year == today.year)) or 0) + 1
        decision_id = session.scalar(select(func.max(Decision.id)).where(Decision.claim_id == claim.id))
        cert = Certificate(number=make_certificate_number(today.year, serial), year=today.year, serial=serial, claim_id=claim.id,
                           decision_id=decision_id, value_kopiykas=value, state=C.ISSUED.value, issued_on=today,
                           issued_by_id=principal.user_id, expires_on=certificate_expiry_date(today), redeemed_kopiykas=0,
                           shares=[CertificateShare(person_id=o.person_id, share_numerator=o.share_numerator,
                                                    share_denominator=o.share_denominator, amount_kopiykas=a)
                                   for o, a in zip(owners, parts, strict=True)])
        session.add(cert)
        session.flush()
        _event(session, principal, cert, "certificate.issued",
               {"claim": claim.reference, "value_kopiykas": value, "expires_on": cert.expires_on.isoformat(),
                "shares": [{"person_id": s.person_id, "share": f"{s.share_numerator}/{s.share_denominator}",
                            "amount_kopiykas": s.amount_kopiykas} for s in cert.shares]})
    return cert


def do_reserve_funds(session: Session, principal: Principal, number: str, on: date | None = None) -> Certificate:
    """Reserve the certificate's value in the budget (Dr programme budget, Cr certificate reserved)."""
    on = on or today_utc()
    with atomic(session):
        cert, _claim = _acting_on(session, principal, number, Action.CERTIFICATE_RESERVE)
        move = CERTIFICATE.move(cert.state, C.FUNDS_RESERVED, cert.number)
        if on > cert.expires_on:
            raise GuardFailed(f"Certificate {cert.number} expired on {cert.expires_on.isoformat()}.")
        cert.state, cert.reserved_on = move.target, on
        post(session, [Post(ledger_rules.certificate_reserved_transaction(f"CRS-{cert.id}", cert.number, cert.value_kopiykas),
                            claim_id=cert.claim_id, certificate_id=cert.id)], principal.user_id)
        _event(session, principal, cert, "certificate.funds_reserved",
               {"on": on.isoformat(), "lapses_after": reservation_lapse_date(on).isoformat()})
    return cert


def _within_reservation(cert: Certificate, on: date) -> None:
    assert cert.reserved_on is not None
    last = reservation_lapse_date(cert.reserved_on)
    if on > last:
        raise GuardFailed(f"The reservation of certificate {cert.number} lapsed after {last.isoformat()}.")


def do_terminate_ownership(session: Session, principal: Principal, number: str, document: str,
                           on: date | None = None) -> Certificate:
    """Record that the owners gave up their rights to the destroyed home (registry record number)."""
    on = on or today_utc()
    if not document.strip():
        raise ValidationFailed("Give the registry record of the termination.", field="document")
    with atomic(session):
        cert, _claim = _acting_on(session, principal, number, Action.CERTIFICATE_RECORD)
        move = CERTIFICATE.move(cert.state, C.OWNERSHIP_TERMINATED, cert.number)
        _within_reservation(cert, on)
        cert.state, cert.ownership_terminated_on, cert.termination_document = move.target, on, document.strip()[:120]
        _event(session, principal, cert, "certificate.ownership_terminated",
               {"on": on.isoformat(), "document": cert.termination_document})
    return cert


def do_sign_contract(session: Session, principal: Principal, number: str, contract_number: str, price_kopiykas: int,
                     seller_name: str, seller_iban: str, on: date | None = None) -> Certificate:
    """Record the purchase contract (within 30 days of the reservation). The seller is paid the price up to
    the certificate's value through the next payment batch; a price above the value is the buyer's part."""
    on = on or today_utc()
    if not contract_number.strip():
        raise ValidationFailed("Give the contract's number.", field="contract_number")
    if price_kopiykas <= 0:
        raise ValidationFailed("The price must be positive.", field="price_kopiykas")
    if not seller_name.strip() or len(seller_name) > 140:
        raise ValidationFailed("The seller's name must be 1-140 characters.", field="seller_name")
    iban = _seller_iban(seller_iban)
    with atomic(session):
        cert, _claim = _acting_on(session, principal, number, Action.CERTIFICATE_RECORD)
        move = CERTIFICATE.move(cert.state, C.CONTRACT_SIGNED, cert.number)
        _within_reservation(cert, on)
        cert.state, cert.contract_number, cert.contract_signed_on = move.target, contract_number.strip()[:60], on
        cert.contract_price_kopiykas, cert.seller_name, cert.seller_iban = price_kopiykas, seller_name.strip(), iban
        _event(session, principal, cert, "certificate.contract_signed",
               {"on": on.isoformat(), "contract": cert.contract_number, "price_kopiykas": price_kopiykas,
                "seller": cert.seller_name, "seller_iban": mask(iban, 4) or None, "to_pay_kopiykas": seller_amount(cert)})
    return cert


def _seller_iban(text: str) -> str:
    try:
        return validate_iban(text)
    except IBANError as exc:
        raise ValidationFailed(f"The seller's IBAN: {exc}", field="seller_iban") from None


def do_correct_seller_account(session: Session, principal: Principal, number: str, seller_name: str,
                              seller_iban: str) -> Certificate:
    """After the bank returned the seller's payment: correct the account; the next batch pays again."""
    iban = _seller_iban(seller_iban)
    with atomic(session):
        cert, _claim = _acting_on(session, principal, number, Action.CERTIFICATE_RECORD)
        CERTIFICATE.move(cert.state, C.CONTRACT_SIGNED, cert.number)
        if session.scalar(select(Payment.id).where(Payment.certificate_id == cert.id, Payment.state.not_in(DEAD_PAYMENT))):
            raise Conflict("The seller's payment is on its way; it can be corrected only after the bank returns it.")
        cert.seller_name, cert.seller_iban = seller_name.strip()[:140], iban
        _event(session, principal, cert, "certificate.seller_corrected", {"seller": cert.seller_name})
    return cert


def do_redeem(session: Session, principal: Principal, number: str, on: date | None = None) -> Certificate:
    """Close a certificate whose seller was paid: redeemed for the amount paid; any part of the value left
    unused is released to the budget. A certificate is redeemed once, never above its value (also CHECKs)."""
    on = on or today_utc()
    with atomic(session):
        cert, _claim = _acting_on(session, principal, number, Action.CERTIFICATE_REDEEM)
        if cert.state == C.REDEEMED:
            raise Conflict(f"Certificate {cert.number} was already redeemed on {cert.redeemed_on}.")
        move = CERTIFICATE.move(cert.state, C.REDEEMED, cert.number)
        paid = int(session.scalar(select(func.coalesce(func.sum(Payment.amount_kopiykas), 0))
                                  .where(Payment.certificate_id == cert.id, Payment.state == PaymentState.BOOKED)) or 0)
        if paid <= 0 or paid > cert.value_kopiykas:
            raise GuardFailed(f"Certificate {cert.number}: booked seller payments of {uah(paid)} against a value of "
                              f"{uah(cert.value_kopiykas)}; it cannot be redeemed.")
        # compare-and-set: of two concurrent redemptions exactly one changes the row
        done = cast(CursorResult[Any], session.execute(update(Certificate).where(Certificate.id == cert.id, Certificate.state == move.source)
                               .values(state=move.target, redeemed_on=on, redeemed_kopiykas=paid)
                               .execution_options(synchronize_session=False))).rowcount
        if done != 1:
            raise Conflict(f"Certificate {cert.number} was redeemed meanwhile.")
        posts = []
        if cert.value_kopiykas - paid > 0:
            posts.append(Post(ledger_rules.certificate_released_transaction(f"CRL-{cert.id}", cert.number, cert.value_kopiykas - paid),
                              claim_id=cert.claim_id, certificate_id=cert.id))
        post(session, posts, principal.user_id)
        _event(session, principal, cert, "certificate.redeemed",
               {"on": on.isoformat(), "redeemed_kopiykas": paid, "released_kopiykas": cert.value_kopiykas - paid})
    session.refresh(cert)
    return cert
