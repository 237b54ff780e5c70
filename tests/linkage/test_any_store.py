"""`everymetre link` on any store: demo stores of every size class the suite can afford, with and without
injected fraud; imports without taxpayer numbers; a run that cannot train says so in one line and leaves the
store as it was. Also: empty patronymics are no agreement, reviews stay inside the reviewer's oblasts, and the
flag score comes from the settings.

Runs on SQLite and, with EVERYMETRE_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select, text, update
from typer.testing import CliRunner

from everymetre.claims.models import Claim
from everymetre.config import get_settings
from everymetre.linkage.models import LinkageFinding

API = "/api/v1"


@pytest.fixture(autouse=True)
def _quiet() -> None:
    for name in ("splink", "splink.internals.expectation_maximisation", "splink.internals.em_sampling"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _link(engine, **kw):
    from everymetre.linkage.service import run_linkage

    return run_linkage(engine, get_settings().data_dir, retrain=True, **kw)


@pytest.mark.parametrize("claims", [10, 100, 2000])
def test_plain_demo_store_links_at_every_size(db, engine, claims: int) -> None:
    """The store `make run` loads (no injected patterns; one person row reused across claims)."""
    from everymetre.demo.generate import generate

    generate(engine, claims, seed=11)
    report = _link(engine)
    assert report.claims == claims and report.trained
    # the same person's records (one person row) are one cluster whatever the model says
    assert report.pairs_frame is not None
    assert all(p["source"] in ("model", "person_key", "reviewer") for p in report.pairs_frame.iter_rows(named=True))
    run = db.scalar(text("SELECT status FROM linkage_runs ORDER BY id DESC LIMIT 1"))
    assert run == "finished"


@pytest.mark.parametrize("claims", [10, 100])
def test_fraud_demo_store_links_small(db, engine, claims: int) -> None:
    from everymetre.demo.fraud import load_fraud_population

    result = load_fraud_population(engine, claims, seed=4, data_dir=get_settings().data_dir)
    assert result.claims == claims
    report = _link(engine)
    assert report.claims == claims and report.records >= claims


def _write_import(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


REQUIRED_MAPPING = """
[source]
name = "notary-archive"

