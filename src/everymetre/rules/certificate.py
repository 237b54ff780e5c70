"""Housing certificate for destroyed housing (Resolution 600).

  P       = Vavg x Kregion[oblast] x Krooms[rooms] x Kyear[year built, or heritage]   (kopiykas per m², rounded once)
  S_eff   = min(S, house_area_cap_m2) for a house, S otherwise
  market  = P x S_eff                                                                  (rounded once)
  floor   = floor_cost_per_m2[oblast] x (S_eff if floor_uses_capped_area else S)      (rounded once)
  C       = max(market, floor)
Rounding: ``money.round_half_up_div`` (half up to the kopiyka), once per money result above.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from everymetre.rules.model import ClaimFacts, ParamUse, Step
from everymetre.rules.money import AREA_SCALE, COEFFICIENT_SCALE, format_uah, format_uah_uk, round_half_up_div
from everymetre.rules.parameters import ParamValue
from everymetre.rules.ruleset import RuleSet

__all__ = ["PARAMS", "CertificateResult", "Price", "compute", "price_per_m2"]

PARAMS = (
    "certificate.vavg_per_m2",
    "certificate.kregion",
    "certificate.krooms",
    "certificate.kyear",
    "certificate.kyear_heritage",
    "certificate.house_area_cap_m2",
    "certificate.floor_uses_capped_area",
    "certificate.floor_cost_per_m2",
    "certificate.validity_months",
)


@dataclass(frozen=True, slots=True)
class Price:
    kopiykas_per_m2: int
    vavg: ParamValue
    kregion: ParamValue
    krooms: ParamValue
    kyear: ParamValue


def price_per_m2(rs: RuleSet, on: date, oblast: str, rooms: int, year_built: int, heritage: bool) -> Price:
    """P = Vavg x Kregion x Krooms x Kyear in kopiykas per m², rounded half up once."""
    vavg = rs.value("certificate.vavg_per_m2", on)
    kr = rs.value(f"certificate.kregion.{oblast}", on)
    kro = rs.value(f"certificate.krooms.{rooms}", on)
    ky = rs.value("certificate.kyear_heritage", on) if heritage else rs.value(f"certificate.kyear.{year_built}", on)
    numerator = vavg.value * kr.scaled * kro.scaled * ky.scaled
    return Price(round_half_up_div(numerator, COEFFICIENT_SCALE**3), vavg, kr, kro, ky)


@dataclass(frozen=True, slots=True)
class CertificateResult:
    amount_kopiykas: int
    validity_months: int
    steps: tuple[Step, ...]


def _m2(x100: int) -> str:
    return f"{x100 // AREA_SCALE}.{x100 % AREA_SCALE:02d} m²"


def compute(f: ClaimFacts, rs: RuleSet, p: dict[str, ParamValue]) -> CertificateResult:
    assert f.area_m2 is not None and f.rooms is not None and f.year_built is not None
    on = f.assessment_date
    price = price_per_m2(rs, on, f.oblast, f.rooms, f.year_built, f.heritage)
    P = price.kopiykas_per_m2
    ky_what = "heritage building" if f.heritage else f"built {f.year_built}"
    steps: list[Step] = [Step(
        "certificate.price_per_m2",
        f"Price of 1 m²: Vavg {price.vavg.display} x Kregion {price.kregion.display} ({f.oblast}) x Krooms "
        f"{price.krooms.display} ({f.rooms} rooms) x Kyear {price.kyear.display} ({ky_what}) = {format_uah(P)} per m², "
        "rounded half up to the kopiyka.",
        f"Вартість 1 м²: Vavg {format_uah_uk(price.vavg.value)} x Kregion {price.kregion.display} x Krooms "
        f"{price.krooms.display} (кімнат: {f.rooms}) x Kyear {price.kyear.display} "
        f"({'пам’ятка культурної спадщини' if f.heritage else f'рік побудови {f.year_built}'}) = {format_uah_uk(P)} за м², "
        "з округленням до копійки.",
        "P = Vavg x Kregion x Krooms x Kyear",
        {"oblast": f.oblast, "rooms": str(f.rooms), "year_built": str(f.year_built), "heritage": "yes" if f.heritage else "no"},
        f"{format_uah(P)} per m²",
        tuple(ParamUse.of(x) for x in (price.vavg, price.kregion, price.krooms, price.kyear)),
    )]
    s = f.area_x100
    cap = p["certificate.house_area_cap_m2"]
    cap_x100 = cap.scaled
    if f.property_kind == "house":
        s_eff = min(s, cap_x100)
        en = (f"A private house: the compensated area is the smaller of {_m2(s)} and the cap {cap.display}: {_m2(s_eff)}.")
        uk = (f"Приватний будинок: площа для розрахунку — менша з {_m2(s)} та граничної {cap.display}: {_m2(s_eff)}.")
        steps.append(Step("certificate.area", en, uk, "S_eff = min(S, house_area_cap_m2)", {"S": _m2(s)}, _m2(s_eff), (ParamUse.of(cap),)))
    else:
        s_eff = s
        steps.append(Step("certificate.area",
                          f"{'An apartment' if f.property_kind == 'apartment' else 'A room'}: the whole area {_m2(s)} is compensated (the cap applies to private houses only).",
                          f"{'Квартира' if f.property_kind == 'apartment' else 'Кімната'}: враховується вся площа {_m2(s)} (обмеження площі діє лише для приватних будинків).",
                          "S_eff = S", {"S": _m2(s), "property_kind": f.property_kind}, _m2(s_eff)))
    market = round_half_up_div(P * s_eff, AREA_SCALE)
    steps.append(Step("certificate.market_value",
                      f"Market value: {format_uah(P)} per m² x {_m2(s_eff)} = {format_uah(market)} (rounded half up to the kopiyka).",
                      f"Ринкова вартість: {format_uah_uk(P)} за м² x {_m2(s_eff)} = {format_uah_uk(market)} (з округленням до копійки).",
                      "market = P x S_eff", {"P": format_uah(P), "S_eff": _m2(s_eff)}, format_uah(market)))
    cost = rs.value(f"certificate.floor_cost_per_m2.{f.oblast}", on)
    use_capped = p["certificate.floor_uses_capped_area"]
    s_floor = s_eff if use_capped.value else s
    floor = round_half_up_div(cost.value * s_floor, AREA_SCALE)
    steps.append(Step("certificate.floor",
                      f"Floor: regional construction cost {cost.display} per m² ({f.oblast}) x {_m2(s_floor)} = {format_uah(floor)}.",
                      f"Мінімальна вартість: вартість будівництва в регіоні {format_uah_uk(cost.value)} за м² x {_m2(s_floor)} = {format_uah_uk(floor)}.",
                      "C_floor = floor_cost_per_m2 x (S_eff if floor_uses_capped_area else S)",
                      {"S": _m2(s), "S_eff": _m2(s_eff)}, format_uah(floor), (ParamUse.of(cost), ParamUse.of(use_capped))))
    c = max(market, floor)
    which_en = "the market value" if market >= floor else "the floor"
    which_uk = "ринкова вартість" if market >= floor else "мінімальна вартість"
    steps.append(Step("certificate.value",
                      f"Certificate value: the larger of {format_uah(market)} and {format_uah(floor)}, i.e. {which_en}: {format_uah(c)}.",
                      f"Вартість сертифіката: більша з {format_uah_uk(market)} та {format_uah_uk(floor)}, тобто {which_uk}: {format_uah_uk(c)}.",
                      "C = max(market, C_floor)", {"market": format_uah(market), "C_floor": format_uah(floor)}, format_uah(c)))
    validity = p["certificate.validity_months"]
    steps.append(Step("certificate.validity",
                      f"The certificate is valid for {validity.value} months.",
                      f"Сертифікат дійсний {validity.value} місяців.",
                      "validity = validity_months", {}, f"{validity.value} months", (ParamUse.of(validity),)))
    return CertificateResult(c, validity.value, tuple(steps))
