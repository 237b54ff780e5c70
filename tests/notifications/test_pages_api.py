"""The inbox on "My claims", the staff timeline's sent messages, and the API routes."""

from __future__ import annotations

from everymetre.config import get_settings
from everymetre.notifications.worker import run
from tests.store.test_claims_api import file_claim, move
from tests.web.conftest import web  # noqa: F401  (the pages' test browser)


def test_inbox_on_my_claims_and_sent_mail_on_the_staff_timeline(client, auth, web, smtp):  # noqa: F811
    c = file_claim(client, auth)
    ref = c["reference"]
    c = move(client, auth, "officer", c, "assigned")
    move(client, auth, "officer", c, "suspended", documents_requested=["Технічний паспорт"])
    run(get_settings(), once=True, say=lambda _: None)
    mine = web("citizen").get("/my").text
    assert "Повідомлення" in mine and f"Заява {ref}: потрібні документи до" in mine and "Технічний паспорт" in mine
    assert mine.index("потрібні документи") < mine.index(f"Заяву {ref} прийнято")  # newest first
    other = web("citizen2").get("/my").text
    assert ref not in other
    staff = web("officer").get(f"/staff/claims/{ref}").text
    assert "Повідомлення надіслано" in staff and "citizen@test.org" in staff


def test_notifications_api(client, auth, smtp):
    c = file_claim(client, auth)
    ref = c["reference"]
    r = client.get("/api/v1/me/notifications", headers=auth("citizen"))
    assert r.status_code == 200 and [n["kind"] for n in r.json()] == ["submitted"] and r.json()[0]["channel"] == "inbox"
    r = client.get(f"/api/v1/claims/{ref}/notifications", headers=auth("officer"))
    assert r.status_code == 200 and {n["channel"] for n in r.json()} == {"inbox", "email"}
    assert {n["status"] for n in r.json() if n["channel"] == "email"} == {"pending"}
    run(get_settings(), once=True, say=lambda _: None)
    email = next(n for n in client.get(f"/api/v1/claims/{ref}/notifications", headers=auth("officer")).json()
             if n["channel"] == "email")
    assert email["status"] == "sent" and email["address"] == "citizen@test.org" and email["sent_at"]
    assert client.get(f"/api/v1/claims/{ref}/notifications", headers=auth("citizen2")).status_code == 404
    assert client.get(f"/api/v1/claims/{ref}/notifications", headers=auth("officer_lviv")).status_code == 404
    assert client.get("/api/v1/me/notifications").status_code == 401
