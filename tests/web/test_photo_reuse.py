"""The same photo on claims of different homes, by perceptual hash (re-encoded and resized too): a finding on
the staff claim page with both photos side by side; an unrelated or blank photo is not one."""

from __future__ import annotations

import io
import random

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from sqlalchemy import select

from everymetre.claims import photo_reuse
from everymetre.claims.models import PhotoHash
from tests.factories import claim_body

API = "/api/v1"


def picture(seed: int, size: tuple[int, int] = (1200, 900), quality: int = 90, shapes: str = "rect") -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", (1200, 900), "white")
    d = ImageDraw.Draw(img)
    for _ in range(60):
        x, y = rng.randint(0, 1100), rng.randint(0, 800)
        box = [x, y, x + rng.randint(20, 300), y + rng.randint(20, 300)]
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        (d.rectangle if shapes == "rect" else d.ellipse)(box, fill=colour)
    if size != img.size:
        img = img.resize(size)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _file_with_photo(client, auth, who: str, photo: bytes) -> str:
    r = client.post(f"{API}/claims", json=claim_body(), headers=auth(who))
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    r = client.post(f"{API}/claims/{ref}/evidence", headers=auth(who), data={"kind": "photo_wide"},
                    files={"file": ("home.jpg", photo, "image/jpeg")})
    assert r.status_code == 201, r.text
    return ref


def test_the_same_photo_on_another_home_is_a_finding(client, auth, web, db):
    first = _file_with_photo(client, auth, "citizen", picture(7))
    again = _file_with_photo(client, auth, "citizen2", picture(7, size=(600, 450), quality=55))  # re-encoded, smaller
    other = _file_with_photo(client, auth, "citizen2", picture(8, shapes="ellipse"))
    assert db.scalar(select(PhotoHash.phash).limit(1))  # computed on upload
    officer = web("officer")
    page = officer.get(f"/staff/claims/{again}").text
    assert f"той самий знімок, що й на заяві {first}" in page or f"майже той самий знімок, що й на заяві {first}" in page
    assert f'href="/staff/claims/{first}"' in page and f"/files/{first}/" in page  # side by side
    assert "невідповідн" in page
    back = officer.get(f"/staff/claims/{first}").text
    assert again in back  # both ways
    assert "на заяві" not in officer.get(f"/staff/claims/{other}").text


def test_blank_photos_get_no_fingerprint(client, auth, db):
    from tests.factories import jpeg_with_exif

    _file_with_photo(client, auth, "citizen", jpeg_with_exif())  # one colour
    assert db.scalar(select(PhotoHash.evidence_id)) is None


def test_a_photo_on_claims_of_the_same_home_is_not_a_finding(client, auth, db):
    from everymetre.claims.models import Claim

    _file_with_photo(client, auth, "citizen", picture(9))
    b = _file_with_photo(client, auth, "citizen", picture(9))
    claims = {c.reference: c for c in db.scalars(select(Claim))}
    assert photo_reuse.reused(db, claims[b])  # two homes
    db.execute(PhotoHash.__table__.update().values(property_id=claims[b].property_id))  # as if a repeat claim
    db.commit()
    assert photo_reuse.reused(db, claims[b]) == []


@given(st.integers(0, 2**64 - 1), st.lists(st.integers(0, 63), max_size=photo_reuse.MAX_BITS, unique=True))
def test_close_hashes_always_share_a_band(value, flips):
    other = value
    for bit in flips:
        other ^= 1 << bit
    a, b = f"{value:016x}", f"{other:016x}"
    assert photo_reuse.distance(a, b) == len(flips)
    assert any(x == y for x, y in zip(photo_reuse.bands(a), photo_reuse.bands(b), strict=True))
