"""The claims API end to end on a real store: the whole lifecycle by each role, access, versions, errors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import claim_body, owner

API = "/api/v1"


def file_claim(client, auth, who: str = "citizen", **overrides) -> dict:
    r = client.post(f"{API}/claims", json=claim_body(**overrides), headers=auth(who))
    assert r.status_code == 201, r.text
    return r.json()


def move(client, auth, who: str, claim: dict, to: str, expect: int = 200, **extra) -> dict:
    body = {"to": to, "reason": extra.pop("reason", f"test: {to}"), "expected_version": claim["version"], **extra}
    r = client.post(f"{API}/claims/{claim['reference']}/transitions", json=body, headers=auth(who))
    assert r.status_code == expect, r.text
    return r.json()


ACT = {"method": "on_site", "inspected_on": date.today().isoformat(), "damage_category": "moderate",
       "damaged_elements": ["вікна", "покрівля"],
       "works": [{"description": "Заміна вікна", "quantity": "3", "unit": "шт", "unit_price_kopiykas": 850_000},
                 {"description": "Ремонт покрівлі", "quantity": "12.5", "unit": "м2", "unit_price_kopiykas": 95_001}]}


def test_whole_lifecycle_by_each_role(client, auth):
    c = file_claim(client, auth)
    assert c["reference"].startswith("EM-") and c["state"] == "auto_checked"
    assert [m["to"] for m in c["available_moves"]] == ["withdrawn"]
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "officer", c, "suspended", documents_requested=["Витяг з реєстру"])
    assert c["documents_requested"] == ["Витяг з реєстру"]
    assert c["suspension_deadline"] == (date.today() + timedelta(days=30)).isoformat()
    c = move(client, auth, "citizen", c, "assigned", reason="Додала витяг")
    c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    c = move(client, auth, "officer", c, "assessed")
    # 3 x 8,500.00 + 12.5 x 950.01 = 25,500.00 + 11,875.125 -> 11,875.13 (half up) = 37,375.13 UAH
    assert c["assessed_amount_kopiykas"] == 3_737_513
    move(client, auth, "commission", c, "approved", expect=422)  # a decision needs its reasons
    c = move(client, auth, "commission", c, "approved", decision={"reasons": "Пошкодження підтверджено"})
    assert c["awarded_amount_kopiykas"] == 3_737_513
    c = move(client, auth, "citizen", c, "appealed", reason="Сума замала: не враховано двері")
    move(client, auth, "commission", c, "revised", expect=409, decision={"reasons": "same member"})
    # above the computed amount: a reason, and a third member's approval (claims.awards)
    c = move(client, auth, "commission2", c, "revised", decision={"reasons": "Враховано двері", "amount_kopiykas": 4_937_513,
                                                                  "amount_reason": "Двері не увійшли до кошторису"})
    assert c["state"] == "appealed" and c["pending_award"]["second_approval_because"] == ["above_computed"]
    r = client.post(f"{API}/claims/{c['reference']}/award-approval", json={"approve": True, "reason": "Перевірено"},
                    headers=auth("commission3"))
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["state"] == "revised" and c["awarded_amount_kopiykas"] == 4_937_513 and c["available_moves"] == []

    events = client.get(f"{API}/claims/{c['reference']}/events", headers=auth("auditor")).json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    moves = [(e["payload"].get("from"), e["payload"].get("to")) for e in events if e["action"] == "claim.transition"]
    assert moves[0] == ("draft", "submitted") and moves[-1] == ("appealed", "revised")
    assert events[0]["payload"]["after"]["owners"][0]["rnokpp"].count("*") == 6  # IDs masked in the trail


def test_segregation_inspector_cannot_decide(client, auth, users, db):
    from everymetre.claims.models import Claim

    c = file_claim(client, auth)
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "inspector", c, "inspection_scheduled")
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    c = move(client, auth, "officer", c, "assessed")
    # make the commission member the claim's inspector: the guard must refuse the decision
    claim = db.get(Claim, int(c["reference"].split("-")[-1]))
    claim.inspector_id = users["commission"]
    db.commit()
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("commission"),
                    json={"to": "approved", "reason": "", "expected_version": claim.version, "decision": {"reasons": "x"}})
    assert r.status_code == 409 and "Segregation" in r.json()["detail"]


def test_withdraw_only_before_decision(client, auth):
    c = file_claim(client, auth)
    c = move(client, auth, "citizen", c, "withdrawn", reason="Відновили самі")
    assert c["state"] == "withdrawn"
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("citizen"),
                    json={"to": "assigned", "reason": "", "expected_version": c["version"]})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"


def test_stale_version_is_409_and_changes_nothing(client, auth):
    c = file_claim(client, auth)
    stale = dict(c)
    c = move(client, auth, "officer", c, "assigned")
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("officer"),
                    json={"to": "suspended", "reason": "", "expected_version": stale["version"],
                          "documents_requested": ["x"]})
    assert r.status_code == 409 and r.json()["type"] == "/problems/stale-version"
    again = client.get(f"{API}/claims/{c['reference']}", headers=auth("officer")).json()
    assert again["state"] == "assigned" and again["version"] == c["version"]


def test_claimant_cannot_see_anothers_claim(client, auth):
    c = file_claim(client, auth, "citizen")
    ref = c["reference"]
    for path in ("", "/events", "/evidence"):
        assert client.get(f"{API}/claims/{ref}{path}", headers=auth("citizen2")).status_code == 404
    r = client.post(f"{API}/claims/{ref}/transitions", headers=auth("citizen2"),
                    json={"to": "withdrawn", "reason": "", "expected_version": c["version"]})
    assert r.status_code == 404
    assert client.get(f"{API}/claims", headers=auth("citizen2")).json()["items"] == []
    assert [i["reference"] for i in client.get(f"{API}/claims", headers=auth("citizen")).json()["items"]] == [ref]


def test_staff_scoped_to_their_oblasts(client, auth):
    c = file_claim(client, auth)  # kharkivska
    assert client.get(f"{API}/claims/{c['reference']}", headers=auth("officer_lviv")).status_code == 404
    assert client.get(f"{API}/claims/{c['reference']}", headers=auth("auditor")).status_code == 200
    assert client.get(f"{API}/claims", headers=auth("officer_lviv")).json()["items"] == []


def test_co_owner_sees_claim_filed_by_another_owner(client, auth, db, users):
    from everymetre.accounts.models import User
    from everymetre.claims.models import Person

    c = file_claim(client, auth, "citizen")
    # citizen2 is the second co-owner of a claim the first citizen files
    body = claim_body(owners=[owner(is_applicant=True, share="1/2"), owner("Шевченко Іван", date(1975, 1, 2), True, share="1/2")])
    c2 = client.post(f"{API}/claims", json=body, headers=auth("citizen")).json()
    second = body["owners"][1]["rnokpp"]
    person = db.query(Person).filter(Person.rnokpp == second).one()
    db.get(User, users["citizen2"]).person_id = person.id
    db.commit()
    assert client.get(f"{API}/claims/{c2['reference']}", headers=auth("citizen2")).status_code == 200
    assert client.get(f"{API}/claims/{c['reference']}", headers=auth("citizen2")).status_code == 404


@pytest.mark.parametrize("damage, message", [("2022-02-23", "24 February 2022"), ((date.today() + timedelta(days=1)).isoformat(), "future")])
def test_damage_date_refused_at_submission(client, auth, damage, message):
    r = client.post(f"{API}/claims", json=claim_body(damage_date=damage), headers=auth("citizen"))
    assert r.status_code == 422 and message in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "damage_date"
    # a draft may hold it, but cannot be submitted with it
    d = client.post(f"{API}/claims", json=claim_body(damage_date=damage, submit=False), headers=auth("citizen")).json()
    assert d["state"] == "draft"
    r = client.post(f"{API}/claims/{d['reference']}/transitions", headers=auth("citizen"),
                    json={"to": "submitted", "reason": "", "expected_version": d["version"]})
    assert r.status_code == 422


def test_bad_input_gets_field_paths(client, auth):
    body = claim_body()
    body["owners"][0]["rnokpp"] = "1234567890"
    body["property"]["total_area_m2"] = "-5"
    r = client.post(f"{API}/claims", json=body, headers=auth("citizen"))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.owners.0.rnokpp", "body.property.total_area_m2"} <= fields
    r = client.post(f"{API}/claims", json=claim_body(owners=[owner(share="1/2")]), headers=auth("citizen"))
    assert r.status_code == 422 and "add up to 1/2" in r.json()["detail"]
    r = client.post(f"{API}/claims", content=b"{not json", headers={**auth("citizen"), "content-type": "application/json"})
    assert r.status_code == 422


def test_roles_that_may_not_file(client, auth):
    for who in ("inspector", "commission", "payments", "auditor"):
        r = client.post(f"{API}/claims", json=claim_body(), headers=auth(who))
        assert r.status_code == 403, who


def test_unauthenticated_and_token_flow(client, users):
    assert client.get(f"{API}/claims").status_code == 401
    r = client.post(f"{API}/auth/token", data={"username": "officer@test.org", "password": "wrong password"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    r = client.post(f"{API}/auth/token", data={"username": "officer@test.org", "password": "correct horse battery"})
    token = r.json()["access_token"]
    assert client.get(f"{API}/claims", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get(f"{API}/claims", headers={"Authorization": "Bearer forged.token.here"}).status_code == 401


def test_queue_filters_and_cursor(client, auth):
    refs = [file_claim(client, auth, priority_groups=["combatant"] if i % 2 else [])["reference"] for i in range(5)]
    page = client.get(f"{API}/claims", params={"limit": 2}, headers=auth("officer")).json()
    seen = [i["reference"] for i in page["items"]]
    while page["next_cursor"]:
        page = client.get(f"{API}/claims", params={"limit": 2, "cursor": page["next_cursor"]}, headers=auth("officer")).json()
        seen += [i["reference"] for i in page["items"]]
    assert seen == refs
    pri = client.get(f"{API}/claims", params={"priority": "combatant"}, headers=auth("officer")).json()["items"]
    assert [i["reference"] for i in pri] == refs[1::2]
    assert client.get(f"{API}/claims", params={"state": "assigned"}, headers=auth("officer")).json()["items"] == []
    assert client.get(f"{API}/claims", params={"cursor": "garbage"}, headers=auth("officer")).status_code == 422
    assert client.get(f"{API}/claims", params={"priority": "vip"}, headers=auth("officer")).status_code == 422


def test_every_forbidden_move_is_refused(client, auth):
    c = file_claim(client, auth)  # auto_checked
    for to in ("approved", "inspected", "assessed", "revised", "draft", "submitted"):
        r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("commission"),
                        json={"to": to, "reason": "", "expected_version": c["version"]})
        assert r.status_code in (403, 409), (to, r.text)
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("inspector"),
                    json={"to": "assigned", "reason": "", "expected_version": c["version"]})
    assert r.status_code == 403 and "Only officer" in r.json()["detail"]


def test_repeat_damage_links_previous_claim(client, auth):
    first = file_claim(client, auth)
    second = file_claim(client, auth, previous_claim=first["reference"], damage_date="2025-01-10")
    assert second["is_redamage"] and second["previous_claim"] == first["reference"]
    r = client.post(f"{API}/claims", json=claim_body(previous_claim=first["reference"]), headers=auth("citizen2"))
    assert r.status_code == 404  # nobody links to a claim they cannot see


def test_health_and_headers(client):
    r = client.get(f"{API}/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_lapsed_suspension_goes_back_to_the_officer(client, auth):
    from typer.testing import CliRunner

    from everymetre.cli.main import app

    c = move(client, auth, "officer", file_claim(client, auth), "assigned")
    deadline = date.today() + timedelta(days=10)
    c = move(client, auth, "officer", c, "suspended", documents_requested=["Витяг"], deadline=deadline.isoformat())
    r = CliRunner().invoke(app, ["claims", "sweep", "--today", (deadline - timedelta(days=1)).isoformat()])
    assert r.exit_code == 0 and "0 suspension" in r.output
    r = CliRunner().invoke(app, ["claims", "sweep", "--today", (deadline + timedelta(days=1)).isoformat()])
    assert r.exit_code == 0 and c["reference"] in r.output, r.output
    after = client.get(f"{API}/claims/{c['reference']}", headers=auth("officer")).json()
    assert after["state"] == "assigned" and after["documents_requested"] is None
    last = client.get(f"{API}/claims/{c['reference']}/events", headers=auth("auditor")).json()[-1]
    assert last["actor_id"] is None and "deadline" in last["payload"]["reason"]
