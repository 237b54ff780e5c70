"""Remote verification from photos needs a photo taken at the home: its EXIF GPS within the programme's
distance (10 m by default) of the home's coordinates; a satellite verification or an on-site inspection does
not, and the count and distance are programme settings."""

from __future__ import annotations

import pytest

from everymetre.programme.settings import do_set_setting
from tests.factories import claim_body, jpeg_with_exif
from tests.store.test_claims_api import ACT

API = "/api/v1"
HOME = {"latitude": 50.0005, "longitude": 36.2292}


def _assigned(client, auth, **home) -> dict:
    body = claim_body()
    body["property"] = {**body["property"], **home}
    r = client.post(f"{API}/claims", json=body, headers=auth("citizen"))
    assert r.status_code == 201, r.text
    c = r.json()
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("officer"),
                    json={"to": "assigned", "reason": "take", "expected_version": c["version"]})
    assert r.status_code == 200, r.text
    return r.json()


def _verify(client, auth, c: dict, method: str):
    return client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("inspector"),
                       json={"to": "remote_verified", "reason": "photos", "expected_version": c["version"],
                             "inspection_act": {**ACT, "method": method}})


def _photo(client, auth, c: dict, lat: float, lon: float) -> None:
    r = client.post(f"{API}/claims/{c['reference']}/evidence", headers=auth("citizen"), data={"kind": "photo_wide"},
                    files={"file": ("home.jpg", jpeg_with_exif(lat, lon), "image/jpeg")})
    assert r.status_code == 201, r.text


@pytest.fixture()
def rule_on(db):
    do_set_setting(db, None, "remote_photos_required", 1)  # the deployment's default; the test suite's is 0


def test_a_photo_within_ten_metres_is_needed(client, auth, rule_on):
    c = _assigned(client, auth, **HOME)
    r = _verify(client, auth, c, "remote_photo")
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "remote_photo_missing"
    assert (problem["have"], problem["need"], problem["within_m"]) == (0, 1, 10)
    _photo(client, auth, c, HOME["latitude"] + 0.0002, HOME["longitude"])  # about 22 m north
    assert _verify(client, auth, c, "remote_photo").json()["have"] == 0
    _photo(client, auth, c, HOME["latitude"] + 0.00005, HOME["longitude"])  # about 5.6 m
    r = _verify(client, auth, c, "remote_photo")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "remote_verified"


def test_a_home_without_coordinates_cannot_be_verified_from_photos(client, auth, rule_on):
    c = _assigned(client, auth)
    _photo(client, auth, c, HOME["latitude"], HOME["longitude"])
    assert _verify(client, auth, c, "remote_photo").status_code == 422


def test_satellite_imagery_needs_no_photo_and_the_distance_is_a_setting(client, auth, db, rule_on):
    c = _assigned(client, auth, **HOME)
    assert _verify(client, auth, c, "remote_satellite").status_code == 200
    do_set_setting(db, None, "remote_photo_max_distance_m", 30)
    c = _assigned(client, auth, **HOME)
    _photo(client, auth, c, HOME["latitude"] + 0.0002, HOME["longitude"])  # about 22 m: within 30
    assert _verify(client, auth, c, "remote_photo").status_code == 200
    do_set_setting(db, None, "remote_photos_required", 0)  # the rule turned off
    c = _assigned(client, auth, **HOME)
    assert _verify(client, auth, c, "remote_photo").status_code == 200
