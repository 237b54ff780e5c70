"""E-mails about accounts through the real outbox, worker and SMTP server: a sign-up confirmed by its e-mailed link
(and a taken address answered in the same words, its owner told), the password-reset link, and the channels a
person chooses for news of their claims."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from everymetre.accounts.actions import do_create_user
from everymetre.accounts.models import SignupRequest, User
from everymetre.config import get_settings
from everymetre.notifications.models import Notification
from everymetre.notifications.worker import run
from tests.conftest import STAFF
from tests.store.test_claims_api import file_claim
from tests.web.conftest import web  # noqa: F401  (the pages' test browser)

LINK = re.compile(r"https?://\S+")


def _deliver() -> None:
    run(get_settings(), once=True, say=lambda _: None)


def _link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    found = LINK.search(body)
    assert found, body
    return found.group(0)


def _signup(browser, email: str):
    return browser.post("/signup", {"full_name": "Олена Шевченко", "email": email, "password": "a long passphrase",
                                    "password_again": "a long passphrase"}, token_from="/signup")


def test_a_sign_up_is_made_by_its_emailed_link_and_a_taken_address_answers_the_same(smtp, db, web):  # noqa: F811
    new, taken = "olena.new@test.org", STAFF["citizen"][0]
    first, second = _signup(web(), new), _signup(web(), taken)
    # the same answer for a new and a taken address: nothing on the page tells which
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"] == "/signup/sent"
    assert db.scalar(select(User.id).where(User.email == new)) is None  # no account until the link is opened
    assert db.scalar(select(func.count()).select_from(SignupRequest).where(SignupRequest.email == taken)) == 0
    _deliver()
    smtp.wait_for(2)
    by_to = {str(m["To"]): m for m in smtp.messages}
    assert "Завершення" in str(by_to[new]["Subject"]) or "реєстрац" in str(by_to[new]["Subject"])
    assert "вже є" in by_to[taken].get_body(("plain",)).get_content()  # the owner is told, nobody else
    link = _link(by_to[new])
    assert "/signup/confirm?token=" in link
    path = link[link.index("/signup/confirm"):]
    b = web()
    page = b.get(path)
    assert page.status_code == 200 and "Створити обліковий запис" in page.text  # a button: opening makes nothing
    assert db.scalar(select(User.id).where(User.email == new)) is None
    token = path.split("token=", 1)[1]
    r = b.post("/signup/confirm", {"token": token}, token_from=path)
    assert r.status_code == 303 and r.headers["location"] == "/my"
    assert b.get("/my").status_code == 200
    db.rollback()  # a fresh read of what the server wrote
    user = db.scalar(select(User).where(User.email == new))
    assert user is not None and user.role == "claimant" and user.full_name == "Олена Шевченко"
    # the link works once
    again = web()
    r = again.post("/signup/confirm", {"token": token}, token_from=path)
    assert r.status_code == 400 and "недійсне" in r.text
    # and the password given at sign-up is the one that signs in
    assert web().post("/signin", {"email": new, "password": "a long passphrase"}).status_code == 303


def test_a_password_reset_link_is_emailed_and_works(smtp, db, web):  # noqa: F811
    email = "forgetful@test.org"  # an account of its own: the shared test accounts keep their password
    if db.scalar(select(User.id).where(User.email == email)) is None:
        do_create_user(db, None, email, "the first passphrase", "claimant", full_name="Забудько")
    r = web().post("/password/forgot", {"email": email}, token_from="/password/forgot")
    assert r.status_code == 200
    web().post("/password/forgot", {"email": "nobody@test.org"}, token_from="/password/forgot")
    _deliver()
    smtp.wait_for(1)
    assert [str(m["To"]) for m in smtp.messages] == [email]  # an unknown address gets nothing
    link = _link(smtp.messages[0])
    path = link[link.index("/password/reset"):]
    b = web()
    assert b.get(path).status_code == 200
    r = b.post("/password/reset", {"token": path.split("token=", 1)[1], "new_password": "another long one",
                                   "new_password_again": "another long one"}, token_from=path)
    assert r.status_code == 303
    assert web().post("/signin", {"email": email, "password": "another long one"}).status_code == 303


def test_without_smtp_a_sign_up_signs_in_at_once(db, web):  # noqa: F811
    assert not get_settings().confirms_signups
    r = _signup(web(), "quick@test.org")
    assert r.status_code == 303 and r.headers["location"] == "/my"


def test_the_channels_a_claimant_chooses_carry_the_news(smtp, db, client, auth, web):  # noqa: F811
    b = web("citizen")
    page = b.get("/account/notifications")
    assert page.status_code == 200 and "електронною поштою" in page.text
    r = b.post("/account/notifications", {"sms": "on"}, token_from="/account/notifications")  # e-mail off
    assert r.status_code == 303
    assert client.get("/api/v1/me/notification-channels", headers=auth("citizen")).json() == {"email": False,
                                                                                               "sms": True}
    ref = file_claim(client, auth)["reference"]
    db.rollback()
    channels = set(db.scalars(select(Notification.channel).where(Notification.reference == ref)))
    assert channels == {"inbox"}  # no e-mail: they turned it off (and no SMS gateway is configured)
    r = client.put("/api/v1/me/notification-channels", json={"email": True, "sms": False}, headers=auth("citizen"))
    assert r.status_code == 200 and r.json() == {"email": True, "sms": False}
    assert client.put("/api/v1/me/notification-channels", json={"email": 1, "sms": 0},
                      headers=auth("citizen")).status_code == 422
    ref2 = file_claim(client, auth)["reference"]
    db.rollback()
    assert set(db.scalars(select(Notification.channel).where(Notification.reference == ref2))) == {"inbox", "email"}
    assert client.get("/api/v1/me/notification-channels").status_code == 401
    # the shared test account gets its channels back for the tests after this one
    assert client.put("/api/v1/me/notification-channels", json={"email": True, "sms": True},
                      headers=auth("citizen")).status_code == 200
