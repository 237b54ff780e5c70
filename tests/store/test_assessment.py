"""Rules wired into the store: the assessed move, decisions keeping the rule set, compute, recheck, simulate."""

from __future__ import annotations

from sqlalchemy import text
from typer.testing import CliRunner

from everymetre.cli.main import app
from tests.store.test_claims_api import ACT, API, file_claim, move


def to_inspected(client, auth, **overrides):
    c = file_claim(client, auth, **overrides)
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "inspector", c, "inspection_scheduled")
    return move(client, auth, "inspector", c, "inspected", inspection_act=ACT)


def test_assessment_explained_and_kept_with_the_decision(client, auth, db):
    from everymetre.claims.models import Decision

    c = move(client, auth, "officer", to_inspected(client, auth), "assessed")
    exp = client.get(f"{API}/claims/{c['reference']}/assessment", headers=auth("citizen")).json()
    assert exp["assessment"]["amount_kopiykas"] == c["assessed_amount_kopiykas"] == 3_737_513
    assert exp["assessment"]["tier"] == "A"
    steps = exp["assessment"]["steps"]
    assert steps and all(s["text_uk"] and s["text_en"] for s in steps)
    c = move(client, auth, "commission", c, "approved", decision={"reasons": "OK"})
    d = db.query(Decision).one()
    assert d.ruleset_hash == exp["ruleset_hash"] and d.rule_result["amount_kopiykas"] == 3_737_513
    r = CliRunner().invoke(app, ["rules", "recheck"])
    assert r.exit_code == 0, r.output


def test_certificate_for_destroyed_home(client, auth):
    c = to_inspected(client, auth, kind="destroyed_housing_application")
    c = move(client, auth, "officer", c, "assessed")
    exp = client.get(f"{API}/claims/{c['reference']}/assessment", headers=auth("officer")).json()
    assert exp["facts"]["payout_kind"] == "certificate" and c["assessed_amount_kopiykas"] > 100_000_000
    assert sum(p["amount_kopiykas"] for p in exp["assessment"]["split"]) == c["assessed_amount_kopiykas"]


def test_compute_in_bulk_matches_one_claim_path_and_recheck_catches_edits(client, auth, engine):
    refs = [to_inspected(client, auth, kind=k)["reference"] for k in ("repair_application", "destroyed_housing_application")]
    r = CliRunner().invoke(app, ["compute"])
    assert r.exit_code == 0 and "assessed 2 claims" in r.output, r.output
    amounts = []
    for ref in refs:
        c = client.get(f"{API}/claims/{ref}", headers=auth("officer")).json()
        assert c["state"] == "assessed"
        exp = client.get(f"{API}/claims/{ref}/assessment", headers=auth("officer")).json()
        assert exp["assessment"]["amount_kopiykas"] == c["assessed_amount_kopiykas"]
        amounts.append(c)
    assert CliRunner().invoke(app, ["audit", "verify"]).exit_code == 0
    move(client, auth, "commission", amounts[0], "approved", decision={"reasons": "OK"})
    with engine.begin() as conn:  # someone edits the stored inputs of the decision
        conn.execute(text("UPDATE decisions SET rule_result = :r"), {"r": '{"amount_kopiykas": 1}'})
    r = CliRunner().invoke(app, ["rules", "recheck"])
    assert r.exit_code == 1 and "would differ" in r.output


def test_simulate_prints_budget_change(client, auth, tmp_path):
    to_inspected(client, auth, kind="destroyed_housing_application")
    out = tmp_path / "budget.csv"
    r = CliRunner().invoke(app, ["rules", "simulate", "--set", "certificate.vavg_per_m2=40000", "--csv", str(out)])
    assert r.exit_code == 0, r.output
    rows = out.read_text().splitlines()
    assert rows[0].startswith("oblast,payout_kind") and rows[-1].startswith("total")
    assert int(rows[-1].split(",")[-1]) > 0
    r = CliRunner().invoke(app, ["rules", "simulate", "--set", "certificate.no_such=1"])
    assert r.exit_code == 2 and "--set" in r.output


def test_approval_posts_the_award_to_the_ledger_in_the_same_transaction(client, auth, db):
    from everymetre.payments.models import LedgerTransaction

    c = move(client, auth, "officer", to_inspected(client, auth), "assessed")
    c = move(client, auth, "commission", c, "approved", decision={"reasons": "OK"})
    claim_id = int(c["reference"].split("-")[-1])
    txs = db.query(LedgerTransaction).filter(LedgerTransaction.claim_id == claim_id).all()
    assert [t.amount_kopiykas for t in txs] == [c["awarded_amount_kopiykas"]]
    r = CliRunner().invoke(app, ["ledger", "check"])
    assert r.exit_code == 0, r.output
