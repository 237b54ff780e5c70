"""`everymetre import claims` on the test store (SQLite, or PostgreSQL with EVERYMETRE_TEST_DATABASE_URL)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from everymetre.audit.chain import canonical_json
from everymetre.audit.models import AuditChain, AuditEvent
from everymetre.audit.verify import verify
from everymetre.claims.models import Claim, Ownership, Person, Property
from everymetre.cli.main import app
from everymetre.importer.writer import _context, created_payload

from .conftest import person_row, write_input

EVERYMETRE = str(Path(sys.executable).with_name("everymetre"))


def imp(*args: str):
    return CliRunner().invoke(app, ["import", "claims", *map(str, args)])


def claims_of(db, source: str) -> list[Claim]:
    db.rollback()  # a new snapshot: the import committed on its own connection
    return list(db.scalars(select(Claim).where(Claim.source == source).order_by(Claim.source_record_id)))


def count(db, model, *where) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_three_formats_land_submitted_with_audit_trail(db, tmp_path, mapping_file, ext):
    rows = [person_row(1), person_row(2, kind="квартира", apartment="15", share="1/2"), person_row(3, previous="R-0001")]
    src = write_input(tmp_path / f"claims.{ext}", rows)
    r = imp(src, "--mapping", mapping_file(f"fmt-{ext}"))
    assert r.exit_code == 0, r.output
    assert "3 rows read; 3 imported, 0 already imported, 0 rejected" in r.output
    claims = claims_of(db, f"fmt-{ext}")
    assert [c.source_record_id for c in claims] == ["R-0001", "R-0002", "R-0003"]
    for c in claims:
        assert (c.state, c.channel, c.version, c.oblast) == ("submitted", "import", 2, "kharkivska")
        assert c.damage_date == date(2024, 3, 15) and c.kind == "repair_application"
        events = list(db.scalars(select(AuditEvent).where(AuditEvent.chain == f"claim:{c.id}").order_by(AuditEvent.seq)))
        assert [e.action for e in events] == ["claim.created", "claim.transition"]
        assert all(e.actor_id is None for e in events)
        assert f'"source":"fmt-{ext}"' in events[0].payload and f'"file":"claims.{ext}"' in events[0].payload
        assert '"from":"draft"' in events[1].payload and '"to":"submitted"' in events[1].payload
        assert db.get(AuditChain, f"claim:{c.id}").last_seq == 2
    flat = claims[1]
    assert flat.home.kind == "apartment" and flat.home.apartment == "15" and str(flat.home.total_area_m2) == "84.50"
    owner = flat.owners[0]
    assert (owner.share_numerator, owner.share_denominator, owner.is_applicant) == (1, 2, True)
    p = owner.person
    assert p.full_name == "Шевченко Олена Петрівна" and p.full_name_latin == "Shevchenko Olena Petrivna"
    assert p.phone == "+380501234567" and p.rnokpp == rows[1]["rnokpp"] and p.iban == rows[1]["iban"]
    assert claims[2].previous_claim_id == claims[0].id and claims[2].is_redamage
    assert verify(db).problem is None


def test_left_out_fields_and_full_name(db, tmp_path, mapping_file):
    text = """
