"""Request and response shapes for claims (separate Create / Transition / Public models).

Used by the API (they are its OpenAPI spec), the pages and the importers, so a rule on input is written once.
"""

from __future__ import annotations

import builtins
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from everymetre.claims.lifecycle import ClaimKind, State
from everymetre.claims.values import (
    DamageCategory,
    InspectionMethod,
    PriorityGroup,
    PropertyKind,
    parse_share,
    shares_problem,
)
from everymetre.kernel.geography import resolve_oblast
from everymetre.kernel.iban import validate_iban
from everymetre.kernel.identifiers import rnokpp_problem
from everymetre.kernel.text import LINE_JSON_PATTERN, LINES_JSON_PATTERN, clean_line, clean_lines

# Every text field of every input is one of these: no control or text-direction override characters (NUL among
# them, which PostgreSQL cannot store), and no line breaks in a one-line field (kernel/text.py). Booleans are
# strict: `"submit": 0` is refused, not read as false.
Line = Annotated[str, AfterValidator(clean_line), Field(json_schema_extra={"pattern": LINE_JSON_PATTERN})]
Lines = Annotated[str, AfterValidator(clean_lines), Field(json_schema_extra={"pattern": LINES_JSON_PATTERN})]
Text200 = Annotated[Line, Field(min_length=1, max_length=200)]


def _decimal_schema(places: int, maximum: int) -> WithJsonSchema:
    """A positive decimal as the API documents it: a number, or a string of digits with at most `places`
    decimals (pydantic's own schema allows any string, so generated "" looked valid)."""
    return WithJsonSchema({"anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": maximum, "multipleOf": 10 ** -places},
        {"type": "string", "pattern": rf"^(?!0+(\.0+)?$)[0-9]{{1,{len(str(maximum)) - 1}}}(\.[0-9]{{1,{places}}})?$"},
    ]})
