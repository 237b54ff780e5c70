"""Each finding kind on a hand-made example (clusters given, no model involved)."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from everymetre.linkage import FINDINGS_SCHEMA, compute_findings
from everymetre.linkage.features import parse_share

_COLUMNS = ("record_id", "claim_ref", "person_cluster", "property_cluster", "surname_f", "claim_kind", "share_f",
            "is_redamage", "previous_claim_ref", "damage_date", "iban_n")


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"record_id": pl.String, "claim_ref": pl.String, "person_cluster": pl.String,
                "property_cluster": pl.String, "surname_f": pl.String, "claim_kind": pl.String,
                "share_f": pl.Float64, "is_redamage": pl.Boolean, "previous_claim_ref": pl.String,
                "damage_date": pl.Date, "iban_n": pl.String},
        orient="row",
    )


D1, D2 = date(2022, 3, 5), date(2023, 7, 1)


def _row(rid: str, claim: str, person: str, home: str, family: str, kind: str = "damage_report",
         share: float | None = 1.0, redamage: bool = False, previous: str | None = None,
         damage: date = D1, iban: str | None = None) -> tuple:
    return (rid, claim, person, home, family, kind, share, redamage, previous, damage, iban)


def _kinds(findings: pl.DataFrame) -> list[str]:
    return findings["kind"].to_list()


def test_schema_and_no_findings_on_clean_data() -> None:
    recs = _frame([
        _row("r1", "c1", "p1", "h1", "melnik", share=0.5),
        _row("r2", "c2", "p2", "h1", "melnik", share=0.5),
        _row("r3", "c3", "p3", "h2", "boiko", iban="UA1"),
    ])
    out = compute_findings(recs)
    assert dict(out.schema) == FINDINGS_SCHEMA
    assert out.height == 0


def test_person_with_several_destroyed_home_claims() -> None:
    recs = _frame([
        _row("r1", "c1", "p1", "h1", "melnik", kind="destroyed_housing_application"),
        _row("r2", "c2", "p1", "h2", "melnik", kind="destroyed_housing_application"),
        _row("r3", "c3", "p2", "h3", "boiko", kind="destroyed_housing_application"),
    ])
    out = compute_findings(recs)
    assert _kinds(out) == ["person_multiple_destroyed_claims"]
    f = out.row(0, named=True)
    assert f["claim_refs"] == ["c1", "c2"] and f["record_ids"] == ["r1", "r2"]
    assert json.loads(f["evidence"])["distinct_homes"] == 2
    assert 0 < f["score"] <= 1


def test_home_claimed_by_unrelated_people_but_not_by_family() -> None:
    recs = _frame([
        _row("r1", "c1", "p1", "h1", "petrov", share=0.5),
        _row("r2", "c2", "p2", "h1", "petrov", share=0.5),  # wife Петрова: same family key
        _row("r3", "c3", "p3", "h2", "boiko", share=0.5),
        _row("r4", "c4", "p4", "h2", "kovalchuk", share=0.5),
    ])
    out = compute_findings(recs)
    assert _kinds(out) == ["home_claimed_by_unrelated"]
    f = out.row(0, named=True)
    assert f["property_cluster"] == "h2" and f["claim_refs"] == ["c3", "c4"]
    assert json.loads(f["evidence"])["surname_families"] == ["boiko", "kovalchuk"]


def test_shares_that_do_not_add_up() -> None:
    recs = _frame([
        _row("r1", "c1", "p1", "h1", "melnik", share=parse_share("1/2")),
        _row("r2", "c2", "p2", "h1", "melnik", share=parse_share("1")),  # claims the whole home
        _row("r3", "c3", "p3", "h2", "boiko", share=parse_share("1/3")),
        _row("r4", "c4", "p3", "h2", "boiko", share=parse_share("0.5")),  # same person, another share
        _row("r5", "c5", "p4", "h3", "shevchenko", share=parse_share("1/2")),
        _row("r6", "c6", "p5", "h3", "shevchenko", share=parse_share("50%")),
    ])
    out = compute_findings(recs).sort("property_cluster")
    assert _kinds(out) == ["shares_do_not_add_up", "shares_do_not_add_up"]
    over, mixed = out.row(0, named=True), out.row(1, named=True)
    assert over["property_cluster"] == "h1" and json.loads(over["evidence"])["total_share"] == 1.5
    assert mixed["property_cluster"] == "h2" and json.loads(mixed["evidence"])["inconsistent_people"] == 1


def test_iban_shared_by_unrelated_claimants() -> None:
    recs = _frame([
        _row("r1", "c1", "p1", "h1", "melnik", iban="UA001"),
        _row("r2", "c2", "p2", "h2", "boiko", iban="UA001"),
        _row("r3", "c3", "p3", "h3", "tkachenko", iban="UA001"),
        _row("r4", "c4", "p4", "h4", "petrov", iban="UA002", share=0.5),
        _row("r5", "c5", "p5", "h4", "petrov", iban="UA002", share=0.5),  # a family sharing an account: not flagged
    ])
    out = compute_findings(recs)
    assert _kinds(out) == ["iban_shared_by_unrelated"]
    f = out.row(0, named=True)
    assert f["record_ids"] == ["r1", "r2", "r3"]
    assert json.loads(f["evidence"])["people"] == 3


def test_repeat_damage_not_linked_to_earlier_claim() -> None:
    recs = _frame([
        _row("r1", "c1", "p1", "h1", "melnik", damage=D1),
        _row("r2", "c2", "p1", "h1", "melnik", damage=D2, redamage=True, previous="c1"),  # linked: fine
        _row("r3", "c3", "p2", "h2", "boiko", damage=D1),
        _row("r4", "c4", "p2", "h2", "boiko", damage=D2, redamage=True),  # marked, but no link
        _row("r5", "c5", "p3", "h3", "lysenko", damage=D1),
        _row("r6", "c6", "p3", "h3", "lysenko", damage=D2, previous="c-missing"),  # link to nothing
        _row("r7", "c7", "p4", "h4", "moroz", damage=D1),
        _row("r8", "c8", "p4", "h4", "moroz", kind="repair_application", damage=D1),  # same damage event
    ])
    out = compute_findings(recs).sort("finding_id")
    assert _kinds(out) == ["repeat_damage_unlinked", "repeat_damage_unlinked"]
    assert out["finding_id"].to_list() == ["repeat_damage_unlinked:c4", "repeat_damage_unlinked:c6"]
    marked, unmarked = out.row(0, named=True), out.row(1, named=True)
    assert marked["claim_refs"] == ["c3", "c4"] and marked["score"] > unmarked["score"]
    assert json.loads(marked["evidence"])["earlier_claims"] == ["c3"]
