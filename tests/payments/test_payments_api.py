"""The payments API: a claimant's payout status (own claims only), certificates, batches for payments officers."""

from __future__ import annotations

from datetime import date

from everymetre.kernel.iban import make_ua_iban
from everymetre.payments import batches, certificates
from tests.payments.store_helpers import decided_claim, ensure_user
from tests.store.test_claims_api import ACT, file_claim, move

API = "/api/v1"


def test_payout_status_after_approval_through_the_api(client, auth, db, principal, tmp_path):
    c = file_claim(client, auth)
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    c = move(client, auth, "officer", c, "assessed")
    c = move(client, auth, "commission", c, "approved", decision={"reasons": "Пошкодження підтверджено"})
    ref = c["reference"]
    r = client.get(f"{API}/claims/{ref}/payout", headers=auth("citizen"))
    assert r.status_code == 200, r.text
    # filed through the API without an account: the claimant is asked for one, not told it goes out next batch
    assert r.json()["stage"] == "account_missing" and r.json()["payout_kind"] == "repair"
    r = client.put(f"{API}/claims/{ref}/payout-account", json={"iban": make_ua_iban("305299", 77), "bank_code": "305299"},
                   headers=auth("citizen"))
    assert r.status_code == 200, r.text
    r = client.get(f"{API}/claims/{ref}/payout", headers=auth("citizen"))
    assert r.json()["stage"] in ("awaiting_payment", "on_hold")
    assert client.get(f"{API}/claims/{ref}/payout", headers=auth("citizen2")).status_code == 404
    assert client.get(f"{API}/claims/{ref}/payout", headers=auth("officer_lviv")).status_code == 404
    assert client.get(f"{API}/claims/{ref}/payout").status_code == 401


def test_certificate_view(client, auth, db, users, principal):
    claim = decided_claim(db, users["commission"], 150_000_000, kind="destroyed_housing_application",
                          submitted_by=users["citizen"], owners=[("Коваль Іван", 1, 2), ("Коваль Марія", 1, 2)])
    certs = certificates.do_issue_certificate(db, principal("payments"), claim.reference)
    assert [c.value_kopiykas for c in certs] == [75_000_000] * 2  # one per co-owner
    cert = certs[0]
    r = client.get(f"{API}/certificates/{cert.number}", headers=auth("citizen"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["value_kopiykas"] == 75_000_000 and [s["amount_kopiykas"] for s in body["shares"]] == [75_000_000]
    assert client.get(f"{API}/certificates/{cert.number}", headers=auth("citizen2")).status_code == 404
    bad = client.get(f"{API}/certificates/HC-2026-0000001-0", headers=auth("citizen"))
    assert bad.status_code == 404 and bad.headers["content-type"].startswith("application/problem+json")
    status = client.get(f"{API}/claims/{claim.reference}/payout", headers=auth("citizen")).json()
    assert status["payout_kind"] == "certificate" and status["stage"] == "issued"


def test_batches_list_and_approve(client, auth, db, users, principal):
    from everymetre.accounts.actions import load_principal

    decided_claim(db, users["commission"], 10_000_000)
    builder = ensure_user(db, "payments2@test.org", "payments", ["kharkivska", "kyivska"])
    batch = batches.do_build_batch(db, load_principal(db, builder)).batch  # built by another officer
    assert client.get(f"{API}/payment-batches", headers=auth("citizen")).status_code == 403
    page = client.get(f"{API}/payment-batches", headers=auth("payments")).json()
    assert page["total"] == 1 and page["items"][0]["state"] == "built"
    detail = client.get(f"{API}/payment-batches/{batch.id}", headers=auth("payments")).json()
    assert detail["can_approve"] and detail["payments"][0]["claim_reference"].startswith("EM-")
    stale = client.post(f"{API}/payment-batches/{batch.id}/approve", json={"expected_total_kopiykas": 1}, headers=auth("payments"))
    assert stale.status_code == 409
    r = client.post(f"{API}/payment-batches/{batch.id}/approve", json={"expected_total_kopiykas": 10_000_000},
                    headers=auth("payments"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved" and r.json()["approved_by"] == "payments@test.org"
    assert client.post(f"{API}/payment-batches/{batch.id}/approve", json={}, headers=auth("commission")).status_code == 403
    assert client.get(f"{API}/payment-batches/999999", headers=auth("payments")).status_code == 404


def test_builder_cannot_approve_through_the_api(client, auth, db, users, principal):
    """Issue 11: a payments officer who built a batch gets 409 (segregation_built) approving it, at any amount."""
    decided_claim(db, users["commission"], 10_000_000)
    batch = batches.do_build_batch(db, principal("payments")).batch
    detail = client.get(f"{API}/payment-batches/{batch.id}", headers=auth("payments")).json()
    assert not detail["can_approve"] and detail["cannot_approve_code"] == "segregation_built"
    r = client.post(f"{API}/payment-batches/{batch.id}/approve", json={"expected_total_kopiykas": 10_000_000},
                    headers=auth("payments"))
    assert r.status_code == 409 and r.json()["code"] == "segregation_built", r.text
    assert client.get(f"{API}/payment-batches/{batch.id}", headers=auth("payments")).json()["state"] == "built"
