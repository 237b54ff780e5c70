"""The certificate API as a notary's system uses it: file a booking, read its queue position, the fund, record
the end of ownership and the contract; the public check (no sign-in) with 429 and Retry-After past the limit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from everymetre.claims.models import Person
from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp
from everymetre.payments import ledger
from everymetre.payments.models import Certificate
from everymetre.store.tx import atomic
from tests.payments.store_helpers import decided_claim

API = "/api/v1"


def test_notary_system_books_and_records_through_the_api(client, auth, db, users):
    claim = decided_claim(db, users["commission"], 180_000_000, kind="destroyed_housing_application",
                          submitted_by=users["citizen"], owners=[("Ткач Олена", 1, 1)])
    with atomic(db):
        person = claim.owners[0].person
        person.birth_date, person.rnokpp = date(1958, 6, 7), make_rnokpp(date(1958, 6, 7), 3, False)
        ledger.post_decision(db, claim, users["commission"])
    cert = db.scalar(select(Certificate).where(Certificate.claim_id == claim.id))
    rnokpp = db.get(Person, cert.holder_person_id).rnokpp
    number = cert.number
    db.rollback()
    body = {"certificates": [{"number": number, "holder_rnokpp": rnokpp}], "seller_name": "Бойко Андрій",
            "seller_rnokpp": make_rnokpp(date(1970, 1, 1), 9, True), "seller_iban": make_ua_iban("305299", 26_000_555),
            "property_registry_number": "161803", "property_address": "Львів, вул. Зелена, 3", "property_katottg":
            "UA46060250010015970", "property_area_m2": "48.20", "property_kind": "apartment", "price_kopiykas": 180_000_000}
    r = client.post(f"{API}/reservations", json=body, headers=auth("notary"))
    assert r.status_code == 201, r.text
    res = r.json()
    assert (res["state"], res["queue_position"], res["ahead_kopiykas"]) == ("queued", 1, 0)
    assert client.post(f"{API}/reservations", json=body, headers=auth("notary")).status_code == 409  # booked already
    bad = {**body, "property_katottg": "UA14160000000000000"}
    r = client.post(f"{API}/reservations", json=bad, headers=auth("notary"))
    assert r.status_code == 409 and r.json()["code"] in ("home_excluded", "certificate_not_usable")
    assert client.get(f"{API}/reservations/{res['id']}", headers=auth("notary2")).status_code == 404
    assert client.get(f"{API}/fund", headers=auth("notary")).status_code == 403
    r = client.post(f"{API}/fund/allocations", json={"amount_kopiykas": 200_000_000, "reference": "UKR-1"},
                    headers=auth("payments"))
    assert r.status_code == 201 and r.json()["confirmed"] == 1, r.text
    fund = client.get(f"{API}/fund", headers=auth("auditor")).json()
    assert (fund["balance_kopiykas"], fund["queued"]) == (20_000_000, 0)
    rid = res["id"]
    today = date.today().isoformat()
    r = client.post(f"{API}/reservations/{rid}/ownership-termination", json={"extract": "Витяг 2718", "extract_on": today},
                    headers=auth("notary"))
    assert r.status_code == 200 and r.json()["state"] == "ownership_terminated", r.text
    r = client.post(f"{API}/reservations/{rid}/contracts", json={"contract_number": "Д-77", "signed_on": today},
                    headers=auth("notary"))
    assert r.status_code == 200 and r.json()["certificates"][0]["to_pay_kopiykas"] == 180_000_000, r.text
    # the public check: no sign-in
    ok = client.post(f"{API}/public/certificate-check", json={"number": number, "birth_date": "1958-06-07"})
    assert ok.status_code == 200 and ok.json()["status"] == "reserved" and set(ok.json()) == {
        "number", "status", "value_kopiykas", "issued_on", "valid_until"}
    wrong = client.post(f"{API}/public/certificate-check", json={"number": number, "birth_date": "1958-06-08"})
    unknown = client.post(f"{API}/public/certificate-check", json={"number": "HC-2026-0000009-9", "birth_date": "1958-06-07"})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json()["detail"] == unknown.json()["detail"]
    for _ in range(30):
        r = client.post(f"{API}/public/certificate-check", json={"number": number, "birth_date": "1958-06-07"})
        if r.status_code == 429:
            break
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
