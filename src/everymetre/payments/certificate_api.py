"""Housing certificates over the JSON API, for a notary's system to integrate and for the payments office:
reservations (file, read, ownership ended, contract signed, related-party review), the paying agent's fund
(balance, queue, allocations), revocation, correcting a returned seller payment's account, and the public
certificate check (no sign-in, rate-limited per address).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from everymetre.api.deps import AuthDep, IdPath, SessionDep, SettingsDep, client_address
from everymetre.api.problems import problem_responses
from everymetre.payments import certificate_check, certificate_fund, certificates, reservation_bulk, reservations
from everymetre.payments.certificate_models import CertificateReservation

router = APIRouter(prefix="/api/v1", tags=["certificates"])
RESPONSES = problem_responses({
    403: "Not allowed for your role",
    404: "Nothing by that reference that you can see",
    409: "Not in a state that allows this, a deadline passed, or a programme rule forbids it",
})
# bulk bodies are capped (api.limits): a larger one is refused before it is read
BULK_RESPONSES = {**RESPONSES, **problem_responses({413: "The request is larger than this address accepts"})}
Kopiykas = Annotated[int, Field(gt=0, le=10**13, description="Integer kopiykas")]


class BuyerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(max_length=20, description="The certificate's number (HC-YYYY-NNNNNNN-C)")
    holder_rnokpp: str = Field(max_length=10, description="Its holder's RNOKPP, as the notary identified them")


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "certificates": [{"number": "HC-2026-0000001-7", "holder_rnokpp": "2790211235"},
                         {"number": "HC-2026-0000002-5", "holder_rnokpp": "2956304561"}],
        "seller_name": "Бойко Андрій Петрович", "seller_rnokpp": "2459107218",
        "seller_iban": "UA213052990000026001234567890", "property_registry_number": "161803",
        "property_address": "Львів, вул. Зелена, 3, кв. 12", "property_katottg": "UA46060250010015970",
        "property_area_m2": "54.30", "property_kind": "apartment", "price_kopiykas": 180_000_000}]})
    certificates: list[BuyerIn] = Field(min_length=1, max_length=10, description="Co-owners may combine theirs")
    seller_name: str = Field(max_length=140)
    seller_rnokpp: str = Field(max_length=10)
    seller_iban: str = Field(max_length=40)
    property_registry_number: str = Field(max_length=40, description="The home's number in the property register")
    property_address: str = Field(max_length=300)
    property_katottg: str = Field(max_length=19, description="KATOTTG code of the home's hromada (UA + 17 digits)")
    property_area_m2: Decimal = Field(gt=0, le=2000, max_digits=9, decimal_places=2)
    property_kind: Literal["house", "apartment"]
    price_kopiykas: Kopiykas


class ReservationCertificateOut(BaseModel):
    number: str
    state: str
    value_kopiykas: int
    to_pay_kopiykas: int | None = Field(description="Its part of the price, paid to the seller (after the contract)")


class ReservationOut(BaseModel):
    id: int
    state: Literal["review", "queued", "confirmed", "ownership_terminated", "contract_signed", "completed", "lapsed",
                   "refused", "cancelled"]
    filed_on: date
    confirm_due: date = Field(description="The 5-working-day target for the paying agent's confirmation")
    escalated_on: date | None = Field(description="The day the sweep escalated it, still unconfirmed past the target")
    confirmed_on: date | None
    contract_due: date | None = Field(description="Last day to sign the contract (30 days after confirmation)")
    queue_position: int | None = Field(description="1 = next to be confirmed (while queued)")
    ahead_kopiykas: int | None = Field(description="Money booked ahead of it in the queue (while queued)")
    seller_name: str
    property_registry_number: str
    property_address: str
    price_kopiykas: int
    certificates_kopiykas: int
    buyer_part_kopiykas: int = Field(description="Price above the certificates' total: paid by the buyers")
    related_party: bool
    termination_extract: str | None
    contract_number: str | None
    contract_signed_on: date | None
    certificates: list[ReservationCertificateOut]


class TerminationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"extract": "ДРРП 40817263, припинено у зв'язку зі знищенням", "extract_on": "2026-11-20"}]})
    extract: str = Field(max_length=120, description="The register extract that ended the destroyed home's registration")
    extract_on: date


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"contract_number": "ДКП-1187/2026", "signed_on": "2026-11-25"}]})
    contract_number: str = Field(max_length=60)
    signed_on: date


class ReservationsBulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "filings": ReservationIn.model_config["json_schema_extra"]["examples"]}]})  # type: ignore[index]
    filings: list[ReservationIn] = Field(min_length=1, max_length=reservation_bulk.MOST,
                                         description="Each checked as a single filing is; all or nothing")


class BulkFiledOut(BaseModel):
    reservation_ids: list[int] = Field(description="The new reservations, in the filings' order")
    queued: int = Field(description="How many of them still wait in the funding queue")


class TerminationItemIn(TerminationIn):
    reservation_id: int = Field(gt=0)


class TerminationsBulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [
        {"reservation_id": 41, "extract": "ДРРП 40817263, припинено у зв'язку зі знищенням", "extract_on": "2026-11-20"}]}]})
    items: list[TerminationItemIn] = Field(min_length=1, max_length=reservation_bulk.MOST)


class ContractItemIn(ContractIn):
    reservation_id: int = Field(gt=0)


class ContractsBulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [
        {"reservation_id": 41, "contract_number": "ДКП-1187/2026", "signed_on": "2026-11-25"}]}]})
    items: list[ContractItemIn] = Field(min_length=1, max_length=reservation_bulk.MOST)


class BulkRecordedOut(BaseModel):
    recorded: int


class ReservationReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"clear": True, "note": "Продавець не пов'язаний з покупцями: перевірено за реєстрами."}]})
    clear: bool = Field(description="true: the sale may go ahead (joins the queue); false: refused")
    note: str = Field(max_length=2000)


class AllocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount_kopiykas": 50_000_000_000, "reference": "MINFIN-2026-11-0042"}]})
    amount_kopiykas: Kopiykas
    reference: str = Field(max_length=40, description="The transfer's reference: an allocation is recorded once")


class QueueItemOut(BaseModel):
    reservation_id: int
    position: int
    filed_on: date
    confirm_due: date
    amount_kopiykas: int
    ahead_kopiykas: int
    overdue: bool
    escalated_on: date | None = Field(description="The day the sweep escalated it (past the 5-working-day target)")


class EscalationOut(BaseModel):
    reservation_id: int
    state: Literal["queued", "review"]
    filed_on: date
    confirm_due: date = Field(description="The 5-working-day target it missed")
    escalated_on: date
    amount_kopiykas: int
    notary: str = Field(description="The filing notary's sign-in e-mail")


class FundOut(BaseModel):
    balance_kopiykas: int = Field(description="Allocated to the agent and not reserved")
    allocated_kopiykas: int
    queued: int
    queued_kopiykas: int
    shortfall_kopiykas: int
    overdue: int = Field(description="Queued past the 5-working-day confirmation target")
    escalated: int = Field(description="Waiting bookings the sweep escalated past the target: for payments officers to act on")
    escalations: list[EscalationOut] = Field(description="The escalated bookings, the longest overdue first")
    queue: list[QueueItemOut]


class AllocationOut(BaseModel):
    reference: str
    amount_kopiykas: int
    confirmed: int = Field(description="Reservations confirmed by this money")
    balance_kopiykas: int


class SellerAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"seller_name": "Бойко Андрій Петрович", "seller_iban": "UA213052990000026001234567890"}]})
    seller_name: str = Field(max_length=140)
    seller_iban: str = Field(max_length=40)


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "admin"}]})
    reason: Literal["admin", "overturned", "revised"] = "admin"


class CertificateStateOut(BaseModel):
    number: str
    state: str


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"number": "HC-2026-0000001-7", "birth_date": "1958-06-07"}]})
    number: str = Field(max_length=30)
    birth_date: date = Field(description="The holder's date of birth")


class CheckOut(BaseModel):
    number: str
    status: Literal["valid", "reserved", "redeemed", "expired", "revoked"]
    value_kopiykas: int
    issued_on: date
    valid_until: date


def reservation_out(session: Any, res: CertificateReservation) -> ReservationOut:
    certs = reservations.reservation_certificates(session, res)
    pos = certificate_fund.queue_position(session, res) if res.state == "queued" else (None, None)
    return ReservationOut(
        id=res.id, state=res.state, filed_on=res.filed_on, confirm_due=res.confirm_due, escalated_on=res.escalated_on,
        confirmed_on=res.confirmed_on,
        contract_due=res.contract_due, queue_position=pos[0], ahead_kopiykas=pos[1], seller_name=res.seller_name,
        property_registry_number=res.property_registry_number, property_address=res.property_address,
        price_kopiykas=res.price_kopiykas, certificates_kopiykas=res.certificates_kopiykas,
        buyer_part_kopiykas=res.buyer_part_kopiykas, related_party=res.related_party,
        termination_extract=res.termination_extract, contract_number=res.contract_number,
        contract_signed_on=res.contract_signed_on,
        certificates=[ReservationCertificateOut(number=c.number, state=c.state, value_kopiykas=c.value_kopiykas,
                                                to_pay_kopiykas=c.contract_price_kopiykas) for c in certs])


def filing_of(body: ReservationIn) -> reservations.Filing:
    return reservations.Filing(
        tuple(reservations.Buyer(b.number, b.holder_rnokpp) for b in body.certificates), body.seller_name,
        body.seller_rnokpp, body.seller_iban, body.property_registry_number, body.property_address,
        body.property_katottg, body.property_area_m2, body.property_kind, body.price_kopiykas)


@router.post("/reservations", response_model=ReservationOut, status_code=201, responses=RESPONSES)
def file_reservation(body: ReservationIn, auth: AuthDep) -> ReservationOut:
    """A notary books one or more certificates (co-owners combining) against a home. It is checked (valid,
    held by the buyers, the home outside combat zones and occupied territory, the seller not related), then
    confirmed in order of filing while the paying agent's fund lasts; a related-party sale waits for review."""
    res = reservations.do_file_reservation(auth.session, auth.principal, filing_of(body))
    return reservation_out(auth.session, res)


