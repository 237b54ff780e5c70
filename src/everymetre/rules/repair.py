"""Repair payment for damaged housing (Resolution 381).

amount = the commission's costed total of works and materials W (whole kopiykas, so no rounding).
  W <= repair.tier_a_cap (UAH 200,000; exactly 200,000.00 is tier A)  -> tier A, spend within 12 months
  otherwise                                                            -> tier B, spend within 18 months,
        interim report; amount = min(W, tier B cap for the property kind), and a W above the cap is capped.
"""

from __future__ import annotations

from dataclasses import dataclass

from everymetre.rules.model import ClaimFacts, ParamUse, Step
from everymetre.rules.money import format_uah, format_uah_uk
from everymetre.rules.parameters import ParamValue

__all__ = ["PARAMS", "RepairResult", "compute", "tier_b_cap_name"]

PARAMS = (
    "repair.tier_a_cap",
    "repair.tier_a_spending_months",
    "repair.tier_b_cap_apartment",
    "repair.tier_b_cap_house",
    "repair.tier_b_cap_room",
    "repair.tier_b_spending_months",
    "repair.tier_b_interim_report",
)


def tier_b_cap_name(property_kind: str) -> str:
    return f"repair.tier_b_cap_{property_kind}"


@dataclass(frozen=True, slots=True)
class RepairResult:
    amount_kopiykas: int
    tier: str
    spending_months: int
    interim_report_required: bool
    capped: bool
    steps: tuple[Step, ...]


def compute(f: ClaimFacts, p: dict[str, ParamValue]) -> RepairResult:
    w = f.works_total_kopiykas
    a_cap = p["repair.tier_a_cap"]
    steps = [
        Step("repair.works_total",
             f"The commission's costed list of works and materials totals {format_uah(w)}.",
             f"Кошторис робіт і матеріалів, складений комісією, становить {format_uah_uk(w)}.",
             "W = costed list of works and materials", {"works_total": format_uah(w)}, format_uah(w)),
    ]
    if w <= a_cap.value:
        months = p["repair.tier_a_spending_months"]
        steps.append(Step(
            "repair.tier",
            f"{format_uah(w)} is not more than {a_cap.display}: tier A, to be spent within {months.value} months.",
            f"{format_uah_uk(w)} не перевищує {format_uah_uk(a_cap.value)}: категорія A, використати протягом {months.value} місяців.",
            "W <= tier_a_cap -> tier A; amount = W", {"works_total": format_uah(w)}, f"tier A, {format_uah(w)}",
            (ParamUse.of(a_cap), ParamUse.of(months))))
        return RepairResult(w, "A", months.value, False, False, tuple(steps))
    b_cap = p[tier_b_cap_name(f.property_kind)]
    months = p["repair.tier_b_spending_months"]
    interim = p["repair.tier_b_interim_report"]
    capped = w > b_cap.value
    amount = min(w, b_cap.value)
    report_en = ", with an interim report (photos, receipts)" if interim.value else ""
    report_uk = ", з проміжним звітом (фото, чеки)" if interim.value else ""
    steps.append(Step(
        "repair.tier",
        f"{format_uah(w)} is more than {a_cap.display}: tier B, to be spent within {months.value} months{report_en}.",
        f"{format_uah_uk(w)} перевищує {format_uah_uk(a_cap.value)}: категорія B, використати протягом {months.value} місяців{report_uk}.",
        "W > tier_a_cap -> tier B", {"works_total": format_uah(w)}, "tier B",
        (ParamUse.of(a_cap), ParamUse.of(months), ParamUse.of(interim))))
    if capped:
        steps.append(Step(
            "repair.cap",
            f"The costed list ({format_uah(w)}) exceeds the tier B cap for a {f.property_kind} ({b_cap.display}): the payment is capped at {b_cap.display}.",
            f"Кошторис ({format_uah_uk(w)}) перевищує граничну суму категорії B ({format_uah_uk(b_cap.value)}): виплату обмежено цією сумою.",
            "amount = min(W, tier_b_cap[property_kind])", {"works_total": format_uah(w), "property_kind": f.property_kind},
            format_uah(amount), (ParamUse.of(b_cap),)))
    else:
        steps.append(Step(
            "repair.cap",
            f"The costed list is within the tier B cap for a {f.property_kind} ({b_cap.display}): it is paid in full.",
            f"Кошторис не перевищує граничної суми категорії B ({format_uah_uk(b_cap.value)}): виплачується повністю.",
            "amount = min(W, tier_b_cap[property_kind])", {"works_total": format_uah(w), "property_kind": f.property_kind},
            format_uah(amount), (ParamUse.of(b_cap),)))
    return RepairResult(amount, "B", months.value, bool(interim.value), capped, tuple(steps))
