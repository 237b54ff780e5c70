"""A notary's purchase with housing certificates: the booking (one or more certificates, co-owners combining
theirs, against one home), the related-party review, the end of the destroyed property's registration, the
signed contract. The seller is then paid by the next payment batch (`payments.batches`, purpose=certificate,
one payment per certificate) and the statement marks the certificates paid; the sweep redeems them.

The rules a booking must pass: every certificate valid (issued, or lapsed and still within its 5 years), of a
claim that may be paid now, and held by one of the buyers (the holder's RNOKPP as the notary gives it); the
home not in a combat-zone or occupied hromada (`excluded_hromadas`, KATOTTG codes from a data file); the
price at least the certificates' total, or the difference paid by the buyers (recorded); the seller none of
the buyers nor a co-owner of the claims the certificates come from (the linkage has no person-to-person query
for this, so the seller's RNOKPP is matched against those persons' RNOKPPs). A related-party sale goes to an
officer's review first. Audit chains ``reservation:ID`` and ``certificate:ID``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import record
from everymetre.claims.models import Claim, Ownership, Person
from everymetre.config import get_settings
from everymetre.kernel.errors import ErrorCode, GuardFailed, NotFound, ValidationFailed
from everymetre.kernel.iban import IBANError, validate_iban
from everymetre.kernel.identifiers import mask, rnokpp_problem
from everymetre.payments.certificate_fund import confirm_queue
from everymetre.payments.certificate_issue import event, split_value
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.certificate_number import CertificateNumberError, validate_certificate_number
from everymetre.payments.common import today_utc, uah
from everymetre.payments.models import Certificate
from everymetre.payments.schedule import funds_reservation_due
from everymetre.payments.states import CERTIFICATE, PAYABLE_CLAIMS, CertificateState, ReservationState
from everymetre.store.tx import atomic

C = CertificateState
R = ReservationState
DATA = Path(__file__).parent / "data" / "excluded_hromadas.csv"
PROPERTY_KINDS = ("house", "apartment")


@lru_cache(maxsize=4)
def _load_excluded(path: str) -> frozenset[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return frozenset(row["katottg"].strip().upper() for row in csv.DictReader(f) if row.get("katottg"))


def excluded_hromadas() -> frozenset[str]:
    """KATOTTG codes of the hromadas where a certificate may not buy a home (combat zones, occupied territory)."""
    path = get_settings().excluded_hromadas_file or DATA
    return _load_excluded(str(path))


@dataclass(frozen=True, slots=True)
class Buyer:
    number: str  # the certificate
    holder_rnokpp: str  # its holder, as the notary identified them


@dataclass(frozen=True, slots=True)
class Filing:
    buyers: tuple[Buyer, ...]
    seller_name: str
    seller_rnokpp: str
    seller_iban: str
    property_registry_number: str
    property_address: str
    property_katottg: str
    property_area_m2: Decimal
    property_kind: str
    price_kopiykas: int


def _text(value: str, field: str, most: int) -> str:
    value = (value or "").strip()
    if not value or len(value) > most:
        raise ValidationFailed(f"Give {field.replace('_', ' ')}: 1-{most} characters.", field=field)
    return value


def _check_filing(f: Filing) -> Filing:
    if not f.buyers or len(f.buyers) > 10:
        raise ValidationFailed("Give 1-10 certificates (co-owners may combine theirs for one home).", field="certificates")
    if len({b.number.strip().upper() for b in f.buyers}) != len(f.buyers):
        raise ValidationFailed("A certificate is listed twice.", field="certificates")
    for b in f.buyers:
        if problem := rnokpp_problem(b.holder_rnokpp.strip()):
            raise ValidationFailed(f"The holder's RNOKPP of {b.number}: {problem}", field="holder_rnokpp")
    if problem := rnokpp_problem(f.seller_rnokpp.strip()):
        raise ValidationFailed(f"The seller's RNOKPP: {problem}", field="seller_rnokpp")
    try:
        iban = validate_iban(f.seller_iban)
    except IBANError as exc:
        raise ValidationFailed(f"The seller's IBAN: {exc}", field="seller_iban") from None
    katottg = f.property_katottg.strip().upper()
    if len(katottg) != 19 or not katottg.startswith("UA") or not katottg[2:].isdigit():
        raise ValidationFailed("The home's KATOTTG code is UA followed by 17 digits.", field="property_katottg")
    try:
        area = Decimal(str(f.property_area_m2)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationFailed("The home's area is a number of square metres.", field="property_area_m2") from None
    if not Decimal("5") <= area <= Decimal("2000"):
        raise ValidationFailed("The home's area must be 5-2,000 m².", field="property_area_m2")
    if f.property_kind not in PROPERTY_KINDS:
        raise ValidationFailed("The home is a house or an apartment.", field="property_kind")
    if f.price_kopiykas <= 0:
        raise ValidationFailed("The price must be positive.", field="price_kopiykas")
    return Filing(tuple(Buyer(b.number.strip().upper(), b.holder_rnokpp.strip()) for b in f.buyers),
                  _text(f.seller_name, "seller_name", 140), f.seller_rnokpp.strip(), iban,
                  _text(f.property_registry_number, "property_registry_number", 40),
                  _text(f.property_address, "property_address", 300), katottg, area, f.property_kind, f.price_kopiykas)


def _unusable(number: str, why: str, state: str = "") -> GuardFailed:
    return GuardFailed(f"Certificate {number} cannot be used: {why}", ErrorCode.CERTIFICATE_NOT_USABLE, number=number, state=state)


def _book(session: Session, f: Filing, today: date) -> tuple[list[Certificate], list[Claim], list[Person]]:
    certs, claims, holders = [], [], []
    for b in f.buyers:
        try:
            number = validate_certificate_number(b.number)
        except CertificateNumberError:
            raise _unusable(b.number, "no such certificate number.") from None
        cert = session.scalar(select(Certificate).where(Certificate.number == number).with_for_update())
        holder = session.get(Person, cert.holder_person_id) if cert is not None and cert.holder_person_id else None
        # an unknown number and a wrong holder answer alike: the notary learns nothing about others' certificates
        if cert is None or holder is None or (holder.rnokpp or "") != b.holder_rnokpp:
            raise _unusable(number, "no certificate with this number is held by the person with this RNOKPP.")
        if not CERTIFICATE.can(cert.state, C.RESERVATION_FILED):
            raise _unusable(number, f"it is {cert.state}.", cert.state)
        if today > cert.expires_on:
            raise _unusable(number, f"it expired on {cert.expires_on.isoformat()}.", cert.state)
        claim = session.get(Claim, cert.claim_id)
        assert claim is not None
        if claim.state not in PAYABLE_CLAIMS or claim.review_flag is not None:
            raise _unusable(number, "its decision is under appeal or review.", cert.state)
        certs.append(cert)
        claims.append(claim)
        holders.append(holder)
    return certs, claims, holders


def _related(session: Session, seller_rnokpp: str, holders: list[Person], claims: list[Claim]) -> bool:
    """Is the seller a buyer, or a co-owner of a claim the certificates come from? (RNOKPP match.)"""
    if any(h.rnokpp == seller_rnokpp for h in holders):
        return True
    co = session.scalars(select(Person.rnokpp).join(Ownership, Ownership.person_id == Person.id)
                         .where(Ownership.claim_id.in_([c.id for c in claims]))).all()
    return seller_rnokpp in set(co)


def _res_event(session: Session, principal: Principal, res: CertificateReservation, action: str, payload: dict[str, Any]) -> None:
    record(session, f"reservation:{res.id}", action, principal.user_id, {"reservation": res.id, **payload})


def do_file_reservation(session: Session, principal: Principal, filing: Filing, on: date | None = None) -> CertificateReservation:
    """A notary books certificates against a home. Passing the rules it joins the funding queue (or, a
    related-party sale, an officer's review); it is confirmed at once if the fund allows."""
    on = on or today_utc()
    require(principal.actor, Action.RESERVATION_FILE)
    f = _check_filing(filing)
    if f.property_katottg in excluded_hromadas():
        raise GuardFailed(f"The home is in hromada {f.property_katottg}, a combat-zone or occupied area: certificates "
                          "cannot buy a home there.", ErrorCode.HOME_EXCLUDED, katottg=f.property_katottg)
    with atomic(session):
        certs, claims, holders = _book(session, f, on)
        total = sum(c.value_kopiykas for c in certs)
        related = _related(session, f.seller_rnokpp, holders, claims)
        res = CertificateReservation(
            state=(R.REVIEW if related else R.QUEUED).value, notary_id=principal.user_id, filed_on=on,
            confirm_due=funds_reservation_due(on), seller_name=f.seller_name, seller_rnokpp=f.seller_rnokpp,
            seller_iban=f.seller_iban, property_registry_number=f.property_registry_number,
            property_address=f.property_address, property_katottg=f.property_katottg, property_area_m2=f.property_area_m2,
            property_kind=f.property_kind, price_kopiykas=f.price_kopiykas, certificates_kopiykas=total,
            buyer_part_kopiykas=max(0, f.price_kopiykas - total), related_party=related)
        session.add(res)
        session.flush()
        for cert in certs:
            was = cert.state
            cert.state, cert.reservation_id = CERTIFICATE.move(cert.state, C.RESERVATION_FILED, cert.number).target, res.id
            event(session, principal.user_id, cert, "certificate.reservation_filed",
                  {"reservation": res.id, "from": was, "property": f.property_registry_number})
        _res_event(session, principal, res, "reservation.filed",
                   {"certificates": [c.number for c in certs], "total_kopiykas": total, "price_kopiykas": f.price_kopiykas,
                    "buyer_part_kopiykas": res.buyer_part_kopiykas, "seller": f.seller_name,
                    "seller_rnokpp": mask(f.seller_rnokpp, 2), "seller_iban": mask(f.seller_iban, 4),
                    "property": f.property_registry_number, "katottg": f.property_katottg, "related_party": related})
        session.flush()
        # only a booking at the head of the queue can be confirmed now: those ahead did not fit, and a new filing
        # brings no money (a one-row index probe, not a read of the queue)
        ahead = session.scalar(select(CertificateReservation.id).where(
            CertificateReservation.state == R.QUEUED, CertificateReservation.id < res.id).limit(1))
        if not related and ahead is None:
            confirm_queue(session, principal.user_id, on)
    session.refresh(res)
    return res


def reservation_subject(session: Session, res: CertificateReservation) -> Subject:
    oblasts = frozenset(session.scalars(select(Claim.oblast).join(Certificate, Certificate.claim_id == Claim.id)
                                        .where(Certificate.reservation_id == res.id).distinct()))
    return Subject(oblasts=oblasts, notary_id=res.notary_id)


def get_reservation(session: Session, principal: Principal, reservation_id: int, action: Action = Action.RESERVATION_READ,
                    lock: bool = False) -> CertificateReservation:
    """The reservation if the principal may take `action` on it; a notary's others' filings are 404."""
    res = session.get(CertificateReservation, reservation_id, with_for_update=lock) if lock else \
        session.get(CertificateReservation, reservation_id)
    if res is None or (principal.actor.role == "notary" and res.notary_id != principal.user_id):
        raise NotFound(f"No reservation {reservation_id} that you can see.")
    require(principal.actor, action, reservation_subject(session, res))
    return res


def reservation_certificates(session: Session, res: CertificateReservation, lock: bool = False) -> list[Certificate]:
    stmt = select(Certificate).where(Certificate.reservation_id == res.id).order_by(Certificate.id)
    return list(session.scalars(stmt.with_for_update() if lock else stmt))


def do_review_reservation(session: Session, principal: Principal, reservation_id: int, clear: bool, note: str,
                          on: date | None = None) -> CertificateReservation:
    """An officer clears a related-party sale (it joins the queue) or refuses it (the certificates are free again)."""
    on = on or today_utc()
    note = _text(note, "note", 2000)
    with atomic(session):
        res = get_reservation(session, principal, reservation_id, Action.RESERVATION_REVIEW, lock=True)
        if res.state != R.REVIEW:
            raise GuardFailed(f"Reservation {res.id} is {res.state}; only one under review can be cleared or refused.",
                              ErrorCode.INVALID_TRANSITION, state=res.state)
        res.review_note, res.reviewed_by_id = note, principal.user_id
        if clear:
            res.state = R.QUEUED.value
        else:
            res.state, res.closed_on = R.REFUSED.value, on
            for cert in reservation_certificates(session, res, lock=True):
                cert.state, cert.reservation_id = CERTIFICATE.move(cert.state, C.ISSUED, cert.number).target, None
                event(session, principal.user_id, cert, "certificate.reservation_refused", {"reservation": res.id})
        _res_event(session, principal, res, "reservation.cleared" if clear else "reservation.refused", {"note": note})
        session.flush()
        if clear:
            confirm_queue(session, principal.user_id, on)
    session.refresh(res)
    return res


def _within(res: CertificateReservation, on: date) -> None:
    if res.contract_due is not None and on > res.contract_due:
        raise GuardFailed(f"Reservation {res.id} lapsed after {res.contract_due.isoformat()}.", ErrorCode.DEADLINE_PASSED,
                          deadline="reservation", last_day=res.contract_due.isoformat())


def do_record_termination(session: Session, principal: Principal, reservation_id: int, extract: str, extract_on: date,
                          on: date | None = None) -> CertificateReservation:
    """The notary records that the destroyed property's registration was ended because of destruction (the
    register extract's reference and date), within the 30 days."""
    on = on or today_utc()
    extract = _text(extract, "termination_extract", 120)
    if extract_on > on:
        raise ValidationFailed("The extract's date cannot be in the future.", field="termination_extract_on")
    with atomic(session):
        res = get_reservation(session, principal, reservation_id, Action.CERTIFICATE_RECORD, lock=True)
        if res.state != R.CONFIRMED:
            raise GuardFailed(f"Reservation {res.id} is {res.state}; the ownership is ended only once the funds are "
                              "reserved.", ErrorCode.INVALID_TRANSITION, state=res.state)
        _within(res, on)
        for cert in reservation_certificates(session, res, lock=True):
            cert.state = CERTIFICATE.move(cert.state, C.OWNERSHIP_TERMINATED, cert.number).target
            cert.ownership_terminated_on, cert.termination_document = on, extract
            event(session, principal.user_id, cert, "certificate.ownership_terminated",
                  {"on": on.isoformat(), "document": extract, "extract_on": extract_on.isoformat(), "reservation": res.id})
        res.state, res.termination_extract, res.termination_extract_on = R.OWNERSHIP_TERMINATED.value, extract, extract_on
        _res_event(session, principal, res, "reservation.ownership_terminated", {"extract": extract, "extract_on": extract_on.isoformat()})
    return res


def do_record_contract(session: Session, principal: Principal, reservation_id: int, contract_number: str, signed_on: date,
                       on: date | None = None) -> CertificateReservation:
    """The notary records the signed sale contract; each certificate pays the seller its part of the price (up
    to its value) in the next payment batch."""
    on = on or today_utc()
    contract_number = _text(contract_number, "contract_number", 60)
    if signed_on > on:
        raise ValidationFailed("The contract's date cannot be in the future.", field="contract_signed_on")
    with atomic(session):
        res = get_reservation(session, principal, reservation_id, Action.CERTIFICATE_RECORD, lock=True)
        if res.state != R.OWNERSHIP_TERMINATED:
            raise GuardFailed(f"Reservation {res.id} is {res.state}; record the end of the old ownership first.",
                              ErrorCode.INVALID_TRANSITION, state=res.state)
        _within(res, signed_on)
        certs = reservation_certificates(session, res, lock=True)
        paid = min(res.price_kopiykas, res.certificates_kopiykas)
        parts = split_value(paid, [Fraction(c.value_kopiykas) for c in certs])
        for cert, part in zip(certs, parts, strict=True):
            cert.state = CERTIFICATE.move(cert.state, C.CONTRACT_SIGNED, cert.number).target
            cert.contract_number, cert.contract_signed_on = contract_number, signed_on
            cert.contract_price_kopiykas, cert.seller_name, cert.seller_iban = max(part, 1), res.seller_name, res.seller_iban
            event(session, principal.user_id, cert, "certificate.contract_signed",
                  {"on": signed_on.isoformat(), "contract": contract_number, "price_kopiykas": res.price_kopiykas,
                   "to_pay_kopiykas": part, "seller": res.seller_name, "seller_iban": mask(res.seller_iban, 4),
                   "reservation": res.id})
        res.state, res.contract_number, res.contract_signed_on = R.CONTRACT_SIGNED.value, contract_number, signed_on
        _res_event(session, principal, res, "reservation.contract_signed",
                   {"contract": contract_number, "on": signed_on.isoformat(), "to_pay_kopiykas": paid,
                    "buyer_part_kopiykas": res.buyer_part_kopiykas, "total": uah(paid)})
    return res
