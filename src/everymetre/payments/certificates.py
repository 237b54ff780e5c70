"""Housing certificates for destroyed homes, one certificate at a time: issue (one per co-owner, for C x share;
the decision issues them itself, this is for a claim held by a review finding), reserve the funds from the
paying agent's fund, record the ownership termination and the purchase contract, correct the seller's account
after a returned payment, redeem, revoke. A notary's booking of several certificates is `payments.reservations`.

The seller is paid through a payment batch (`payments.batches`); lapsing, expiry and redemption after the
statement are in `payments.certificate_sweep` (run by `payouts.do_sweep`).
Which step follows which is `payments.states.CERTIFICATE`; who may take it is `accounts.permissions`
(CERTIFICATE_*). Audit chain ``certificate:ID``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.accounts.roles import Role
from everymetre.claims.access import facts, get_claim
from everymetre.claims.lifecycle import can_see
from everymetre.claims.models import Claim
from everymetre.kernel.errors import Conflict, ErrorCode, GuardFailed, NotFound, ValidationFailed
from everymetre.kernel.iban import IBANError, validate_iban
from everymetre.kernel.identifiers import mask
from everymetre.payments import ledger_rules
from everymetre.payments.certificate_fund import fund_balance
from everymetre.payments.certificate_issue import event, issue, live_certificates, release, revoke, split_value
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.certificate_number import CertificateNumberError, validate_certificate_number
from everymetre.payments.common import (
    claim_subject,
    seller_amount,
    today_utc,
    uah,
)
from everymetre.payments.ledger import Post, post
from everymetre.payments.models import Certificate, Payment
from everymetre.payments.schedule import reservation_lapse_date
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


def find_certificate(session: Session, principal: Principal, number: str, lock: bool = True,
                     notary: bool = True) -> tuple[Certificate, Claim]:
    """The certificate and its claim, if the principal may see the claim (a notary: one of their filings, unless
    `notary` is False, e.g. for the owners' view); otherwise 404."""
    try:
        number = validate_certificate_number(number.strip().upper())
    except CertificateNumberError as exc:
        raise NotFound(f"No certificate {number!r}: {exc}") from None
    stmt = select(Certificate).where(Certificate.number == number)
    cert = session.scalar(stmt.with_for_update() if lock else stmt)
    claim = session.get(Claim, cert.claim_id) if cert is not None else None
    if principal.actor.role is Role.NOTARY and notary:  # a notary sees the certificates of their own filings only
        filer = session.scalar(select(CertificateReservation.notary_id).where(
            CertificateReservation.id == cert.reservation_id)) if cert is not None and cert.reservation_id else None
        if cert is None or claim is None or filer != principal.user_id:
            raise NotFound(f"No certificate {number} that you can see.")
        return cert, claim
    if cert is None or claim is None or not can_see(principal.actor, facts(principal, claim)):
        raise NotFound(f"No certificate {number} that you can see.")
    return cert, claim


def _acting_on(session: Session, principal: Principal, number: str, action: Action) -> tuple[Certificate, Claim]:
    cert, claim = find_certificate(session, principal, number)
    subject = claim_subject(principal, claim)
    if cert.reservation_id is not None:
        notary = session.scalar(select(CertificateReservation.notary_id).where(CertificateReservation.id == cert.reservation_id))
        subject = replace(subject, notary_id=notary)
    require(principal.actor, action, subject)
    return cert, claim


def _event(session: Session, principal: Principal, cert: Certificate, action: str, payload: dict[str, Any]) -> None:
    event(session, principal.user_id, cert, action, payload)


def do_issue_certificate(session: Session, principal: Principal, reference: str, today: date | None = None) -> list[Certificate]:
    """Issue the housing certificates of an approved destroyed-housing claim that its decision could not issue
    (an open review finding held them): one per co-owner without a live one, each a unique checkable number
    for value x share (split exactly). Not by whoever decided the claim. Returns the certificates issued."""
    today = today or today_utc()
    with atomic(session):
        claim = get_claim(session, principal, reference)
        require(principal.actor, Action.CERTIFICATE_ISSUE, Subject(oblasts=frozenset({claim.oblast})))
        if claim.kind != DESTROYED:
            raise ValidationFailed("Only a destroyed-housing claim gets a housing certificate; repairs are paid in money.", field="kind")
        if claim.state not in PAYABLE_CLAIMS or not claim.awarded_amount_kopiykas or claim.awarded_amount_kopiykas <= 0:
            raise GuardFailed(f"Claim {claim.reference} is {claim.state} without an amount awarded: no certificate can be issued.",
                              ErrorCode.NOTHING_AWARDED, reference=claim.reference, state=claim.state)
        if claim.review_flag is not None:
            raise GuardFailed(f"Claim {claim.reference} has an open review finding ({claim.review_flag}); nothing is issued until it is resolved.",
                              ErrorCode.REVIEW_HOLD, reference=claim.reference, flag=claim.review_flag)
        require(principal.actor, Action.CERTIFICATE_ISSUE, claim_subject(principal, claim))  # segregation: not the decider
        held = {c.holder_person_id for c in live_certificates(session, claim.id)}
        missing = {o.person_id for o in claim.owners} - held
        if not missing:
            raise Conflict(f"Claim {claim.reference} already has its certificates.")
        out = issue(session, claim, principal.user_id, today, missing)
    return out


def do_reserve_funds(session: Session, principal: Principal, number: str, on: date | None = None) -> Certificate:
    """Reserve the certificate's value in the budget (Dr programme budget, Cr certificate reserved)."""
    on = on or today_utc()
    with atomic(session):
        cert, _claim = _acting_on(session, principal, number, Action.CERTIFICATE_RESERVE)
        move = CERTIFICATE.move(cert.state, C.FUNDS_RESERVED, cert.number)
        if cert.reservation_id is not None:
            raise Conflict(f"Certificate {cert.number} is booked by a notary; it is confirmed in the funding queue.")
        if on > cert.expires_on:
            raise GuardFailed(f"Certificate {cert.number} expired on {cert.expires_on.isoformat()}.", ErrorCode.DEADLINE_PASSED,
                              deadline="certificate", last_day=cert.expires_on.isoformat())
        if fund_balance(session) < cert.value_kopiykas:
            raise GuardFailed(f"The paying agent's fund holds {uah(fund_balance(session))}, less than the certificate's "
                              f"{uah(cert.value_kopiykas)}; it waits for funds.", ErrorCode.RULE_FORBIDS, rule="fund_short")
        cert.state, cert.reserved_on, cert.bookings = move.target, on, cert.bookings + 1
        post(session, [Post(ledger_rules.certificate_reserved_transaction(f"CRS-{cert.id}-{cert.bookings}", cert.number,
                                                                          cert.value_kopiykas, source=ledger_rules.agent_fund()),
                            claim_id=cert.claim_id, certificate_id=cert.id)], principal.user_id)
        _event(session, principal, cert, "certificate.funds_reserved",
               {"on": on.isoformat(), "lapses_after": reservation_lapse_date(on).isoformat()})
    return cert


def _within_reservation(cert: Certificate, on: date) -> None:
    assert cert.reserved_on is not None
    last = reservation_lapse_date(cert.reserved_on)
    if on > last:
        raise GuardFailed(f"The reservation of certificate {cert.number} lapsed after {last.isoformat()}.", ErrorCode.DEADLINE_PASSED,
                          deadline="reservation", last_day=last.isoformat())


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
            raise Conflict("The seller's payment is on its way; it can be corrected only after the bank returns it.",
                           ErrorCode.PAYMENT_IN_FLIGHT, number=cert.number)
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
            raise Conflict(f"Certificate {cert.number} was already redeemed on {cert.redeemed_on}.", ErrorCode.ALREADY_REDEEMED,
                           number=cert.number, on=str(cert.redeemed_on))
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
        left = release(cert, cert.value_kopiykas - paid)
        post(session, [Post(left.tx, claim_id=cert.claim_id, certificate_id=cert.id)] if left else [], principal.user_id)
        _event(session, principal, cert, "certificate.redeemed",
               {"on": on.isoformat(), "redeemed_kopiykas": paid, "released_kopiykas": cert.value_kopiykas - paid})
    session.refresh(cert)
    return cert


def do_revoke_certificate(session: Session, principal: Principal, number: str, reason: str = "admin",
                          on: date | None = None) -> Certificate:
    """Revoke a certificate not yet used (the programme's admin, e.g. a decision annulled outside the appeal);
    reserved funds go back to the agent's fund and a booking it was part of is cancelled."""
    on = on or today_utc()
    if reason not in ("admin", "overturned", "revised"):
        raise ValidationFailed("The reason is admin, overturned or revised.", field="reason")
    with atomic(session):
        cert, _claim = find_certificate(session, principal, number)
        require(principal.actor, Action.CERTIFICATE_REVOKE)
        releases = revoke(session, cert, principal.user_id, on, reason)
        session.flush()
        post(session, [Post(r.tx, claim_id=r.claim_id, certificate_id=r.certificate_id) for r in releases], principal.user_id)
    return cert


__all__ = ["do_correct_seller_account", "do_issue_certificate", "do_redeem", "do_reserve_funds", "do_revoke_certificate",
           "do_sign_contract", "do_terminate_ownership", "find_certificate", "split_value"]
