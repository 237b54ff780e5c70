"""Award controls on a real store (claims.awards): the computed amount unless a reason is recorded, and a second
commission member — not the one who made the award, not the inspector — for an award above the computed amount,
above the tier cap or above the configured amount. Through the API and the staff pages; the ledger and the
payment batches follow only standing decisions."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import select

from everymetre.claims.models import Claim, Decision
from everymetre.config import get_settings
from everymetre.payments import batches, ledger, queries
from everymetre.payments.models import LedgerTransaction, Payment
from tests.payments.store_helpers import decided_claim, ensure_user
from tests.store.test_claims_api import ACT, file_claim, move

API = "/api/v1"
COMPUTED = 3_737_513  # ACT: 37,375.13 UAH, tier A


def assessed(client, auth) -> dict:
    c = file_claim(client, auth)
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    c = move(client, auth, "officer", c, "assessed")
    assert c["assessed_amount_kopiykas"] == COMPUTED
    return c


def decide(client, auth, who, c, amount=None, reason="", expect=200, to="approved"):
    decision = {"reasons": "Пошкодження підтверджено", "amount_reason": reason}
    if amount is not None:
        decision["amount_kopiykas"] = amount
    return move(client, auth, who, c, to, expect=expect, decision=decision)


def review(client, auth, who, ref, approve=True, reason="Перевірено кошторис"):
    return client.post(f"{API}/claims/{ref}/award-approval", json={"approve": approve, "reason": reason}, headers=auth(who))


def decisions(db, ref) -> list[Decision]:
    db.expire_all()
    cid = int(ref.rsplit("-", 1)[1])
    return list(db.scalars(select(Decision).where(Decision.claim_id == cid).order_by(Decision.id)))


def test_the_computed_amount_needs_no_reason_and_no_second_member(client, auth, db):
    c = decide(client, auth, "commission", assessed(client, auth))
    assert c["state"] == "approved" and c["awarded_amount_kopiykas"] == COMPUTED and c["pending_award"] is None
    (d,) = decisions(db, c["reference"])
    assert (d.approval, d.amount_kopiykas, d.computed_amount_kopiykas, d.amount_reason) == ("final", COMPUTED, COMPUTED, None)


def test_another_amount_needs_a_reason(client, auth, db):
    c = assessed(client, auth)
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("commission"),
                    json={"to": "approved", "reason": "", "expected_version": c["version"],
                          "decision": {"reasons": "x", "amount_kopiykas": COMPUTED - 100_000}})
    assert r.status_code == 422 and r.json()["code"] == "award_reason_needed", r.text
    assert r.json()["computed"] == COMPUTED
    # below the computed amount with a reason: one member's decision stands
    c = decide(client, auth, "commission", c, COMPUTED - 100_000, reason="Вікно вже замінено власним коштом")
    assert c["state"] == "approved" and c["awarded_amount_kopiykas"] == COMPUTED - 100_000
    (d,) = decisions(db, c["reference"])
    assert d.approval == "final" and d.amount_reason == "Вікно вже замінено власним коштом"
    events = client.get(f"{API}/claims/{c['reference']}/events", headers=auth("auditor")).json()
    last = events[-1]["payload"]["decision"] if "decision" in events[-1]["payload"] else next(
        e["payload"]["decision"] for e in reversed(events) if "decision" in e["payload"])
    assert (last["amount_kopiykas"], last["computed_amount_kopiykas"], last["amount_reason"]) == (
        COMPUTED - 100_000, COMPUTED, "Вікно вже замінено власним коштом")


def test_five_million_on_a_small_claim_waits_for_a_second_member(client, auth, db, users):
    c = assessed(client, auth)
    ref = c["reference"]
    # the issue: one member awarded UAH 5,000,000 on a claim the rules computed far lower
    c = decide(client, auth, "commission", c, 500_000_000, reason="Повна відбудова")
    assert c["state"] == "assessed" and c["awarded_amount_kopiykas"] is None
    pa = c["pending_award"]
    assert pa["amount_kopiykas"] == 500_000_000 and pa["computed_amount_kopiykas"] == COMPUTED
    assert pa["second_approval_because"] == ["above_computed", "above_tier_cap", "above_threshold"]
    db.expire_all()
    cid = int(ref.rsplit("-", 1)[1])
    assert db.scalar(select(LedgerTransaction).where(LedgerTransaction.claim_id == cid)) is None  # nothing committed
    assert ledger.do_sync_decisions(db).posted == 0  # the catch-up does not post a pending award either
    # nobody decides again meanwhile
    r = client.post(f"{API}/claims/{ref}/transitions", headers=auth("commission2"),
                    json={"to": "approved", "reason": "", "expected_version": c["version"], "decision": {"reasons": "x"}})
    assert r.status_code == 409 and r.json()["code"] == "award_pending"
    # refusals: the member who made it, a role that may not, a claimant, another oblast's staff
    r = review(client, auth, "commission", ref)
    assert r.status_code == 409 and r.json()["code"] == "segregation_proposed"
    assert review(client, auth, "officer", ref).status_code == 403
    assert review(client, auth, "payments", ref).status_code == 403
    assert review(client, auth, "citizen", ref).status_code == 403
    assert review(client, auth, "citizen2", ref).status_code == 404
    assert review(client, auth, "officer_lviv", ref).status_code == 404
    assert review(client, auth, "commission2", ref, reason="").status_code == 422  # a reason is required
    # the claim's inspector, were they a commission member, may not approve it either
    claim = db.get(Claim, cid)
    inspector = claim.inspector_id
    claim.inspector_id = users["commission2"]
    db.commit()
    r = review(client, auth, "commission2", ref)
    assert r.status_code == 409 and r.json()["code"] == "segregation_inspected"
    claim = db.get(Claim, cid)
    claim.inspector_id = inspector
    db.commit()
    r = review(client, auth, "commission2", ref, reason="Кошторис перевірено на місці")
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["state"] == "approved" and c["awarded_amount_kopiykas"] == 500_000_000 and c["pending_award"] is None
    (d,) = decisions(db, ref)
    assert (d.approval, d.decided_by_id, d.approved_by_id, d.approval_reason) == (
        "approved", users["commission"], users["commission2"], "Кошторис перевірено на місці")
    assert db.scalar(select(LedgerTransaction.amount_kopiykas).where(LedgerTransaction.claim_id == cid)) == 500_000_000
    assert ledger.ledger_violations(db) == []
    events = client.get(f"{API}/claims/{ref}/events", headers=auth("auditor")).json()
    actions = [e["action"] for e in events]
    assert actions[-3:] == ["claim.award_approved", "claim.transition", "decision.document"] or \
        actions[-2:] == ["claim.award_approved", "claim.transition"], actions
    proposed = next(e for e in events if e["action"] == "claim.award_proposed")["payload"]["decision"]
    assert (proposed["amount_kopiykas"], proposed["computed_amount_kopiykas"], proposed["amount_reason"]) == (
        500_000_000, COMPUTED, "Повна відбудова")
    assert review(client, auth, "commission2", ref).json()["code"] == "no_award_pending"


def test_a_refused_award_is_decided_again(client, auth, db):
    c = assessed(client, auth)
    ref = c["reference"]
    c = decide(client, auth, "commission", c, COMPUTED + 1, reason="Додано двері")
    assert c["pending_award"]["second_approval_because"] == ["above_computed"]
    r = review(client, auth, "commission2", ref, approve=False, reason="Двері не пошкоджені")
    assert r.status_code == 200 and r.json()["state"] == "assessed" and r.json()["pending_award"] is None
    c = decide(client, auth, "commission", r.json())
    assert c["state"] == "approved" and c["awarded_amount_kopiykas"] == COMPUTED
    assert [d.approval for d in decisions(db, ref)] == ["refused", "final"]


@pytest.fixture()
def award_limit():
    name = "EVERYMETRE_AWARD_SECOND_APPROVAL_ABOVE_KOPIYKAS"
    old = os.environ.get(name)

    def set_limit(kopiykas: int) -> None:
        os.environ[name] = str(kopiykas)
        get_settings.cache_clear()

    yield set_limit
    if old is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = old
    get_settings.cache_clear()


def test_any_award_above_the_configured_amount_needs_a_second_member(client, auth, award_limit):
    award_limit(COMPUTED - 1)
    c = decide(client, auth, "commission", assessed(client, auth))  # the computed amount, yet above the limit
    assert c["state"] == "assessed" and c["pending_award"]["second_approval_because"] == ["above_threshold"]
    award_limit(COMPUTED)
    c = decide(client, auth, "commission", assessed(client, auth))  # at the limit: one member suffices
    assert c["state"] == "approved"


def test_batch_flags_amounts_other_than_computed_and_pays_only_the_decision(client, auth, db, users, principal):
    # the issue: 9,999,999 UAH in a batch against a 2,400 UAH assessment (a decision from before these controls)
    odd = decided_claim(db, users["commission"], 999_999_900)
    odd = db.get(Claim, odd.id)
    odd.assessed_amount_kopiykas = 240_000
    plain = decided_claim(db, users["commission"], 10_000_000)
    # a claim whose award is not its decision's amount: no payment is made for it
    drift = decided_claim(db, users["commission"], 20_000_000)
    drift = db.get(Claim, drift.id)
    drift.awarded_amount_kopiykas = 20_000_001
    db.commit()
    builder = principal("payments")
    report = batches.do_build_batch(db, builder)
    assert report.held["amount differs from its decision"] == 1
    paid = set(db.scalars(select(Payment.claim_id).where(Payment.batch_id == report.batch.id)))
    assert paid == {odd.id, plain.id}
    from everymetre.accounts.actions import load_principal

    other = load_principal(db, ensure_user(db, "payments.reader@test.org", "payments", ["kharkivska"]))
    detail = queries.batch_detail(db, other, report.batch.id)
    assert detail["amount_differs_count"] == 1
    flagged = {p["claim_reference"]: (p["amount_differs"], p["computed_amount_kopiykas"]) for p in detail["payments"]}
    assert flagged == {odd.reference: (True, 240_000), plain.reference: (False, 10_000_000)}
    api = client.get(f"{API}/payment-batches/{report.batch.id}", headers=auth("payments")).json()
    assert api["amount_differs_count"] == 1 and [p["amount_differs"] for p in api["payments"]].count(True) == 1
    assert all("****" in p["creditor_iban"] for p in api["payments"])  # masked: UA21 **** **** 1234
