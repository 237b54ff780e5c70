"""A notary system's bulk work, set-based: many bookings filed at once, many ends of ownership and many
signed contracts recorded at once (`POST /api/v1/reservations/bulk`, `/api/v1/contracts/bulk`, and the
terminations' sibling). Each item passes every rule its single action (`payments.reservations`) checks:

* filing: the filing's own details, the home outside excluded hromadas, every certificate valid, bookable
  from its state, not expired, of a payable claim without a review hold, held by the buyer the notary names
  (an unknown number and a wrong holder answer alike), no certificate in two filings, the related-party
  test (seller a buyer or a co-owner of the claims: review), the price against the total (buyer's part);
* ownership ended / contract: the reservation the notary's own, in the right state, within its 30 days;
  each certificate's part of the price split exactly.

All or nothing: the first item that fails stops the request, its number in the message (``Item 17: ...``)
and in the problem's ``item``. One read per table per 5,000 items, one write per table, every audit event
the single actions append (``certificate:ID`` and ``reservation:ID``, `audit.append_bulk`), then the funding
queue confirmed once, in order of filing while the fund lasts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import NewEvent, append_bulk
from everymetre.claims.models import Claim, Ownership, Person
from everymetre.kernel.errors import DomainError, ErrorCode, GuardFailed, NotFound, ValidationFailed
from everymetre.kernel.identifiers import mask
from everymetre.payments.certificate_fund import confirm_queue
from everymetre.payments.certificate_issue import split_value
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.certificate_number import CertificateNumberError, validate_certificate_number
from everymetre.payments.common import today_utc, uah
from everymetre.payments.models import Certificate
from everymetre.payments.reservations import (
    Filing,
    _check_filing,
    _text,
    _unusable,
    excluded_hromadas,
    reservation_subject,
)
from everymetre.payments.schedule import funds_reservation_due
from everymetre.payments.states import CERTIFICATE, PAYABLE_CLAIMS, CertificateState, ReservationState
from everymetre.store.bulk import insert_rows, new_ids, update_rows
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

C = CertificateState
R = ReservationState
MOST = 5_000  # items per request
_CHUNK = 5_000
T = TypeVar("T")


def _named(i: int, exc: DomainError) -> DomainError:
    """The failure of item `i` (0-based), naming it (1-based) in the message and the problem's ``item``."""
    exc.detail = f"Item {i + 1}: {exc.detail}"
    exc.args = (exc.detail,)
    exc.params = {**exc.params, "item": i + 1}
    return exc


def _item(i: int, fn: Callable[[], T]) -> T:
    """Run one item's check; a failure names the item."""
    try:
        return fn()
    except DomainError as exc:
        raise _named(i, exc) from None


def _size(items: Sequence[Any]) -> None:
    if not items or len(items) > MOST:
        raise ValidationFailed(f"Give 1-{MOST:,} items.", field="items")


