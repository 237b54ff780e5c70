from datetime import date
from decimal import Decimal
from fractions import Fraction

from everymetre.rules import RuleSet, assess

from .conftest import make


def test_kyiv_apartment_80m2_by_hand(rs: RuleSet) -> None:
    # P = 36,422.33 x 1.20 (kyiv-city) x 1.00 (2 rooms) x 1.00 (built 1995) = 43,706.796 -> 43,706.80 UAH/m²
    # market = 43,706.80 x 80 = 3,496,544.00; floor = 27,000.00 x 80 = 2,160,000.00
    a = assess(make(), rs)
    assert a.eligible and a.reasons == ()
    assert a.amount_kopiykas == 349_654_400
    assert a.tier is None and a.spending_months == 60
    steps = {s.code: s for s in a.steps}
    price = steps["certificate.price_per_m2"]
    assert price.result == "UAH 43,706.80 per m²"
    names = {p.name: p for p in price.params}
    assert names["certificate.vavg_per_m2"].value == "UAH 36,422.33"
    assert names["certificate.vavg_per_m2"].effective_from == date(2024, 1, 1)
    assert "Resolution 600" in names["certificate.vavg_per_m2"].reference
    assert names["certificate.kregion.kyiv-city"].illustrative
    assert "Вартість 1 м²" in price.text_uk
    assert "certificate.kregion.kyiv-city" in a.illustrative_parameters


def test_house_area_capped_at_150(rs: RuleSet) -> None:
    # lvivska 1.05, 4 rooms 0.95, 1975 -> 0.95: P = 36,422.33 x 1.05 x 0.95 x 0.95 = 34,514.7104... -> 34,514.71
    a = assess(make(property_kind="house", oblast="lvivska", area_m2=Decimal("210.5"), rooms=4, year_built=1975), rs)
    assert a.amount_kopiykas == 3_451_471 * 150  # 5,177,206.50
    area = next(s for s in a.steps if s.code == "certificate.area")
    assert area.result == "150.00 m²"
    just_under = assess(make(property_kind="house", oblast="lvivska", area_m2=Decimal("149.99"), rooms=4, year_built=1975), rs)
    assert just_under.amount_kopiykas == 517_686_135  # 34,514.71 x 149.99 = 5,176,861.3529 -> 5,176,861.35


def test_apartment_is_not_capped(rs: RuleSet) -> None:
    a = assess(make(area_m2=Decimal("200")), rs)
    assert a.amount_kopiykas == 4_370_680 * 200


def test_heritage_uses_1_22(rs: RuleSet) -> None:
    # 36,422.33 x 1.20 x 1.00 x 1.22 = 53,322.29112 -> 53,322.29
    a = assess(make(heritage=True, year_built=1850), rs)
    assert a.amount_kopiykas == 5_332_229 * 80
    used = {p.name for s in a.steps for p in s.params}
    assert "certificate.kyear_heritage" in used


def test_floor_wins_and_cap_before_floor_is_a_parameter(rs: RuleSet) -> None:
    # donetska 0.80, 1 room 1.05, 1950 -> 0.90: P = 36,422.33 x 0.8 x 1.05 x 0.9 = 27,535.28148 -> 27,535.28
    # floor cost (illustrative) 25,600.00; make it 30,000.00 so the floor wins
    base = rs.with_overrides({"certificate.floor_cost_per_m2.donetska": "30000"})
    facts = make(property_kind="house", oblast="donetska", area_m2=Decimal("200"), rooms=1, year_built=1950)
    capped_first = assess(facts, base)
    assert capped_first.amount_kopiykas == 3_000_000 * 150  # floor on S_eff = 150 m²
    assert "the floor" in next(s for s in capped_first.steps if s.code == "certificate.value").text_en
    full_floor = assess(facts, base.with_overrides({"certificate.floor_uses_capped_area": "false"}))
    assert full_floor.amount_kopiykas == 3_000_000 * 200  # floor on the full 200 m²


def test_co_owner_split_sums_exactly(rs: RuleSet) -> None:
    a = assess(make(co_owners=(("a", Fraction(1, 3)), ("b", Fraction(1, 3)), ("c", Fraction(1, 3)))), rs)
    assert [p.amount_kopiykas for p in a.split] == [116_551_467, 116_551_467, 116_551_466]
    assert sum(p.amount_kopiykas for p in a.split) == a.amount_kopiykas
    assert any(s.code == "split" for s in a.steps)
