"""Numbers at the boundary are bounded: an id no BIGINT can hold names nothing (404/422), never a 500."""

from __future__ import annotations

import base64

from tests.store.test_claims_api import API, file_claim


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_huge_ids_in_references_and_cursors(client, auth):
    file_claim(client, auth)
    for ref in ("EM-2026-99999999999999999999999", "EM-2026-9223372036854775808", "EM-2026-" + "9" * 300):
        r = client.get(f"{API}/claims/{ref}", headers=auth("officer"))
        assert r.status_code == 404, (ref, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert client.get(f"{API}/claims/EM-2026-9223372036854775807", headers=auth("officer")).status_code == 404
    for raw in ("after:99999999999999999999999", "after:9223372036854775808", "after:-1", "after:1e5", "after: 5"):
        r = client.get(f"{API}/claims", params={"cursor": _cursor(raw)}, headers=auth("officer"))
        assert r.status_code == 422, (raw, r.status_code, r.text)
        assert r.json()["errors"][0]["field"] == "cursor"
    page = client.get(f"{API}/claims", params={"cursor": _cursor("after:9223372036854775807")}, headers=auth("officer"))
    assert page.status_code == 200 and page.json()["items"] == []


def test_every_method_of_a_path_is_in_allow(client, auth) -> None:
    for method in ("TRACE", "OPTIONS", "PUT", "DELETE"):
        r = client.request(method, f"{API}/claims", headers=auth("officer"))
        assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
        assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}, r.headers.get("allow")


def test_a_body_that_is_not_json_is_422(client, auth) -> None:
    r = client.post(f"{API}/claims", content=b"\x0c\xff{not json", headers={**auth("officer"), "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("body")
    r = client.post(f"{API}/claims/EM-2026-0000001/evidence", content=b"--x\r\ngarbage",
                    headers={**auth("citizen"), "content-type": "multipart/form-data; boundary=x"})
    assert r.status_code in (404, 422), r.text


def test_cursor_is_any_documented_number(client, auth) -> None:
    for _ in range(3):
        file_claim(client, auth)
    first = client.get(f"{API}/claims", params={"limit": 2}, headers=auth("officer")).json()
    assert first["next_cursor"].isdigit()
    for cursor in ("0", "000000000000000000", "999999999999999999", first["next_cursor"]):
        assert client.get(f"{API}/claims", params={"cursor": cursor}, headers=auth("officer")).status_code == 200
