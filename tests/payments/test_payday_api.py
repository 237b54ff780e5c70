"""The payments officer's day through the API (for a bank or treasury system): build, first and second approval,
the pain.001 file, sent, a camt.053 with one return and one unknown entry, the exceptions queue, resolving the
unknown entry; and the refusals: wrong role, the builder's final approval, cancelling a sent batch, an officer of
another oblast, bad statement files, the same statement twice."""

from __future__ import annotations

from datetime import date

from everymetre.accounts.actions import load_principal
from everymetre.api.security import issue_token
from everymetre.config import get_settings
from everymetre.payments import batches
from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
from everymetre.payments.iso20022 import read_pain001, validate_pain001
from tests.payments.store_helpers import approval_limit, decided_claim, ensure_user  # noqa: F401  (fixture)

API = "/api/v1"


def officer_headers(db, email: str, oblasts: list[str]) -> tuple[int, dict[str, str]]:
    uid = ensure_user(db, email, "payments", oblasts)
    return uid, {"Authorization": f"Bearer {issue_token(db, get_settings(), uid)}"}


def camt(entries: list[StatementEntry], **kw) -> bytes:
    return build_camt053(entries, account_iban=batches.debtor_account().iban, **kw)


def upload(client, headers, data: bytes, name: str = "statement.xml", ctype: str = "application/xml"):
    return client.post(f"{API}/bank-statements", headers=headers, files={"file": (name, data, ctype)})


