"""Applicant pages end to end through HTTP: sign-up, the step-by-step form, My claims and its actions."""

from __future__ import annotations

import re
from datetime import date

from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp
from tests.factories import MINIMAL_PDF, jpeg_with_exif

HOME = {"kind": "house", "oblast": "kharkivska", "hromada": "Харків", "street": "вул. Сумська", "building": "12а",
        "apartment": "", "registry_number": "", "total_area_m2": "84,5", "rooms": "3", "year_built": "1978",
        "latitude": "50.0005", "longitude": "36.2292"}


def owner_fields(i: int, name: str, born: date, serial: int, share: str) -> dict[str, str]:
    return {f"owners-{i}-full_name": name, f"owners-{i}-birth_date": born.isoformat(),
            f"owners-{i}-rnokpp": make_rnokpp(born, serial, False), f"owners-{i}-share": share,
            f"owners-{i}-phone": "", f"owners-{i}-email": "",
            # the payout account: the first owner's is paid (claims.payout_accounts)
            f"owners-{i}-bank_code": "305299" if i == 0 else "", f"owners-{i}-iban": OWNER_IBAN if i == 0 else ""}


OWNER_IBAN = make_ua_iban("305299", 26_007_233_566_001)


def start_form(b) -> str:
    r = b.post("/apply", token_from="/apply")
    assert r.status_code == 303
    return r.headers["location"].rsplit("/", 1)[0]


def fill_claim(b, photo: bool = True) -> tuple[str, str]:
    """Fill every step; returns (form base URL, claim reference)."""
    base = start_form(b)
    r = b.post(f"{base}/home", {**HOME, "action": "continue"}, token_from=f"{base}/home")
    assert r.status_code == 303 and r.headers["location"].endswith("/owners"), r.text
    owners = {**owner_fields(0, "Шевченко Олена Петрівна", date(1980, 5, 17), 11, "1/2"),
              **owner_fields(1, "Шевченко Іван Андрійович", date(1978, 11, 2), 12, "1/2"), "action": "continue"}
    r = b.post(f"{base}/owners", owners, token_from=f"{base}/owners")
    assert r.status_code == 303 and r.headers["location"].endswith("/event"), r.text
    event = [("claim_kind", "repair_application"), ("damage_date", "2024-03-15"),
             ("description", "Вибито вікна"), ("priority_groups", "large_family"), ("previous_claim", ""),
             ("action", "continue")]
    r = b.post(f"{base}/event", event, token_from=f"{base}/event")
    assert r.status_code == 303 and r.headers["location"].endswith("/evidence"), r.text
    page = b.get(f"{base}/evidence").text
    ref = re.search(r"/files/(EM-\d{4}-\d+)/|name=\"claim\" value=\"(EM[^\"]+)\"", page)
    if photo:
        r = b.post(f"{base}/evidence", {"kind": "photo_wide"}, token_from=f"{base}/evidence",
                   files=[("files", ("house.jpg", jpeg_with_exif(), "image/jpeg"))])
        assert r.status_code == 303, r.text
        page = b.get(f"{base}/evidence").text
        ref = re.search(r"/files/(EM-\d{4}-\d+)/", page)
        assert ref
    reference = ref.group(1) if ref else ""
    return base, reference


def test_sign_up_file_claim_and_see_it(web, db):
    b = web()
    r = b.post("/signup", {"full_name": "Олена Шевченко", "email": "olena@example.org",
                           "password": "a long pass phrase", "password_again": "a long pass phrase"}, token_from="/signup")
    assert r.status_code == 303 and r.headers["location"] == "/my"
    base, ref = fill_claim(b)
    page = b.get(f"{base}/evidence").text
    # the photo's EXIF date and place are shown back for confirmation
    assert "50.00050, 36.22920" in page and "16 бер. 2024" in page and "0 м від координат житла" in page
    check = b.get(f"{base}/check").text
    assert "Шевченко Іван Андрійович" in check and "1/2" in check
    r = b.post(f"{base}/check", {}, token_from=f"{base}/check")
    assert r.status_code == 303 and r.headers["location"] == f"/my/claims/{ref}?done=submitted"
    page = b.get(f"/my/claims/{ref}").text
    assert "Отримано та автоматично перевірено" in page  # state in words, Ukrainian by default
    assert "Відкликати заяву" in page  # withdrawing is open to the claimant now
    mine = b.get("/my").text
    assert ref in mine and "Рішення має бути ухвалено до" in mine


