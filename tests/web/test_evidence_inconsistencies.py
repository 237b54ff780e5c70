"""Photos dated in the future or taken far from the home are shown to the officer as inconsistencies."""

from __future__ import annotations

import dataclasses

from tests.conftest import PASSWORD
from tests.factories import claim_body, jpeg_with_exif
from tests.store.test_claims_api import API


def _claim_with_photos(client, auth) -> str:
    body = claim_body()
    body["property"].update(latitude=50.0005, longitude=36.2292)
    ref = client.post(f"{API}/claims", json=body, headers=auth("citizen")).json()["reference"]
    photos = {"at_home.jpg": jpeg_with_exif(),  # at the home, dated after the damage
              "far.jpg": jpeg_with_exif(lat=50.0205, lon=36.2292),  # 2.2 km north
              "future.jpg": jpeg_with_exif(when="2031:01:01 09:00:00")}
    for name, data in photos.items():
        r = client.post(f"{API}/claims/{ref}/evidence", files={"file": (name, data, "image/jpeg")}, headers=auth("citizen"))
        assert r.status_code == 201, r.text
    return ref


def test_officer_sees_future_dates_and_far_photos(client, auth, web) -> None:
    ref = _claim_with_photos(client, auth)
    officer = web("officer")
    page = officer.get(f"/staff/claims/{ref}").text
    assert "2 невідповідності у доказах" in page and "Невідповідності в доказах" in page
    assert "far.jpg знято за 2223 м від координат житла (більше ніж 1000 м)." in page
    assert "future.jpg: дата у фото" in page and "2031" in page
    assert "at_home.jpg знято" not in page and "at_home.jpg: дата" not in page
    officer.get("/lang/en")
    page = officer.get(f"/staff/claims/{ref}").text
    assert "2 inconsistencies in the evidence" in page
    assert "far.jpg was taken 2223 m from the home's coordinates (more than 1000 m)." in page
    assert "future.jpg: the date in the photo" in page


def test_distance_is_a_setting(client, auth, db) -> None:
    from everymetre.api.app import create_app
    from everymetre.config import get_settings
    from tests.web.conftest import Browser

    ref = _claim_with_photos(client, auth)
    browser = Browser(create_app(dataclasses.replace(get_settings(), photo_max_distance_m=5000)))
    try:
        r = browser.post("/signin", {"email": "officer@test.org", "password": PASSWORD})
        assert r.status_code == 303
        page = browser.get(f"/staff/claims/{ref}").text
        assert "1 невідповідність у доказах" in page and "far.jpg знято" not in page
    finally:
        browser.close()
