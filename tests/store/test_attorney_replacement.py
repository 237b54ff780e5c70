"""A refused (or expired) power of attorney is replaced on the same claim, through the API on a real store: the
representative (their own) or a verified owner gives a new one, validated as at filing, audited with the old one
kept in the trail; it is unchecked again, and the claim waits for an officer's check. Everyone else is refused."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select, update

from everymetre.audit.models import AuditEvent
from everymetre.claims.models import PowerOfAttorney
from everymetre.kernel.identifiers import make_rnokpp
from tests.factories import claim_body, owner, representative
from tests.store.test_claims_api import move
from tests.store.test_identity_and_representatives import API, BORN, claimant, file, verify


def url(c: dict) -> str:
    return f"{API}/claims/{c['reference']}/representative"


def refused_claim(client, auth, rep: dict, person: str | None = None) -> dict:
    """A claim "citizen" filed as the representative, taken by the officer, its power of attorney refused."""
    owners = [owner("Мельник Ганна Степанівна", BORN, rnokpp=person)] if person else [owner()]
    c = move(client, auth, "officer", file(client, auth("citizen"), claim_body(owners=owners, representative=rep)),
             "assigned")
    r = client.post(f"{API}/claims/{c['reference']}/power-of-attorney",
                    json={"accept": False, "reason": "Строк дії довіреності сплив"}, headers=auth("officer"))
    assert r.status_code == 200, r.text
    return r.json()


def test_the_representative_replaces_a_refused_power_of_attorney(client, auth, db):
    rep = representative()
    c = refused_claim(client, auth, rep)
    assert c["representative"]["state"] == "refused"
    new = {**rep, "document_number": "НРО 654321", "issued_on": (date.today() - timedelta(days=2)).isoformat()}
    r = client.put(url(c), json=new, headers=auth("citizen"))
    assert r.status_code == 200, r.text
    got = r.json()["representative"]
    assert got["state"] == "unchecked" and got["document_number"] == "НРО 654321"
    assert got["refusal_reason"] is None and got["checked_at"] is None
    assert r.json()["state"] == "assigned"  # the claim itself does not move

    # the old document is kept in the trail, the RNOKPP masked; the claimant's own trail shows both
    db.rollback()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "claim.power_of_attorney_replaced")).one()
    payload = json.loads(event.payload)
    assert payload["from"] == "refused" and payload["to"] == "unchecked"
    assert payload["refusal_reason"] == "Строк дії довіреності сплив"
    assert payload["old"]["document_number"] == "НРМ 123456" and payload["new"]["document_number"] == "НРО 654321"
    assert rep["rnokpp"] not in event.payload
    mine = client.get(f"{API}/claims/{c['reference']}/events", headers=auth("citizen")).json()
    seen = [e for e in mine if e["action"] == "claim.power_of_attorney_replaced"]
    assert seen and seen[0]["payload"]["old"]["document_number"] == "НРМ 123456"

    # unchecked again: the claim waits for the check, which an officer then makes as for any other
    blocked = move(client, auth, "inspector", r.json(), "inspection_scheduled", expect=409,
                   inspection_date=date.today().isoformat())
    assert blocked["code"] == "power_of_attorney_unchecked"
    ok = client.post(f"{API}/claims/{c['reference']}/power-of-attorney", json={"accept": True}, headers=auth("officer"))
    assert ok.status_code == 200 and ok.json()["representative"]["state"] == "accepted"
    move(client, auth, "inspector", ok.json(), "inspection_scheduled", inspection_date=date.today().isoformat())
    # accepted and valid: it stands, the representative cannot swap it
    again = client.put(url(c), json=new, headers=auth("citizen"))
    assert again.status_code == 409 and again.json()["code"] == "power_of_attorney_not_replaceable"
    assert again.json()["state"] == "accepted"


def test_who_may_not_replace_it_and_what_is_not_replaced(client, auth, db):
    rep = representative()
    c = refused_claim(client, auth, rep)
    new = {**rep, "document_number": "НРО 111"}
    assert client.put(url(c), json=new, headers=auth("citizen2")).status_code == 404  # not theirs: not even seen
    for staff in ("officer", "inspector", "commission", "auditor", "admin"):
        r = client.put(url(c), json=new, headers=auth(staff))
        assert r.status_code == 403, (staff, r.text)  # staff check it; they do not give it
    assert client.put(url(c), json=new, headers=auth("officer_lviv")).status_code == 404
    assert client.put(url(c), json=new).status_code == 401
    _, stranger = claimant(db)
    assert client.put(url(c), json=new, headers=stranger).status_code == 404

    # validated as at filing: expired, dated in the future, expiring before its issue
    today = date.today()
    for issued, until, words in ((-400, -1, "expired on"), (3, 400, "in the future"), (-10, -20, "before its date")):
        bad = {**rep, "issued_on": (today + timedelta(days=issued)).isoformat(),
               "valid_until": (today + timedelta(days=until)).isoformat()}
        r = client.put(url(c), json=bad, headers=auth("citizen"))
        assert r.status_code == 422 and words in r.text, r.text
    # the representative gives their own, not another person's; nobody names an owner as the representative
    r = client.put(url(c), json={**new, "rnokpp": representative()["rnokpp"]}, headers=auth("citizen"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rnokpp" and r.json()["reason"] == "another_person"
    db.rollback()
    assert db.scalar(select(PowerOfAttorney.state)) == "refused"  # nothing of that was kept
    assert not db.scalars(select(AuditEvent).where(AuditEvent.action == "claim.power_of_attorney_replaced")).all()

    # an unchecked one still valid waits for its check; a claim without one has nothing to replace
    fresh = file(client, auth("citizen"), claim_body(owners=[owner()], representative=rep))
    r = client.put(url(fresh), json=new, headers=auth("citizen"))
    assert r.status_code == 409 and r.json()["code"] == "power_of_attorney_not_replaceable"
    plain = file(client, auth("citizen"), claim_body(owners=[owner()], filed_as_representative=True))
    assert client.put(url(plain), json=new, headers=auth("citizen")).status_code == 404
    # a withdrawn claim is closed: its power of attorney is not replaced
    w = move(client, auth, "citizen", c, "withdrawn")
    r = client.put(url(w), json=new, headers=auth("citizen"))
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"


def test_an_expired_accepted_one_is_replaced_and_a_verified_owner_names_another_representative(client, auth, db):
    person = make_rnokpp(BORN, 83, False)
    rep = representative()
    c = move(client, auth, "officer", file(client, auth("citizen"), claim_body(
        owners=[owner("Мельник Ганна Степанівна", BORN, rnokpp=person)], representative=rep)), "assigned")
    ok = client.post(f"{API}/claims/{c['reference']}/power-of-attorney", json={"accept": True}, headers=auth("officer"))
    assert ok.status_code == 200
    db.execute(update(PowerOfAttorney).values(valid_until=date.today() - timedelta(days=1)))  # it expired since
    db.commit()
    _, owner_account = claimant(db)
    assert client.put(url(c), json=rep, headers=owner_account).status_code == 404  # not yet verified: not seen
    verify(client, owner_account, person, BORN)
    bad = client.put(url(c), json={**rep, "rnokpp": person}, headers=owner_account)  # an owner is no representative
    assert bad.status_code == 422 and bad.json()["reason"] == "owner"
    other = representative(full_name="Шевченко Ірина Олегівна", document_number="ННК 777000")
    r = client.put(url(c), json=other, headers=owner_account)
    assert r.status_code == 200, r.text
    assert r.json()["representative"]["full_name"] == "Шевченко Ірина Олегівна"
    assert r.json()["representative"]["state"] == "unchecked"
    db.rollback()
    payload = json.loads(db.scalars(select(AuditEvent.payload)
                                    .where(AuditEvent.action == "claim.power_of_attorney_replaced")).one())
    assert payload["from"] == "accepted" and payload["old"]["full_name"] == "Коваль Петро Іванович"
    # the claim waits again for the check before it is verified further
    blocked = move(client, auth, "inspector", r.json(), "inspection_scheduled", expect=409,
                   inspection_date=date.today().isoformat())
    assert blocked["code"] == "power_of_attorney_unchecked"


def test_the_documented_example_replaces_a_refused_one(client, auth):
    """The OpenAPI example of the request body (RepresentativeIn) works on the route as documented."""
    example = client.get("/openapi.json").json()["components"]["schemas"]["RepresentativeIn"]["examples"][0]
    c = refused_claim(client, auth, {**representative(), "rnokpp": example["rnokpp"]})
    r = client.put(url(c), json=example, headers=auth("citizen"))
    assert r.status_code == 200, r.text
    assert r.json()["representative"]["document_number"] == example["document_number"]
    assert r.json()["representative"]["state"] == "unchecked"