[fields]
source_record_id = "id"
full_name = "name"
oblast = "oblast"
property_kind = { value = "house" }
total_area_m2 = "area"
damage_date = "damaged"
"""
    src = tmp_path / "min.csv"
    src.write_text("id,name,oblast,area,damaged\nA1,  Коваль   Іван  ,kyivska,50,2023-05-01\n", encoding="utf-8")
    r = imp(src, "-m", mapping_file(text=text), "--source", "minimal")
    assert r.exit_code == 0, r.output
    (c,) = claims_of(db, "minimal")
    assert c.kind == "damage_report" and c.home.kind == "house" and c.home.hromada == "" and c.home.street == ""
    person = c.owners[0].person
    assert person.full_name == "Коваль Іван" and person.birth_date is None and person.rnokpp is None and person.iban is None
    assert (c.owners[0].share_numerator, c.owners[0].share_denominator) == (1, 1)


def test_rejects_file_names_every_failing_field(db, tmp_path, mapping_file):
    good = person_row(1)
    bad_rn = person_row(2)
    bad_rn["rnokpp"] = bad_rn["rnokpp"][:9] + str((int(bad_rn["rnokpp"][9]) + 1) % 10)
    rows = [
        good,
        {**bad_rn, "oblast": "Атлантида", "damaged": "20.02.2022"},
        person_row(3, kind="квартира", apartment="", area="сто", share="2/1", iban="UA00123", born="31.02.1980"),
        person_row(4, id="R-0001"),  # the same record id again
        person_row(5, surname="", claim_kind="loan", previous="nothing-like-it", redamage="maybe", phone="call me"),
    ]
    src = write_input(tmp_path / "claims.csv", rows)
    rejects = tmp_path / "rejects.csv"
    r = imp(src, "-m", mapping_file("rej"), "--rejects", rejects)
    assert r.exit_code == 0, r.output
    assert "5 rows read; 1 imported, 0 already imported, 4 rejected" in r.output
    with rejects.open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    got = [(int(x["row"]), x["source_record_id"], x["field"]) for x in lines]
    assert got == [
        (2, "R-0002", "rnokpp"), (2, "R-0002", "oblast"), (2, "R-0002", "damage_date"),
        (3, "R-0003", "birth_date"), (3, "R-0003", "iban"), (3, "R-0003", "share"), (3, "R-0003", "apartment"),
        (3, "R-0003", "total_area_m2"),
        (4, "R-0001", "source_record_id"),
        (5, "R-0005", "surname"), (5, "R-0005", "phone"), (5, "R-0005", "claim_kind"), (5, "R-0005", "is_redamage"),
    ], got  # `previous` is looked up only for rows that pass every other check
    reasons = {(int(x["row"]), x["field"]): x["reason"] for x in lines}
    assert "wrong check digit" in reasons[(2, "rnokpp")]
    assert "unknown oblast 'Атлантида'" in reasons[(2, "oblast")]
    assert "24 February 2022" in reasons[(2, "damage_date")]
    assert reasons[(3, "birth_date")] == "not a date in the format %d.%m.%Y"
    assert "IBAN" in reasons[(3, "iban")]
    assert "at most 1" in reasons[(3, "share")]
    assert reasons[(3, "apartment")] == "an apartment or room needs its apartment number"
    assert reasons[(4, "source_record_id")] == "the same source record id is already at row 1 of this file"
    assert reasons[(5, "surname")] == "missing (this field is required)"
    assert [c.source_record_id for c in claims_of(db, "rej")] == ["R-0001"]


def test_previous_must_exist(db, tmp_path, mapping_file):
    rows = [person_row(1, previous="R-0002"), person_row(2), person_row(3, previous="R-0002"), person_row(4, previous="R-0001")]
    src = write_input(tmp_path / "p.csv", rows)
    rejects = tmp_path / "rej.csv"
    r = imp(src, "-m", mapping_file("prev"), "--rejects", rejects)
    assert r.exit_code == 0, r.output
    lines = pl.read_csv(rejects).rows()
    # row 1 names a later row; row 4 names row 1, which is rejected
    assert [(row, field) for row, _, field, _ in lines] == [(1, "previous"), (4, "previous")]
    claims = {c.source_record_id: c for c in claims_of(db, "prev")}
    assert set(claims) == {"R-0002", "R-0003"} and claims["R-0003"].previous_claim_id == claims["R-0002"].id
    # a later file may name claims already in the store, by source record id or by reference
    ref = claims["R-0002"].reference
    src2 = write_input(tmp_path / "p2.csv", [person_row(7, previous="R-0003"), person_row(8, previous=ref)])
    assert imp(src2, "-m", mapping_file("prev")).exit_code == 0
    claims = {c.source_record_id: c for c in claims_of(db, "prev")}
    assert claims["R-0007"].previous_claim_id == claims["R-0003"].id
    assert claims["R-0008"].previous_claim_id == claims["R-0002"].id


def test_previous_across_batches_written_side_by_side(db, tmp_path, mapping_file):
    # batches of two on two connections (PostgreSQL): rows naming an earlier row of the file (R-0003 -> R-0001,
    # R-0006 -> R-0003, R-0009 -> R-0008) go after the rest and wait for the batches that hold what they name
    prev = {3: "R-0001", 6: "R-0003", 9: "R-0008"}
    src = write_input(tmp_path / "b.csv", [person_row(i, previous=prev.get(i, "")) for i in range(1, 11)])
    r = imp(src, "-m", mapping_file("batches"), "--batch-size", "2", "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert "10 rows read; 10 imported" in r.output
    claims = {c.source_record_id: c for c in claims_of(db, "batches")}
    for row, earlier in prev.items():
        assert claims[f"R-{row:04d}"].previous_claim_id == claims[earlier].id
    assert sum(c.previous_claim_id is not None for c in claims.values()) == 3
    assert verify(db).problem is None


def test_rerun_is_idempotent(db, tmp_path, mapping_file):
    src = write_input(tmp_path / "claims.csv", [person_row(i) for i in range(1, 8)])
    m = mapping_file("again")
    assert imp(src, "-m", m, "--batch-size", "3").exit_code == 0
    before = (count(db, Claim), count(db, Person), count(db, Property), count(db, Ownership), count(db, AuditEvent))
    r = imp(src, "-m", m, "--batch-size", "3")
    assert r.exit_code == 0 and "7 rows read; 0 imported, 7 already imported, 0 rejected" in r.output
    assert (count(db, Claim), count(db, Person), count(db, Property), count(db, Ownership), count(db, AuditEvent)) == before
    # the same file under another source is another set of claims
    r = imp(src, "-m", m, "--source", "another")
    assert "7 imported" in r.output and len(claims_of(db, "another")) == 7


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_crash_mid_import_leaves_whole_batches_and_rerun_completes(db, tmp_path, mapping_file, jobs):
    src = write_input(tmp_path / "claims.csv", [person_row(i) for i in range(1, 11)])
    m = mapping_file("crash")
    args = [EVERYMETRE, "import", "claims", str(src), "-m", str(m), "--batch-size", "3", "--jobs", jobs]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "EVERYMETRE_CRASH_AFTER_BATCHES": "2"})
    assert r.returncode == 9, r.stderr
    claims = claims_of(db, "crash")
    batches = [{f"R-{i:04d}" for i in range(b, min(b + 3, 11))} for b in (1, 4, 7, 10)]
    got = {c.source_record_id for c in claims}
    whole = [b for b in batches if b <= got]
    assert set().union(*whole) == got and len(whole) >= 2  # whole batches of three, nothing of another
    if jobs == "1":
        assert got == batches[0] | batches[1]
    ids = [c.id for c in claims]
    assert count(db, AuditChain, AuditChain.chain.in_([f"claim:{i}" for i in ids])) == len(ids)
    assert count(db, AuditEvent, AuditEvent.claim_id.in_(ids)) == 2 * len(ids)
    assert verify(db).problem is None
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert f"10 rows read; {10 - len(got)} imported, {len(got)} already imported, 0 rejected" in r.stdout
    assert len(claims_of(db, "crash")) == 10
    r = subprocess.run([EVERYMETRE, "audit", "verify"], capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 0 and "intact" in r.stdout


@pytest.mark.parametrize(("text", "expected"), [
    ("[fields\nsource_record_id = 'id'", "not valid TOML"),
    ("[fields]\nsource_record_id = 'id'\nfull_name = 'name'\noblast = 'o'\nproperty_kind = 'k'\ntotal_area_m2 = 'a'\n",
     "fields.damage_date: missing"),
    ("[fields]\nsource_record_id = 'id'\nfull_name = 'name'\noblast = 'o'\nproperty_kind = 'k'\ntotal_area_m2 = 'a'\n"
     "damage_date = 'd'\ncolour = 'c'\n", "fields.colour: unknown field"),
    ("[fields]\nsource_record_id = 'id'\nfull_name = 'name'\noblast = 'o'\nproperty_kind = 'k'\ntotal_area_m2 = 'a'\n"
     "damage_date = { column = 'd', format = 'dd.mm.yyyy' }\n", "fields.damage_date.format"),
    ("[fields]\nsource_record_id = 'id'\noblast = 'o'\nproperty_kind = 'k'\ntotal_area_m2 = 'a'\ndamage_date = 'd'\n",
     "fields.full_name: missing"),
    ("[fields]\nsource_record_id = 'id'\nfull_name = 'nom'\noblast = 'o'\nproperty_kind = 'k'\ntotal_area_m2 = 'a'\n"
     "damage_date = 'd'\n", "fields.full_name: column 'nom' is not in x.csv"),
])
def test_bad_mapping_is_one_line_exit_2(engine, tmp_path, text, expected):
    (tmp_path / "x.csv").write_text("id,name,o,k,a,d\n1,Коваль Іван,kyivska,house,50,2023-05-01\n", encoding="utf-8")
    m = tmp_path / "bad.toml"
    m.write_text(text, encoding="utf-8")
    r = subprocess.run([EVERYMETRE, "import", "claims", str(tmp_path / "x.csv"), "-m", str(m), "--source", "s"],
                       capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and str(m) in lines[0] and expected in lines[0], r.stderr


def test_unreadable_input_is_a_clear_error(engine, tmp_path, mapping_file):
    m = mapping_file("unreadable")
    r = imp(tmp_path / "missing.csv", "-m", m)
    assert r.exit_code == 2 and "missing.csv: no such file" in r.output
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"this is not parquet")
    r = imp(junk, "-m", m)
    assert r.exit_code == 2 and "junk.parquet: cannot read it as parquet" in r.output
    r = imp(tmp_path / "data.xlsx", "-m", m)
    assert r.exit_code == 2 and "--format" in r.output
    r = imp(tmp_path / "missing.csv", "-m", tmp_path / "nope.toml")
    assert r.exit_code == 2 and "nope.toml: cannot read the mapping file" in r.output


@settings(max_examples=200, deadline=None)
@given(srid=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[chr(c) for c in range(32)]),
                    min_size=1, max_size=30),
       source=st.text(min_size=1, max_size=10), file=st.text(min_size=1, max_size=10))
def test_vectorised_payload_is_canonical_json(srid, source, file):
    ctx = _context(source, file, datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    frame = pl.DataFrame({"d": [date(2023, 5, 1)], "k": ["damage_report"], "o": ["kyivska"], "r": ["EM-2025-0000001"],
                          "s": [srid]})
    got = frame.select(created_payload(ctx, pl.col("d"), pl.col("k"), pl.col("o"), pl.col("r"), pl.col("s")))[0, 0]
    assert got == canonical_json({"after": {"damage_date": date(2023, 5, 1), "file": file, "kind": "damage_report",
                                            "oblast": "kyivska", "reference": "EM-2025-0000001", "source": source,
                                            "source_record_id": srid}})


def test_deferred_indexes_are_dropped_for_the_write_and_built_after(db, engine, tmp_path, mapping_file):
    """--defer-indexes (PostgreSQL): the rows land the same, every secondary index is back afterwards, and an
    index an earlier run left out (stopped before its rebuild) is built by the next import. SQLite: ignored."""
    from everymetre.importer import indexes
    from everymetre.store.db import is_postgres

    src = write_input(tmp_path / "d.csv", [person_row(i, previous="R-0001" if i == 4 else "") for i in range(1, 7)])
    r = imp(src, "-m", mapping_file("deferred"), "--batch-size", "2", "--defer-indexes")
    assert r.exit_code == 0, r.output
    assert "6 rows read; 6 imported" in r.output
    claims = {c.source_record_id: c for c in claims_of(db, "deferred")}
    assert claims["R-0004"].previous_claim_id == claims["R-0001"].id
    assert all(c.decision_due_on is not None for c in claims.values())  # the decision clock runs from import
    assert verify(db).problem is None
    if not is_postgres(engine):
        return
    assert indexes.missing(engine) == []
    db.rollback()
    dropped = indexes.drop(engine)
    assert {"ix_claims_queue", "ix_persons_rnokpp"} <= {str(i.name) for i in dropped}
    assert len(indexes.missing(engine)) == len(dropped)
    r = imp(write_input(tmp_path / "e.csv", [person_row(7)]), "-m", mapping_file("deferred"))
    assert r.exit_code == 0 and indexes.missing(engine) == []


@pytest.mark.parametrize("defer", [False, True])
def test_imported_claims_are_searchable_with_the_keys_index_claims_writes(db, principal, tmp_path, mapping_file, defer):
    """Each batch writes its claims' search keys and word index with them (no pass afterwards): the same rows
    `index_claims` writes from the store, and the staff search finds an imported claim by name, RNOKPP, address."""
    from everymetre.claims.access import QueueFilter
    from everymetre.claims.models import ClaimSearch, ClaimSearchWord
    from everymetre.claims.queue import list_claims
    from everymetre.claims.search import index_claims

    rows = [person_row(1, registry="0012345678901", apartment="15", kind="квартира"),
            person_row(2, surname="Коваленко", given="Марія", street="просп. Миру", city="Чугуїв")]
    src = write_input(tmp_path / "s.csv", rows)
    r = imp(src, "-m", mapping_file("searchable"), "--batch-size", "1", *(["--defer-indexes"] if defer else []))
    assert r.exit_code == 0, r.output
    claims = {c.source_record_id: c for c in claims_of(db, "searchable")}
    ids = [c.id for c in claims.values()]

    def written():
        db.rollback()
        keys = dict(db.execute(select(ClaimSearch.claim_id, ClaimSearch.keys).where(ClaimSearch.claim_id.in_(ids))).tuples().all())
        words = set(db.execute(select(ClaimSearchWord.word_key, ClaimSearchWord.oblast, ClaimSearchWord.claim_id)
                               .where(ClaimSearchWord.claim_id.in_(ids))).tuples())
        return keys, words

    by_import = written()
    assert len(by_import[0]) == 2 and by_import[1]
    index_claims(db, ids)  # rewritten from the store: nothing changes
    db.commit()
    assert written() == by_import
    officer = principal("officer")

    def found(q):
        return {c.source_record_id for c in list_claims(db, officer, QueueFilter(q=q), None, 50)[0]}

    assert found("Шевченко Олена") == {"R-0001"}
    assert found("Kovalenko Mariia") == {"R-0002"}
    assert found(claims["R-0001"].owners[0].person.rnokpp) == {"R-0001"}
    assert found("12345678901") == {"R-0001"}
    assert found("Миру Чугуїв") == {"R-0002"}
