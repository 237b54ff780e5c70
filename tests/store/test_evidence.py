"""Uploads are judged by their bytes, stored by hash, and never served as something a browser would run."""

from __future__ import annotations

from tests.factories import MINIMAL_PDF, jpeg_with_exif, png
from tests.store.test_claims_api import API, file_claim


def upload(client, auth, ref, name, data, ctype="image/jpeg", who="citizen", kind="photo"):
    return client.post(f"{API}/claims/{ref}/evidence", files={"file": (name, data, ctype)}, data={"kind": kind}, headers=auth(who))


def test_photo_with_exif_is_kept_and_served_safely(client, auth):
    ref = file_claim(client, auth)["reference"]
    r = upload(client, auth, ref, "dom.jpg", jpeg_with_exif())
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["content_type"] == "image/jpeg" and abs(ev["latitude"] - 50.0005) < 1e-5 and abs(ev["longitude"] - 36.2292) < 1e-5
    assert ev["taken_at"].startswith("2024-03-16T10:30:00")
    got = client.get(f"{API}/claims/{ref}/evidence/{ev['id']}", headers=auth("officer"))
    assert got.status_code == 200 and got.content == jpeg_with_exif()
    assert got.headers["content-type"] == "image/jpeg" and "sandbox" in got.headers["content-security-policy"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"{API}/claims/{ref}/evidence/{ev['id']}", headers=auth("citizen2")).status_code == 404
    # same bytes twice: one blob on disk
    again = upload(client, auth, ref, "copy.jpg", jpeg_with_exif()).json()
    assert again["sha256"] == ev["sha256"]


def test_files_that_lie_about_their_type(client, auth):
    ref = file_claim(client, auth)["reference"]
    html = b"<html><script>alert(1)</script></html>"
    r = upload(client, auth, ref, "photo.jpg", html, "image/jpeg")
    assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"
    r = upload(client, auth, ref, "x.pdf", b"\xff\xd8\xff\xe0" + b"garbage" * 20, "application/pdf")
    assert r.status_code == 415
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert upload(client, auth, ref, "a.png", svg, "image/png").status_code == 415
    assert upload(client, auth, ref, "empty.jpg", b"").status_code == 422
    # a PNG named .pdf is stored as the PNG it is
    r = upload(client, auth, ref, "scan.pdf", png(), "application/pdf", kind="document")
    assert r.status_code == 201 and r.json()["content_type"] == "image/png"
    r = upload(client, auth, ref, "act.pdf", MINIMAL_PDF, "application/pdf", kind="document")
    assert r.status_code == 201 and r.json()["content_type"] == "application/pdf"
    pdf = client.get(f"{API}/claims/{ref}/evidence/{r.json()['id']}", headers=auth("citizen"))
    assert pdf.headers["content-disposition"].startswith("attachment")


def test_too_large_is_413(client, auth):
    from everymetre.config import get_settings

    ref = file_claim(client, auth)["reference"]
    big = b"\xff\xd8\xff" + b"0" * (get_settings().evidence_max_bytes + 10)
    r = upload(client, auth, ref, "big.jpg", big)
    assert r.status_code == 413


def test_upload_to_anothers_claim_is_404(client, auth):
    ref = file_claim(client, auth)["reference"]
    assert upload(client, auth, ref, "dom.jpg", jpeg_with_exif(), who="citizen2").status_code == 404
