import pytest

from everymetre.rules import RuleSet, assess

from .conftest import make


def repair(works: int, kind: str = "apartment"):  # type: ignore[no-untyped-def]
    return make(payout_kind="repair", property_kind=kind, works_total_kopiykas=works, area_m2=None, rooms=None, year_built=None)


def test_exactly_200000_is_tier_a(rs: RuleSet) -> None:
    a = assess(repair(20_000_000), rs)
    assert (a.tier, a.amount_kopiykas, a.spending_months, a.interim_report_required) == ("A", 20_000_000, 12, False)


def test_one_kopiyka_more_is_tier_b(rs: RuleSet) -> None:
    a = assess(repair(20_000_001), rs)
    assert (a.tier, a.amount_kopiykas, a.spending_months, a.interim_report_required, a.capped) == ("B", 20_000_001, 18, True, False)


@pytest.mark.parametrize(("kind", "cap"), [("apartment", 35_000_000), ("house", 50_000_000), ("room", 35_000_000)])
def test_tier_b_cap_by_kind(rs: RuleSet, kind: str, cap: int) -> None:
    at = assess(repair(cap, kind), rs)
    assert (at.amount_kopiykas, at.capped) == (cap, False)
    over = assess(repair(10**15, kind), rs)
    assert (over.amount_kopiykas, over.capped, over.tier) == (cap, True, "B")
    step = next(s for s in over.steps if s.code == "repair.cap")
    assert "capped" in step.text_en and "обмежено" in step.text_uk
    assert step.params[0].name == f"repair.tier_b_cap_{kind}"


def test_room_cap_is_marked_illustrative(rs: RuleSet) -> None:
    a = assess(repair(40_000_000, "room"), rs)
    assert "repair.tier_b_cap_room" in a.illustrative_parameters


def test_before_programme_start_raises(rs: RuleSet) -> None:
    from datetime import date

    from everymetre.rules import RulesNotInForce

    with pytest.raises(RulesNotInForce, match=r"repair.tier_a_cap.*2023-05-09"):
        assess(make(payout_kind="repair", works_total_kopiykas=1, assessment_date=date(2023, 5, 9)), rs)
    assert assess(make(payout_kind="repair", works_total_kopiykas=1, assessment_date=date(2023, 5, 10)), rs).tier == "A"