PriorityName = Literal["combatant", "disability", "large_family"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def valid_rnokpp(v: str) -> str:
    v = v.replace(" ", "")
    if problem := rnokpp_problem(v):
        raise ValueError(problem)
    return v


class OwnerIn(_In):
    full_name: Text200 = Field(description="Full name in Ukrainian as in the passport")
    full_name_latin: Line | None = Field(None, max_length=200)
    birth_date: date
    rnokpp: Line = Field(description="Taxpayer number (RNOKPP), 10 digits with a check digit",
                         json_schema_extra={"pattern": r"^[0-9]{10}$"})
    phone: Line | None = Field(None, pattern=r"^\+?[0-9 ()-]{7,20}$")
    email: Line | None = Field(None, max_length=254)
    iban: Line | None = Field(None, max_length=40, description="The owner's payout account (for repair money the "
                              "special eRecovery account at a participating bank): a Ukrainian IBAN, 29 characters")
    bank_code: Line | None = Field(None, pattern=r"^[0-9]{6}$", description="The bank chosen for the account (its "
                                   "MFO, IBAN characters 5-10), from the participating banks; must agree with the IBAN")
    share: Line = Field("1", description="Ownership share as a fraction, e.g. 1/2")
    is_applicant: StrictBool = False

    @field_validator("rnokpp")
    @classmethod
    def _rnokpp(cls, v: str) -> str:
        return valid_rnokpp(v)

    @field_validator("birth_date")
    @classmethod
    def _birth(cls, v: date) -> date:
        if v < date(1900, 1, 1) or v > date.today():
            raise ValueError("the birth date must be between 1900 and today")
        return v

    @field_validator("share")
    @classmethod
    def _share(cls, v: str) -> str:
        return str(parse_share(v))

    @field_validator("iban")
    @classmethod
    def _iban(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        return validate_iban(v)


class PropertyIn(_In):
    kind: PropertyKind
    oblast: Line = Field(description="Oblast code, Ukrainian or English name (e.g. kharkivska, Харківська, Kharkiv)")
    hromada: Text200 = Field(description="Hromada, city or village")
    street: Text200
    building: Line = Field(min_length=1, max_length=20)
    apartment: Line | None = Field(None, max_length=20)
    registry_number: Line | None = Field(None, max_length=40, description="Object number in the State Register of Real Property Rights")
    total_area_m2: Annotated[Decimal, _decimal_schema(2, 10000)] = Field(gt=0, le=10000, decimal_places=2)
    year_built: int | None = Field(None, ge=1700, le=2100)
    rooms: int | None = Field(None, ge=1, le=50)
    latitude: float | None = Field(None, ge=44.0, le=52.5)
    longitude: float | None = Field(None, ge=22.0, le=40.3)
    common_parts_damaged: StrictBool | None = None
    own_street_entrance: StrictBool | None = None
    heritage: StrictBool = False

    @field_validator("oblast")
    @classmethod
    def _oblast(cls, v: str) -> str:
        try:
            return resolve_oblast(v)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None

    @model_validator(mode="after")
    def _apartment(self) -> PropertyIn:
        if self.kind in (PropertyKind.APARTMENT, PropertyKind.ROOM) and not self.apartment:
            raise ValueError("an apartment or room needs its apartment number")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


CLAIM_EXAMPLE: dict[str, Any] = {
    "kind": "repair_application",
    "damage_date": "2024-03-15",
    "description": "Вибуховою хвилею вибито вікна та пошкоджено покрівлю.",
    "priority_groups": ["large_family"],
    "property": {
        "kind": "house", "oblast": "kharkivska", "hromada": "Харків", "street": "вул. Сумська",
        "building": "12а", "total_area_m2": "84.50", "year_built": 1978, "rooms": 3,
        "latitude": 50.0005, "longitude": 36.2292,
    },
    "owners": [
        {"full_name": "Шевченко Олена Петрівна", "birth_date": "1980-05-17", "rnokpp": "2935745002",
         "phone": "+380501234567", "share": "1/2", "is_applicant": True, "iban": "UA743052990000026007233566001", "bank_code": "305299"},
        {"full_name": "Шевченко Іван Андрійович", "birth_date": "1978-11-02", "rnokpp": "2879511257", "share": "1/2"},
    ],
    "submit": True,
}


AttorneyType = Literal["notarial", "equated"]


def attorney_date_problem(issued_on: date, valid_until: date, today: date) -> str | None:
    """A power of attorney the programme accepts today: issued by today, valid until today or later."""
    if issued_on > today:
        return f"the power of attorney is dated {issued_on.isoformat()}, in the future"
    if valid_until < issued_on:
        return "the power of attorney's expiry date is before its date of issue"
    if valid_until < today:
        return f"the power of attorney expired on {valid_until.isoformat()}"
    return None


class RepresentativeIn(_In):
    """The person filing for the owners, and the power of attorney they act on (an officer checks it before the
    claim is verified). The scan can be uploaded as evidence of kind `power_of_attorney`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "full_name": "Коваль Петро Іванович", "rnokpp": "2935745002", "phone": "+380501234567",
        "document_type": "notarial", "document_number": "НРМ 123456", "issued_on": "2024-01-10",
        "valid_until": "2034-01-10", "notary_name": "Іваненко Марія Олегівна, приватний нотаріус Харківського МНО"}]})

    full_name: Text200 = Field(description="The representative's full name, as in the passport")
    rnokpp: Line = Field(description="The representative's taxpayer number (RNOKPP)", json_schema_extra={"pattern": r"^[0-9]{10}$"})
    birth_date: date | None = None
    phone: Line | None = Field(None, pattern=r"^\+?[0-9 ()-]{7,20}$")
    email: Line | None = Field(None, max_length=254)
    document_type: AttorneyType = Field(description="notarial: certified by a notary; equated: certified by an "
                                        "official the law equates with a notary (a unit commander, a hospital head)")
    document_number: Line = Field(min_length=1, max_length=60, description="The form's series and number")
    issued_on: date
    valid_until: date
    notary_name: Text200 = Field(description="The notary (or official) who certified it")

    @field_validator("rnokpp")
    @classmethod
    def _rnokpp(cls, v: str) -> str:
        return valid_rnokpp(v)

    @model_validator(mode="after")
    def _dates(self) -> RepresentativeIn:
        if problem := attorney_date_problem(self.issued_on, self.valid_until, date.today()):
            raise ValueError(problem)
        return self


class ClaimCreate(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [CLAIM_EXAMPLE]})

    kind: ClaimKind
    damage_date: date
    description: Lines = Field("", max_length=5000)
    priority_groups: list[PriorityName] = Field(default_factory=list, max_length=3)
    property: PropertyIn
    owners: list[OwnerIn] = Field(min_length=1, max_length=20)
    filed_as_representative: StrictBool = Field(False, description="The person filing is not an owner but represents "
                                                "them (implied by `representative`)")
    representative: RepresentativeIn | None = Field(None, description="Filing for the owners: your details and the "
                                                    "power of attorney, which an officer checks before verifying")
    previous_claim: Line | None = Field(None, max_length=30, description="Reference of the earlier claim, for repeat damage")
    submit: StrictBool = Field(True, description="Submit now; false keeps a draft")

    @model_validator(mode="after")
    def _owners(self) -> ClaimCreate:
        if problem := shares_problem([parse_share(o.share) for o in self.owners]):
            raise ValueError(problem)
        if sum(o.is_applicant for o in self.owners) > 1:
            raise ValueError("mark at most one owner as the applicant")
        rn = [o.rnokpp for o in self.owners]
        if len(set(rn)) != len(rn):
            raise ValueError("the same taxpayer number appears twice among the owners")
        if self.representative is not None:
            if self.representative.rnokpp in rn:
                raise ValueError("the representative is one of the owners: an owner files as an owner")
            if any(o.is_applicant for o in self.owners):
                raise ValueError("a representative files for the owners: mark no owner as the applicant")
            self.filed_as_representative = True
        return self

    @builtins.property  # `property` is a field of this model
    def priority_mask(self) -> int:
        return PriorityGroup.mask(list(self.priority_groups))


class WorkItem(_In):
    description: Text200
    quantity: Annotated[Decimal, _decimal_schema(3, 1_000_000)] = Field(gt=0, le=1_000_000, decimal_places=3)
    unit: Line = Field(min_length=1, max_length=20)
    unit_price_kopiykas: int = Field(ge=0, le=10_000_000_000)

    @property
    def total_kopiykas(self) -> int:
        return int((self.quantity * self.unit_price_kopiykas).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class InspectionActIn(_In):
    method: InspectionMethod = InspectionMethod.ON_SITE
    inspected_on: date
    damage_category: DamageCategory
    damaged_elements: list[Annotated[Line, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=50)
    works: list[WorkItem] = Field(default_factory=list, max_length=500)
    technical_report_required: StrictBool = False
    notes: Lines = Field("", max_length=5000)

    @property
    def works_total_kopiykas(self) -> int:
        return sum(w.total_kopiykas for w in self.works)


class DecisionIn(_In):
    reasons: Lines = Field(min_length=1, max_length=5000)
    amount_kopiykas: int | None = Field(None, ge=0, le=100_000_000_000, description="Defaults to the assessed amount")
    amount_reason: Lines = Field("", max_length=5000, description="Why the award differs from the amount the rules "
                                 "computed (required then). An award above the computed amount, the tier cap or the "
                                 "configured amount waits for a second commission member (POST .../award-approval)")


class AwardReviewIn(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"approve": True, "reason": "Кошторис перевірено: заміна покрівлі обґрунтована."}]})

    approve: StrictBool = Field(description="true approves the waiting award, false refuses it")
    reason: Lines = Field(min_length=1, max_length=5000)


class PayoutAccountIn(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"iban": "UA743052990000026007233566001", "bank_code": "305299", "reason": "Новий рахунок єВідновлення"}]})

    iban: Line = Field(max_length=40, description="A Ukrainian IBAN (29 characters) at a participating bank")
    bank_code: Line | None = Field(None, pattern=r"^[0-9]{6}$", description="The chosen bank's MFO; must agree with the IBAN")
    owner_rnokpp: Line | None = Field(None, description="Whose account (an owner's taxpayer number); default: the payee")
    reason: Lines = Field("", max_length=2000)


class PayoutOwnerPublic(BaseModel):
    owner: str
    is_payee: bool
    iban_masked: str | None
    bank_code: str | None
    bank_name: str | None
    state: str | None = Field(None, description="active | returned (the bank returned a payment: give a new account) | None")
    since: datetime | None
    returned_reason: str | None


class PayoutAccountPublic(BaseModel):
    claim_reference: str
    needs_account: str | None = Field(None, description="returned | missing | null: why no payment can go out now")
    owners: list[PayoutOwnerPublic]
    banks: list[dict[str, str]]


TRANSITION_EXAMPLE: dict[str, Any] = {
    "to": "suspended", "reason": "The ownership certificate is missing.", "expected_version": 3,
    "documents_requested": ["Витяг з Державного реєстру речових прав"], "deadline": "2026-12-31",
}


class TransitionIn(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [TRANSITION_EXAMPLE]})

    to: State
    reason: Lines = Field("", max_length=5000)
    expected_version: int = Field(ge=1)
    documents_requested: list[Annotated[Line, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=30)
    deadline: date | None = None
    inspection_date: date | None = None
    inspection_act: InspectionActIn | None = None
    decision: DecisionIn | None = None
    duplicate_of: Line | None = Field(None, max_length=30)


class OwnerPublic(BaseModel):
    full_name: str
    birth_date: date | None
    rnokpp_masked: str
    share: str
    is_applicant: bool


class PropertyPublic(BaseModel):
    kind: str
    oblast: str
    hromada: str
    street: str
    building: str
    apartment: str | None
    registry_number: str | None
    total_area_m2: Decimal
    year_built: int | None
    rooms: int | None
    latitude: float | None
    longitude: float | None


class ClaimSummary(BaseModel):
    reference: str
    kind: str
    state: str
    version: int
    oblast: str
    hromada: str
    damage_date: date
    priority_groups: list[str]
    submitted_at: datetime | None
    state_changed_at: datetime
    suspension_deadline: date | None
    review_flag: str | None


class MovePublic(BaseModel):
    to: str
    label_en: str
    label_uk: str
    needs: list[str]


class RepresentativePublic(BaseModel):
    full_name: str
    rnokpp_masked: str
    document_type: str
    document_number: str
    issued_on: date
    valid_until: date
    notary_name: str
    state: str = Field(description="unchecked | accepted | refused (an officer's check)")
    refusal_reason: str | None
    checked_at: datetime | None


class ClaimPublic(ClaimSummary):
    description: str
    property: PropertyPublic
    owners: list[OwnerPublic]
    filed_as_representative: bool
    channel: str = Field("portal", description="How it was filed: portal | cnap (at a service centre) | notary | import")
    representative: RepresentativePublic | None = Field(None, description="Who filed for the owners, with the "
                                                        "power of attorney and its check")
    is_redamage: bool
    previous_claim: str | None
    documents_requested: list[str] | None
    assessed_amount_kopiykas: int | None
    awarded_amount_kopiykas: int | None
    available_moves: list[MovePublic]
    pending_award: dict[str, Any] | None = Field(None, description="An award waiting for a second commission member")


class AttorneyCheckIn(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"accept": False, "reason": "Довіреність не дає права подавати заяви про компенсацію."}]})

    accept: StrictBool = Field(description="true accepts the power of attorney, false refuses it (with the reason)")
    reason: Lines = Field("", max_length=2000, description="Why it is refused (required then)")


class IdentityIn(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"rnokpp": "2935745002", "birth_date": "1980-05-17"}]})

    rnokpp: Line = Field(max_length=20, description="Your taxpayer number (RNOKPP), 10 digits")
    birth_date: date | None = Field(None, description="Your date of birth (the second factor `birth_date`)")


class IdentityPublic(BaseModel):
    verified: bool
    rnokpp_masked: str | None
    through: str | None = Field(None, description="birth_date | oidc: how the account was verified")
    verified_at: datetime | None
    second_factor: str = Field(description="The programme's second factor: birth_date | oidc")


class ClaimPage(BaseModel):
    items: list[ClaimSummary]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null on the last page")


class EventPublic(BaseModel):
    """One event of a claim's trail. Staff see every event with its actor id and hash; an applicant sees their
    own trail with staff-only facts left out (`claims.trail`): no check results, flags, finding or staff ids."""

    seq: int
    at: datetime
    actor_id: int | None
    actor: Literal["you", "applicant", "staff", "automatic"] = "staff"
    action: str
    summary: str = ""
    payload: dict
    hash: str | None


class EvidencePublic(BaseModel):
    id: int
    sha256: str
    content_type: str
    size_bytes: int
    original_name: str
    kind: str
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None
    uploaded_at: datetime