def test_draft_is_kept_and_listed(web, db):
    from everymetre.claims.models import ClaimDraft

    b = web("citizen")
    base = start_form(b)
    r = b.post(f"{base}/home", {**HOME, "hromada": "", "action": "save"}, token_from=f"{base}/home")
    assert r.status_code == 303 and r.headers["location"] == "/my"
    assert "Незавершені" in b.get("/my").text
    draft = db.query(ClaimDraft).one()
    assert draft.data["home"]["street"] == "вул. Сумська" and draft.claim_id is None
    db.rollback()  # SQLite: a read transaction here would hold the write lock the app needs
    # continuing with a missing field shows the error next to it, with a summary linking to it
    r = b.post(f"{base}/home", {**HOME, "hromada": "", "action": "continue"}, token_from=f"{base}/home")
    assert r.status_code == 400 and 'href="#hromada"' in r.text and 'aria-invalid="true"' in r.text


def test_draft_claim_updated_then_submitted(web, db):
    from everymetre.claims.models import Claim

    b = web("citizen")
    base, _ref = fill_claim(b, photo=False)
    assert db.query(Claim).one().state == "draft"
    db.rollback()
    r = b.post(f"{base}/home", {**HOME, "street": "вул. Нова", "action": "continue"}, token_from=f"{base}/home")
    assert r.status_code == 303
    r = b.post(f"{base}/owners", {**owner_fields(0, "Шевченко Олена Петрівна", date(1980, 5, 17), 11, "1"),
                                  "action": "continue"}, token_from=f"{base}/owners")
    assert r.status_code == 303, r.text
    r = b.post(f"{base}/event", [("claim_kind", "damage_report"), ("damage_date", "2024-03-16"), ("action", "continue")],
               token_from=f"{base}/event")
    assert r.status_code == 303
    db.expire_all()
    claim = db.query(Claim).one()
    assert claim.home.street == "вул. Нова" and len(claim.owners) == 1 and claim.kind == "damage_report"
    db.rollback()
    r = b.post(f"{base}/check", {}, token_from=f"{base}/check")
    assert r.status_code == 303
    db.expire_all()
    assert db.query(Claim).one().state == "auto_checked"
    db.rollback()


def test_co_owner_rows_added_and_removed_without_js(web):
    b = web("citizen")
    base = start_form(b)
    b.post(f"{base}/home", {**HOME, "action": "continue"}, token_from=f"{base}/home")
    row0 = owner_fields(0, "Шевченко Олена Петрівна", date(1980, 5, 17), 11, "1")
    r = b.post(f"{base}/owners", {**row0, "action": "add"}, token_from=f"{base}/owners")
    assert r.status_code == 200 and 'id="owners-1-full_name"' in r.text and "autofocus" in r.text
    row1 = owner_fields(1, "Шевченко Іван", date(1978, 11, 2), 12, "1/2")
    r = b.post(f"{base}/owners", {**row0, **row1, "action": "remove-1"}, token_from=f"{base}/owners")
    assert 'id="owners-1-full_name"' not in r.text
    # shares that do not add up to 1 are refused with the domain's reason, in Ukrainian
    r = b.post(f"{base}/owners", {**owner_fields(0, "Шевченко Олена Петрівна", date(1980, 5, 17), 11, "1/2"),
                                  "action": "continue"}, token_from=f"{base}/owners")
    assert r.status_code == 400 and "1/2" in r.text and "частки" in r.text.lower()


def test_bad_upload_is_refused_with_a_reason(web):
    b = web("citizen")
    base, _ = fill_claim(b, photo=False)
    r = b.post(f"{base}/evidence", {"kind": "photo"}, token_from=f"{base}/evidence",
               files=[("files", ("x.jpg", b"not an image at all", "image/jpeg"))])
    assert r.status_code == 400 and "x.jpg" in r.text
    r = b.post(f"{base}/evidence", {"kind": "document"}, token_from=f"{base}/evidence",
               files=[("files", ("act.pdf", MINIMAL_PDF, "application/pdf"))])
    assert r.status_code == 303


def test_claimant_answers_request_for_documents_and_appeals(web, db, client, auth):
    from tests.store.test_claims_api import ACT, file_claim, move

    c = file_claim(client, auth, "citizen")
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "officer", c, "suspended", documents_requested=["Витяг з реєстру"])
    b = web("citizen")
    ref = c["reference"]
    page = b.get(f"/my/claims/{ref}").text
    assert "Витяг з реєстру" in page and "Надішліть документи до" in page
    r = b.post(f"/my/claims/{ref}/evidence", {"kind": "document"}, token_from=f"/my/claims/{ref}",
               files=[("files", ("vytiah.pdf", MINIMAL_PDF, "application/pdf"))])
    assert r.status_code == 303
    r = b.post(f"/my/claims/{ref}/move", {"to": "assigned", "expected_version": c["version"], "reason": "Додала витяг"},
               token_from=f"/my/claims/{ref}")
    assert r.status_code == 303, r.text
    c = client.get(f"/api/v1/claims/{ref}", headers=auth("officer")).json()
    assert c["state"] == "assigned"
    c = move(client, auth, "inspector", c, "inspection_scheduled")
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    c = move(client, auth, "officer", c, "assessed")
    c = move(client, auth, "commission", c, "rejected", decision={"reasons": "Не підтверджено"})
    page = b.get(f"/my/claims/{ref}").text
    assert "Відмовлено" in page and "Не підтверджено" in page and "Ви можете оскаржити до" in page
    # an appeal needs its grounds: the domain says so and nothing changes
    r = b.post(f"/my/claims/{ref}/move", {"to": "appealed", "expected_version": c["version"], "reason": ""},
               token_from=f"/my/claims/{ref}")
    assert r.status_code == 400
    r = b.post(f"/my/claims/{ref}/move", {"to": "appealed", "expected_version": c["version"], "reason": "Не враховано двері"},
               token_from=f"/my/claims/{ref}")
    assert r.status_code == 303
    assert "Розглядається скарга" in b.get(f"/my/claims/{ref}").text


