"""The inputs and outputs of the rules: ClaimFacts in, Assessment (with its explanation Steps) out.

Both serialise to plain JSON-able dicts (``to_dict`` / ``from_dict``) so a decision can store them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal

from everymetre.kernel.geography import BY_CODE
from everymetre.rules.money import decimal_to_scaled_int
from everymetre.rules.parameters import ParamValue

__all__ = [
    "MAX_AREA_M2",
    "MAX_WORKS_KOPIYKAS",
    "PAYOUT_KINDS",
    "PROPERTY_KINDS",
    "REASONS",
    "REASON_BITS",
    "Assessment",
    "ClaimFacts",
    "InvalidClaim",
    "OwnerPart",
    "ParamUse",
    "Step",
    "reasons_from_mask",
]

PayoutKind = Literal["repair", "certificate"]
PropertyKindName = Literal["house", "apartment", "room"]
PAYOUT_KINDS: tuple[str, ...] = ("repair", "certificate")
PROPERTY_KINDS: tuple[str, ...] = ("house", "apartment", "room")

#: sanity bounds on inputs (not law): they keep every intermediate product inside int64
MAX_AREA_M2 = Decimal("100000")
MAX_WORKS_KOPIYKAS = 10**15  # UAH 10 trillion

#: refusal reasons: stable code -> (English, Ukrainian).  Order = order of the checks = bit number.
REASONS: dict[str, tuple[str, str]] = {
    "damage_before_start": (
        "The damage happened before the programme's start date.",
        "Пошкодження сталося до дати, з якої діє програма.",
    ),
    "damage_in_future": (
        "The damage date is after the assessment date.",
        "Дата пошкодження пізніша за дату оцінки.",
    ),
    "under_age": (
        "The claimant is under the minimum age.",
        "Заявник молодший за мінімальний вік.",
    ),
    "not_owner": (
        "The claimant neither owns nor co-owns the home.",
        "Заявник не є власником чи співвласником житла.",
    ),
    "sanctioned": (
        "The claimant is subject to sanctions.",
        "До заявника застосовано санкції.",
    ),
    "convicted_109_114": (
        "The claimant was convicted under Criminal Code articles 109–114-2.",
        "Заявника засуджено за статтями 109–114-2 Кримінального кодексу.",
    ),
    "occupied_before_start": (
        "The home is in territory occupied before 24 February 2022.",
        "Житло розташоване на території, окупованій до 24 лютого 2022 року.",
    ),
    "building_common_parts_damaged": (
        "The building's common parts are damaged and the apartment has no own street entrance: the building is restored as a whole.",
        "Пошкоджено спільне майно будинку, а квартира не має окремого входу з вулиці: будинок відновлюється як цілісний об'єкт.",
    ),
    "no_costed_works": (
        "The commission's costed list of works is empty (UAH 0): there is nothing to pay.",
        "Кошторис робіт комісії порожній (0 грн): немає чого виплачувати.",
    ),
}
REASON_BITS: dict[str, int] = {code: 1 << i for i, code in enumerate(REASONS)}


def reasons_from_mask(mask: int) -> list[str]:
    """Reason codes of a bit mask (as returned by the vectorised path), in check order."""
    return [code for code, bit in REASON_BITS.items() if int(mask) & bit]


class InvalidClaim(ValueError):
    """Claim facts that cannot be assessed (missing, out of range or of the wrong kind)."""

    def __init__(self, field_name: str, problem: str, row: int | None = None) -> None:
        self.field, self.problem, self.row = field_name, problem, row
        at = f"row {row}: " if row is not None else ""
        super().__init__(f"{at}{field_name}: {problem}")


def _as_decimal(v: Any, name: str) -> Decimal:
    if isinstance(v, (float, bool)):
        raise InvalidClaim(name, f"give a Decimal or a string, not {type(v).__name__} {v!r}")
    try:
        return v if isinstance(v, Decimal) else Decimal(str(v))
    except InvalidOperation:
        raise InvalidClaim(name, f"{v!r} is not a number") from None


def _as_date(v: Any, name: str) -> date:
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v)
        except ValueError:
            pass
    raise InvalidClaim(name, f"{v!r} is not a date YYYY-MM-DD")


def _as_int(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidClaim(name, f"{v!r} is not a whole number")
    return v


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimFacts:
    """What the rules need to know about one claim.

    ``assessment_date`` picks the rules in force and is the date the claimant's age is counted on.
    ``area_m2`` (at most 2 decimals), ``rooms`` and ``year_built`` are needed for a certificate;
    ``works_total_kopiykas`` (the commission's costed list) for a repair payment.
    ``co_owners`` lists (owner_id, share) with shares adding up to 1; the split follows its order.
    """

    payout_kind: PayoutKind
    property_kind: PropertyKindName
    oblast: str
    damage_date: date
    assessment_date: date
    birth_date: date
    owns: bool
    area_m2: Decimal | None = None
    rooms: int | None = None
    year_built: int | None = None
    heritage: bool = False
    works_total_kopiykas: int = 0
    co_owners: tuple[tuple[str, Fraction], ...] = (("claimant", Fraction(1)),)
    sanctioned: bool = False
    convicted_109_114: bool = False
    territory_occupied_before_2022: bool = False
    common_parts_damaged: bool = False
    own_street_entrance: bool = False

    def __post_init__(self) -> None:
        s = object.__setattr__
        if self.payout_kind not in PAYOUT_KINDS:
            raise InvalidClaim("payout_kind", f"{self.payout_kind!r} is not one of {', '.join(PAYOUT_KINDS)}")
        if self.property_kind not in PROPERTY_KINDS:
            raise InvalidClaim("property_kind", f"{self.property_kind!r} is not one of {', '.join(PROPERTY_KINDS)}")
        if self.oblast not in BY_CODE:
            raise InvalidClaim("oblast", f"unknown oblast code {self.oblast!r}")
        for name in ("damage_date", "assessment_date", "birth_date"):
            s(self, name, _as_date(getattr(self, name), name))
        for name in ("owns", "heritage", "sanctioned", "convicted_109_114", "territory_occupied_before_2022",
                     "common_parts_damaged", "own_street_entrance"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidClaim(name, f"must be true or false, got {getattr(self, name)!r}")
        w = _as_int(self.works_total_kopiykas, "works_total_kopiykas")
        if not 0 <= w <= MAX_WORKS_KOPIYKAS:
            raise InvalidClaim("works_total_kopiykas", f"{w} is outside 0..{MAX_WORKS_KOPIYKAS}")
        if self.area_m2 is not None:
            a = _as_decimal(self.area_m2, "area_m2")
            try:
                decimal_to_scaled_int(a, 2, "area")
            except ValueError:
                raise InvalidClaim("area_m2", f"{a} has more than 2 decimal places") from None
            if not 0 < a <= MAX_AREA_M2:
                raise InvalidClaim("area_m2", f"{a} must be more than 0 and at most {MAX_AREA_M2}")
            s(self, "area_m2", a)
        if self.rooms is not None and _as_int(self.rooms, "rooms") < 1:
            raise InvalidClaim("rooms", f"{self.rooms} must be at least 1")
        if self.year_built is not None and not 0 <= _as_int(self.year_built, "year_built") <= 9999:
            raise InvalidClaim("year_built", f"{self.year_built} is not a year")
        if self.payout_kind == "certificate":
            for name in ("area_m2", "rooms", "year_built"):
                if getattr(self, name) is None:
                    raise InvalidClaim(name, "is needed for a housing certificate")
        owners: list[tuple[str, Fraction]] = []
        for item in self.co_owners:
            try:
                oid, share = item
            except (TypeError, ValueError):
                raise InvalidClaim("co_owners", f"{item!r} is not an (owner_id, share) pair") from None
            if isinstance(share, float):
                raise InvalidClaim("co_owners", f"share {share!r} must be a Fraction or text such as '1/2'")
            try:
                fr = share if type(share) is Fraction else Fraction(share) if not isinstance(share, str) else Fraction(share.strip())
            except (ValueError, ZeroDivisionError, TypeError):
                raise InvalidClaim("co_owners", f"share {share!r} is not a fraction") from None
            if not 0 < fr <= 1:
                raise InvalidClaim("co_owners", f"share {fr} of {oid!r} must be more than 0 and at most 1")
            owners.append((str(oid), fr))
        if not owners:
            raise InvalidClaim("co_owners", "at least one owner is needed")
        if len({o for o, _ in owners}) != len(owners):
            raise InvalidClaim("co_owners", "an owner is listed twice")
        total = sum((f for _, f in owners), Fraction(0))
        if total != 1:
            raise InvalidClaim("co_owners", f"shares add up to {total}, not 1")
        s(self, "co_owners", tuple(owners))

    @property
    def area_x100(self) -> int:
        """Area in hundredths of m² (exact int)."""
        assert self.area_m2 is not None
        return decimal_to_scaled_int(self.area_m2, 2, "area")

    def to_dict(self) -> dict[str, Any]:
        return {
            "payout_kind": self.payout_kind,
            "property_kind": self.property_kind,
            "oblast": self.oblast,
            "damage_date": self.damage_date.isoformat(),
            "assessment_date": self.assessment_date.isoformat(),
            "birth_date": self.birth_date.isoformat(),
            "owns": self.owns,
            "area_m2": None if self.area_m2 is None else str(self.area_m2),
            "rooms": self.rooms,
            "year_built": self.year_built,
            "heritage": self.heritage,
            "works_total_kopiykas": self.works_total_kopiykas,
            "co_owners": [[o, str(f)] for o, f in self.co_owners],
            "sanctioned": self.sanctioned,
            "convicted_109_114": self.convicted_109_114,
            "territory_occupied_before_2022": self.territory_occupied_before_2022,
            "common_parts_damaged": self.common_parts_damaged,
            "own_street_entrance": self.own_street_entrance,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClaimFacts:
        kw = dict(d)
        if kw.get("area_m2") is not None:
            kw["area_m2"] = Decimal(str(kw["area_m2"]))
        if "co_owners" in kw:
            kw["co_owners"] = tuple((str(o), f if isinstance(f, Fraction) else Fraction(str(f))) for o, f in kw["co_owners"])
        try:
            return cls(**kw)
        except TypeError as e:
            raise InvalidClaim("facts", str(e)) from None


@dataclass(frozen=True, slots=True)
class ParamUse:
    """A parameter value a step used, with its effective date and legal reference."""

    name: str
    value: str
    effective_from: date
    reference: str
    illustrative: bool = False
    note: str | None = None

    @classmethod
    def of(cls, pv: ParamValue) -> ParamUse:
        return cls(pv.name, pv.display, pv.effective_from, pv.reference, pv.illustrative, pv.note)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "effective_from": self.effective_from.isoformat(),
            "reference": self.reference,
            "illustrative": self.illustrative,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParamUse:
        return cls(d["name"], d["value"], date.fromisoformat(d["effective_from"]), d["reference"],
                   bool(d.get("illustrative", False)), d.get("note"))


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the explanation: what was checked or computed, how, from what, and under which rule."""

    code: str
    text_en: str
    text_uk: str
    formula: str
    inputs: dict[str, str]
    result: str
    params: tuple[ParamUse, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "text_en": self.text_en,
            "text_uk": self.text_uk,
            "formula": self.formula,
            "inputs": dict(self.inputs),
            "result": self.result,
            "params": [p.to_dict() for p in self.params],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        return cls(d["code"], d["text_en"], d["text_uk"], d["formula"], dict(d["inputs"]), d["result"],
                   tuple(ParamUse.from_dict(p) for p in d.get("params", [])))


@dataclass(frozen=True, slots=True)
class OwnerPart:
    owner_id: str
    share: Fraction
    amount_kopiykas: int


@dataclass(frozen=True, slots=True)
class Assessment:
    """The result for one claim.  ``amount_kopiykas`` is 0 when not eligible; ``split`` always adds up to it."""

    eligible: bool
    reasons: tuple[str, ...]
    payout_kind: str
    amount_kopiykas: int
    tier: Literal["A", "B"] | None
    spending_months: int | None
    interim_report_required: bool
    capped: bool
    split: tuple[OwnerPart, ...]
    steps: tuple[Step, ...]
    ruleset_hash: str
    assessment_date: date
    illustrative_parameters: tuple[str, ...] = field(default=())

    @property
    def reason_mask(self) -> int:
        m = 0
        for r in self.reasons:
            m |= REASON_BITS[r]
        return m

    def reason_texts(self, lang: Literal["en", "uk"] = "en") -> list[str]:
        return [REASONS[r][0 if lang == "en" else 1] for r in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "reasons": list(self.reasons),
            "payout_kind": self.payout_kind,
            "amount_kopiykas": self.amount_kopiykas,
            "tier": self.tier,
            "spending_months": self.spending_months,
            "interim_report_required": self.interim_report_required,
            "capped": self.capped,
            "split": [{"owner_id": p.owner_id, "share": str(p.share), "amount_kopiykas": p.amount_kopiykas} for p in self.split],
            "steps": [s.to_dict() for s in self.steps],
            "ruleset_hash": self.ruleset_hash,
            "assessment_date": self.assessment_date.isoformat(),
            "illustrative_parameters": list(self.illustrative_parameters),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Assessment:
        return cls(
            eligible=bool(d["eligible"]),
            reasons=tuple(d["reasons"]),
            payout_kind=d["payout_kind"],
            amount_kopiykas=int(d["amount_kopiykas"]),
            tier=d["tier"],
            spending_months=d["spending_months"],
            interim_report_required=bool(d["interim_report_required"]),
            capped=bool(d["capped"]),
            split=tuple(OwnerPart(p["owner_id"], Fraction(p["share"]), int(p["amount_kopiykas"])) for p in d["split"]),
            steps=tuple(Step.from_dict(s) for s in d["steps"]),
            ruleset_hash=d["ruleset_hash"],
            assessment_date=date.fromisoformat(d["assessment_date"]),
            illustrative_parameters=tuple(d.get("illustrative_parameters", ())),
        )
