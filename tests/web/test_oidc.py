"""Sign-in through a real OpenID Connect provider: panva's oidc-provider (npm registry, Node 20), started here
with PKCE required and its development login pages; the flow is driven with httpx (the provider's pages) and
the app's TestClient (ours). Skipped, saying why, only when Node or npm is not available."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from sqlalchemy import select

from everymetre.accounts.models import User
from everymetre.audit.models import AuditEvent
from tests.web.conftest import Browser

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / ".oidc-provider"  # git-ignored: the provider is installed here from the npm registry, never committed
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
CLIENT_ID, SECRET = "everymetre-test", "a-test-client-secret-0123456789"
CALLBACK = "http://testserver/signin/oidc/callback"


def _install() -> str | None:
    """None when oidc-provider is ready, else why it cannot be."""
    if shutil.which("node") is None:
        return "node is not installed"
    if (HERE / "node_modules" / "oidc-provider").exists():
        return None
    if shutil.which("npm") is None:
        return "npm is not installed (it installs oidc-provider from the npm registry)"
    HERE.mkdir(exist_ok=True)
    (HERE / "package.json").write_text(json.dumps({"private": True, "dependencies": {}}))  # npm installs here
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "oidc-provider@9"], cwd=HERE,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return f"npm could not install oidc-provider: {done.stderr.strip()[-300:]}"
    return None


def _port() -> int:
    for port in range(8080, 8090):  # this worktree's range; the first free one
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    reason = _install()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the OpenID Connect provider cannot run: {reason}")
        pytest.skip(f"OpenID Connect test skipped: {reason}")
    shutil.copy(SCRIPT, HERE / SCRIPT.name)  # run beside its node_modules (ES modules resolve from the file)
    port = _port()
    proc = subprocess.Popen(["node", SCRIPT.name, str(port), CALLBACK, CLIENT_ID, SECRET], cwd=HERE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/.well-known/openid-configuration", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"oidc-provider did not start: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture()
def idp_app(issuer, db, users):
    from everymetre.accounts import oidc
    from everymetre.api.app import create_app
    from everymetre.config import get_settings

    oidc._CACHE.clear()
    made: list[Browser] = []

    def make(**changes: Any) -> tuple[Browser, Any]:
        settings = replace(get_settings(), oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=SECRET,
                           oidc_label="Дія", **changes)
        b = Browser(create_app(settings))
        made.append(b)
        return b, settings

    yield make
    for b in made:
        b.close()


FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def through_provider(b: Browser, login: str, start: str = "/signin/oidc") -> Any:
    """Start at our sign-in, log in at the provider as `login` (its development pages), consent, and come back:
    the app's answer to the callback."""
    r = b.get(start, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["response_type"] == ["code"]
    with httpx.Client(follow_redirects=False, timeout=10) as idp:
        response = idp.get(url)
        for _ in range(12):
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if url.startswith("http://testserver/"):
                    return b.get(url.removeprefix("http://testserver"), follow_redirects=False)
                response = idp.get(url)
                continue
            match = FORM.search(response.text)
            assert match, response.text[:500]
            action, body = html.unescape(match.group(1)), match.group(2)
            data = dict(HIDDEN.findall(body))
            if 'name="login"' in body:
                data |= {"login": login, "password": "anything"}
            url = urljoin(url, action)
            response = idp.post(url, data=data)
    raise AssertionError("the provider never sent the browser back")


def test_staff_sign_in_through_the_provider_links_the_account(idp_app, issuer, db, users):
    b, _ = idp_app()
    page = b.get("/signin").text
    assert "Увійти через Дія" in page and 'href="/signin/oidc"' in page
    r = through_provider(b, "officer@test.org")
    assert r.status_code == 303 and r.headers["location"] == "/staff/queue", r.text
    assert b.get("/staff/queue").status_code == 200
    db.rollback()
    user = db.get(User, users["officer"])
    assert user.oidc_subject == f"{issuer}|officer@test.org"  # the provider's subject (its login, here)
    linked = list(db.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{user.id}",
                                                      AuditEvent.action == "user.oidc_linked")))
    assert len(linked) == 1
    again, _ = idp_app()
    r = through_provider(again, "officer@test.org", start="/signin/oidc?next=/staff/inspections")
    assert r.headers["location"] == "/staff/inspections"  # by the linked subject, to where they were going
    db.rollback()
    assert len(list(db.scalars(select(AuditEvent).where(AuditEvent.action == "user.oidc_linked",
                                                        AuditEvent.chain == f"user:{user.id}")))) == 1
    db.get(User, users["officer"]).oidc_subject = None  # the accounts outlive the test
    db.commit()