@router.post("/reservations/bulk", response_model=BulkFiledOut, status_code=201, responses=BULK_RESPONSES)
def file_reservations_bulk(body: ReservationsBulkIn, auth: AuthDep) -> BulkFiledOut:
    """A notary's system files many bookings at once (up to 5,000), each checked as a single filing is; all
    or nothing: the first that fails names its item (1-based) in the problem's `item`."""
    ids = reservation_bulk.do_file_reservations(auth.session, auth.principal, [filing_of(f) for f in body.filings])
    queued = auth.session.scalar(select(func.count()).where(CertificateReservation.id.in_(ids),
                                                            CertificateReservation.state == "queued")) or 0
    return BulkFiledOut(reservation_ids=ids, queued=int(queued))


@router.post("/reservations/ownership-terminations/bulk", response_model=BulkRecordedOut, responses=BULK_RESPONSES)
def record_terminations_bulk(body: TerminationsBulkIn, auth: AuthDep) -> BulkRecordedOut:
    """The ends of ownership of many of the notary's reservations at once; all or nothing."""
    steps = [reservation_bulk.Step(i.reservation_id, i.extract, i.extract_on) for i in body.items]
    return BulkRecordedOut(recorded=reservation_bulk.do_record_terminations(auth.session, auth.principal, steps))


