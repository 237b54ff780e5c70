"""Workload: an officer names a claim's inspector (scoped to the oblast, audited); the inspector's day list by
date and place, with the owners' phones and the home's coordinates; the inspection date in the queue."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from everymetre.audit.models import AuditEvent
from tests.factories import claim_body, owner
from tests.web.conftest import web  # noqa: F401  (the page-browser fixture)

API = "/api/v1"
DAY = date.today() + timedelta(days=3)


@pytest.fixture(scope="module")
def other_inspectors(engine, users):
    """An inspector in Lviv oblast only, and a deactivated one in Kharkiv oblast (accounts last the session)."""
    from everymetre.accounts.actions import do_create_user
    from everymetre.accounts.models import User
    from everymetre.store.db import session_factory

    with session_factory(engine)() as s:
        ids = {}
        for key, email, oblasts in (("lviv", "wl.inspector.lviv@test.org", ["lvivska"]),
                                    ("gone", "wl.inspector.gone@test.org", ["kharkivska"])):
            uid = s.scalar(select(User.id).where(User.email == email))
            if uid is None:
                uid = do_create_user(s, None, email, "long enough pw", "inspector", oblasts, full_name=key).id
            ids[key] = uid
        s.get(User, ids["gone"]).is_active = False
        s.commit()
    return ids


def scheduled_claim(client, auth, street="вул. Сумська", building="12а", lat=50.0005, lon=36.2292, day=DAY):
    body = claim_body(owners=[owner("Шевченко Олена Петрівна", phone="+380 50 123-45-67", is_applicant=True)],
                      property={**claim_body()["property"], "street": street, "building": building,
                                "latitude": lat, "longitude": lon})
    c = client.post(f"{API}/claims", json=body, headers=auth("citizen")).json()
    for to, extra in (("assigned", {}), ("inspection_scheduled", {"inspection_date": day.isoformat()})):
        r = client.post(f"{API}/claims/{c['reference']}/transitions",
                        json={"to": to, "reason": "", "expected_version": c["version"], **extra}, headers=auth("officer"))
        assert r.status_code == 200, r.text
        c = r.json()
    return c


def name(client, auth, c, inspector, who="officer", expect=200):
    r = client.post(f"{API}/claims/{c['reference']}/inspector",
                    json={"inspector": inspector, "expected_version": c["version"]}, headers=auth(who))
    assert r.status_code == expect, r.text
    return r.json()


def test_officer_names_an_inspector_of_the_oblast(client, auth, db, users, other_inspectors):
    c = scheduled_claim(client, auth)
    candidates = client.get(f"{API}/claims/{c['reference']}/inspectors", headers=auth("officer")).json()
    emails = {i["email"] for i in candidates}
    assert "inspector@test.org" in emails
    assert "wl.inspector.lviv@test.org" not in emails and "wl.inspector.gone@test.org" not in emails
    out = name(client, auth, c, "inspector@test.org")
    assert out["inspector"]["id"] == users["inspector"] and out["version"] == c["version"] + 1
    assert out["inspection_date"] == DAY.isoformat()
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "claim.inspector_assigned")).all()
    assert len(events) == 1 and events[0].actor_id == users["officer"]
    assert json.loads(events[0].payload)["after"] == {"inspector_id": users["inspector"], "inspector": "inspector@test.org"}

    c = client.get(f"{API}/claims/{c['reference']}", headers=auth("officer")).json()
    assert name(client, auth, c, "wl.inspector.lviv@test.org", expect=422)["reason"] == "out_of_scope"
    assert name(client, auth, c, "wl.inspector.gone@test.org", expect=422)["reason"] == "inactive"
    assert name(client, auth, c, "commission@test.org", expect=422)["reason"] == "not_inspector"
    assert name(client, auth, c, "inspector@test.org", who="inspector", expect=403)["code"] == "role_not_allowed"
    assert name(client, auth, c, "inspector@test.org", who="officer_lviv", expect=404)
    stale = {**c, "version": c["version"] - 1}
    assert name(client, auth, stale, "inspector@test.org", expect=409)["code"] == "stale_version"


def test_only_while_waiting_for_the_inspection(client, auth):
    c = client.post(f"{API}/claims", json=claim_body(), headers=auth("citizen")).json()  # auto_checked
    assert name(client, auth, c, "inspector@test.org", expect=409)["code"] == "not_awaiting_inspection"


def test_day_list_by_place_with_phone_and_coordinates(client, auth, users):
    far = scheduled_claim(client, auth, street="вул. Шевченка", building="3", lat=49.99, lon=36.25)
    near = scheduled_claim(client, auth, street="вул. Алчевських", building="8", lat=50.001, lon=36.23)
    other_day = scheduled_claim(client, auth, day=DAY + timedelta(days=1))
    unnamed = scheduled_claim(client, auth, street="вул. Бакуліна", building="1")
    for c in (far, near, other_day):
        name(client, auth, c, "inspector@test.org")
    r = client.get(f"{API}/inspections", params={"date": DAY.isoformat()}, headers=auth("inspector"))
    assert r.status_code == 200, r.text
    visits = r.json()
    assert [v["reference"] for v in visits] == [near["reference"], far["reference"]]  # by street within the town
    assert visits[0]["owners"] == [{"full_name": "Шевченко Олена Петрівна", "phone": "+380 50 123-45-67"}]
    assert (visits[0]["latitude"], visits[0]["longitude"]) == (50.001, 36.23)
    # officers see every inspection of their oblasts that day, named or not; others' oblasts see none
    officer = client.get(f"{API}/inspections", params={"date": DAY.isoformat()}, headers=auth("officer")).json()
    assert {v["reference"] for v in officer} == {near["reference"], far["reference"], unnamed["reference"]}
    one = client.get(f"{API}/inspections", params={"date": DAY.isoformat(), "inspector": "inspector@test.org"},
                     headers=auth("officer")).json()
    assert {v["reference"] for v in one} == {near["reference"], far["reference"]}
    assert client.get(f"{API}/inspections", params={"date": DAY.isoformat()}, headers=auth("officer_lviv")).json() == []
    for who in ("commission", "auditor", "citizen"):
        assert client.get(f"{API}/inspections", headers=auth(who)).status_code == 403
    assert client.get(f"{API}/inspections", params={"date": "tomorrow"}, headers=auth("inspector")).status_code == 422


def test_pages_name_the_inspector_and_list_the_day(client, auth, web, users):  # noqa: F811
    import re

    c = scheduled_claim(client, auth)
    officer = web("officer")
    page = officer.get(f"/staff/claims/{c['reference']}").text
    assert 'id="inspector-h"' in page and f'value="{users["inspector"]}"' in page
    r = officer.post(f"/staff/claims/{c['reference']}/inspector",
                     {"inspector": str(users["inspector"]), "expected_version": str(c["version"])},
                     token_from=f"/staff/claims/{c['reference']}")
    assert r.status_code == 303, r.text
    page = officer.get(f"/staff/claims/{c['reference']}").text
    assert "Інспектор: inspector@test.org" in page
    queue = officer.get("/staff/queue?state=inspection_scheduled").text
    assert c["reference"] in queue and "Обстеження" in queue
    inspector = web("inspector")
    day = inspector.get(f"/staff/inspections?date={DAY.isoformat()}").text
    assert c["reference"] in day
    assert 'href="tel:+380501234567"' in day
    assert re.search(r'href="geo:50\.000500,36\.229200"', day)
    assert inspector.get("/staff/inspections").status_code == 200
    assert web("commission").get("/staff/inspections").status_code == 403
