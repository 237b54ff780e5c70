"""Files holding personal data are private to the service's account; responses say as little as they must;
state-changing pages refuse forms from an opaque (`null`) origin."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.server.helpers import CSRF


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_data_folder_evidence_and_key_are_private(tmp_path: Path) -> None:
    db, data = tmp_path / "new.db", tmp_path / "state" / "data"
    env = {**os.environ, "EVERYMETRE_DATABASE_URL": f"sqlite:///{db}", "EVERYMETRE_DATA_DIR": str(data)}
    env.pop("EVERYMETRE_SECRET_KEY", None)
    code = ("import os; os.umask(0o022)\n"
            "from everymetre.cli.main import app\n"
            "import sys; sys.argv=['everymetre','db','upgrade']\n"
            "try: app()\nexcept SystemExit: pass\n"
            "from everymetre.config import get_settings\n"
            "from everymetre.claims.evidence import store_blob\n"
            "get_settings().signing_key(); store_blob(b'hello')\n")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    assert _mode(db) == 0o600
    for wal in tmp_path.glob("new.db-*"):
        assert _mode(wal) == 0o600, wal
    assert _mode(data) == 0o700 and _mode(data.parent) == 0o700
    assert _mode(data / "secret.key") == 0o600
    evidence = data / "evidence"
    assert _mode(evidence) == 0o700
    for folder in evidence.rglob("*"):
        assert _mode(folder) in (0o700, 0o600), folder
    # an existing database made world-readable is narrowed when the service opens it
    db.chmod(0o644)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    assert _mode(db) == 0o600


def test_no_server_header_and_hsts_when_https(serve) -> None:
    plain = serve()
    r = httpx.get(f"{plain.url}/api/v1/health")
    assert "server" not in r.headers
    assert "strict-transport-security" not in r.headers  # plain http on localhost: no HSTS
    behind_proxy = serve(EVERYMETRE_PUBLIC_URL="https://compensation.example.gov.ua")
    for path in ("/api/v1/health", "/signin"):
        r = httpx.get(f"{behind_proxy.url}{path}")
        assert r.headers["strict-transport-security"].startswith("max-age=31536000"), path
        assert "server" not in r.headers
    assert "Secure" in httpx.get(f"{behind_proxy.url}/signin").headers["set-cookie"]


@pytest.mark.parametrize("origin, allowed", [("null", False), ("https://evil.example", False), (None, True)])
def test_origin_null_is_refused_on_forms(client, origin, allowed) -> None:
    token = CSRF.search(client.get("/signin").text).group(1)
    headers = {"origin": origin} if origin else {}
    r = client.post("/signin", data={"email": "citizen@test.org", "password": "correct horse battery",
                                     "csrf_token": token}, headers=headers, follow_redirects=False)
    assert (r.status_code == 303) is allowed, r.status_code
    if not allowed:
        assert r.status_code == 403


def test_https_request_gets_hsts(client) -> None:
    client.base_url = client.base_url.copy_with(scheme="https")
    assert client.get("/api/v1/health").headers["strict-transport-security"].startswith("max-age=")
