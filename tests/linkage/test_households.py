"""Households claiming one loss, and one home in claim categories that must not both be paid (hand-made
clusters, no model): the UNCC lesson."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from everymetre.linkage import FINDINGS_SCHEMA, compute_findings

D1, D2 = date(2022, 3, 5), date(2023, 7, 1)
_SCHEMA = {"record_id": pl.String, "claim_ref": pl.String, "person_cluster": pl.String, "property_cluster": pl.String,
           "surname_f": pl.String, "claim_kind": pl.String, "share_f": pl.Float64, "is_redamage": pl.Boolean,
           "previous_claim_ref": pl.String, "damage_date": pl.Date, "iban_n": pl.String, "given_k": pl.String,
           "patronymic_k": pl.String, "phone_n": pl.String, "property_kind": pl.String}


def _row(rid: str, claim: str, person: str, home: str, family: str, *, given: str = "ivan", patronymic: str | None = None,
         kind: str = "repair_application", share: float | None = 1.0, previous: str | None = None, damage: date | None = D1,
         iban: str | None = None, phone: str | None = None, home_kind: str = "house") -> dict:
    return {"record_id": rid, "claim_ref": claim, "person_cluster": person, "property_cluster": home, "surname_f": family,
            "claim_kind": kind, "share_f": share, "is_redamage": previous is not None, "previous_claim_ref": previous,
            "damage_date": damage, "iban_n": iban, "given_k": given, "patronymic_k": patronymic, "phone_n": phone,
            "property_kind": home_kind}


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=_SCHEMA)


def _of(out: pl.DataFrame, kind: str) -> list[dict]:
    return [r for r in out.iter_rows(named=True) if r["kind"] == kind]


def test_spouses_each_claiming_the_whole_home_for_one_loss() -> None:
    out = compute_findings(_frame([
        _row("r1", "c1", "p1", "h1", "petrenk", given="ivan"),
        _row("r2", "c2", "p2", "h1", "petrenk", given="oksana"),
        _row("r3", "c3", "p3", "h2", "boiko"),
    ]))
    assert dict(out.schema) == FINDINGS_SCHEMA
    [f] = _of(out, "household_same_loss")
    ev = json.loads(f["evidence"])
    assert f["claim_refs"] == ["c1", "c2"] and f["record_ids"] == ["r1", "r2"]
    assert ev["household_ties"] == ["same_surname_family"] and ev["people"] == 2 and ev["shares_total"] == 2.0
    assert f["score"] >= 0.7  # at or above the default flag score: the claims are held


def test_parent_and_child_by_patronymic_phone_and_account() -> None:
    out = compute_findings(_frame([
        _row("r1", "c1", "p1", "h1", "melnyk", given="mykola", phone="+380501112233"),
        _row("r2", "c2", "p2", "h1", "kovalenk", given="olena", patronymic="mykolaivna", phone="+380501112233",
             iban="UA01", damage=None),
    ]))
    [f] = _of(out, "household_same_loss")
    assert json.loads(f["evidence"])["household_ties"] == ["parent_and_child", "same_phone"]


def test_no_household_finding_for_strangers_complementary_shares_or_a_new_loss() -> None:
    strangers = compute_findings(_frame([
        _row("r1", "c1", "p1", "h1", "petrenk", given="ivan"),
        _row("r2", "c2", "p2", "h1", "boiko", given="olena"),
    ]))
    assert not _of(strangers, "household_same_loss")  # (home_claimed_by_unrelated covers them)
    later = compute_findings(_frame([
        _row("r1", "c1", "p1", "h1", "petrenk"),
        _row("r2", "c2", "p2", "h1", "petrenk", given="oksana", damage=D2, previous="c1"),
    ]))
    assert not _of(later, "household_same_loss")
    report_then_application = compute_findings(_frame([
        _row("r1", "c1", "p1", "h1", "petrenk", kind="damage_report"),
        _row("r2", "c2", "p2", "h1", "petrenk", given="oksana"),
    ]))
    assert not _of(report_then_application, "household_same_loss")  # a damage report is not paid
    halves = compute_findings(_frame([
        _row("r1", "c1", "p1", "h1", "petrenk", share=0.5),
        _row("r2", "c2", "p2", "h1", "petrenk", given="oksana", share=0.5),
    ]))
    assert not _of(halves, "household_same_loss")  # co-owners each claiming their own share split one award


def test_repair_and_destroyed_for_one_home_and_house_versus_apartment() -> None:
    out = compute_findings(_frame([
        _row("r1", "c1", "p1", "h1", "petrenk", kind="repair_application"),
        _row("r2", "c2", "p1", "h1", "petrenk", kind="destroyed_housing_application"),
        _row("r3", "c3", "p2", "h2", "boiko", home_kind="house"),
        _row("r4", "c4", "p3", "h2", "shevchenk", home_kind="apartment"),
    ]))
    found = {f["property_cluster"]: (f, json.loads(f["evidence"])) for f in _of(out, "conflicting_claim_categories")}
    assert found["h1"][1]["conflicts"] == ["repair_and_destroyed"] and found["h1"][0]["claim_refs"] == ["c1", "c2"]
    assert found["h2"][1]["conflicts"] == ["house_and_apartment"] and found["h2"][0]["score"] >= 0.6


def test_destroyed_after_repair_linked_as_re_damage_is_no_conflict() -> None:
    out = compute_findings(_frame([
        _row("r1", "c1", "p1", "h1", "petrenk", kind="repair_application"),
        _row("r2", "c2", "p1", "h1", "petrenk", kind="destroyed_housing_application", damage=D2, previous="c1"),
    ]))
    assert not _of(out, "conflicting_claim_categories")