@router.post("/contracts/bulk", response_model=BulkRecordedOut, responses=BULK_RESPONSES)
def record_contracts_bulk(body: ContractsBulkIn, auth: AuthDep) -> BulkRecordedOut:
    """The signed contracts of many of the notary's reservations at once (each within its 30 days); the
    sellers are paid in the next batch. All or nothing."""
    steps = [reservation_bulk.Step(i.reservation_id, i.contract_number, i.signed_on) for i in body.items]
    return BulkRecordedOut(recorded=reservation_bulk.do_record_contracts(auth.session, auth.principal, steps))


@router.get("/reservations/{reservation_id}", response_model=ReservationOut, responses=RESPONSES)
def get_reservation(reservation_id: IdPath, auth: AuthDep) -> ReservationOut:
    """A reservation: its state, queue position and the money ahead of it, deadlines, certificates."""
    return reservation_out(auth.session, reservations.get_reservation(auth.session, auth.principal, reservation_id))


@router.post("/reservations/{reservation_id}/ownership-termination", response_model=ReservationOut, responses=RESPONSES)
def record_termination(reservation_id: IdPath, body: TerminationIn, auth: AuthDep) -> ReservationOut:
    """The destroyed home's registration was ended because of destruction (register extract and its date)."""
    res = reservations.do_record_termination(auth.session, auth.principal, reservation_id, body.extract, body.extract_on)
    return reservation_out(auth.session, res)


