"""The vectorised path gives exactly the one-claim path's answers (Hypothesis), and refuses what it refuses."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from everymetre.kernel.geography import OBLASTS
from everymetre.rules import (
    MAX_WORKS_KOPIYKAS,
    ClaimFacts,
    InvalidClaim,
    RuleSet,
    RulesNotInForce,
    assess,
    assess_frame,
    facts_frame,
    reasons_from_mask,
)

from .conftest import make

BASE = RuleSet.load()
# extra effective dates so that claims straddle parameter changes
CHANGED = BASE.with_overrides({"certificate.vavg_per_m2": "38000.07", "certificate.kregion.kyiv-city": "1.2345",
                               "repair.tier_a_cap": "210000"}, effective_from=date(2025, 1, 1)).with_overrides(
    {"certificate.kyear.1975": "0.9731", "certificate.krooms.6": "0.9"}, effective_from=date(2024, 7, 1))
BOUNDARIES = [date(2024, 1, 1), date(2024, 7, 1), date(2025, 1, 1)]

assessment_dates = st.one_of(
    st.sampled_from(BOUNDARIES).flatmap(lambda d: st.integers(-1, 1).map(lambda k: max(d + timedelta(days=k), date(2024, 1, 1)))),
    st.dates(date(2024, 1, 1), date(2026, 12, 31)),
)
areas = st.one_of(
    st.integers(14_990, 15_010).map(lambda x: Decimal(x) / 100),  # around 150 m²
    st.integers(1, 10_000_000).map(lambda x: Decimal(x) / 100),  # 0.01 .. 100,000 m²
)
works = st.one_of(
    st.integers(19_999_999, 20_000_002),
    st.sampled_from([0, 1, 35_000_000, 35_000_001, 50_000_000, 50_000_001, 21_000_000, 21_000_001, MAX_WORKS_KOPIYKAS]),
    st.integers(0, MAX_WORKS_KOPIYKAS),
)


@st.composite
def claims(draw: st.DrawFn) -> ClaimFacts:
    on = draw(assessment_dates)
    return ClaimFacts(
        payout_kind=draw(st.sampled_from(["repair", "certificate"])),
        property_kind=draw(st.sampled_from(["house", "apartment", "room"])),
        oblast=draw(st.sampled_from([o.code for o in OBLASTS])),
        damage_date=draw(st.one_of(st.dates(date(2022, 2, 20), on + timedelta(days=3)),
                                   st.sampled_from([date(2022, 2, 23), date(2022, 2, 24), on, on + timedelta(days=1)]))),
        assessment_date=on,
        birth_date=draw(st.one_of(st.dates(date(1920, 1, 1), on),
                                  st.sampled_from([date(on.year - 18, on.month, min(on.day, 28)), date(2004, 2, 29)]))),
        owns=draw(st.booleans()),
        area_m2=draw(areas),
        rooms=draw(st.integers(1, 12)),
        year_built=draw(st.integers(1700, 2026)),
        heritage=draw(st.booleans()),
        works_total_kopiykas=draw(works),
        co_owners=draw(st.sampled_from([(("a", Fraction(1)),), (("a", Fraction(1, 3)), ("b", Fraction(2, 3)))])),
        sanctioned=draw(st.integers(0, 9)) == 0,
        convicted_109_114=draw(st.integers(0, 9)) == 0,
        territory_occupied_before_2022=draw(st.integers(0, 9)) == 0,
        common_parts_damaged=draw(st.booleans()),
        own_street_entrance=draw(st.booleans()),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claims(), min_size=1, max_size=40), st.sampled_from([BASE, CHANGED]))
def test_vectorised_equals_one_claim_path(batch: list[ClaimFacts], rs: RuleSet) -> None:
    got = assess_frame(facts_frame(batch), rs)
    assert got.height == len(batch)
    for f, row in zip(batch, got.iter_rows(named=True), strict=True):
        a = assess(f, rs)
        assert row["amount_kopiykas"] == a.amount_kopiykas, f
        assert row["eligible"] == a.eligible
        assert reasons_from_mask(row["reasons"]) == list(a.reasons)
        assert row["tier"] == a.tier
        assert row["spending_months"] == a.spending_months
        assert row["interim_report_required"] == a.interim_report_required
        assert row["capped"] == a.capped


def test_known_values_in_a_frame() -> None:
    batch = [make(), make(payout_kind="repair", works_total_kopiykas=20_000_000), make(owns=False)]
    got = assess_frame(facts_frame(batch), BASE)
    assert got.get_column("amount_kopiykas").to_list() == [349_654_400, 20_000_000, 0]
    assert got.get_column("tier").to_list() == [None, "A", None]
    assert [reasons_from_mask(m) for m in got.get_column("reasons")] == [[], [], ["not_owner"]]


def test_area_as_string_or_decimal_but_not_float() -> None:
    frame = facts_frame([make()])
    as_text = frame.with_columns(pl.lit("80.00").alias("area_m2"))
    assert assess_frame(as_text, BASE).get_column("amount_kopiykas").to_list() == [349_654_400]
    with pytest.raises(InvalidClaim, match="area_m2"):
        assess_frame(frame.with_columns(pl.lit(80.0).alias("area_m2")), BASE)
    with pytest.raises(InvalidClaim, match=r"row 0: area_m2: '80\.001'"):
        assess_frame(frame.with_columns(pl.lit("80.001").alias("area_m2")), BASE)


def test_bad_rows_are_named() -> None:
    frame = facts_frame([make(), make()])
    with pytest.raises(InvalidClaim, match=r"row 1: oblast: 'krym'"):
        assess_frame(frame.with_columns(pl.Series("oblast", ["kyiv-city", "krym"])), BASE)
    with pytest.raises(InvalidClaim, match=r"row 0: rooms: is missing"):
        assess_frame(frame.with_columns(pl.Series("rooms", [None, 2], dtype=pl.Int64)), BASE)
    with pytest.raises(InvalidClaim, match="owns: column is missing"):
        assess_frame(frame.drop("owns"), BASE)


def test_rules_not_in_force_like_the_one_claim_path() -> None:
    early = make(assessment_date=date(2023, 9, 1))  # no Vavg before 2024-01-01
    with pytest.raises(RulesNotInForce):
        assess(early, BASE)
    with pytest.raises(RulesNotInForce, match=r"row 1:.*vavg"):
        assess_frame(facts_frame([make(), early]), BASE)


def test_empty_frame() -> None:
    assert assess_frame(facts_frame([]), BASE).height == 0
