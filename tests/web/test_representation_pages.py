"""The pages for who acts for whom, through HTTP: confirming one's identity and then seeing the claims filed for
one ("Подано в ЦНАП"); filing as a representative on the claim form; the officer's check of the power of attorney
on the staff claim page; and the admin's account search, case-insensitive in Cyrillic on both stores."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select

from everymetre.accounts.actions import do_create_user
from everymetre.accounts.roster import list_users
from everymetre.claims.models import Claim, PowerOfAttorney
from everymetre.kernel.identifiers import make_rnokpp
from tests.conftest import PASSWORD
from tests.factories import claim_body, owner, representative
from tests.web.test_citizen_pages import HOME, owner_fields, start_form

API = "/api/v1"
BORN = date(1972, 3, 9)


def signed_in_claimant(web, db):
    email = f"web.{uuid.uuid4().hex[:10]}@test.org"
    do_create_user(db, None, email, PASSWORD, "claimant", full_name="Бондар Олена")
    b = web()
    r = b.post("/signin", {"email": email, "password": PASSWORD})
    assert r.status_code == 303
    return b


def test_confirm_identity_then_see_the_claim_filed_at_a_service_centre(web, db, client, auth):
    person = make_rnokpp(BORN, 81, False)
    filed = client.post(f"{API}/claims", headers=auth("officer"), json=claim_body(
        owners=[owner("Бондар Олена Іванівна", BORN, rnokpp=person, is_applicant=True)])).json()
    ref = filed["reference"]
    b = signed_in_claimant(web, db)
    page = b.get("/my").text
    assert ref not in page and "Підтвердьте свою особу" in page
    page = b.get("/account/identity")
    assert page.status_code == 200 and 'lang="uk"' in page.text and "Ваш податковий номер (РНОКПП)" in page.text
    wrong = b.post("/account/identity", {"rnokpp": person, "birth_date": (BORN + timedelta(days=2)).isoformat()},
                   token_from="/account/identity")
    assert wrong.status_code == 400 and "не збігаються з нашими записами" in wrong.text
    unknown = b.post("/account/identity", {"rnokpp": make_rnokpp(BORN, 982, False), "birth_date": BORN.isoformat()},
                     token_from="/account/identity")
    assert unknown.status_code == 400 and "не збігаються з нашими записами" in unknown.text
    typo = b.post("/account/identity", {"rnokpp": "1234567890", "birth_date": BORN.isoformat()},
                  token_from="/account/identity")
    assert typo.status_code == 400 and "контрольна цифра" in typo.text.lower()
    empty = b.post("/account/identity", {"rnokpp": "", "birth_date": ""}, token_from="/account/identity")
    assert empty.status_code == 400 and "Заповніть" in empty.text
    ok = b.post("/account/identity", {"rnokpp": person, "birth_date": BORN.isoformat()}, token_from="/account/identity")
    assert ok.status_code == 303 and ok.headers["location"] == "/account/identity?done=verified"
    page = b.get("/account/identity?done=verified").text
    assert "Вашу особу підтверджено" in page and person not in page  # the number masked
    page = b.get("/my").text
    assert ref in page and "Подано в ЦНАП." in page and "Підтвердьте свою особу" not in page
    assert "Подано в ЦНАП." in b.get(f"/my/claims/{ref}").text
    other = signed_in_claimant(web, db)
    taken = other.post("/account/identity", {"rnokpp": person, "birth_date": BORN.isoformat()},
                       token_from="/account/identity")
    assert taken.status_code == 409 and "вже підтверджено в іншому обліковому записі" in taken.text
    assert web("officer").get("/account/identity").status_code == 403


def _rep_fields(**kw: str) -> dict[str, str]:
    rep = representative()
    fields = {f"rep-{k}": str(rep.get(k) or "") for k in ("full_name", "rnokpp", "phone", "document_type",
                                                          "document_number", "issued_on", "valid_until", "notary_name")}
    return {**fields, "rep-email": "", **{f"rep-{k}": v for k, v in kw.items()}}


def test_file_as_a_representative_on_the_claim_form(web, db):
    b = signed_in_claimant(web, db)
    base = start_form(b)
    b.post(f"{base}/home", {**HOME, "action": "continue"}, token_from=f"{base}/home")
    page = b.get(f"{base}/owners").text
    assert "Я дію від імені власника за довіреністю" in page and "Серія та номер бланка" in page
    owners = {**owner_fields(0, "Мельник Ганна Степанівна", BORN, 83, "1"), "representative": "yes",
              "action": "continue"}
    missing = b.post(f"{base}/owners", {**owners, **_rep_fields(document_number="", notary_name="")},
                     token_from=f"{base}/owners")
    assert missing.status_code == 400 and 'id="rep-document_number-error"' in missing.text
    expired = b.post(f"{base}/owners", {**owners, **_rep_fields(
        issued_on=(date.today() - timedelta(days=800)).isoformat(),
        valid_until=(date.today() - timedelta(days=1)).isoformat())}, token_from=f"{base}/owners")
    assert expired.status_code == 400 and "Строк дії цієї довіреності минув" in expired.text
    r = b.post(f"{base}/owners", {**owners, **_rep_fields()}, token_from=f"{base}/owners")
    assert r.status_code == 303 and r.headers["location"].endswith("/event"), r.text
    event = [("claim_kind", "repair_application"), ("damage_date", "2024-03-15"), ("description", "Вибито вікна"),
             ("previous_claim", ""), ("action", "continue")]
    assert b.post(f"{base}/event", event, token_from=f"{base}/event").status_code == 303
    check = b.get(f"{base}/check").text
    assert "Ви подаєте заяву як представник власників." in check and "НРМ 123456" in check
    # back to "I am an owner" and again: the draft claim's power of attorney follows the answers
    mine = {**owners, "representative": "no"}
    assert b.post(f"{base}/owners", {**mine, **_rep_fields()}, token_from=f"{base}/owners").status_code == 303
    db.rollback()
    draft = db.scalars(select(Claim).order_by(Claim.id.desc())).first()
    assert draft is not None and draft.power_of_attorney is None and not draft.filed_as_representative
    assert b.post(f"{base}/owners", {**owners, **_rep_fields()}, token_from=f"{base}/owners").status_code == 303
    db.rollback()
    assert db.get(Claim, draft.id).power_of_attorney is not None
    r = b.post(f"{base}/check", {}, token_from=f"{base}/check")
    assert r.status_code == 303, r.text
    ref = r.headers["location"].split("/my/claims/", 1)[1].split("?", 1)[0]
    db.rollback()
    claim = db.get(Claim, int(ref.rsplit("-", 1)[1]))
    assert claim.filed_as_representative and claim.power_of_attorney is not None
    assert claim.power_of_attorney.state == "unchecked" and not any(o.is_applicant for o in claim.owners)
    page = b.get(f"/my/claims/{ref}").text
    assert "Подано вами як представником власників." in page and "Ще не перевірено" in page
    assert ref in b.get("/my").text  # in the representative's own "My claims"


def test_officer_checks_the_power_of_attorney_on_the_claim_page(web, db, client, auth):
    filed = client.post(f"{API}/claims", headers=auth("citizen"), json=claim_body(
        owners=[owner()], representative=representative())).json()
    ref = filed["reference"]
    officer = web("officer")
    page = officer.get(f"/staff/claims/{ref}").text
    assert "Представник і довіреність" in page and "Коваль Петро Іванович" in page and "Ще не перевірено" in page
    assert "Подано вами" not in page and "Подано представником Коваль Петро Іванович." in page
    no_reason = officer.post(f"/staff/claims/{ref}/power-of-attorney", {"decision": "refuse", "reason": ""},
                             token_from=f"/staff/claims/{ref}")
    assert no_reason.status_code == 400 and "Вкажіть, чому довіреність не прийнято." in no_reason.text
    no_choice = officer.post(f"/staff/claims/{ref}/power-of-attorney", {"reason": ""}, token_from=f"/staff/claims/{ref}")
    assert no_choice.status_code == 400
    r = officer.post(f"/staff/claims/{ref}/power-of-attorney", {"decision": "accept", "reason": ""},
                     token_from=f"/staff/claims/{ref}")
    assert r.status_code == 303 and "done=attorney" in r.headers["location"]
    page = officer.get(f"/staff/claims/{ref}?done=attorney").text
    assert "Перевірку довіреності записано." in page and "Прийнято посадовою особою" in page
    assert 'action="/staff/claims/' + ref + '/power-of-attorney"' not in page  # checked: no form any more
    db.rollback()
    assert db.scalar(select(PowerOfAttorney.state)) == "accepted"
    assert web("inspector").post(f"/staff/claims/{ref}/power-of-attorney", {"decision": "accept"},
                                 token_from="/staff/queue").status_code == 403


def test_expired_power_of_attorney_is_refused_on_the_page_in_words(web, db, client, auth):
    filed = client.post(f"{API}/claims", headers=auth("citizen"), json=claim_body(
        owners=[owner()], representative=representative())).json()
    ref = filed["reference"]
    from sqlalchemy import update

    db.execute(update(PowerOfAttorney).values(valid_until=date.today() - timedelta(days=3)))
    db.commit()
    officer = web("officer")
    r = officer.post(f"/staff/claims/{ref}/power-of-attorney", {"decision": "accept"}, token_from=f"/staff/claims/{ref}")
    assert r.status_code == 400 and "Цю довіреність не можна прийняти" in r.text


def test_account_search_is_case_insensitive_in_cyrillic(web, db):
    tag = uuid.uuid4().hex[:6]
    user = do_create_user(db, None, f"olena.{tag}@test.org", PASSWORD, "officer", ["kyivska"],
                          full_name=f"Олена Ковальчук-{tag}")
    for q in (f"ОЛЕНА КОВАЛЬЧУК-{tag}", f"олена ковальчук-{tag}", f"Олена Ковальчук-{tag.upper()}", f"OLENA.{tag.upper()}"):
        assert [a.id for a in list_users(db, None, q=q)] == [user.id], q
    admin = web("admin")
    for q in (f"ОЛЕНА КОВАЛЬЧУК-{tag}", f"олена ковальчук-{tag}"):
        assert f"olena.{tag}@test.org" in admin.get("/admin/users", params={"q": q}).text
    assert f"olena.{tag}@test.org" not in admin.get("/admin/users", params={"q": "ОЛЬГА"}).text
