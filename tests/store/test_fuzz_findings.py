"""What the schemathesis probe (bench/fuzz.py) found, kept fixed: the API contract names only API routes (a page
answered a bearer token with the sign-in page, 200, as if it were the API); a literal path's `Allow` names its own
methods, not a templated neighbour's; the bulk routes document the 413 they answer to an oversized body."""

from __future__ import annotations

API = "/api/v1"


def test_the_contract_names_only_api_routes(client):
    spec = client.get("/openapi.json").json()
    assert sorted(p for p in spec["paths"] if not p.startswith(f"{API}/")) == []
    assert "/my/claims/{reference}/payout-account" not in spec["paths"]


def test_allow_names_the_literal_resource_only(client, auth):
    r = client.options(f"{API}/reservations/bulk", headers=auth("notary"))
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    r = client.options(f"{API}/reservations/7", headers=auth("notary"))  # the templated one keeps its own
    assert r.status_code == 405 and "GET" in r.headers["allow"].split(", ")


def test_bulk_routes_document_their_413(client, auth):
    spec = client.get("/openapi.json").json()["paths"]
    for path in ("/reservations/bulk", "/reservations/ownership-terminations/bulk", "/contracts/bulk"):
        assert "413" in spec[f"{API}{path}"]["post"]["responses"], path
    r = client.post(f"{API}/reservations/bulk", content=b"{" + b" " * 2_000_000 + b"}",
                    headers={**auth("notary"), "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "too_large"


def test_a_refused_leaves_query_is_the_documented_problem(client):
    spec = client.get("/openapi.json").json()["paths"][f"{API}/public/log/leaves"]["get"]["responses"]
    assert "application/problem+json" in spec["422"]["content"]
    r = client.get(f"{API}/public/log/leaves", params={"reference": "x" * 41})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
