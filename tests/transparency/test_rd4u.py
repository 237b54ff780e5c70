"""`everymetre export rd4u`: one record per person (co-owners each get theirs, with their share and their
part of the award and of what was paid), every record valid against the committed JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import update
from typer.testing import CliRunner

from everymetre.cli.main import app
from everymetre.payments.models import Payment
from everymetre.claims.models import Decision, Evidence, Ownership
from everymetre.transparency.rd4u import SCHEMA_PATH, records, schema
from tests.payments.store_helpers import decided_claim
from tests.transparency.conftest import exported_batch


def _store(db, users):
    three = decided_claim(db, users["commission"], amount=10_000_001,
                          owners=[("Шевченко Олена Петрівна", 1, 2), ("Шевченко Петро Іванович", 1, 4),
                                  ("Шевченко Ганна Петрівна", 1, 4)])
    single = decided_claim(db, users["commission"], amount=5_000_000)
    refused = decided_claim(db, users["commission"], amount=0, state="rejected",
                            owners=[("Коваль Іван Іванович", 1, 2), ("Коваль Марія Іванівна", 1, 2)])
    withdrawn = decided_claim(db, users["commission"], amount=0, state="withdrawn")
    # Олена also co-owns the single home: a second record for her, about that home
    olena = next(o.person for o in three.owners if o.person.full_name.startswith("Шевченко Олена"))
    db.execute(update(Ownership).where(Ownership.claim_id == single.id).values(share_numerator=1, share_denominator=2))
    db.add(Ownership(claim_id=single.id, person_id=olena.id, share_numerator=1, share_denominator=2))
    db.add(Evidence(claim_id=three.id, sha256="ab" * 32, content_type="image/jpeg", size_bytes=1234,
                    original_name="фото.jpg", kind="photo"))
    db.execute(update(Decision).where(Decision.claim_id == three.id).values(
        ruleset_hash="cd" * 32, rule_inputs={"area_m2": "84.00"}, rule_result={"steps": [{"formula": "works total"}]}))
    batch = exported_batch(db, users["payments"])
    db.add(Payment(end_to_end_id=f"E2E-{three.id}", purpose="repair", claim_id=three.id, amount_kopiykas=10_000_001,
                   creditor_name="x", creditor_iban="UA00", state="booked", batch_id=batch.id))
    db.commit()
    return three, single, refused, withdrawn


def test_one_valid_record_per_person_on_co_owned_homes(db, users, tmp_path: Path) -> None:
    three, single, refused, withdrawn = _store(db, users)
    assert "rd4u" in SCHEMA_PATH.name and SCHEMA_PATH.exists()
    out = tmp_path / "rd4u.jsonl"
    r = CliRunner().invoke(app, ["export", "rd4u", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "wrote 7 records" in r.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    validator = Draft202012Validator(schema(), format_checker=FormatChecker())
    for rec in lines:
        errors = sorted(validator.iter_errors(rec), key=str)
        assert not errors, errors[0].message
    ids = [rec["record_id"] for rec in lines]
    assert len(ids) == len(set(ids)) == 7  # 3 + 2 + 2 owners; the withdrawn claim is not exported
    assert withdrawn.reference not in {rec["claim"]["reference"] for rec in lines}
    by_claim: dict[str, list[dict]] = {}
    for rec in lines:
        by_claim.setdefault(rec["claim"]["reference"], []).append(rec)
    co = by_claim[three.reference]
    assert [r["ownership_share"]["decimal"] for r in co] == ["0.500000", "0.250000", "0.250000"]
    assert [r["awarded"]["person_part_kopiykas"] for r in co] == [5_000_001, 2_500_000, 2_500_000]
    assert sum(r["compensation_received"]["total_kopiykas"] for r in co) == 10_000_001
    assert co[0]["evidence"][0]["sha256"] == "ab" * 32
    assert co[0]["awarded"]["decision"]["calculation"]["ruleset_hash"] == "cd" * 32
    assert all(r["co_owners"] == 3 for r in co)
    # the same person, two homes: two records, each about its own home and share
    olena = [r for r in lines if r["person"]["full_name"] == "Шевченко Олена Петрівна"]
    assert {r["claim"]["reference"] for r in olena} == {three.reference, single.reference}
    assert [r["awarded"]["person_part_kopiykas"] for r in by_claim[single.reference]] == [2_500_000, 2_500_000]
    assert all(r["awarded"]["amount_kopiykas"] is None for r in by_claim[refused.reference])
    assert all(r["compensation_received"] == {"total_kopiykas": 0, "items": []} for r in by_claim[refused.reference])


def test_the_schema_rejects_a_family_record_and_bad_money(db, users) -> None:
    _store(db, users)
    rec = next(iter(records(db)))
    validator = Draft202012Validator(schema(), format_checker=FormatChecker())
    assert validator.is_valid(rec)
    family = {**rec, "person": [rec["person"], rec["person"]]}
    assert not validator.is_valid(family)
    assert not validator.is_valid({**rec, "awarded": {**rec["awarded"], "amount_kopiykas": 12.5}})
    assert not validator.is_valid({**rec, "damage": {**rec["damage"], "date": "15.03.2024"}})
    r = CliRunner().invoke(app, ["export", "rd4u", "--out", "/"])
    assert r.exit_code == 2 and "is a directory" in r.output
