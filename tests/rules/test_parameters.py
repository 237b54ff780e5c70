from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from everymetre.rules import (
    DEFAULT_PARAMS_DIR,
    OverrideError,
    ParameterFileError,
    RuleSet,
    RulesNotInForce,
    assess,
    parse_effective_from,
    parse_overrides,
)

from .conftest import make


def copy_params(tmp_path: Path) -> Path:
    d = tmp_path / "params"
    d.mkdir()
    for f in DEFAULT_PARAMS_DIR.glob("*.yaml"):
        (d / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    return d


def test_load_is_deterministic(rs: RuleSet) -> None:
    again = RuleSet.load()
    assert again.hash == rs.hash and len(rs.hash) == 64
    assert rs.value("certificate.vavg_per_m2", date(2024, 1, 1)).value == 3_642_233
    assert rs.value("certificate.kyear.1975", date(2024, 1, 1)).name == "certificate.kyear.1960"


def test_hash_ignores_comments_but_not_values(tmp_path: Path, rs: RuleSet) -> None:
    d = copy_params(tmp_path)
    f = d / "repair.yaml"
    f.write_text("# a new comment\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
    assert RuleSet.load(d).hash == rs.hash
    f.write_text(f.read_text(encoding="utf-8").replace("value: 200000.00", "value: 200000.01"), encoding="utf-8")
    assert RuleSet.load(d).hash != rs.hash


def test_override_changes_hash_and_value(rs: RuleSet) -> None:
    changed = rs.with_overrides({"certificate.vavg_per_m2": Decimal("40000")})
    assert changed.hash != rs.hash
    assert changed.value("certificate.vavg_per_m2", date(2024, 6, 1)).value == 4_000_000
    assert rs.value("certificate.vavg_per_m2", date(2024, 6, 1)).value == 3_642_233  # the base is untouched
    assert changed.with_overrides({"certificate.vavg_per_m2": "40000"}).hash == changed.hash


def test_effective_date_selection(rs: RuleSet) -> None:
    changed = rs.with_overrides({"certificate.vavg_per_m2": "40000.00"}, effective_from=date(2025, 1, 1))
    assert changed.value("certificate.vavg_per_m2", date(2024, 12, 31)).value == 3_642_233
    v = changed.value("certificate.vavg_per_m2", date(2025, 1, 1))
    assert (v.value, v.effective_from) == (4_000_000, date(2025, 1, 1))
    assert "override" in v.reference
    # 40,000.00 x 1.20 x 1.00 x 1.00 x 80 m² = 3,840,000.00 from the effective date on
    assert assess(make(assessment_date=date(2024, 12, 31)), changed).amount_kopiykas == 349_654_400
    assert assess(make(assessment_date=date(2025, 1, 1)), changed).amount_kopiykas == 384_000_000


def test_table_entry_override(rs: RuleSet) -> None:
    changed = rs.with_overrides({"certificate.kregion.kyiv-city": "1.5"}, effective_from=date(2024, 6, 1))
    assert changed.value("certificate.kregion.kyiv-city", date(2024, 5, 31)).value == Decimal("1.20")
    assert changed.value("certificate.kregion.kyiv-city", date(2024, 6, 1)).value == Decimal("1.5")
    assert changed.value("certificate.kregion.lvivska", date(2024, 6, 1)).value == Decimal("1.05")


def test_no_value_before_first_date(rs: RuleSet) -> None:
    with pytest.raises(RulesNotInForce, match=r"certificate.vavg_per_m2.*2023-12-31.*2024-01-01"):
        rs.value("certificate.vavg_per_m2", date(2023, 12, 31))


def test_canonical_json_round_trip(rs: RuleSet) -> None:
    changed = rs.with_overrides({"certificate.kyear.1990": "1.01", "repair.tier_a_cap": "210000"}, effective_from=date(2025, 1, 1))
    again = RuleSet.from_canonical_json(changed.canonical_json(), expected_hash=changed.hash)
    assert again.hash == changed.hash


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["certificate.vavg=1"], "unknown parameter 'certificate.vavg'; did you mean certificate.vavg_per_m2"),
        (["certificate.vavg_per_m2=40,000"], "not a decimal number"),
        (["certificate.vavg_per_m2=1.234"], "more than 2 decimal places"),
        (["certificate.kregion.kyiv-city=1.23456"], "more than 4 decimal places"),
        (["repair.tier_a_spending_months=twelve"], "not a whole number"),
        (["certificate.floor_uses_capped_area=maybe"], "true or false"),
        (["certificate.vavg_per_m2"], "write NAME=VALUE"),
        (["certificate.kregion.krym=1"], "unknown parameter"),
    ],
)
def test_parse_overrides_errors(rs: RuleSet, pairs: list[str], message: str) -> None:
    with pytest.raises(OverrideError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_overrides(pairs, rs)


def test_parse_overrides_ok(rs: RuleSet) -> None:
    o = parse_overrides(["certificate.vavg_per_m2 = 40000", "certificate.kregion.kyiv-city=1.3"], rs)
    assert o == {"certificate.vavg_per_m2": "40000", "certificate.kregion.kyiv-city": "1.3"}
    assert rs.with_overrides(o, effective_from=parse_effective_from("2025-01-01")).hash != rs.hash
    with pytest.raises(OverrideError, match="not a date"):
        parse_effective_from("1/1/2025")


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("value: 200000.00", "value: lots", "tier_a_cap.values.2023-05-10.value", "not a decimal number"),
        ("value: 200000.00", "value: 200000.001", "tier_a_cap.values.2023-05-10.value", "more than 2 decimal places"),
        ("  unit: months\n  values:\n    2023-05-10:\n      value: 12", "  unit: weeks\n  values:\n    2023-05-10:\n      value: 12",
         "tier_a_spending_months.unit", "not one of"),
        ('      reference: "Resolution 381 of the Cabinet of Ministers of Ukraine: tier B to be spent within 18 months"',
         "", "tier_b_spending_months.values.2023-05-10", "needs 'value' and 'reference'"),
    ],
)
def test_bad_parameter_file_names_file_and_key(tmp_path: Path, old: str, new: str, key: str, problem: str) -> None:
    d = copy_params(tmp_path)
    f = d / "repair.yaml"
    text = f.read_text(encoding="utf-8")
    assert old in text
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ParameterFileError) as e:
        RuleSet.load(d)
    assert str(f) in str(e.value) and key in str(e.value) and problem in str(e.value)