@router.post("/reservations/{reservation_id}/contracts", response_model=ReservationOut, responses=RESPONSES)
def record_contract(reservation_id: IdPath, body: ContractIn, auth: AuthDep) -> ReservationOut:
    """The sale contract signed (within 30 days of the confirmation): the seller is paid in the next batch."""
    res = reservations.do_record_contract(auth.session, auth.principal, reservation_id, body.contract_number, body.signed_on)
    return reservation_out(auth.session, res)


@router.post("/reservations/{reservation_id}/review", response_model=ReservationOut, responses=RESPONSES)
def review_reservation(reservation_id: IdPath, body: ReservationReviewIn, auth: AuthDep) -> ReservationOut:
    """An officer clears or refuses a related-party sale."""
    res = reservations.do_review_reservation(auth.session, auth.principal, reservation_id, body.clear, body.note)
    return reservation_out(auth.session, res)


@router.get("/fund", response_model=FundOut, responses=RESPONSES)
def get_fund(auth: AuthDep) -> FundOut:
    """The paying agent's fund: balance, allocations, the funding queue (oldest first), and the escalations:
    bookings past the 5-working-day confirmation target, flagged by the sweep."""
    return FundOut(**certificate_fund.fund_view(auth.session, auth.principal))


@router.post("/fund/allocations", response_model=AllocationOut, status_code=201, responses=RESPONSES)
def record_allocation(body: AllocationIn, auth: AuthDep) -> AllocationOut:
    """Money allocated to the paying agent; the queue is confirmed while it lasts."""
    return AllocationOut(**certificate_fund.do_record_fund(auth.session, auth.principal, body.amount_kopiykas, body.reference))


@router.post("/certificates/{number}/revocation", response_model=CertificateStateOut, responses=RESPONSES)
def revoke_certificate(number: str, body: RevokeIn, auth: AuthDep) -> CertificateStateOut:
    """Revoke an unused certificate (its reserved funds go back to the agent's fund)."""
    cert = certificates.do_revoke_certificate(auth.session, auth.principal, number, body.reason)
    return CertificateStateOut(number=cert.number, state=cert.state)


@router.post("/certificates/{number}/seller-account", response_model=CertificateStateOut, responses=RESPONSES)
def correct_seller_account(number: str, body: SellerAccountIn, auth: AuthDep) -> CertificateStateOut:
    """After the bank returned the seller's payment: the corrected account; the next batch pays again."""
    cert = certificates.do_correct_seller_account(auth.session, auth.principal, number, body.seller_name, body.seller_iban)
    return CertificateStateOut(number=cert.number, state=cert.state)


@router.post("/public/certificate-check", response_model=CheckOut, responses=problem_responses({
        404: "No certificate matches this number and date of birth", 429: "Too many checks from your address"}))
def public_check(body: CheckIn, request: Request, session: SessionDep, settings: SettingsDep) -> CheckOut:
    """Public (no sign-in): is a certificate valid? Its number and the holder's date of birth answer its status
    (valid, reserved, redeemed, expired, revoked), value and last valid day; nothing else about the holder."""
    return CheckOut(**certificate_check.check_certificate(session, settings, body.number, body.birth_date,
                                                          client_address(request)))
