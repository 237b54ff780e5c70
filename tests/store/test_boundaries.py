"""Numbers at the boundary are bounded: an id no BIGINT can hold names nothing (404/422), never a 500."""

from __future__ import annotations

import base64

from tests.store.test_claims_api import API, file_claim


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_huge_ids_in_references_and_cursors(client, auth):  # noqa: ANN001
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
