"""Verified identity and representatives through the API on a real store: a person verified by RNOKPP and the
second factor sees every claim naming them (filed at a service centre, by a representative, imported, as a
co-owner); a representative's power of attorney is checked by an officer before the claim can be verified."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from everymetre.accounts.actions import do_create_user
from everymetre.api.security import issue_token
from everymetre.audit.models import AuditEvent
from everymetre.claims.models import Claim, PowerOfAttorney
from everymetre.config import get_settings
from everymetre.kernel.identifiers import make_rnokpp
from tests.conftest import PASSWORD
from tests.factories import claim_body, owner, representative
from tests.payments.store_helpers import ensure_user
from tests.store.test_claims_api import ACT, move

API = "/api/v1"
BORN = date(1969, 8, 24)


def claimant(db) -> tuple[int, dict[str, str]]:
    """A fresh claimant account (accounts outlive a test) and its API header."""
    user = do_create_user(db, None, f"person.{uuid.uuid4().hex[:10]}@test.org", PASSWORD, "claimant")
    return user.id, {"Authorization": f"Bearer {issue_token(db, get_settings(), user.id)}"}


def file(client, headers, body: dict, expect: int = 201) -> dict:
    r = client.post(f"{API}/claims", json=body, headers=headers)
    assert r.status_code == expect, r.text
    return r.json()


def refs(client, headers) -> set[str]:
    r = client.get(f"{API}/claims", headers=headers)
    assert r.status_code == 200, r.text
    return {c["reference"] for c in r.json()["items"]}


def verify(client, headers, rnokpp: str, born: date, expect: int = 200) -> dict:
    r = client.post(f"{API}/me/identity", json={"rnokpp": rnokpp, "birth_date": born.isoformat()}, headers=headers)
    assert r.status_code == expect, r.text
    return r.json()


# ---------------------------------------------------------------------------------------------- verified identity


def test_verified_person_sees_claims_filed_for_them_everywhere(client, auth, db):
    person = make_rnokpp(BORN, 41, False)
    at_centre = file(client, auth("officer"), claim_body(owners=[owner("Бондар Олена Іванівна", BORN, rnokpp=person,
                                                                       is_applicant=True)]))
    co_owned = file(client, auth("citizen2"), claim_body(owners=[
        owner("Бондар Петро Іванович", date(1966, 1, 2), share="1/2", is_applicant=True),
        owner("Бондар Олена Іванівна", BORN, share="1/2", rnokpp=person)]))
    draft = file(client, auth("citizen2"), claim_body(submit=False, owners=[owner("Бондар Олена Іванівна", BORN,
                                                                                  rnokpp=person, is_applicant=True)]))
    imported = file(client, auth("officer"), claim_body(owners=[owner("Бондар Олена Іванівна", BORN, rnokpp=person,
                                                                      is_applicant=True)]))
    db.execute(update(Claim).where(Claim.id == int(imported["reference"].rsplit("-", 1)[1]))
               .values(channel="import", submitted_by_id=None, source="register", source_record_id="R-1"))
    db.commit()
    uid, me = claimant(db)
    assert refs(client, me) == set()
    assert client.get(f"{API}/claims/{at_centre['reference']}", headers=me).status_code == 404
    assert client.get(f"{API}/me/identity", headers=me).json()["verified"] is False

    wrong = verify(client, me, person, BORN + timedelta(days=1), expect=422)
    unknown = verify(client, me, make_rnokpp(BORN, 977, False), BORN, expect=422)
    assert wrong["code"] == unknown["code"] == "identity_not_matched" and wrong["detail"] == unknown["detail"]
    bad = verify(client, me, "1234567890", BORN, expect=422)  # a malformed number names no one: its own answer
    assert bad["code"] == "validation"

    done = verify(client, me, person, BORN)
    assert done["verified"] is True and done["through"] == "birth_date" and person not in str(done)
    assert refs(client, me) == {at_centre["reference"], co_owned["reference"], imported["reference"]}
    assert draft["reference"] not in refs(client, me)  # someone else's draft is theirs until submitted
    seen = client.get(f"{API}/claims/{at_centre['reference']}", headers=me).json()
    assert seen["channel"] == "cnap"
    db.rollback()
    events = db.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{uid}").order_by(AuditEvent.seq)).all()
    assert [e.action for e in events][-1] == "user.identity_verified"
    assert json.loads(events[-1].payload)["through"] == "birth_date" and person not in events[-1].payload
    # a co-owner sees the claimant-facing trail only: no automatic-check results, no staff ids
    trail = client.get(f"{API}/claims/{co_owned['reference']}/events", headers=me).json()
    assert trail and all("checks" not in e["payload"] and e["hash"] is None for e in trail)
    # the same person on another account: refused, whatever it answers right
    _, other = claimant(db)
    taken = verify(client, other, person, BORN, expect=409)
    assert taken["code"] == "identity_taken"
    assert refs(client, other) == set()
    assert verify(client, me, person, BORN)["verified"] is True  # again: nothing changes
    assert verify(client, me, make_rnokpp(BORN, 42, True), BORN, expect=422)["code"] == "identity_not_matched"


def test_failed_verifications_are_throttled_like_sign_in(client, db):
    _, me = claimant(db)
    person = make_rnokpp(BORN, 51, False)
    limit = get_settings().signin_max_failures_account
    for _ in range(limit):
        verify(client, me, person, BORN, expect=422)
    r = client.post(f"{API}/me/identity", json={"rnokpp": person, "birth_date": BORN.isoformat()}, headers=me)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_staff_cannot_verify_an_identity(client, auth):
    r = client.post(f"{API}/me/identity", json={"rnokpp": make_rnokpp(BORN, 3, False), "birth_date": BORN.isoformat()},
                    headers=auth("officer"))
    assert r.status_code == 403


def test_identity_provider_vouches_for_the_rnokpp_at_sign_in(db):
    from everymetre.accounts.models import User
    from everymetre.accounts.oidc import do_oidc_sign_in

    settings = replace(get_settings(), identity_second_factor="oidc", oidc_create_claimants=True,
                       oidc_issuer="https://id.example", oidc_client_id="em")
    person = make_rnokpp(BORN, 61, False)
    tag = uuid.uuid4().hex[:8]
    claims = {"iss": "https://id.example", "sub": f"a-{tag}", "email": f"a.{tag}@test.org", "email_verified": True,
              "rnokpp": person}
    user, _ = do_oidc_sign_in(db, settings, claims)
    db.refresh(user)
    assert user.verified_rnokpp == person and user.verified_through == "oidc"
    # a second provider account carrying the same person: signs in, but is not verified (recorded)
    second, _ = do_oidc_sign_in(db, settings, {**claims, "sub": f"b-{tag}", "email": f"b.{tag}@test.org"})
    db.refresh(second)
    assert second.verified_rnokpp is None
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.chain == f"user:{second.id}")).all()
    assert "user.identity_refused" in actions
    # a number without its check digit is no identity
    third, _ = do_oidc_sign_in(db, settings, {**claims, "sub": f"c-{tag}", "email": f"c.{tag}@test.org",
                                              "rnokpp": "1234567890"})
    assert db.get(User, third.id).verified_rnokpp is None
    # with the birth-date factor the provider's claim verifies nothing
    fourth, _ = do_oidc_sign_in(db, replace(settings, identity_second_factor="birth_date"),
                                {**claims, "sub": f"d-{tag}", "email": f"d.{tag}@test.org",
                                 "rnokpp": make_rnokpp(BORN, 62, False)})
    assert db.get(User, fourth.id).verified_rnokpp is None


# ---------------------------------------------------------------------------------------------- representatives


def test_representative_files_and_the_officer_checks_the_power_of_attorney(client, auth, db):
    person = make_rnokpp(BORN, 71, False)
    body = claim_body(owners=[owner("Мельник Ганна Степанівна", BORN, rnokpp=person)], representative=representative())
    c = file(client, auth("citizen"), body)
    rep = c["representative"]
    assert c["filed_as_representative"] is True and rep["state"] == "unchecked"
    assert rep["full_name"] == "Коваль Петро Іванович" and rep["rnokpp_masked"] != body["representative"]["rnokpp"]
    assert c["reference"] in refs(client, auth("citizen"))  # the representative's own "My claims"
    db.rollback()
    created = db.scalars(select(AuditEvent).where(AuditEvent.action == "claim.created").order_by(AuditEvent.id)).all()[-1]
    assert json.loads(created.payload)["after"]["representative"]["document_number"] == "НРМ 123456"
    assert body["representative"]["rnokpp"] not in created.payload

    c = move(client, auth, "officer", c, "assigned")
    blocked = move(client, auth, "inspector", c, "inspection_scheduled", expect=409,
                   inspection_date=date.today().isoformat())
    assert blocked["code"] == "power_of_attorney_unchecked"
    blocked = move(client, auth, "inspector", c, "remote_verified", expect=409,
                   inspection_act={**ACT, "method": "remote_satellite"})
    assert blocked["code"] == "power_of_attorney_unchecked"
    url = f"{API}/claims/{c['reference']}/power-of-attorney"
    assert client.post(url, json={"accept": True}, headers=auth("citizen")).status_code == 403
    assert client.post(url, json={"accept": True}, headers=auth("inspector")).status_code == 403
    assert client.post(url, json={"accept": True}, headers=auth("officer_lviv")).status_code == 404
    no_reason = client.post(url, json={"accept": False}, headers=auth("officer"))
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    r = client.post(url, json={"accept": False, "reason": "Довіреність не на цей об'єкт"}, headers=auth("officer"))
    assert r.status_code == 200, r.text
    assert r.json()["representative"]["state"] == "refused"
    again = client.post(url, json={"accept": True}, headers=auth("officer"))
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    c = r.json()
    move(client, auth, "inspector", c, "inspection_scheduled", expect=409, inspection_date=date.today().isoformat())
    # the withdrawal and the request for documents stay open to a refused one
    move(client, auth, "officer", c, "suspended", documents_requested=["Нова довіреність"])
    db.rollback()  # a fresh snapshot: the API wrote since this session last read
    checked = db.scalars(select(AuditEvent.payload).where(AuditEvent.action == "claim.power_of_attorney_checked")).all()
    assert [json.loads(p)["to"] for p in checked] == ["refused"]
    assert json.loads(checked[0])["reason"] == "Довіреність не на цей об'єкт"

    # accepted: the claim is verified on as any other; the owner, once verified, sees who filed for them
    c = file(client, auth("citizen"), claim_body(owners=[owner("Мельник Ганна Степанівна", BORN, rnokpp=person)],
                                                representative=representative()))
    c = move(client, auth, "officer", c, "assigned")
    r = client.post(f"{API}/claims/{c['reference']}/power-of-attorney", json={"accept": True}, headers=auth("officer"))
    assert r.status_code == 200 and r.json()["representative"]["state"] == "accepted"
    move(client, auth, "inspector", r.json(), "inspection_scheduled", inspection_date=date.today().isoformat())
    _, owner_account = claimant(db)
    verify(client, owner_account, person, BORN)
    seen = client.get(f"{API}/claims/{c['reference']}", headers=owner_account).json()
    assert seen["representative"]["full_name"] == "Коваль Петро Іванович"


@pytest.mark.parametrize(("issued", "until", "words"), [
    (-400, -1, "expired on"), (3, 400, "in the future"), (-10, -20, "before its date of issue")])
def test_expired_or_future_dated_power_of_attorney_is_refused_at_filing(client, auth, issued, until, words):
    today = date.today()
    rep = representative(issued_on=(today + timedelta(days=issued)).isoformat(),
                         valid_until=(today + timedelta(days=until)).isoformat())
    r = client.post(f"{API}/claims", json=claim_body(owners=[owner()], representative=rep), headers=auth("citizen"))
    assert r.status_code == 422 and words in r.text


def test_representative_block_must_not_name_an_owner_or_an_applicant(client, auth):
    o = owner()
    bad = client.post(f"{API}/claims", json=claim_body(owners=[o], representative=representative(rnokpp=o["rnokpp"])),
                      headers=auth("citizen"))
    assert bad.status_code == 422 and "one of the owners" in bad.text
    bad = client.post(f"{API}/claims", json=claim_body(representative=representative()), headers=auth("citizen"))
    assert bad.status_code == 422 and "no owner as the applicant" in bad.text


def test_a_power_of_attorney_expired_since_filing_cannot_be_accepted(client, auth, db):
    c = file(client, auth("citizen"), claim_body(owners=[owner()], representative=representative()))
    db.execute(update(PowerOfAttorney).values(valid_until=date.today() - timedelta(days=1)))
    db.commit()
    r = client.post(f"{API}/claims/{c['reference']}/power-of-attorney", json={"accept": True}, headers=auth("officer"))
    assert r.status_code == 422 and r.json()["code"] == "power_of_attorney_not_valid" and "expired" in r.json()["detail"]
    db.rollback()
    assert db.scalar(select(PowerOfAttorney.state)) == "unchecked"


def test_the_officer_who_filed_for_a_representative_does_not_check_it(client, auth, db):
    c = file(client, auth("officer"), claim_body(owners=[owner()], representative=representative()))
    r = client.post(f"{API}/claims/{c['reference']}/power-of-attorney", json={"accept": True}, headers=auth("officer"))
    assert r.status_code == 409 and r.json()["code"] == "segregation_filed"
    other = ensure_user(db, "officer.second@test.org", "officer", ["kharkivska"])
    header = {"Authorization": f"Bearer {issue_token(db, get_settings(), other)}"}
    r = client.post(f"{API}/claims/{c['reference']}/power-of-attorney", json={"accept": True}, headers=header)
    assert r.status_code == 200, r.text


def test_existing_clients_keep_working(client, auth):
    """No representative block: as before; the old flag alone still files (nothing to check, no guard)."""
    c = file(client, auth("citizen"), claim_body(owners=[owner()], filed_as_representative=True))
    assert c["filed_as_representative"] is True and c["representative"] is None
    c = move(client, auth, "officer", c, "assigned")
    move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
    r = client.post(f"{API}/claims/{c['reference']}/power-of-attorney", json={"accept": True}, headers=auth("officer"))
    assert r.status_code == 404
