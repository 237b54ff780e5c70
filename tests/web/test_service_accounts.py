"""Service accounts for integrating systems: OAuth2 client credentials at /api/v1/token, a role and oblasts per
client (tokens scoped like the role), secrets kept only hashed, rotation and revocation ending tokens at once,
created by an administrator (page and CLI, the same actions), every change audited."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from everymetre.accounts.models import ServiceClient, User
from everymetre.audit.models import AuditEvent
from everymetre.cli.main import app as cli
from tests.factories import claim_body

API = "/api/v1"
SECRET = re.compile(r'<pre class="cmd" tabindex="0">([\w-]+)</pre>')
CLIENT = re.compile(r"<code>(svc_[0-9a-f]+)</code>")


def _token(client, cid: str, secret: str, basic: bool = False):
    if basic:
        auth = base64.b64encode(f"{cid}:{secret}".encode()).decode()
        return client.post(f"{API}/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {auth}"})
    return client.post(f"{API}/token", data={"grant_type": "client_credentials", "client_id": cid,
                                             "client_secret": secret})


def _create(web, **form):
    admin = web("admin")
    r = admin.post("/admin/service-accounts", {"name": "Реєстр ЦНАП Харків", "role": "officer", "oblast": "kharkivska",
                                              **form}, token_from="/admin/service-accounts")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return admin, CLIENT.search(r.text).group(1), SECRET.search(r.text).group(1)


def test_client_credentials_scoped_like_the_role(web, client, auth, db, users):
    own = client.post(f"{API}/claims", json=claim_body(), headers=auth("citizen"))
    assert own.status_code == 201
    _, cid, secret = _create(web)
    for basic in (False, True):
        r = _token(client, cid, secret, basic=basic)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "bearer" and body["role"] == "officer" and body["expires_in"] > 0
    h = {"Authorization": f"Bearer {body['access_token']}"}
    listed = client.get(f"{API}/claims", headers=h)
    assert listed.status_code == 200 and own.json()["reference"] in listed.text  # Kharkiv: in its oblast
    assert client.get(f"{API}/payment-batches", headers=h).status_code == 403  # an officer's rights, no more
    assert client.get(f"{API}/findings", headers=h).status_code == 200
    # secrets are kept only as a SHA-256
    row = db.scalar(select(ServiceClient).where(ServiceClient.client_id == cid))
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps([e.payload for e in db.scalars(select(AuditEvent))])
    created = db.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{row.user_id}")).one()
    assert created.action == "service_account.created" and created.actor_id == users["admin"]


def test_wrong_or_missing_credentials_are_refused(web, client):
    _, cid, secret = _create(web)
    for r in (_token(client, cid, secret + "x"), _token(client, "svc_nobody", secret), _token(client, cid, "")):
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post(f"{API}/token", data={"grant_type": "password", "client_id": cid, "client_secret": secret})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = client.post(f"{API}/token", headers={"Authorization": "Basic !!!"}, data={"grant_type": "client_credentials"})
    assert r.status_code == 401


def test_rotation_and_revocation_end_tokens_at_once(web, client, db, users):
    admin, cid, secret = _create(web, role="payments")
    old = {"Authorization": f"Bearer {_token(client, cid, secret).json()['access_token']}"}
    assert client.get(f"{API}/payment-batches", headers=old).status_code == 200
    r = admin.post(f"/admin/service-accounts/{cid}/rotate", {}, token_from="/admin/service-accounts")
    assert r.status_code == 200
    new_secret = SECRET.search(r.text).group(1)
    assert new_secret != secret
    assert client.get(f"{API}/payment-batches", headers=old).status_code == 401
    assert _token(client, cid, secret).status_code == 401
    fresh = {"Authorization": f"Bearer {_token(client, cid, new_secret).json()['access_token']}"}
    assert client.get(f"{API}/payment-batches", headers=fresh).status_code == 200
    r = admin.post(f"/admin/service-accounts/{cid}/revoke", {}, token_from="/admin/service-accounts")
    assert r.status_code == 400 and "Позначте поле" in r.text
    assert client.get(f"{API}/payment-batches", headers=fresh).status_code == 200
    r = admin.post(f"/admin/service-accounts/{cid}/revoke", {"confirm": "1"}, token_from="/admin/service-accounts")
    assert r.status_code == 200 and "Анульований" in r.text
    assert client.get(f"{API}/payment-batches", headers=fresh).status_code == 401
    assert _token(client, cid, new_secret).status_code == 401
    r = admin.post(f"/admin/service-accounts/{cid}/rotate", {}, token_from="/admin/service-accounts")
    assert r.status_code == 422  # a revoked client stays revoked
    uid = db.scalar(select(ServiceClient.user_id).where(ServiceClient.client_id == cid))
    actions = [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{uid}")
                                            .order_by(AuditEvent.seq))]
    assert actions == ["service_account.created", "service_account.secret_rotated", "service_account.revoked"]


@pytest.mark.parametrize(("form", "words"), [
    ({"role": "admin"}, "Оберіть роль"), ({"role": "commission"}, "Оберіть роль"),
    ({"role": "officer", "oblast": ""}, "Оберіть області"), ({"name": ""}, "Дайте системі назву"),
])
def test_creating_refuses_bad_input(web, form, words):
    admin = web("admin")
    body = {"name": "Банк", "role": "officer", "oblast": "kharkivska", **form}
    r = admin.post("/admin/service-accounts", body, token_from="/admin/service-accounts")
    assert r.status_code == 400 and words in r.text


@pytest.mark.parametrize("key", ["officer", "auditor", "payments", "citizen"])
def test_only_admins_manage_service_accounts(web, key):
    b = web(key)
    assert b.get("/admin/service-accounts", follow_redirects=False).status_code == 403
    r = b.post("/admin/service-accounts", {"name": "x", "role": "officer", "oblast": "kharkivska"})
    assert r.status_code == 403


def test_service_accounts_stay_out_of_the_people_list_and_get_no_password_link(web, db, client):
    from everymetre.accounts.passwords import do_request_password_reset
    from everymetre.config import get_settings

    admin, cid, _ = _create(web)
    assert cid not in admin.get("/admin/users?q=svc_").text
    email = db.scalar(select(User.email).join(ServiceClient, ServiceClient.user_id == User.id)
                      .where(ServiceClient.client_id == cid))
    assert do_request_password_reset(db, get_settings(), None, email) is None


def test_cli_add_list_rotate_revoke(db, client):
    r = CliRunner().invoke(cli, ["service-accounts", "add", "Bank X", "--role", "payments", "--oblast", "kharkivska"])
    assert r.exit_code == 0, r.output
    cid = re.search(r"client_id (svc_\w+)", r.output).group(1)
    secret = re.search(r"client_secret (\S+)", r.output).group(1)
    assert _token(client, cid, secret).status_code == 200
    assert cid in CliRunner().invoke(cli, ["service-accounts", "list"]).output
    r = CliRunner().invoke(cli, ["service-accounts", "rotate", cid])
    assert r.exit_code == 0 and _token(client, cid, secret).status_code == 401
    assert CliRunner().invoke(cli, ["service-accounts", "revoke", cid]).exit_code == 0
    assert "(revoked)" in CliRunner().invoke(cli, ["service-accounts", "list"]).output
    r = CliRunner().invoke(cli, ["service-accounts", "add", "Bad", "--role", "admin", "--all-oblasts"])
    assert r.exit_code != 0 and "role is one of" in r.output and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(cli, ["service-accounts", "rotate", "svc_nothing"])
    assert r.exit_code != 0 and "no service account" in r.output
