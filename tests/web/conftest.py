"""Page-test helpers: a browser-like client per user (its own cookies) and CSRF-aware form posting."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, STAFF

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A TestClient with its own cookie jar that posts forms the way a browser would (token included)."""

    def __init__(self, app: Any) -> None:
        self.client = TestClient(app, raise_server_exceptions=True, base_url="http://testserver")
        self.client.__enter__()

    def get(self, url: str, **kw: Any):
        return self.client.get(url, **kw)

    def token(self, url: str = "/signin") -> str:
        match = CSRF.search(self.get(url).text)
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    def post(self, url: str, data: dict[str, Any] | list[tuple[str, Any]] | None = None, token_from: str | None = None,
             files: Any = None, follow: bool = False, **kw: Any):
        token = self.token(token_from or "/signin")
        body: Any
        if isinstance(data, list):  # repeated names (checkboxes): a dict of lists, as httpx wants
            body = {"csrf_token": token}
            for key, value in data:
                body.setdefault(key, [])
                body[key].append(value)
        else:
            body = {**(data or {}), "csrf_token": token}
        return self.client.post(url, data=body, files=files, follow_redirects=follow, **kw)

    def sign_in(self, key: str) -> Browser:
        email = STAFF[key][0]
        r = self.post("/signin", {"email": email, "password": PASSWORD})
        assert r.status_code == 303, r.text
        return self

    def close(self) -> None:
        self.client.__exit__(None, None, None)


@pytest.fixture()
def web(db, users) -> Iterator[Any]:
    """web() -> a fresh signed-out Browser; web('officer') -> signed in as that test account."""
    from everymetre.api.app import create_app
    from everymetre.config import get_settings

    app = create_app(get_settings())
    opened: list[Browser] = []

    def make(key: str | None = None) -> Browser:
        b = Browser(app)
        opened.append(b)
        return b.sign_in(key) if key else b

    yield make
    for b in opened:
        b.close()
