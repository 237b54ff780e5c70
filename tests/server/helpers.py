"""Talking to a live server as a page user: sign in (cookie + CSRF token) and post forms."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from tests.conftest import PASSWORD, STAFF

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_client(url: str, key: str) -> httpx.Client:
    """An httpx client signed in on the pages as the test account `key`."""
    client = httpx.Client(base_url=url, timeout=60)
    r = client.post("/signin", data={"email": STAFF[key][0], "password": PASSWORD, "csrf_token": csrf(client)})
    assert r.status_code == 303, r.text
    return client


def csrf(client: httpx.Client, page: str = "/signin") -> str:
    match = CSRF.search(client.get(page).text)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def zero_png(width: int, height: int) -> bytes:
    """An all-black PNG: tiny on disk, `width * height * 3` bytes once decoded (a decompression bomb)."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height)).save(buf, "PNG", optimize=False, compress_level=9)
    return buf.getvalue()