def test_bad_table_names_the_oblast(tmp_path: Path) -> None:
    d = copy_params(tmp_path)
    f = d / "certificate.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("        kyiv-city: 1.20\n", ""), encoding="utf-8")
    with pytest.raises(ParameterFileError, match=r"certificate\.yaml: kregion\.values\.2023-08-01\.value: oblast\(s\) missing: kyiv-city"):
        RuleSet.load(d)


def test_illustrative_needs_a_note(tmp_path: Path) -> None:
    d = copy_params(tmp_path)
    f = d / "repair.yaml"
    text = f.read_text(encoding="utf-8")
    start = text.index("  note: >-\n    The tier B cap for a room")
    end = text.index("  values:", start)
    f.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(ParameterFileError, match=r"repair\.yaml: tier_b_cap_room\.note: an illustrative parameter needs a note"):
        RuleSet.load(d)


def test_invalid_yaml_names_file(tmp_path: Path) -> None:
    d = copy_params(tmp_path)
    (d / "eligibility.yaml").write_text("damage_from: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParameterFileError, match=r"eligibility\.yaml.*not valid YAML"):
        RuleSet.load(d)


def test_shipped_illustrative_values_are_flagged(rs: RuleSet) -> None:
    assert set(rs.illustrative()) == {
        "certificate.kregion", "certificate.krooms", "certificate.kyear", "certificate.floor_cost_per_m2",
        "certificate.floor_uses_capped_area", "repair.tier_b_cap_room",
    }
    for name in rs.illustrative():
        assert rs.parameter(name).note