def test_the_whole_day_through_the_api(client, auth, db, users, approval_limit):  # noqa: F811
    approval_limit(15_000_000)  # above UAH 150,000: two approvals
    a = decided_claim(db, users["commission"], 10_000_000)
    b = decided_claim(db, users["commission"], 7_000_000)
    builder = auth("payments")
    _, second = officer_headers(db, "payments2@test.org", ["kharkivska", "kyivska"])
    # wrong role: an auditor may read, never build
    assert client.post(f"{API}/payment-batches", headers=auth("auditor")).status_code == 403
    r = client.post(f"{API}/payment-batches", headers=builder)
    assert r.status_code == 201, r.text
    batch = r.json()["batch"]
    assert batch["count"] == 2 and batch["total_kopiykas"] == 17_000_000 and batch["second_approval_required"]
    bid = batch["id"]
    assert client.post(f"{API}/payment-batches", headers=builder).json()["resumed"] is True
    # the file exists only once approved
    assert client.get(f"{API}/payment-batches/{bid}/file", headers=builder).status_code == 409
    # first approval by the builder, the second (releasing) one never by the builder
    assert client.post(f"{API}/payment-batches/{bid}/approve", json={}, headers=builder).json()["state"] == "built"
    again = client.post(f"{API}/payment-batches/{bid}/approve", json={}, headers=builder)
    assert again.status_code in (200, 409)
    assert client.get(f"{API}/payment-batches/{bid}", headers=builder).json()["state"] == "built"
    r = client.post(f"{API}/payment-batches/{bid}/approve", json={"expected_total_kopiykas": 17_000_000}, headers=second)
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    # the bank file: XSD-valid pain.001, the same bytes on every download
    f = client.get(f"{API}/payment-batches/{bid}/file", headers=builder)
    assert f.status_code == 200 and f.headers["content-type"].startswith("application/xml")
    assert f'filename="{batch["message_id"]}.xml"' in f.headers["content-disposition"]
    validate_pain001(f.content)
    assert client.get(f"{API}/payment-batches/{bid}/file", headers=builder).content == f.content
    transfers = {t.amount_kopiykas: t for t in read_pain001(f.content)}
    r = client.post(f"{API}/payment-batches/{bid}/send", headers=builder)
    assert r.status_code == 200 and r.json()["state"] == "sent"
    # a sent batch cannot be cancelled
    c = client.post(f"{API}/payment-batches/{bid}/cancel", json={"reason": "too late"}, headers=builder)
    assert c.status_code == 409 and c.headers["content-type"].startswith("application/problem+json")
    assert "sent" in c.json()["detail"]

    paid, returned = transfers[10_000_000], transfers[7_000_000]
    stmt = camt([StatementEntry(paid.end_to_end_id, paid.amount_kopiykas, EntryStatus.BOOKED, date(2026, 2, 2)),
                 StatementEntry(returned.end_to_end_id, returned.amount_kopiykas, EntryStatus.REJECTED, date(2026, 2, 2),
                                credit_debit="CRDT", reason_code="AC04"),
                 StatementEntry("EMP-SOMEONE-ELSE", 4_200, EntryStatus.BOOKED, date(2026, 2, 2))])
    r = upload(client, builder, stmt)
    assert r.status_code == 201, r.text
    res = r.json()
    assert (res["booked"], res["rejected"], res["unknown"], res["open"], res["duplicate"]) == (1, 1, 1, 1, False)
    assert [e["claim_reference"] for e in res["booked_entries"]] == [a.reference]
    ret = res["rejected_entries"][0]
    assert ret["claim_reference"] == b.reference and ret["reason_code"] == "AC04"
    assert ret["reason_en"] == "Closed account number" and ret["reason_uk"] == "Рахунок закрито" and ret["remedy"] == "new_account"
    unknown = res["unknown_entries"][0]
    assert unknown["end_to_end_id"] == "EMP-SOMEONE-ELSE" and unknown["state"] == "open" and unknown["outcome"] == "unknown"
    # the same statement again books nothing, and says so
    dup = upload(client, builder, stmt)
    assert dup.status_code == 200 and dup.json()["duplicate"] is True and dup.json()["id"] == res["id"]
    assert client.get(f"{API}/claims/{a.reference}/payout", headers=builder).json()["stage"] == "funds_transferred"

    # the exceptions queue: the returned payment (to the claim's page, to correct the account) and the unknown entry
    q = client.get(f"{API}/payment-exceptions", headers=builder).json()
    groups = {g["kind"]: g for g in q["groups"]}
    rp = groups["returned_payment"]["items"]
    assert [(i["claim_reference"], i["action"], i["action_url"]) for i in rp] == [
        (b.reference, "correct_account", f"/staff/claims/{b.reference}/payout-account")]
    ue = groups["unknown_entry"]["items"]
    assert [i["id"] for i in ue] == [f"entry:{unknown['id']}"] and ue[0]["action"] == "resolve_entry"
    # resolving: a dismissal needs a reason; then it leaves the queue
    assert client.post(f"{API}/statement-entries/{unknown['id']}/resolve", json={}, headers=builder).status_code == 422
    r = client.post(f"{API}/statement-entries/{unknown['id']}/resolve", json={"dismiss_reason": "Not ours: another programme"},
                    headers=builder)
    assert r.status_code == 200 and r.json()["state"] == "dismissed", r.text
    again = client.post(f"{API}/statement-entries/{unknown['id']}/resolve", json={"dismiss_reason": "twice"}, headers=builder)
    assert again.status_code == 409
    q = client.get(f"{API}/payment-exceptions?kind=unknown_entry", headers=builder).json()
    assert q["total"] == 0
    listing = client.get(f"{API}/bank-statements", headers=auth("auditor")).json()
    assert listing["total"] == 1 and listing["items"][0]["open"] == 0
    # read-only: an auditor reads the statement, but neither uploads nor resolves
    assert upload(client, auth("auditor"), stmt).status_code == 403
    assert client.get(f"{API}/bank-statements/{res['id']}", headers=auth("auditor")).status_code == 200


def test_unknown_entry_matched_by_hand_books_the_payment(client, auth, db, users, principal, tmp_path):
    decided_claim(db, users["commission"], 10_000_000)
    from tests.payments.test_store_batches import run_batch

    run_batch(db, principal("payments"), tmp_path / "b.xml")
    t = read_pain001((tmp_path / "b.xml").read_bytes())[0]
    r = upload(client, auth("payments"), camt([StatementEntry(t.end_to_end_id[:-2] + "??", t.amount_kopiykas, EntryStatus.BOOKED,
                                                              date(2026, 2, 3))]))
    entry = r.json()["unknown_entries"][0]
    h = auth("payments")
    # the amounts must agree; the id must be a payment's
    wrong = client.post(f"{API}/statement-entries/{entry['id']}/resolve", json={"match_end_to_end_id": "EMP-NOPE"}, headers=h)
    assert wrong.status_code == 404
    r = client.post(f"{API}/statement-entries/{entry['id']}/resolve",
                    json={"match_end_to_end_id": t.end_to_end_id, "note": "the bank garbled the id"}, headers=h)
    assert r.status_code == 200 and r.json()["state"] == "matched" and r.json()["payment_end_to_end_id"] == t.end_to_end_id
    payout = client.get(f"{API}/claims/{r.json()['claim_reference']}/payout", headers=h).json()
    assert payout["stage"] == "funds_transferred" and payout["payments"][0]["state"] == "booked"


