"""Idempotency-Key on the API's POSTs: the same claim sent three times makes one claim."""

from __future__ import annotations

import json
import threading

from sqlalchemy import func, select

from everymetre.claims.models import Claim, Evidence
from everymetre.idempotency.middleware import body_digest
from everymetre.idempotency.models import IdempotentRequest
from tests.factories import claim_body, png

API = "/api/v1"


def claims_count(db) -> int:
    db.rollback()  # a fresh snapshot: the requests wrote on other connections
    return db.scalar(select(func.count()).select_from(Claim))


def test_same_claim_three_times_makes_one(client, auth, db):
    body = claim_body()
    headers = {**auth("citizen"), "Idempotency-Key": "claim-7f3a"}
    first = client.post(f"{API}/claims", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    for _ in range(2):
        again = client.post(f"{API}/claims", json=body, headers=headers)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["idempotent-replayed"] == "true"
    assert claims_count(db) == 1
    # key order and spacing do not make another request
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    r = client.post(f"{API}/claims", content=reordered, headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 201 and r.json()["reference"] == first.json()["reference"]
    # without a key, a second claim is a second claim
    assert client.post(f"{API}/claims", json=body, headers=auth("citizen")).status_code == 201
    assert claims_count(db) == 2


def test_same_key_different_body_is_422_and_creates_nothing(client, auth, db):
    headers = {**auth("citizen"), "Idempotency-Key": "k-1"}
    assert client.post(f"{API}/claims", json=claim_body(), headers=headers).status_code == 201
    r = client.post(f"{API}/claims", json=claim_body(description="Інший опис пошкоджень."), headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "idempotency_key_reused"
    assert claims_count(db) == 1
    bad = client.post(f"{API}/claims", json=claim_body(), headers={**auth("citizen"), "Idempotency-Key": "a b"})  # a space: not a token
    assert bad.status_code == 422 and bad.json()["code"] == "idempotency_key_invalid"


def test_keys_are_per_user(client, auth, db):
    body = claim_body()
    a = client.post(f"{API}/claims", json=body, headers={**auth("citizen"), "Idempotency-Key": "shared"})
    b = client.post(f"{API}/claims", json=body, headers={**auth("citizen2"), "Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 201
    assert a.json()["reference"] != b.json()["reference"]
    assert claims_count(db) == 2


def test_first_error_is_replayed_and_expired_keys_are_forgotten(client, auth, db):
    headers = {**auth("citizen"), "Idempotency-Key": "bad-first"}
    body = claim_body(owners=[])
    first = client.post(f"{API}/claims", json=body, headers=headers)
    assert first.status_code == 422
    again = client.post(f"{API}/claims", json=body, headers=headers)
    assert again.status_code == 422 and again.json() == first.json()
    # after the replay window the key is free again
    headers = {**auth("citizen"), "Idempotency-Key": "old"}
    assert client.post(f"{API}/claims", json=claim_body(), headers=headers).status_code == 201
    from datetime import timedelta

    row = db.scalar(select(IdempotentRequest).where(IdempotentRequest.key == "old"))
    row.created_at = row.created_at - timedelta(hours=25)
    db.commit()
    assert client.post(f"{API}/claims", json=claim_body(), headers=headers).status_code == 201
    assert claims_count(db) == 2


def test_evidence_upload_and_transition_are_idempotent(client, auth, db):
    c = client.post(f"{API}/claims", json=claim_body(), headers=auth("citizen")).json()
    headers = {**auth("citizen"), "Idempotency-Key": "upload-1"}
    for _ in range(3):  # each retry gets a new multipart boundary; the content is the same
        r = client.post(f"{API}/claims/{c['reference']}/evidence", headers=headers,
                        files={"file": ("house.png", png(), "image/png")}, data={"kind": "photo_wide"})
        assert r.status_code == 201, r.text
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Evidence)) == 1
    move = {"to": "assigned", "reason": "take", "expected_version": c["version"]}
    headers = {**auth("officer"), "Idempotency-Key": "move-1"}
    r1 = client.post(f"{API}/claims/{c['reference']}/transitions", json=move, headers=headers)
    r2 = client.post(f"{API}/claims/{c['reference']}/transitions", json=move, headers=headers)
    assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json()
    assert r2.headers["idempotent-replayed"] == "true"


def test_concurrent_requests_with_one_key_make_one_claim(client, auth, db):
    body = claim_body()
    headers = {**auth("citizen"), "Idempotency-Key": "race"}
    results: list[int] = []

    def send() -> None:
        results.append(client.post(f"{API}/claims", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert claims_count(db) == 1
    assert results.count(201) >= 1 and set(results) <= {201, 409}


def test_body_digest_ignores_the_multipart_boundary_and_json_layout():
    a = b'--abc\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n--abc--\r\n'
    b = a.replace(b"abc", b"xyz")
    assert body_digest("multipart/form-data; boundary=abc", a) == body_digest("multipart/form-data; boundary=xyz", b)
    assert body_digest("application/json", b'{"a": 1, "b": 2}') == body_digest("application/json", b'{"b":2,"a":1}')
    assert body_digest("application/json", b'{"a": 1}') != body_digest("application/json", b'{"a": 2}')
