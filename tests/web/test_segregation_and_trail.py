"""Segregation of the filer from verification, and what the claim trail shows a claimant and staff."""

from __future__ import annotations

from tests.factories import claim_body, owner
from tests.store.test_claims_api import API, file_claim, move


def test_officer_who_filed_at_a_service_centre_does_not_verify(client, auth):
    c = file_claim(client, auth, "officer", owners=[owner(is_applicant=True)])
    assert c["state"] == "auto_checked"
    assert "assigned" not in [m["to"] for m in c["available_moves"]]  # not offered to the filer
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("officer"),
                    json={"to": "assigned", "reason": "mine", "expected_version": c["version"]})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "segregation_filed" and "another officer" in body["detail"]
    # another officer of the oblast may verify it
    other = client.get(f"{API}/claims/{c['reference']}", headers=auth("officer_lviv"))
    assert other.status_code in (403, 404)  # out of scope for Lviv: use an in-scope officer instead


def test_another_officer_verifies_a_claim_filed_by_a_colleague(client, auth, db, users):
    from everymetre.accounts.actions import do_create_user

    colleague = do_create_user(db, None, "officer.colleague@test.org", "correct horse battery", "officer", ["kharkivska"])
    from everymetre.api.security import issue_token
    from everymetre.config import get_settings

    header = {"Authorization": f"Bearer {issue_token(db, get_settings(), colleague.id)}"}
    c = file_claim(client, auth, "officer", owners=[owner(is_applicant=True)])
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=header,
                    json={"to": "assigned", "reason": "verify", "expected_version": c["version"]})
    assert r.status_code == 200, r.text
    c = r.json()
    # later officer moves by the filer are refused too (asking for documents)
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("officer"),
                    json={"to": "suspended", "reason": "x", "documents_requested": ["doc"], "expected_version": c["version"]})
    assert r.status_code == 409 and r.json()["code"] == "segregation_filed"


def test_claimant_filed_claim_is_verified_by_any_officer(client, auth):
    c = file_claim(client, auth, "citizen")
    move(client, auth, "officer", c, "assigned")


def _flag_claim(db, reference: str) -> None:
    """Record what linkage writes on a claim's trail when it flags it (a finding, its id)."""
    from everymetre.audit.record import claim_chain, record
    from everymetre.claims.access import claim_id_from_reference
    from everymetre.store.tx import atomic

    cid = claim_id_from_reference(reference)
    with atomic(db):
        record(db, claim_chain(cid), "claim.review_flag", None,
               {"before": None, "after": "linkage", "findings": [4242]})


def test_claimant_trail_leaves_out_staff_facts(client, auth, db, users):
    # a second claim on the same home: the automatic checks fail (same home, open claim)
    home = {**claim_body()["property"], "registry_number": "2718281828"}
    first = file_claim(client, auth, "citizen", property=home)
    c = file_claim(client, auth, "citizen", property=home)
    move(client, auth, "officer", c, "assigned")
    _flag_claim(db, c["reference"])
    staff = client.get(f"{API}/claims/{c['reference']}/events", headers=auth("officer")).json()
    mine = client.get(f"{API}/claims/{c['reference']}/events", headers=auth("citizen"))
    assert mine.status_code == 200
    mine = mine.json()
    # staff see everything: the failed checks, the linkage flag with its finding, the officer's id
    checks = [e for e in staff if e["payload"].get("checks")]
    assert checks and any(not k["ok"] for k in checks[0]["payload"]["checks"]), first
    assert any(e["action"] == "claim.review_flag" and e["payload"]["findings"] == [4242] for e in staff)
    assert users["officer"] in {e["actor_id"] for e in staff}
    # the claimant: their own trail in words, no checks, no flags, no finding or staff ids
    text = str(mine)
    assert "checks" not in text and "review_flag" not in text and "4242" not in text and "findings" not in text
    assert users["officer"] not in {e["actor_id"] for e in mine}
    assert {e["actor"] for e in mine} <= {"you", "applicant", "staff", "automatic"}
    assert [e["action"] for e in mine][:1] == ["claim.created"]
    assert any(e["payload"].get("to") == "assigned" and e["actor"] == "staff" for e in mine)
    assert all(e["summary"] for e in mine)  # in words
    assert [e["seq"] for e in mine] == list(range(1, len(mine) + 1))  # no gap shows where a staff event was
    # the claimant's page shows the same trail (the one filter): no flag, no failed check
    assert len(mine) < len(staff)


def test_claimant_page_timeline_uses_the_same_filter(web, client, auth, db):
    home = {**claim_body()["property"], "registry_number": "3141592653"}
    file_claim(client, auth, "citizen", property=home)
    c = file_claim(client, auth, "citizen", property=home)
    _flag_claim(db, c["reference"])
    page = web("citizen").get(f"/my/claims/{c['reference']}")
    assert page.status_code == 200
    assert "claim.review_flag" not in page.text and "4242" not in page.text
    assert "another open claim" not in page.text  # the failed automatic check is for staff
    staff_page = web("officer").get(f"/staff/claims/{c['reference']}")
    assert staff_page.status_code == 200