def test_officer_of_another_oblast_cannot_touch_the_batch(client, auth, db, users, principal):
    decided_claim(db, users["commission"], 10_000_000)  # Kharkiv
    built = batches.do_build_batch(db, principal("payments")).batch
    _, lviv = officer_headers(db, "payments.lviv@test.org", ["lvivska"])
    for method, path, body in (("get", f"/payment-batches/{built.id}/file", None), ("post", f"/payment-batches/{built.id}/send", None),
                               ("post", f"/payment-batches/{built.id}/cancel", {"reason": "x"}),
                               ("post", f"/payment-batches/{built.id}/approve", {})):
        r = getattr(client, method)(f"{API}{path}", headers=lviv, **({"json": body} if body is not None else {}))
        assert r.status_code == 403, (path, r.status_code, r.text)
    # nor sees its payees in the exceptions queue or a statement's lists
    assert client.get(f"{API}/payment-exceptions", headers=lviv).json()["total"] == 0
    # the batch's own oblast officer cancels it (not sent), saying why; a reason is required
    assert client.post(f"{API}/payment-batches/{built.id}/cancel", json={"reason": ""}, headers=auth("payments")).status_code == 422
    r = client.post(f"{API}/payment-batches/{built.id}/cancel", json={"reason": "Wrong date"}, headers=auth("payments"))
    assert r.status_code == 200 and r.json()["state"] == "cancelled"


def test_exported_batch_can_be_cancelled_and_its_claims_paid_again(client, auth, db, users, principal, tmp_path):
    decided_claim(db, users["commission"], 10_000_000)
    built = batches.do_build_batch(db, principal("payments")).batch
    other = load_principal(db, ensure_user(db, "payments2@test.org", "payments", ["kharkivska"]))
    batches.do_approve_batch(db, other, built.id)
    assert client.get(f"{API}/payment-batches/{built.id}/file", headers=auth("payments")).status_code == 200
    r = client.post(f"{API}/payment-batches/{built.id}/cancel", json={"reason": "File never given to the bank"},
                    headers=auth("payments"))
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    rebuilt = client.post(f"{API}/payment-batches", headers=auth("payments")).json()
    assert rebuilt["batch"]["count"] == 1 and rebuilt["batch"]["id"] != built.id


def test_bad_statement_files_are_refused_saying_what_to_do(client, auth, db):
    h = auth("payments")
    cases = [
        (b"%PDF-1.7 not a statement", 415, "not XML"),
        (b"", 415, "empty"),
        (b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.09'/>", 422, "camt.053"),
        (camt([StatementEntry("EMP-X", 100, EntryStatus.BOOKED, date(2026, 2, 2), currency="EUR")]), 422, "hryvnias"),
        (build_camt053([StatementEntry("EMP-X", 100, EntryStatus.BOOKED, date(2026, 2, 2))],
                       account_iban="UA213223130000026007233566001"), 422, "programme's account"),
    ]
    for data, status, words in cases:
        r = upload(client, h, data)
        assert r.status_code == status, (words, r.text)
        assert r.headers["content-type"].startswith("application/problem+json") and words in r.json()["detail"], r.json()
    assert client.get(f"{API}/bank-statements", headers=h).json()["total"] == 0  # nothing stored


def test_huge_statement_refused_before_it_is_read(client, auth, monkeypatch):
    monkeypatch.setenv("EVERYMETRE_STATEMENT_MAX_BYTES", "2048")
    get_settings.cache_clear()
    try:
        from fastapi.testclient import TestClient

        from everymetre.api.app import create_app

        with TestClient(create_app(get_settings()), raise_server_exceptions=False) as c:
            r = upload(c, auth("payments"), b"<x>" + b" " * 200_000 + b"</x>")
        assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
    finally:
        monkeypatch.delenv("EVERYMETRE_STATEMENT_MAX_BYTES")
        get_settings.cache_clear()
