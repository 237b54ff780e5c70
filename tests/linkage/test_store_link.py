"""Linkage wired into the store: runs over imported claims with injected patterns, findings upserted by
fingerprint, review flags set and cleared, reviewers' decisions followed, the API's scoping and the CLI.

Runs on SQLite and, with EVERYMETRE_TEST_DATABASE_URL, on PostgreSQL (the COPY extraction path)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select, text, update
from typer.testing import CliRunner

from everymetre.audit.models import AuditEvent
from everymetre.claims.models import Claim
from everymetre.config import get_settings
from everymetre.linkage.models import LinkageFinding, LinkageReviewDecision

API = "/api/v1"
FLAG = "linkage:"
N = 1200


@pytest.fixture(autouse=True)
def _quiet() -> None:
    for name in ("splink", "splink.internals.expectation_maximisation", "splink.internals.em_sampling"):
        logging.getLogger(name).setLevel(logging.ERROR)


@pytest.fixture()
def store(db, engine):
    """The test store with N imported claims (synthetic population, seed 3) and its ground truth."""
    from everymetre.demo.fraud import load_fraud_population
    from everymetre.linkage.common import model_path

    data_dir = get_settings().data_dir
    model_path(data_dir).unlink(missing_ok=True)  # the first run trains on this store, not on an earlier test's
    result = load_fraud_population(engine, N, seed=3, data_dir=data_dir)
    assert result.claims == N and result.truth_path is not None
    return pl.read_parquet(result.truth_path)


def link(engine, **kw):
    from everymetre.linkage.service import run_linkage

    return run_linkage(engine, get_settings().data_dir, **kw)


def current_findings(db, run_id: int) -> list[LinkageFinding]:
    db.rollback()
    return list(db.scalars(select(LinkageFinding).where(LinkageFinding.last_run_id == run_id)))


def flags(db) -> dict[int, str]:
    db.rollback()
    return dict(db.execute(select(Claim.id, Claim.review_flag).where(Claim.review_flag.is_not(None))).all())


def test_link_finds_injected_duplicates_and_flags_claims(db, engine, store):
    report = link(engine)
    assert report.records == N and report.claims == N
    assert {"duplicate_claim", "person_multiple_destroyed_claims", "repeat_damage_unlinked"} <= set(report.by_kind)
    truth = dict(zip(store["record_id"], store["true_person_id"], strict=True))
    findings = current_findings(db, report.run_id)
    assert len(findings) == report.current_findings == sum(report.by_kind.values())
    dups = [f for f in findings if f.kind == "duplicate_claim"]
    same_person = [f for f in dups if len({truth[r] for r in f.record_ids}) == 1]
    assert len(same_person) >= 0.9 * len(dups), "duplicate findings should name one true person"
    injected = set(store.filter(pl.col("injected") == "duplicate")["record_id"])
    found = {r for f in findings if f.kind in ("duplicate_claim", "person_multiple_destroyed_claims") for r in f.record_ids}
    assert len(injected & found) >= 0.5 * len(injected)
    # the claims of high-score findings are in review, with the finding's kind; nothing else is flagged
    flagged = flags(db)
    assert len(flagged) == report.flagged_claims == report.flagged > 0
    assert all(v.startswith("linkage:") for v in flagged.values())
    high = {c for f in findings if f.score >= report.flag_score for c in f.claim_ids}
    assert set(flagged) == high
    # audited: a chain per finding, an event on each flagged claim's chain, and every chain intact
    opened = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "finding.opened"))
    assert opened == len(findings)
    flag_events = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "claim.review_flag"))
    assert flag_events == len(flagged)
    from everymetre.audit.verify import verify

    assert verify(db).problem is None
    # the queue filter the officers use sees them
    from everymetre.accounts.actions import load_principal
    from everymetre.claims.access import QueueFilter, list_claims
    admin = load_principal(db, db.scalar(text("SELECT id FROM users WHERE email = 'admin@test.org'")))
    rows, _ = list_claims(db, admin, QueueFilter(review_flagged=True), limit=500)
    assert {c.id for c in rows} <= set(flagged) and rows


def test_rerun_does_not_duplicate_findings(db, engine, store):
    first = link(engine)
    db.rollback()
    n_rows = db.scalar(select(func.count()).select_from(LinkageFinding))
    events = db.scalar(select(func.count()).select_from(AuditEvent))
    second = link(engine)
    assert second.new_findings == 0 and second.flagged == 0 and second.cleared == 0
    assert second.by_kind == first.by_kind
    db.rollback()
    assert db.scalar(select(func.count()).select_from(LinkageFinding)) == n_rows
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert len(current_findings(db, second.run_id)) == n_rows
    assert not second.trained  # the saved model was used


def test_not_a_match_suppresses_next_run_and_clears_flag(db, engine, store, principal):
    from everymetre.kernel.errors import Forbidden, NotFound
    from everymetre.linkage.service import do_review

    db.execute(update(Claim).values(oblast="kyivska"))  # in the test reviewers' oblasts, not Lviv's
    db.commit()
    report = link(engine)
    findings = current_findings(db, report.run_id)
    claim_findings: dict[int, int] = {}
    for f in findings:
        if f.score >= report.flag_score:
            for c in f.claim_ids:
                claim_findings[c] = claim_findings.get(c, 0) + 1
    # a duplicate finding whose claims no other high-score finding holds
    # (and held by this finding alone: a claim filed with a registry number already claimed carries the filing
    # check's own flag, "possible_duplicate", which a linkage review does not clear)
    held = flags(db)
    target = next(f for f in findings if f.kind == "duplicate_claim" and f.evidence["pairs"]
                  and all(claim_findings[c] == 1 and held.get(c) == "linkage:duplicate_claim" for c in f.claim_ids))
    assert all(flags(db)[c] == "linkage:duplicate_claim" for c in target.claim_ids)
    with pytest.raises(Forbidden):
        do_review(db, principal("inspector"), "not_a_match", finding_id=target.id)
    with pytest.raises(NotFound):
        do_review(db, principal("officer_lviv"), "not_a_match", finding_id=target.id)
    out = do_review(db, principal("commission"), "not_a_match", finding_id=target.id, note="namesakes")
    assert out["status"] == "dismissed" and out["cleared"] == len(target.claim_ids) and out["pairs"]
    now_flags = flags(db)
    assert not any(c in now_flags for c in target.claim_ids)
    pairs = {(p["a"], p["b"]) for p in target.evidence["pairs"]}
    stored = set(db.execute(select(LinkageReviewDecision.record_id_a, LinkageReviewDecision.record_id_b)
                            .where(LinkageReviewDecision.decision == "not_a_match")).all())
    assert {(min(a, b), max(a, b)) for a, b in pairs} <= stored
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.chain == f"finding:{target.id}")))
    assert actions == {"finding.opened", "finding.reviewed"}
    # the next run follows the decision: the pairs are not linked, the claims stay out of review
    again = link(engine)
    assert again.decisions >= len(pairs)
    linked = set(zip(again.pairs_frame["record_id_l"], again.pairs_frame["record_id_r"], strict=True))
    assert not ({(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}) & linked
    db.rollback()
    assert db.get(LinkageFinding, target.id).status == "dismissed"
    # if the claims are in review again it is for another finding (two people now each claiming the whole home,
    # say), never for the dismissed one
    after = flags(db)
    for c in target.claim_ids:
        if c in after:
            assert after[c] != "linkage:duplicate_claim"
            holders = [f for f in current_findings(db, again.run_id) if c in f.claim_ids and f.status != "dismissed"]
            assert any(FLAG + f.kind == after[c] for f in holders)
    from everymetre.audit.verify import verify

    assert verify(db).problem is None


def test_pairs_csv_has_source_record_ids(db, engine, store, tmp_path: Path):
    from everymetre.cli.main import app

    report = link(engine)
    first = report.pairs_frame.row(0, named=True)
    # one side becomes a claim filed in everymetre itself (no source): its id is the claim reference
    claim_id = db.scalar(select(Claim.id).where(Claim.source_record_id == first["record_id_l"]))
    db.execute(update(Claim).where(Claim.id == claim_id).values(source=None, source_record_id=None))
    db.commit()
    out = tmp_path / "pairs.csv"
    result = CliRunner().invoke(app, ["link", "--pairs-out", str(out), "--findings-out", str(tmp_path / "f.csv")])
    assert result.exit_code == 0, result.output
    assert "duplicate_claim" in result.output and "timings:" in result.output
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"source_record_id_l", "source_record_id_r", "match_probability", "agreeing_fields",
                     "claim_ref_l", "claim_ref_r"} <= set(rows[0])
    srids = set(db.scalars(select(Claim.source_record_id).where(Claim.source_record_id.is_not(None))))
    ref = db.get(Claim, claim_id).reference
    ids = {r["source_record_id_l"] for r in rows} | {r["source_record_id_r"] for r in rows}
    assert ref in ids and ids - {ref} <= srids
    assert all(float(r["match_probability"]) >= report.threshold for r in rows)
    assert all(r["agreeing_fields"] for r in rows if r["source"] == "model")
    assert (tmp_path / "f.csv").read_text(encoding="utf-8").startswith('"finding_id"')


def test_api_scoping_and_review(db, engine, store, client, auth):
    # every claim in one oblast the test officer covers, none in Lviv
    db.execute(update(Claim).values(oblast="kharkivska"))
    db.commit()
    report = link(engine)
    assert report.current_findings
    r = client.get(f"{API}/findings", headers=auth("officer_lviv"))
    assert r.status_code == 200 and r.json()["total"] == 0 and r.json()["items"] == []
    r = client.get(f"{API}/findings?limit=500", headers=auth("officer"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == report.current_findings
    scores = [i["score"] for i in page["items"]]
    assert scores == sorted(scores, reverse=True)
    fid = next(i["id"] for i in page["items"] if i["kind"] == "duplicate_claim")
    assert client.get(f"{API}/findings/{fid}", headers=auth("officer_lviv")).status_code == 404
    assert client.post(f"{API}/findings/{fid}/review", json={"decision": "match"}, headers=auth("officer_lviv")).status_code == 404
    assert client.get(f"{API}/findings", headers=auth("citizen")).status_code == 403
    assert client.get(f"{API}/findings").status_code == 401
    detail = client.get(f"{API}/findings/{fid}", headers=auth("officer"))
    assert detail.status_code == 200, detail.text
    d = detail.json()
    assert len(d["record_sides"]) == len(d["claim_refs"]) >= 2 and d["can_review"]
    assert all(side["agreeing"] for side in d["record_sides"]) and d["pairs"]
    assert all("*" in (side["values"]["rnokpp"] or "*") for side in d["record_sides"])
    assert client.post(f"{API}/findings/{fid}/review", json={"decision": "maybe"}, headers=auth("officer")).status_code == 422
    assert client.post(f"{API}/findings/{fid}/review", json={"decision": "match"}, headers=auth("inspector")).status_code == 403
    r = client.post(f"{API}/findings/{fid}/review", json={"decision": "match", "note": "same person, filed twice"},
                    headers=auth("officer"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["cleared"] == 0
    assert client.get(f"{API}/findings?status=confirmed", headers=auth("auditor")).json()["total"] == 1
    schema = client.get("/openapi.json").json()
    assert schema["components"]["schemas"]["ReviewIn"]["examples"]


def test_cli_exit_codes_and_error_lines(db, engine, tmp_path: Path):
    from everymetre.cli.main import app

    runner = CliRunner()
    empty = runner.invoke(app, ["link"])
    assert empty.exit_code == 1
    assert "error: the store has no claims with owners: nothing to link" in empty.output
    bad_out = runner.invoke(app, ["link", "--pairs-out", str(tmp_path / "missing" / "p.csv")])
    assert bad_out.exit_code == 2 and "--pairs-out" in bad_out.output and "does not exist" in bad_out.output
    bad_threshold = runner.invoke(app, ["link", "--threshold", "1.5"])
    assert bad_threshold.exit_code == 2
    # the failed run is recorded as such
    status = db.scalar(text("SELECT status FROM linkage_runs ORDER BY id DESC LIMIT 1"))
    assert status == "failed"


def test_cli_database_error_while_writing_findings_is_one_line(db, engine, store, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import everymetre.linkage.run as run_module
    from everymetre.cli.main import app

    def locked(*args, **kwargs):
        raise OperationalError("INSERT INTO linkage_findings (id, fingerprint, ...) VALUES (?, ?, ...)", {},
                               Exception("database is locked"))

    monkeypatch.setattr(run_module, "write_findings", locked)
    result = CliRunner().invoke(app, ["link"])
    assert result.exit_code == 1
    assert "failed: database is locked" in result.output and "findings" in result.output
    assert "INSERT" not in result.output and "Traceback" not in result.output
    assert db.scalar(text("SELECT status FROM linkage_runs ORDER BY id DESC LIMIT 1")) == "failed"
    assert db.scalar(select(func.count()).select_from(LinkageFinding)) == 0


def test_demo_with_fraud_writes_truth(db, engine):
    from everymetre.cli.main import app

    result = CliRunner().invoke(app, ["demo", "--claims", "300", "--with-fraud", "--seed", "5",
                                         "--into-database-with-data"])  # the test accounts are not demo ones
    assert result.exit_code == 0, result.output
    truth = pl.read_parquet(get_settings().data_dir / "demo-truth.parquet")
    assert truth.height == 300 and {"record_id", "claim_ref", "true_person_id", "injected"} <= set(truth.columns)
    srids = set(db.scalars(select(Claim.source_record_id).where(Claim.source == "synthetic")))
    assert set(truth["record_id"]) == srids
    from everymetre.audit.verify import verify

    assert verify(db).problem is None


def test_reviewer_page_side_by_side_and_buttons(db, engine, store, users):
    import re

    from fastapi.testclient import TestClient

    from everymetre.api.app import create_app
    from tests.conftest import PASSWORD, STAFF

    db.execute(update(Claim).values(oblast="kyivska"))
    db.commit()
    report = link(engine)
    fid = next(f.id for f in current_findings(db, report.run_id) if f.kind == "duplicate_claim")
    csrf = re.compile(r'name="csrf_token" value="([^"]+)"')

    def browser(key: str) -> TestClient:
        c = TestClient(create_app(get_settings()), base_url="http://testserver")
        token = csrf.search(c.get("/signin").text).group(1)
        r = c.post("/signin", data={"email": STAFF[key][0], "password": PASSWORD, "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        return c

    officer = browser("officer")
    listing = officer.get("/staff/findings")
    assert listing.status_code == 200 and f"/staff/findings/{fid}" in listing.text
    page = officer.get(f"/staff/findings/{fid}")
    assert page.status_code == 200
    assert "<mark>" in page.text and 'value="not_a_match"' in page.text and 'value="match"' in page.text
    token = csrf.search(page.text).group(1)
    no_token = officer.post(f"/staff/findings/{fid}/review", data={"decision": "match"}, follow_redirects=False)
    assert no_token.status_code == 403
    r = officer.post(f"/staff/findings/{fid}/review", data={"decision": "not_a_match", "note": "namesakes",
                                                           "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/staff/findings/{fid}?done=not_a_match"
    db.rollback()
    assert db.get(LinkageFinding, fid).status == "dismissed"
    assert browser("officer_lviv").get(f"/staff/findings/{fid}").status_code == 404
    inspector = browser("inspector").get(f"/staff/findings/{fid}")
    assert inspector.status_code == 200 and 'value="not_a_match"' not in inspector.text
