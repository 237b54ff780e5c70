"""A claim cannot be submitted without the photos the law asks for: close-up and wide views, in the counts the
programme configures (EVERYMETRE_PHOTOS_CLOSEUP_REQUIRED / _WIDE_REQUIRED)."""

from __future__ import annotations

import pytest

from everymetre.config import get_settings
from tests.factories import claim_body, jpeg_with_exif, png

API = "/api/v1"


@pytest.fixture()
def photo_rule(monkeypatch):
    """Set the required counts for this test (the suite's default is none)."""

    def set_counts(closeup: int, wide: int) -> None:
        monkeypatch.setenv("EVERYMETRE_PHOTOS_CLOSEUP_REQUIRED", str(closeup))
        monkeypatch.setenv("EVERYMETRE_PHOTOS_WIDE_REQUIRED", str(wide))
        get_settings.cache_clear()

    yield set_counts
    get_settings.cache_clear()


def upload(client, auth, ref, kind, data=None, ctype="image/jpeg"):
    r = client.post(f"{API}/claims/{ref}/evidence", files={"file": ("f", data or jpeg_with_exif(), ctype)},
                    data={"kind": kind}, headers=auth("citizen"))
    assert r.status_code == 201, r.text
    return r


def submit(client, auth, claim):
    return client.post(f"{API}/claims/{claim['reference']}/transitions",
                       json={"to": "submitted", "reason": "", "expected_version": claim["version"]}, headers=auth("citizen"))


def test_api_refuses_to_submit_without_the_photos(client, auth, photo_rule):
    photo_rule(1, 2)
    r = client.post(f"{API}/claims", json=claim_body(), headers=auth("citizen"))  # submit at once: no photos yet
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "evidence_missing" and problem["errors"][0]["field"] == "evidence"
    assert problem["missing"] == {"photo_closeup": {"have": 0, "need": 1}, "photo_wide": {"have": 0, "need": 2}}
    assert "close-up" in problem["detail"] and "2 more wide views" in problem["detail"]

    claim = client.post(f"{API}/claims", json=claim_body(submit=False), headers=auth("citizen")).json()
    upload(client, auth, claim["reference"], "photo_closeup")
    upload(client, auth, claim["reference"], "photo")  # a photo not said to be a view counts for neither
    upload(client, auth, claim["reference"], "document", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
           "application/pdf")
    upload(client, auth, claim["reference"], "photo_wide")
    r = submit(client, auth, claim)
    assert r.status_code == 422 and r.json()["missing"] == {"photo_wide": {"have": 1, "need": 2}}
    assert "1 more wide view." in r.json()["detail"]
    upload(client, auth, claim["reference"], "photo_wide", png(), "image/png")
    r = submit(client, auth, claim)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "auto_checked"


def test_no_photos_needed_when_configured_so(client, auth, photo_rule):
    photo_rule(0, 0)
    assert client.post(f"{API}/claims", json=claim_body(), headers=auth("citizen")).status_code == 201