def test_no_staff_made_by_a_sign_in_and_unverified_emails_do_not_match(idp_app, db, users):
    b, _ = idp_app()
    stranger = f"stranger.{uuid.uuid4().hex[:8]}@test.org"
    r = through_provider(b, stranger)
    assert r.status_code == 403 and "Немає облікового запису" in r.text
    assert db.scalar(select(User.id).where(User.email == stranger)) is None
    r = through_provider(b, "unverified:inspector@test.org")  # the provider has not verified that e-mail
    assert r.status_code == 403
    db.rollback()
    assert db.get(User, users["inspector"]).oidc_subject is None
    assert b.get("/staff/queue", follow_redirects=False).status_code == 303  # still signed out


def test_citizens_get_a_claimant_account_where_the_programme_allows(idp_app, db):
    b, _ = idp_app(oidc_create_claimants=True)
    person = f"citizen.{uuid.uuid4().hex[:8]}@test.org"
    r = through_provider(b, person)
    assert r.status_code == 303 and r.headers["location"] == "/my", r.text
    db.rollback()
    user = db.scalar(select(User).where(User.email == person))
    assert user.role == "claimant" and user.full_name == "Тест Особа" and user.oidc_subject


def test_a_deactivated_account_cannot_sign_in_through_the_provider(idp_app, db):
    from everymetre.accounts.actions import do_create_user
    from everymetre.accounts.passwords import do_deactivate_user

    email = f"gone.{uuid.uuid4().hex[:8]}@test.org"
    do_create_user(db, None, email, "long enough pw", "officer", ["kyivska"])
    do_deactivate_user(db, None, email)
    b, _ = idp_app()
    assert through_provider(b, email).status_code == 403


def test_forged_state_and_missing_cookie_are_refused(idp_app):
    b, _ = idp_app()
    r = b.get("/signin/oidc/callback?code=x&state=y", follow_redirects=False)
    assert r.status_code == 400 and "Вхід застарів" in r.text  # no pending sign-in
    start = b.get("/signin/oidc", follow_redirects=False)
    assert start.status_code == 303
    r = b.get("/signin/oidc/callback?code=x&state=not-the-state", follow_redirects=False)
    assert r.status_code == 400 and "Вхід не вдався" in r.text
    r = b.get("/signin/oidc/callback?error=access_denied&state=" +
              parse_qs(urlsplit(start.headers["location"]).query)["state"][0], follow_redirects=False)
    assert r.status_code == 400


def test_an_id_token_signed_by_another_key_or_for_another_client_is_refused(idp_app, issuer):
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    from everymetre.accounts import oidc
    from everymetre.kernel.errors import Unauthenticated

    _, settings = idp_app()
    now = int(time.time())
    claims = {"iss": issuer, "aud": CLIENT_ID, "sub": "x", "exp": now + 300, "iat": now, "nonce": "n1"}
    ours = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, ours)
    keys = {"keys": [ours.as_dict(private=False)]}
    assert oidc.verify_id_token(settings, token, "n1", keys=keys)["sub"] == "x"
    for bad in (lambda: oidc.verify_id_token(settings, token, "n1"),  # the provider's JWKS: not its key
                lambda: oidc.verify_id_token(settings, token, "another nonce", keys=keys),
                lambda: oidc.verify_id_token(settings, jwt.encode({"alg": "RS256", "kid": "k1"},
                                                                  {**claims, "aud": "someone-else"}, ours), "n1", keys=keys),
                lambda: oidc.verify_id_token(settings, jwt.encode({"alg": "RS256", "kid": "k1"},
                                                                  {**claims, "exp": now - 3600}, ours), "n1", keys=keys),
                lambda: oidc.verify_id_token(settings, jwt.encode({"alg": "RS256", "kid": "k1"},
                                                                  {**claims, "iss": "http://evil"}, ours), "n1", keys=keys)):
        with pytest.raises(Unauthenticated):
            bad()


def test_without_a_configured_provider_there_is_no_such_page(web):
    b = web()
    assert b.get("/signin/oidc", follow_redirects=False).status_code == 404
    assert b.get("/signin/oidc/callback?code=x&state=y", follow_redirects=False).status_code == 404
    assert "/signin/oidc" not in b.get("/signin").text