def test_claimant_never_sees_anothers_claim(web, client, auth):
    from tests.store.test_claims_api import file_claim

    c = file_claim(client, auth, "citizen")
    ref = c["reference"]
    owner = web("citizen")
    page = owner.get(f"/my/claims/{ref}").text
    photo = client.post(f"/api/v1/claims/{ref}/evidence", headers=auth("citizen"),
                        files={"file": ("p.jpg", jpeg_with_exif(), "image/jpeg")}).json()
    assert ref in page
    other = web("citizen2")
    for url in (f"/my/claims/{ref}", f"/files/{ref}/{photo['id']}", f"/staff/claims/{ref}"):
        r = other.get(url)
        assert r.status_code in (403, 404), url
    assert other.get(f"/my/claims/{ref}").status_code == 404
    assert other.get(f"/files/{ref}/{photo['id']}").status_code == 404
    r = other.post(f"/my/claims/{ref}/move", {"to": "withdrawn", "expected_version": c["version"]}, token_from="/my")
    assert r.status_code == 404
    assert ref not in other.get("/my").text
    # nor another's unfinished form
    form_url = start_form(owner)
    assert other.get(f"{form_url}/home").status_code == 404
    assert owner.get(f"/files/{ref}/{photo['id']}").status_code == 200


def test_csrf_and_cookies(web):
    b = web()
    r = b.client.post("/signin", data={"email": "citizen@test.org", "password": "correct horse battery"},
                      follow_redirects=False)
    assert r.status_code == 403  # no token
    r = b.client.post("/signin", data={"email": "citizen@test.org", "password": "correct horse battery",
                                       "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    r = b.post("/signin", {"email": "citizen@test.org", "password": "correct horse battery"},
               headers={"origin": "https://evil.example"})
    assert r.status_code == 403
    r = b.post("/signin", {"email": "citizen@test.org", "password": "correct horse battery"})
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = web()
    https.client.base_url = https.client.base_url.copy_with(scheme="https")
    r = https.get("/signin")
    assert "Secure" in r.headers["set-cookie"]
    # a token from before sign-in is not valid after it (fresh session)
    old = b.token("/my")
    b.post("/signout", token_from="/my")
    r = b.client.post("/signout", data={"csrf_token": old}, follow_redirects=False)
    assert r.status_code == 403


def test_wrong_password_and_open_redirects(web):
    b = web()
    r = b.post("/signin", {"email": "citizen@test.org", "password": "nope nope nope"})
    assert r.status_code == 400 and "пароль" in r.text
    r = b.post("/signin", {"email": "citizen@test.org", "password": "correct horse battery", "next": "//evil.example/"})
    assert r.headers["location"] == "/my"
    assert b.get("/lang/en?next=https://evil.example", follow_redirects=False).headers["location"] == "/"


def test_language_switch_is_remembered(web):
    b = web("citizen")
    assert 'lang="uk"' in b.get("/my").text
    r = b.get("/lang/en?next=/my", follow_redirects=False)
    assert r.headers["location"] == "/my" and "em_lang=en" in r.headers["set-cookie"]
    page = b.get("/my").text
    assert 'lang="en"' in page and "My claims" in page and "Українською" in page


def test_signed_out_pages_redirect_to_sign_in(web):
    b = web()
    r = b.get("/my", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fmy"
    assert b.get("/nope").status_code == 404 and "<html" in b.get("/nope").text
    assert b.get("/api/v1/nope").headers["content-type"] == "application/problem+json"


def test_claim_form_page_weight(web):
    b = web("citizen")
    base = start_form(b)
    total = 0
    for url in (f"{base}/home", f"{base}/owners"):
        page = b.get(url)
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
        weight = len(page.content) + sum(len(b.get(a).content) for a in assets)
        total = max(total, weight)
    assert total < 150 * 1024, total
    page = b.get(f"{base}/home")
    assert "<script>" not in page.text and " style=" not in page.text  # CSP: no inline script or style
    assert "http://" not in page.text.replace("http://www.w3.org", "") and "https://" not in page.text
