"""Sign-in that cannot be guessed or enumerated, sessions that end, password change and reset (API, store, CLI)."""

from __future__ import annotations

import itertools
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

API = "/api/v1"
PW = "a good long password"
_n = itertools.count(1)


@pytest.fixture()
def person(db):
    """person() -> the e-mail of a fresh claimant account (tests here change passwords and close accounts)."""
    from everymetre.accounts.actions import do_create_user

    def make(role: str = "claimant") -> str:
        email = f"acct{next(_n)}.{int(time.time() * 1000) % 10**8}@test.org"
        do_create_user(db, None, email, PW, role, ["kharkivska"] if role == "officer" else [])
        return email

    return make


LOW = {"signin_max_failures_account": 3, "signin_max_failures_address": 4, "signup_max_per_address": 2}


@pytest.fixture()
def strict(db):
    """An app with low limits (each failed attempt costs an argon2 hash: keep the counts small)."""
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from everymetre.api.app import create_app
    from everymetre.config import get_settings

    settings = replace(get_settings(), **LOW)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.settings, c.app_ = settings, app  # type: ignore[attr-defined]
        yield c


def token_for(client, email: str, password: str = PW):
    return client.post(f"{API}/auth/token", data={"username": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_events(db, email: str) -> list[str]:
    from everymetre.accounts.models import User
    from everymetre.audit.models import AuditEvent

    uid = db.scalar(select(User.id).where(User.email == email))
    db.expire_all()
    return [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{uid}").order_by(AuditEvent.seq))]


# ---------------------------------------------------------------------------------------------- sessions


def test_revoked_token_stops_working(client, person):
    email = person()
    token = token_for(client, email).json()["access_token"]
    other = token_for(client, email).json()["access_token"]
    assert client.get(f"{API}/claims", headers=bearer(token)).status_code == 200
    assert client.post(f"{API}/auth/revoke", headers=bearer(token)).status_code == 204
    assert client.get(f"{API}/claims", headers=bearer(token)).status_code == 401
    assert client.get(f"{API}/claims", headers=bearer(other)).status_code == 200  # only that sign-in ended


def test_token_without_a_session_is_refused(client, users):
    import jwt

    from everymetre.api.security import ALGORITHM
    from everymetre.config import get_settings
    from everymetre.store.types import utcnow

    now = utcnow()
    old_style = jwt.encode({"sub": str(users["officer"]), "iat": now, "exp": now + timedelta(hours=1),
                            "aud": "everymetre-api"}, get_settings().signing_key(), algorithm=ALGORITHM)
    assert client.get(f"{API}/claims", headers=bearer(old_style)).status_code == 401
    forged = jwt.encode({"sub": str(users["officer"]), "jti": "made-up", "iat": now, "exp": now + timedelta(hours=1),
                         "aud": "everymetre-api"}, get_settings().signing_key(), algorithm=ALGORITHM)
    assert client.get(f"{API}/claims", headers=bearer(forged)).status_code == 401


def test_password_change_ends_every_token_and_is_audited(client, db, person):
    email = person()
    first, second = (token_for(client, email).json()["access_token"] for _ in range(2))
    r = client.post(f"{API}/auth/password", headers=bearer(first), json={"current_password": "wrong one!!", "new_password": "x" * 12})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
    r = client.post(f"{API}/auth/password", headers=bearer(first), json={"current_password": PW, "new_password": "short"})
    assert r.status_code == 422
    r = client.post(f"{API}/auth/password", headers=bearer(first), json={"current_password": PW, "new_password": "a new long password"})
    assert r.status_code == 200, r.text
    fresh = r.json()["access_token"]
    assert client.get(f"{API}/claims", headers=bearer(first)).status_code == 401
    assert client.get(f"{API}/claims", headers=bearer(second)).status_code == 401
    assert client.get(f"{API}/claims", headers=bearer(fresh)).status_code == 200
    assert token_for(client, email).status_code == 401
    assert token_for(client, email, "a new long password").status_code == 200
    assert "user.password_changed" in user_events(db, email)


def test_deactivation_ends_tokens_at_once(client, db, person):
    from everymetre.accounts.passwords import do_deactivate_user

    email = person()
    token = token_for(client, email).json()["access_token"]
    do_deactivate_user(db, None, email)
    assert client.get(f"{API}/claims", headers=bearer(token)).status_code == 401
    assert token_for(client, email).status_code == 401
    assert "user.deactivated" in user_events(db, email)


def test_reset_link_is_single_use_and_expires(client, db, person):
    from everymetre.accounts.models import PasswordReset
    from everymetre.accounts.passwords import do_request_password_reset
    from everymetre.config import get_settings
    from everymetre.store.types import utcnow

    email = person()
    old = token_for(client, email).json()["access_token"]
    assert do_request_password_reset(db, get_settings(), None, "nobody.here@test.org") is None
    token = do_request_password_reset(db, get_settings(), None, email)
    assert token and db.scalar(select(PasswordReset.token_hash)) != token  # only its hash is kept
    r = client.post(f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": "reset long password"})
    assert r.status_code == 204, r.text
    assert client.get(f"{API}/claims", headers=bearer(old)).status_code == 401  # sessions ended
    assert token_for(client, email, "reset long password").status_code == 200
    again = client.post(f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": "another long one"})
    assert again.status_code == 422 and again.json()["code"] == "reset_link_invalid"
    late = do_request_password_reset(db, get_settings(), None, email)
    with db.begin():
        db.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.post(f"{API}/auth/password-reset/confirm", json={"token": late, "new_password": "another long one"})
    assert r.status_code == 422
    events = user_events(db, email)
    assert events.count("user.password_reset_requested") == 2 and events.count("user.password_reset") == 1


def test_reset_request_answers_the_same_for_unknown_e_mails(client, person):
    email = person()
    known = client.post(f"{API}/auth/password-reset", json={"email": email})
    unknown = client.post(f"{API}/auth/password-reset", json={"email": "no.such.person@test.org"})
    assert known.status_code == unknown.status_code == 202 and known.json() == unknown.json()


def test_cli_reset_password_prints_a_one_time_link_and_deactivate(web, db, person):
    from everymetre.cli.main import app

    email = person()
    r = CliRunner().invoke(app, ["users", "reset-password", email, "--base-url", "https://em.example"])
    assert r.exit_code == 0, r.output
    link = r.output.strip()
    assert link.startswith("https://em.example/password/reset?token=")
    path = link.removeprefix("https://em.example")
    b = web()
    page = b.get(path)
    assert page.status_code == 200 and 'name="token"' in page.text
    token = path.split("token=")[1]
    r = b.post("/password/reset", {"token": token, "new_password": "from the link pw", "new_password_again": "from the link pw"},
               token_from=path)
    assert r.status_code == 303 and r.headers["location"] == "/signin?reset=1"
    assert b.get(path).status_code == 400  # used once
    r = b.post("/signin", {"email": email, "password": "from the link pw"})
    assert r.status_code == 303
    r = CliRunner().invoke(app, ["users", "reset-password", "nobody@test.org"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(app, ["users", "deactivate", email])
    assert r.exit_code == 0 and "deactivated" in r.output
    assert b.get("/my", follow_redirects=False).status_code == 303  # the page session ended with the account
    assert "user.password_reset" in user_events(db, email)


# ---------------------------------------------------------------------------------------------- throttling


class VerifyCounter:
    """Counts argon2 verifications (the real ones run): a throttled attempt must be refused before hashing."""

    def __init__(self, monkeypatch) -> None:
        from everymetre.accounts import actions

        self.calls = 0
        self.real = actions._hasher
        monkeypatch.setattr(actions, "_hasher", self)

    def verify(self, hash_: str, password: str) -> bool:
        self.calls += 1
        return self.real.verify(hash_, password)

    def hash(self, password: str) -> str:
        return self.real.hash(password)


def test_account_locks_after_failures_then_429_without_hashing(strict, db, person, monkeypatch):
    from everymetre.config import get_settings

    client = strict
    email = person()
    for _ in range(LOW["signin_max_failures_account"]):
        assert token_for(client, email, "wrong password").status_code == 401
    counter = VerifyCounter(monkeypatch)
    r = token_for(client, email)  # the right password, but the account is locked
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
    assert 0 < int(r.headers["Retry-After"]) <= get_settings().signin_lock_minutes * 60
    assert r.json()["code"] == "too_many_attempts"
    assert counter.calls == 0  # refused before any argon2 work
    assert user_events(db, email).count("user.locked_out") == 1
    # the lock is in the database: another server (a fresh app on the same store) refuses too
    from fastapi.testclient import TestClient

    from everymetre.api.app import create_app

    with TestClient(create_app(strict.settings)) as other:
        assert token_for(other, email).status_code == 429


def test_page_sign_in_is_throttled_too(strict, person):
    from tests.web.conftest import Browser

    email = person()
    b = Browser(strict.app_)
    for _ in range(LOW["signin_max_failures_account"]):
        assert b.post("/signin", {"email": email, "password": "wrong password"}).status_code == 400
    r = b.post("/signin", {"email": email, "password": PW})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "/my" not in r.headers.get("location", "")
    b.close()


def test_unknown_and_known_e_mails_answer_alike(client, person, monkeypatch):
    email = person()
    counter = VerifyCounter(monkeypatch)
    known = token_for(client, email, "wrong password")
    unknown = token_for(client, "nobody.at.all@test.org", "wrong password")
    assert counter.calls == 2  # the unknown e-mail costs one argon2 verification as well
    assert known.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json().items() if k != "instance"}  # noqa: E731
    assert strip(known) == strip(unknown)

    def timed(login: str) -> float:
        start = time.perf_counter()
        token_for(client, login, "wrong password")
        return time.perf_counter() - start

    # a fresh e-mail each time, so that neither reaches its lock; medians of three
    known_t = sorted(timed(person()) for _ in range(3))[1]
    unknown_t = sorted(timed(f"ghost{i}@test.org") for i in range(3))[1]
    assert unknown_t > known_t * 0.5, (known_t, unknown_t)



def test_unknown_e_mails_lock_alike(strict):
    # a lock says nothing about whether the account exists
    for _ in range(LOW["signin_max_failures_account"]):
        assert token_for(strict, "ghost.lock@test.org", "wrong password").status_code == 401
    assert token_for(strict, "ghost.lock@test.org", "wrong password").status_code == 429


def test_address_locks_after_many_failures_across_e_mails(strict, person):
    email = person()
    for i in range(LOW["signin_max_failures_address"]):
        assert token_for(strict, f"spray{i}@test.org", "password1234").status_code == 401
    assert token_for(strict, email).status_code == 429  # from this address, even the right password waits


def test_lock_ends_after_its_time(strict, db, person):
    from everymetre.accounts.models import SignInThrottle
    from everymetre.store.types import utcnow

    client = strict
    email = person()
    for _ in range(LOW["signin_max_failures_account"]):
        token_for(client, email, "wrong password")
    assert token_for(client, email).status_code == 429
    with db.begin():
        db.execute(update(SignInThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert token_for(client, email).status_code == 200


# ---------------------------------------------------------------------------------------------- sign-up


def test_sign_up_does_not_reveal_an_existing_account(web, db, users):
    from everymetre.accounts.models import User

    before = db.scalar(select(User.password_hash).where(User.email == "officer@test.org"))
    b = web()
    r = b.post("/signup", {"full_name": "Хтось", "email": "officer@test.org", "password": "a long pass phrase",
                           "password_again": "a long pass phrase"}, token_from="/signup")
    assert r.status_code == 303 and r.headers["location"] == "/signup/sent"
    page = b.get("/signup/sent").text
    assert "already an account with this e-mail" not in page and "вже є обліковий запис з цією" not in page
    db.expire_all()
    assert db.scalar(select(User.password_hash).where(User.email == "officer@test.org")) == before  # nothing changed
    assert b.get("/my", follow_redirects=False).status_code == 303  # and nobody was signed in


def test_sign_up_is_throttled_per_address(strict):
    from tests.web.conftest import Browser

    b = Browser(strict.app_)
    for i in range(LOW["signup_max_per_address"]):
        r = b.post("/signup", {"full_name": "Тест", "email": f"many{i}.{time.time_ns()}@example.org",
                               "password": "a long pass phrase", "password_again": "a long pass phrase"}, token_from="/signup")
        assert r.status_code == 303
        b.client.cookies.clear()
    r = b.post("/signup", {"full_name": "Тест", "email": "one.more@example.org", "password": "a long pass phrase",
                           "password_again": "a long pass phrase"}, token_from="/signup")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    b.close()


# ---------------------------------------------------------------------------------------------- page sessions


def test_page_sign_out_ends_the_session_on_the_server(web, person):
    email = person()
    b = web()
    assert b.post("/signin", {"email": email, "password": PW}).status_code == 303
    stolen = dict(b.client.cookies)
    assert b.get("/my").status_code == 200
    r = b.post("/signout", {}, token_from="/my")
    assert r.status_code == 303
    thief = web()
    thief.client.cookies.update(stolen)  # the cookie from before sign-out, replayed
    r = thief.get("/my", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")


def test_page_password_change_signs_out_elsewhere(web, db, person):
    email = person()
    here, elsewhere = web(), web()
    for b in (here, elsewhere):
        assert b.post("/signin", {"email": email, "password": PW}).status_code == 303
    r = here.post("/account/password", {"current_password": "not it at all", "new_password": "the new pass phrase",
                                        "new_password_again": "the new pass phrase"}, token_from="/account/password")
    assert r.status_code == 400
    r = here.post("/account/password", {"current_password": PW, "new_password": "the new pass phrase",
                                        "new_password_again": "the new pass phrase"}, token_from="/account/password")
    assert r.status_code == 303 and r.headers["location"] == "/account/password?done=1"
    assert here.get("/my").status_code == 200  # this browser carries on in a fresh session
    assert elsewhere.get("/my", follow_redirects=False).status_code == 303  # the other was signed out
    assert "user.password_changed" in user_events(db, email)


def test_forgot_password_page_answers_the_same(web, person):
    email = person()
    b = web()
    known = b.post("/password/forgot", {"email": email}, token_from="/password/forgot")
    unknown = b.post("/password/forgot", {"email": "nobody.known@test.org"}, token_from="/password/forgot")
    assert known.status_code == unknown.status_code == 200
    strip = lambda t: t.split('name="csrf_token"')[0]  # noqa: E731  (the rest differs only by the token)
    assert strip(known.text) == strip(unknown.text)
    assert json.dumps(email) not in known.text
