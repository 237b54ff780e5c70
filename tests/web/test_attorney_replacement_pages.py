"""Replacing a refused power of attorney through the pages: the representative's claim page offers it once an
officer refused the document, the form (in Ukrainian) says what is wrong in words, and the officer's queue and
claim page show the new one waiting for the check."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from everymetre.claims.models import PowerOfAttorney
from tests.factories import claim_body, owner, representative

API = "/api/v1"


def _fields(rep: dict, **kw: str) -> dict[str, str]:
    return {f"rep-{k}": v for k, v in {**rep, **kw}.items() if k != "birth_date"}


def test_refused_power_of_attorney_is_replaced_on_the_claim_page(web, db, client, auth):
    rep = representative()
    ref = client.post(f"{API}/claims", headers=auth("citizen"), json=claim_body(
        owners=[owner()], representative=rep)).json()["reference"]
    me = web("citizen")
    page = me.get(f"/my/claims/{ref}").text
    assert "Ще не перевірено" in page and "Подати нову довіреність" not in page  # unchecked: nothing to replace
    form = me.get(f"/my/claims/{ref}/power-of-attorney")
    assert form.status_code == 409 and "Цю довіреність зараз не можна замінити" in form.text

    officer = web("officer")
    r = officer.post(f"/staff/claims/{ref}/power-of-attorney", {"decision": "refuse", "reason": "Не той бланк"},
                     token_from=f"/staff/claims/{ref}")
    assert r.status_code == 303
    page = me.get(f"/my/claims/{ref}").text
    assert "Не той бланк" in page and f'href="/my/claims/{ref}/power-of-attorney"' in page
    form = me.get(f"/my/claims/{ref}/power-of-attorney")
    assert form.status_code == 200 and 'lang="uk"' in form.text and "Нова довіреність до заяви" in form.text
    assert rep["full_name"] in form.text  # who acts is filled in; the document is the new one's

    url = f"/my/claims/{ref}/power-of-attorney"
    today = date.today()
    expired = me.post(url, _fields(rep, issued_on=(today - timedelta(days=500)).isoformat(),
                                   valid_until=(today - timedelta(days=2)).isoformat()), token_from=url)
    assert expired.status_code == 400 and "Строк дії цієї довіреності минув" in expired.text
    future = me.post(url, _fields(rep, issued_on=(today + timedelta(days=5)).isoformat()), token_from=url)
    assert future.status_code == 400 and "Дата видачі не може бути в майбутньому." in future.text
    empty = me.post(url, _fields(rep, document_number=""), token_from=url)
    assert empty.status_code == 400 and 'class="error-summary"' in empty.text
    other = me.post(url, _fields(rep, rnokpp=representative()["rnokpp"]), token_from=url)
    assert other.status_code == 400 and "податковий номер має бути вашим" in other.text
    db.rollback()
    assert db.scalar(select(PowerOfAttorney.state)) == "refused"

    ok = me.post(url, _fields(rep, document_number="НРО 777888"), token_from=url)
    assert ok.status_code == 303 and ok.headers["location"].startswith(f"/my/claims/{ref}?done=attorney")
    page = me.get(f"/my/claims/{ref}?done=attorney").text
    assert "Нову довіреність надіслано." in page and "НРО 777888" in page and "Ще не перевірено" in page
    assert "Подано нову довіреність" in page  # the trail says so, in words
    db.rollback()
    assert db.scalar(select(PowerOfAttorney.state)) == "unchecked"

    # the officer sees it waiting: in the queue and on the claim page, with the check form again
    queue = officer.get("/staff/queue", params={"q": ref}).text
    assert "Довіреність на перевірку" in queue
    staff_page = officer.get(f"/staff/claims/{ref}").text
    assert "Чекає перевірки з" in staff_page and "Її подано замість попередньої" in staff_page
    assert f'action="/staff/claims/{ref}/power-of-attorney"' in staff_page and "НРО 777888" in staff_page


def test_others_cannot_reach_the_replacement_form(web, client, auth):
    ref = client.post(f"{API}/claims", headers=auth("citizen"), json=claim_body(
        owners=[owner()], representative=representative())).json()["reference"]
    url = f"/my/claims/{ref}/power-of-attorney"
    assert web("citizen2").get(url).status_code == 404
    assert web("officer").get(url).status_code == 403
    r = web().get(url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