def _chunked(session: Session, stmt_for: Callable[[list[Any]], Any], keys: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    wanted = sorted(set(keys))
    for i in range(0, len(wanted), _CHUNK):
        out.extend(session.execute(stmt_for(wanted[i:i + _CHUNK])).all())
    return out


def do_file_reservations(session: Session, principal: Principal, filings: Sequence[Filing], on: date | None = None) -> list[int]:
    """Many bookings at once (`reservations.do_file_reservation` for each, set-based). Returns the new
    reservations' ids in the filings' order."""
    on = on or today_utc()
    require(principal.actor, Action.RESERVATION_FILE)
    _size(filings)
    excluded = excluded_hromadas()
    checked: list[Filing] = []
    for i, filing in enumerate(filings):
        f = _item(i, lambda filing=filing: _check_filing(filing))  # type: ignore[misc]
        if f.property_katottg in excluded:
            raise _named(i, GuardFailed(f"The home is in hromada {f.property_katottg}, a combat-zone or occupied area: "
                                        "certificates cannot buy a home there.", ErrorCode.HOME_EXCLUDED,
                                        katottg=f.property_katottg))
        checked.append(f)
    with atomic(session):
        numbers: list[str] = []
        for i, f in enumerate(checked):
            for b in f.buyers:
                try:
                    numbers.append(validate_certificate_number(b.number))
                except CertificateNumberError:
                    raise _named(i, _unusable(b.number, "no such certificate number.")) from None
        certs = {r.number: r for r in _chunked(session, lambda part: select(
            Certificate.id, Certificate.number, Certificate.state, Certificate.holder_person_id, Certificate.claim_id,
            Certificate.expires_on, Certificate.value_kopiykas).where(Certificate.number.in_(part)).with_for_update(), numbers)}
        rnokpp = dict(_chunked(session, lambda part: select(Person.id, Person.rnokpp).where(Person.id.in_(part)),
                               [c.holder_person_id for c in certs.values() if c.holder_person_id]))
        claim_ids = [c.claim_id for c in certs.values()]
        claims = {r.id: r for r in _chunked(session, lambda part: select(Claim.id, Claim.state, Claim.review_flag)
                                            .where(Claim.id.in_(part)), claim_ids)}
        co_owners: dict[int, set[str]] = {}
        for cid, code in _chunked(session, lambda part: select(Ownership.claim_id, Person.rnokpp)
                                  .join(Person, Person.id == Ownership.person_id).where(Ownership.claim_id.in_(part)), claim_ids):
            co_owners.setdefault(cid, set()).add(code or "")
        ids = new_ids(session, CertificateReservation.__table__, len(checked))
        res_rows: list[dict[str, Any]] = []
        cert_rows: list[dict[str, Any]] = []
        events: dict[str, list[NewEvent]] = {}
        chain_claims: dict[str, int | None] = {}
        uid, now = principal.user_id, utcnow()
        taken: set[str] = set()
        for i, (f, rid) in enumerate(zip(checked, ids, strict=True)):
            def book(f: Filing = f) -> list[Any]:
                mine = []
                for b in f.buyers:
                    number = validate_certificate_number(b.number)
                    cert = certs.get(number)
                    if cert is None or not cert.holder_person_id or (rnokpp.get(cert.holder_person_id) or "") != b.holder_rnokpp:
                        raise _unusable(number, "no certificate with this number is held by the person with this RNOKPP.")
                    if number in taken:
                        raise _unusable(number, "it is booked by another item of this request.", C.RESERVATION_FILED.value)
                    if not CERTIFICATE.can(cert.state, C.RESERVATION_FILED):
                        raise _unusable(number, f"it is {cert.state}.", cert.state)
                    if on > cert.expires_on:
                        raise _unusable(number, f"it expired on {cert.expires_on.isoformat()}.", cert.state)
                    claim = claims[cert.claim_id]
                    if claim.state not in PAYABLE_CLAIMS or claim.review_flag is not None:
                        raise _unusable(number, "its decision is under appeal or review.", cert.state)
                    mine.append(cert)
                taken.update(c.number for c in mine)
                return mine

            mine = _item(i, book)
            total = sum(c.value_kopiykas for c in mine)
            related = any(rnokpp.get(c.holder_person_id) == f.seller_rnokpp for c in mine) or any(
                f.seller_rnokpp in co_owners.get(c.claim_id, set()) for c in mine)
            res_rows.append({
                "id": rid, "state": (R.REVIEW if related else R.QUEUED).value, "notary_id": uid, "filed_at": now, "filed_on": on,
                "confirm_due": funds_reservation_due(on), "seller_name": f.seller_name, "seller_rnokpp": f.seller_rnokpp,
                "seller_iban": f.seller_iban, "property_registry_number": f.property_registry_number,
                "property_address": f.property_address, "property_katottg": f.property_katottg,
                "property_area_m2": f.property_area_m2, "property_kind": f.property_kind, "price_kopiykas": f.price_kopiykas,
                "certificates_kopiykas": total, "buyer_part_kopiykas": max(0, f.price_kopiykas - total), "related_party": related})
            for c in mine:
                cert_rows.append({"id": c.id, "state": CERTIFICATE.move(c.state, C.RESERVATION_FILED, c.number).target,
                                  "reservation_id": rid})
                events[f"certificate:{c.id}"] = [NewEvent("certificate.reservation_filed", {
                    "number": c.number, "reservation": rid, "from": c.state, "property": f.property_registry_number}, uid)]
                chain_claims[f"certificate:{c.id}"] = c.claim_id
            events[f"reservation:{rid}"] = [NewEvent("reservation.filed", {
                "reservation": rid, "certificates": [c.number for c in mine], "total_kopiykas": total,
                "price_kopiykas": f.price_kopiykas, "buyer_part_kopiykas": max(0, f.price_kopiykas - total),
                "seller": f.seller_name, "seller_rnokpp": mask(f.seller_rnokpp, 2), "seller_iban": mask(f.seller_iban, 4),
                "property": f.property_registry_number, "katottg": f.property_katottg, "related_party": related}, uid)]
        columns = [c.name for c in CertificateReservation.__table__.columns]
        insert_rows(session, CertificateReservation.__table__, [{c: r.get(c) for c in columns} for r in res_rows])
        bookable = "', '".join(CERTIFICATE.sources(C.RESERVATION_FILED))
        if update_rows(session, Certificate.__table__, ["id"], cert_rows, also=f"{{t}}state IN ('{bookable}')") != len(cert_rows):
            raise GuardFailed("Certificates changed while being booked; nothing was filed. Try again.", ErrorCode.CONFLICT)
        append_bulk(session, events, chain_claims)
        session.flush()
        confirm_queue(session, uid, on)
    session.expire_all()
    return ids


@dataclass(frozen=True, slots=True)
class Step:
    """One reservation's step: the register extract (ownership ended) or the contract (number), and its date."""

    reservation_id: int
    document: str
    on: date


def _reservations(session: Session, principal: Principal, steps: Sequence[Step], state: R,
                  why: str) -> list[CertificateReservation]:
    """The reservations, locked, each the principal's to act on, in `state`, within its 30 days."""
    found = {r.id: r for (r,) in _chunked(session, lambda part: select(CertificateReservation)
                                          .where(CertificateReservation.id.in_(part)).with_for_update(),
                                          [s.reservation_id for s in steps])}
    if len(found) != len({s.reservation_id for s in steps}) or len(steps) != len({s.reservation_id for s in steps}):
        seen: set[int] = set()
        for i, s in enumerate(steps):
            if s.reservation_id not in found or s.reservation_id in seen:
                raise _named(i, NotFound(f"No reservation {s.reservation_id} that you can see (or it is named twice)."))
            seen.add(s.reservation_id)
    out = []
    for i, s in enumerate(steps):
        res = found[s.reservation_id]

        def check(res: CertificateReservation = res, s: Step = s) -> None:
            if principal.actor.role == "notary":
                if res.notary_id != principal.user_id:  # others' filings do not exist for a notary
                    raise NotFound(f"No reservation {res.id} that you can see.")
                require(principal.actor, Action.CERTIFICATE_RECORD, Subject(notary_id=res.notary_id))
            else:
                require(principal.actor, Action.CERTIFICATE_RECORD, reservation_subject(session, res))
            if res.state != state:
                raise GuardFailed(f"Reservation {res.id} is {res.state}; {why}", ErrorCode.INVALID_TRANSITION, state=res.state)
            if res.contract_due is not None and s.on > res.contract_due:
                raise GuardFailed(f"Reservation {res.id} lapsed after {res.contract_due.isoformat()}.", ErrorCode.DEADLINE_PASSED,
                                  deadline="reservation", last_day=res.contract_due.isoformat())

        _item(i, check)
        out.append(res)
    return out


def _certificates(session: Session, reservation_ids: Sequence[int]) -> dict[int, list[Any]]:
    by: dict[int, list[Any]] = {}
    for row in _chunked(session, lambda part: select(Certificate.id, Certificate.number, Certificate.state, Certificate.claim_id,
                                                     Certificate.value_kopiykas, Certificate.reservation_id)
                        .where(Certificate.reservation_id.in_(part)).order_by(Certificate.id).with_for_update(), reservation_ids):
        by.setdefault(row.reservation_id, []).append(row)
    for rows in by.values():
        rows.sort(key=lambda r: r.id)
    return by


@dataclass
class _Writes:
    """What one bulk step writes: certificate rows, reservation rows, and their audit events."""

    cert_rows: list[dict[str, Any]] = field(default_factory=list)
    res_rows: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, list[NewEvent]] = field(default_factory=dict)
    chain_claims: dict[str, int | None] = field(default_factory=dict)

    def certificate(self, c: Any, row: dict[str, Any], kind: str, detail: dict[str, Any], uid: int | None) -> None:
        self.cert_rows.append({"id": c.id, **row})
        self.events[f"certificate:{c.id}"] = [NewEvent(kind, {"number": c.number, **detail}, uid)]
        self.chain_claims[f"certificate:{c.id}"] = c.claim_id

    def reservation(self, res_id: int, row: dict[str, Any], kind: str, detail: dict[str, Any], uid: int | None) -> None:
        self.res_rows.append({"id": res_id, **row})
        self.events[f"reservation:{res_id}"] = [NewEvent(kind, {"reservation": res_id, **detail}, uid)]