[fields]
source_record_id = "id"
full_name = "name"
damage_date = "damaged"
oblast = "oblast"
property_kind = { value = "house" }
total_area_m2 = "area"
"""

NAMES = ["Коваленко Олена Петрівна", "Шевченко Іван Миколайович", "Бондар Марія Іванівна", "Ткаченко Петро",
         "Мельник Оксана Василівна", "Кравченко Андрій Олегович", "Олійник Наталія", "Лисенко Богдан Іванович"]


def _rows(n: int, with_dob: bool) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        base = i % (n // 2)  # every person twice
        row = {"id": f"N-{i:04d}", "name": f"{NAMES[base % len(NAMES)].split()[0]}{base} "
               + " ".join(NAMES[base % len(NAMES)].split()[1:]),
               "damaged": "2023-05-0" + str(1 + base % 9), "oblast": "Харківська", "area": str(40 + base % 50)}
        if with_dob:
            row["born"] = f"19{50 + base % 40}-0{1 + base % 9}-1{base % 10}"
        rows.append(row)
    return rows


def test_import_with_required_fields_only_cannot_train_and_changes_nothing(db, engine, tmp_path: Path) -> None:
    from everymetre.cli.main import app
    from everymetre.linkage.service import model_path

    runner = CliRunner()
    _write_import(tmp_path / "in.csv", _rows(60, with_dob=False))
    (tmp_path / "map.toml").write_text(REQUIRED_MAPPING, encoding="utf-8")
    imported = runner.invoke(app, ["import", "claims", str(tmp_path / "in.csv"), "--mapping", str(tmp_path / "map.toml")])
    assert imported.exit_code == 0, imported.output
    model_path(get_settings().data_dir).unlink(missing_ok=True)
    before = db.execute(text("SELECT COUNT(*) FROM audit_events")).scalar_one()
    result = runner.invoke(app, ["link"])
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "cannot train the person model" in lines[0]
    assert "taxpayer number" in lines[0] and "birth date" in lines[0] and "address" in lines[0]
    assert "Traceback" not in result.output and "__splink__" not in result.output
    db.rollback()
    assert db.scalar(select(func.count()).select_from(LinkageFinding)) == 0
    assert db.scalar(select(func.count()).select_from(Claim).where(Claim.review_flag.is_not(None))) == 0
    assert db.execute(text("SELECT COUNT(*) FROM audit_events")).scalar_one() == before
    assert not model_path(get_settings().data_dir).exists()


def test_import_without_rnokpp_trains_on_name_and_birth_date(db, engine, tmp_path: Path) -> None:
    from everymetre.cli.main import app

    runner = CliRunner()
    _write_import(tmp_path / "in.csv", _rows(120, with_dob=True))
    (tmp_path / "map.toml").write_text(REQUIRED_MAPPING + 'birth_date = "born"\n', encoding="utf-8")
    imported = runner.invoke(app, ["import", "claims", str(tmp_path / "in.csv"), "--mapping", str(tmp_path / "map.toml")])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(app, ["link", "--retrain", "--pairs-out", str(tmp_path / "pairs.csv")])
    assert result.exit_code == 0, result.output
    pairs = pl.read_csv(tmp_path / "pairs.csv")
    found = {tuple(sorted((a, b))) for a, b in zip(pairs["source_record_id_l"], pairs["source_record_id_r"], strict=True)}
    truth = {(f"N-{i:04d}", f"N-{i + 60:04d}") for i in range(60)}
    assert len(found & truth) >= 0.95 * len(truth)
    assert len(found - truth) <= 0.01 * len(truth)


def test_empty_patronymic_is_not_agreement() -> None:
    from everymetre.linkage import ClaimLinker, ModelConfig
    from everymetre.linkage.synthetic import TRUTH_COLUMNS, generate_population

    population = generate_population(800, seed=9)
    records = population.drop(TRUTH_COLUMNS).with_columns(patronymic=pl.lit(""), phone=pl.lit("  "))
    result = ClaimLinker(ModelConfig(u_max_pairs=2e5)).run(records)
    model_pairs = result.pairs.filter(pl.col("source") == "model")
    assert model_pairs.height > 0
    assert not any("patronymic" in fields for fields in model_pairs["agreeing_fields"].to_list())
    assert not any("patronymic" in (e or "") for e in model_pairs["evidence"].to_list())
    assert not any("phone" in fields for fields in model_pairs["agreeing_fields"].to_list())


def test_cannot_train_names_only() -> None:
    from everymetre.linkage import ClaimLinker
    from everymetre.linkage.training import CannotTrain

    records = pl.DataFrame({"record_id": [str(i) for i in range(20)], "claim_ref": [str(i) for i in range(20)],
                            "surname": ["Коваль"] * 20, "given_name": ["Іван", ""] * 10})
    with pytest.raises(CannotTrain, match="birth date"):
        ClaimLinker().run(records)


def test_review_of_a_finding_across_oblasts_is_refused_and_masked(db, engine, client, auth, principal) -> None:
    """Issue 11: an officer of Kharkiv and Kyiv may see a finding that also holds a Lviv claim, masked, but may not
    decide it: the Lviv claim keeps its review flag."""
    from everymetre.demo.fraud import load_fraud_population

    load_fraud_population(engine, 600, seed=3, data_dir=get_settings().data_dir)
    db.execute(update(Claim).values(oblast="kharkivska"))
    db.commit()
    report = _link(engine)
    db.rollback()
    findings = list(db.scalars(select(LinkageFinding).where(LinkageFinding.last_run_id == report.run_id,
                                                           LinkageFinding.kind == "duplicate_claim")))
    target = next(f for f in findings if len(f.claim_ids) == 2 and f.score >= report.flag_score and f.evidence["pairs"])
    lviv_claim = int(target.claim_ids[-1])
    db.execute(update(Claim).where(Claim.id == lviv_claim).values(oblast="lvivska"))
    db.commit()
    flag_before = db.scalar(select(Claim.review_flag).where(Claim.id == lviv_claim))
    assert flag_before and flag_before.startswith("linkage:")

    d = client.get(f"{API}/findings/{target.id}", headers=auth("officer"))
    assert d.status_code == 200, d.text
    body = d.json()
    assert body["can_review"] is False
    outside = [s for s in body["record_sides"] if not s["in_scope"]]
    inside = [s for s in body["record_sides"] if s["in_scope"]]
    assert outside and inside
    for side in outside:
        v = side["values"]
        assert v["surname"].endswith("***") and len(v["surname"]) == 4
        assert v["given_name"].endswith("***")
        assert v["birth_date"] is None or v["birth_date"].endswith("-**-**")
        assert v["street"] in (None, "***") and v["building"] in (None, "***")
        assert v["oblast"] is not None
    assert all("*" not in (s["values"]["surname"] or "") for s in inside)

    r = client.post(f"{API}/findings/{target.id}/review", json={"decision": "not_a_match"}, headers=auth("officer"))
    assert r.status_code == 403, r.text
    assert "outside your oblasts" in r.json()["detail"]
    db.rollback()
    assert db.scalar(select(Claim.review_flag).where(Claim.id == lviv_claim)) == flag_before
    assert db.get(LinkageFinding, target.id).status == "open"
    # a decision on one pair of its records is refused the same way, and nothing is stored
    from everymetre.kernel.errors import Forbidden
    from everymetre.linkage.models import LinkageReviewDecision
    from everymetre.linkage.service import do_review

    pair = next(p for p in target.evidence["pairs"])
    with pytest.raises(Forbidden, match="not both in claims of your oblasts"):
        do_review(db, principal("officer"), "not_a_match", pair=(pair["a"], pair["b"]))
    db.rollback()
    assert db.scalar(select(func.count()).select_from(LinkageReviewDecision)) == 0
    # once every claim of the finding is in the officer's oblasts, the same review goes through
    db.execute(update(Claim).where(Claim.id == lviv_claim).values(oblast="kyivska"))
    db.commit()
    r = client.post(f"{API}/findings/{target.id}/review", json={"decision": "not_a_match"}, headers=auth("officer"))
    assert r.status_code == 200, r.text
    db.rollback()
    assert db.scalar(select(Claim.review_flag).where(Claim.id == lviv_claim)) != flag_before


def test_flag_score_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from everymetre.linkage.service import default_flag_score

    monkeypatch.setenv("EVERYMETRE_LINKAGE_FLAG_SCORE", "0.7")
    get_settings.cache_clear()
    try:
        assert default_flag_score() == 0.7
        monkeypatch.setenv("EVERYMETRE_LINKAGE_FLAG_SCORE", "lots")
        get_settings.cache_clear()
        with pytest.raises(SystemExit, match="EVERYMETRE_LINKAGE_FLAG_SCORE"):
            default_flag_score()
    finally:
        monkeypatch.delenv("EVERYMETRE_LINKAGE_FLAG_SCORE")
        get_settings.cache_clear()


def test_programme_settings_choose_threshold_and_flag_score(db, engine) -> None:
    """An administrator's per-programme threshold and flag score (admin settings, audited) are what the next
    run uses; a run given --threshold / --flag-score uses those instead."""
    from everymetre.demo.generate import generate
    from everymetre.programme.settings import do_set_setting

    generate(engine, 100, seed=11)
    assert do_set_setting(db, None, "linkage_match_percent", 95)
    assert do_set_setting(db, None, "linkage_flag_percent", 75)
    db.commit()
    report = _link(engine)
    assert (report.threshold, report.flag_score) == (0.95, 0.75)
    assert db.execute(text("SELECT threshold, flag_score FROM linkage_runs ORDER BY id DESC LIMIT 1")).one() == (0.95, 0.75)
    assert all(p["match_probability"] >= 0.95 for p in report.pairs_frame.iter_rows(named=True)
               if p["source"] == "model")
    report = _link(engine, threshold=0.92, flag_score=0.5)
    assert (report.threshold, report.flag_score) == (0.92, 0.5)
    events = db.execute(text("SELECT payload FROM audit_events WHERE action = 'programme.setting_changed'")).scalars().all()
    assert len(events) == 2
