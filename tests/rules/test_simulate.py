from datetime import date

import polars as pl

from everymetre.rules import RuleSet, facts_frame, parse_overrides, simulate_budget

from .conftest import make


def test_budget_change_by_oblast_and_kind(rs: RuleSet) -> None:
    claims = facts_frame([
        make(),  # kyiv-city certificate: 3,496,544.00 -> 40,000 x 1.2 x 80 = 3,840,000.00
        make(oblast="lvivska"),  # 36,422.33 x 1.05 = 38,243.4465 -> 38,243.45 x 80 = 3,059,476.00 -> 42,000 x 80 = 3,360,000.00
        make(payout_kind="repair", works_total_kopiykas=10_000_000),  # unchanged
        make(owns=False),  # not eligible either way
    ])
    changed = rs.with_overrides(parse_overrides(["certificate.vavg_per_m2=40000"], rs), effective_from=date(2024, 1, 1))
    b = simulate_budget(claims, rs, changed)
    assert b.base_kopiykas == 349_654_400 + 305_947_600 + 10_000_000
    assert b.changed_kopiykas == 384_000_000 + 336_000_000 + 10_000_000
    assert b.delta_kopiykas == (384_000_000 - 349_654_400) + (336_000_000 - 305_947_600)
    rows = {(r["oblast"], r["payout_kind"]): r for r in b.by_group.iter_rows(named=True)}
    assert rows[("kyiv-city", "certificate")]["delta_kopiykas"] == 34_345_600
    assert rows[("kyiv-city", "certificate")]["claims"] == 2
    assert rows[("kyiv-city", "certificate")]["eligible_base"] == 1
    assert rows[("lvivska", "certificate")]["delta_kopiykas"] == 30_052_400
    assert rows[("kyiv-city", "repair")]["delta_kopiykas"] == 0
    assert sum(b.by_group.get_column("delta_kopiykas").to_list()) == b.delta_kopiykas
    assert (b.base_hash, b.changed_hash) == (rs.hash, changed.hash)


def test_change_from_a_later_date_only_affects_later_assessments(rs: RuleSet) -> None:
    claims = facts_frame([make(assessment_date=date(2024, 12, 31)), make(assessment_date=date(2025, 1, 1))])
    changed = rs.with_overrides({"certificate.kregion.kyiv-city": "1.3"}, effective_from=date(2025, 1, 1))
    b = simulate_budget(claims, rs, changed)
    # 36,422.33 x 1.3 = 47,349.029 -> 47,349.03 x 80 = 3,787,922.40
    assert b.delta_kopiykas == 378_792_240 - 349_654_400
    assert isinstance(b.by_group, pl.DataFrame)