@dataclass(frozen=True, slots=True)
class _StepKind:
    """One notary step over many reservations: the document's field and length, the future-date refusal, the
    state the reservation must be in (and why), the certificates' move, and whether the 30-day deadline is
    checked against today (the extract) or the document's own date (the contract)."""

    field: str
    length: int
    date_field: str
    future: str
    state: R
    why: str
    frm: C
    to: C
    deadline_today: bool


def _record(session: Session, principal: Principal, steps: Sequence[Step], on: date | None, kind: _StepKind,
            each: Callable[[_Writes, CertificateReservation, Step, str, list[Any], int | None], None]) -> int:
    """Check every item as the single action does, then `each` fills the rows and events of one reservation;
    one guarded UPDATE per table and one audit append write them all, or nothing."""
    on = on or today_utc()
    _size(steps)
    for i, s in enumerate(steps):
        _item(i, lambda s=s: _text(s.document, kind.field, kind.length))  # type: ignore[misc]
        if s.on > on:
            raise _named(i, ValidationFailed(kind.future, field=kind.date_field))
    uid = principal.user_id
    require(principal.actor, Action.CERTIFICATE_RECORD, Subject(notary_id=uid))  # the role (each item: its scope)
    with atomic(session):
        checked = [Step(s.reservation_id, s.document, on) for s in steps] if kind.deadline_today else steps
        found = _reservations(session, principal, checked, kind.state, kind.why)
        certs = _certificates(session, [r.id for r in found])
        w = _Writes()
        for i, (res, s) in enumerate(zip(found, steps, strict=True)):
            mine = certs.get(res.id, [])
            for c in mine:
                _item(i, lambda c=c: CERTIFICATE.move(c.state, kind.to, c.number))  # type: ignore[misc]
            each(w, res, s, s.document.strip(), mine, uid)
        source = CERTIFICATE.move(kind.frm, kind.to).source
        if update_rows(session, Certificate.__table__, ["id"], w.cert_rows, also=f"{{t}}state = '{source}'") != len(w.cert_rows) or \
                update_rows(session, CertificateReservation.__table__, ["id"], w.res_rows,
                            also=f"{{t}}state = '{kind.state.value}'") != len(w.res_rows):
            raise GuardFailed("Reservations changed while being recorded; nothing was saved. Try again.", ErrorCode.CONFLICT)
        append_bulk(session, w.events, w.chain_claims)
    session.expire_all()
    return len(steps)


