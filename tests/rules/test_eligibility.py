from datetime import date

import pytest

from everymetre.rules import REASONS, InvalidClaim, RuleSet, age_on, assess

from .conftest import make


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"damage_date": date(2022, 2, 23)}, "damage_before_start"),
        ({"damage_date": date(2024, 3, 2)}, "damage_in_future"),
        ({"birth_date": date(2006, 3, 2)}, "under_age"),
        ({"owns": False}, "not_owner"),
        ({"sanctioned": True}, "sanctioned"),
        ({"convicted_109_114": True}, "convicted_109_114"),
        ({"territory_occupied_before_2022": True}, "occupied_before_start"),
        ({"payout_kind": "repair", "works_total_kopiykas": 100, "common_parts_damaged": True}, "building_common_parts_damaged"),
        ({"payout_kind": "repair", "works_total_kopiykas": 0}, "no_costed_works"),
    ],
)
def test_refusals_with_reasons(rs: RuleSet, changes: dict, reason: str) -> None:
    a = assess(make(**changes), rs)
    assert not a.eligible
    assert a.reasons == (reason,)
    assert a.amount_kopiykas == 0 and a.tier is None and a.spending_months is None
    assert sum(p.amount_kopiykas for p in a.split) == 0
    failed = [s for s in a.steps if s.result == "failed"]
    assert [s.text_en for s in failed] == [REASONS[reason][0]]
    assert a.reason_texts("uk") == [REASONS[reason][1]]


def test_boundaries_pass(rs: RuleSet) -> None:
    assert assess(make(damage_date=date(2022, 2, 24)), rs).eligible
    assert assess(make(damage_date=date(2024, 3, 1)), rs).eligible  # same day as the assessment
    assert assess(make(birth_date=date(2006, 3, 1)), rs).eligible  # 18th birthday on the assessment date


def test_several_reasons_in_check_order(rs: RuleSet) -> None:
    a = assess(make(owns=False, sanctioned=True, damage_date=date(2021, 1, 1)), rs)
    assert a.reasons == ("damage_before_start", "not_owner", "sanctioned")


def test_own_street_entrance_allows_apartment_alone(rs: RuleSet) -> None:
    a = assess(make(payout_kind="repair", works_total_kopiykas=100, common_parts_damaged=True, own_street_entrance=True), rs)
    assert a.eligible
    house = assess(make(payout_kind="repair", property_kind="house", works_total_kopiykas=100, common_parts_damaged=True), rs)
    assert house.eligible  # the building rule is about apartments
    cert = assess(make(common_parts_damaged=True), rs)
    assert cert.eligible  # and about repair payments only


def test_age_on_leap_day() -> None:
    assert age_on(date(2004, 2, 29), date(2022, 2, 28)) == 17
    assert age_on(date(2004, 2, 29), date(2022, 3, 1)) == 18


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"oblast": "krym"}, "oblast"),
        ({"area_m2": "80.123"}, "area_m2"),
        ({"area_m2": 80.5}, "area_m2"),
        ({"rooms": 0}, "rooms"),
        ({"rooms": None}, "rooms"),
        ({"co_owners": (("a", "1/2"), ("b", "1/3"))}, "co_owners"),
        ({"works_total_kopiykas": -1}, "works_total_kopiykas"),
        ({"payout_kind": "grant"}, "payout_kind"),
    ],
)
def test_bad_facts_are_refused_with_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidClaim) as e:
        make(**changes)
    assert e.value.field == field
