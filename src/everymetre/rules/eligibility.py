"""Eligibility: who and what may be compensated (docs/domain.md, "Eligibility").

Checks, in this order (each failed check adds its reason code, see ``model.REASONS``):
  1. damage on or after ``eligibility.damage_from`` (24 Feb 2022)      -> damage_before_start
  2. damage not after the assessment date                               -> damage_in_future
  3. claimant aged ``eligibility.min_age_years`` (18) on the assessment date -> under_age
  4. the claimant owns or co-owns the home                              -> not_owner
  5. not subject to sanctions                                           -> sanctioned
  6. not convicted under Criminal Code arts. 109-114-2                  -> convicted_109_114
  7. not in territory occupied before 24 Feb 2022                       -> occupied_before_start
  8. repair payment for an apartment only: the building's common parts are undamaged or the
     apartment has its own street entrance                              -> building_common_parts_damaged
     (not applied to certificates: a destroyed apartment's building is destroyed too, and the
     certificate compensates the apartment itself)
  9. repair payment only: the costed list is more than UAH 0           -> no_costed_works
"""

from __future__ import annotations

from datetime import date

from everymetre.rules.model import REASONS, ClaimFacts, ParamUse, Step
from everymetre.rules.parameters import ParamValue

__all__ = ["PARAMS", "age_on", "check"]

PARAMS = ("eligibility.damage_from", "eligibility.min_age_years")


def age_on(birth: date, on: date) -> int:
    """Full years of age on ``on`` (someone born on 29 February has a birthday on 1 March in other years)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _yn(b: bool) -> str:
    return "yes" if b else "no"


def _step(code: str, ok: bool, en: str, uk: str, formula: str, inputs: dict[str, str], params: tuple[ParamUse, ...] = ()) -> Step:
    if not ok:
        en, uk = REASONS[code]
    return Step(f"eligibility.{code}", en, uk, formula, inputs, "passed" if ok else "failed", params)


def check(f: ClaimFacts, p: dict[str, ParamValue]) -> tuple[list[str], list[Step]]:
    """Reason codes of the failed checks (empty = eligible) and one explanation step per check."""
    start = p["eligibility.damage_from"]
    min_age = p["eligibility.min_age_years"]
    reasons: list[str] = []
    steps: list[Step] = []

    def add(code: str, ok: bool, en: str, uk: str, formula: str, inputs: dict[str, str], params: tuple[ParamUse, ...] = ()) -> None:
        if not ok:
            reasons.append(code)
        steps.append(_step(code, ok, en, uk, formula, inputs, params))

    dd = f.damage_date.isoformat()
    add("damage_before_start", f.damage_date >= start.value,
        f"The damage ({dd}) happened on or after {start.display}.",
        f"Пошкодження ({dd}) сталося не раніше {start.display}.",
        "damage_date >= damage_from", {"damage_date": dd}, (ParamUse.of(start),))
    add("damage_in_future", f.damage_date <= f.assessment_date,
        f"The damage date ({dd}) is not after the assessment date ({f.assessment_date.isoformat()}).",
        f"Дата пошкодження ({dd}) не пізніша за дату оцінки ({f.assessment_date.isoformat()}).",
        "damage_date <= assessment_date", {"damage_date": dd, "assessment_date": f.assessment_date.isoformat()})
    age = age_on(f.birth_date, f.assessment_date)
    add("under_age", age >= min_age.value,
        f"The claimant is {age} years old on the assessment date, at least {min_age.value}.",
        f"Вік заявника на дату оцінки (повних років): {age}; мінімальний вік: {min_age.value}.",
        "full years from birth_date to assessment_date >= min_age_years",
        {"birth_date": f.birth_date.isoformat(), "assessment_date": f.assessment_date.isoformat(), "age": str(age)},
        (ParamUse.of(min_age),))
    add("not_owner", f.owns,
        "The claimant owns or co-owns the home.", "Заявник є власником або співвласником житла.",
        "owns = yes", {"owns": _yn(f.owns)})
    add("sanctioned", not f.sanctioned,
        "The claimant is not subject to sanctions.", "До заявника не застосовано санкцій.",
        "sanctioned = no", {"sanctioned": _yn(f.sanctioned)})
    add("convicted_109_114", not f.convicted_109_114,
        "The claimant has no conviction under Criminal Code articles 109–114-2.",
        "Заявника не засуджено за статтями 109–114-2 Кримінального кодексу.",
        "convicted_109_114 = no", {"convicted_109_114": _yn(f.convicted_109_114)})
    add("occupied_before_start", not f.territory_occupied_before_2022,
        "The home is not in territory occupied before 24 February 2022.",
        "Житло не розташоване на території, окупованій до 24 лютого 2022 року.",
        "territory_occupied_before_2022 = no", {"territory_occupied_before_2022": _yn(f.territory_occupied_before_2022)})
    if f.payout_kind == "repair" and f.property_kind == "apartment":
        ok = (not f.common_parts_damaged) or f.own_street_entrance
        add("building_common_parts_damaged", ok,
            "The apartment can be compensated alone: the building's common parts are undamaged or it has its own street entrance.",
            "Квартиру можна компенсувати окремо: спільне майно будинку не пошкоджено або вона має окремий вхід з вулиці.",
            "common_parts_damaged = no OR own_street_entrance = yes",
            {"common_parts_damaged": _yn(f.common_parts_damaged), "own_street_entrance": _yn(f.own_street_entrance)})
    if f.payout_kind == "repair":
        add("no_costed_works", f.works_total_kopiykas > 0,
            "The commission's costed list of works is more than UAH 0.",
            "Кошторис робіт комісії більший за 0 грн.",
            "works_total > 0", {"works_total_kopiykas": str(f.works_total_kopiykas)})
    return reasons, steps