_TERMINATION = _StepKind("termination_extract", 120, "termination_extract_on", "The extract's date cannot be in the future.",
                         R.CONFIRMED, "the ownership is ended only once the funds are reserved.", C.FUNDS_RESERVED,
                         C.OWNERSHIP_TERMINATED, deadline_today=True)
_CONTRACT = _StepKind("contract_number", 60, "contract_signed_on", "The contract's date cannot be in the future.",
                      R.OWNERSHIP_TERMINATED, "record the end of the old ownership first.", C.OWNERSHIP_TERMINATED,
                      C.CONTRACT_SIGNED, deadline_today=False)


def do_record_terminations(session: Session, principal: Principal, steps: Sequence[Step], on: date | None = None) -> int:
    """`reservations.do_record_termination` for many reservations (document = the register extract, its date)."""
    day = on or today_utc()

    def each(w: _Writes, res: CertificateReservation, s: Step, extract: str, mine: list[Any], uid: int | None) -> None:
        for c in mine:
            w.certificate(c, {"state": C.OWNERSHIP_TERMINATED.value, "ownership_terminated_on": day,
                              "termination_document": extract}, "certificate.ownership_terminated",
                          {"on": day.isoformat(), "document": extract, "extract_on": s.on.isoformat(), "reservation": res.id}, uid)
        w.reservation(res.id, {"state": R.OWNERSHIP_TERMINATED.value, "termination_extract": extract,
                               "termination_extract_on": s.on}, "reservation.ownership_terminated",
                      {"extract": extract, "extract_on": s.on.isoformat()}, uid)

    return _record(session, principal, steps, day, _TERMINATION, each)


def do_record_contracts(session: Session, principal: Principal, steps: Sequence[Step], on: date | None = None) -> int:
    """`reservations.do_record_contract` for many reservations (document = the contract's number, its signing
    date): each certificate pays the seller its part of the price (up to its value) in the next batch."""

    def each(w: _Writes, res: CertificateReservation, s: Step, number: str, mine: list[Any], uid: int | None) -> None:
        paid = min(res.price_kopiykas, res.certificates_kopiykas)
        for c, part in zip(mine, split_value(paid, [Fraction(c.value_kopiykas) for c in mine]), strict=True):
            w.certificate(c, {"state": C.CONTRACT_SIGNED.value, "contract_number": number, "contract_signed_on": s.on,
                              "contract_price_kopiykas": max(part, 1), "seller_name": res.seller_name,
                              "seller_iban": res.seller_iban}, "certificate.contract_signed",
                          {"on": s.on.isoformat(), "contract": number, "price_kopiykas": res.price_kopiykas,
                           "to_pay_kopiykas": part, "seller": res.seller_name, "seller_iban": mask(res.seller_iban, 4),
                           "reservation": res.id}, uid)
        w.reservation(res.id, {"state": R.CONTRACT_SIGNED.value, "contract_number": number, "contract_signed_on": s.on},
                      "reservation.contract_signed", {"contract": number, "on": s.on.isoformat(), "to_pay_kopiykas": paid,
                                                      "buyer_part_kopiykas": res.buyer_part_kopiykas, "total": uah(paid)}, uid)

    return _record(session, principal, steps, on, _CONTRACT, each)
