"""The OpenAPI spec is a product: every request body has a valid example; no input produces a 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.test_claims_api import API, file_claim


def test_every_request_body_has_an_example_that_works(client, auth):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {})
            for ctype, media in body.items():
                if ctype != "application/json":
                    continue
                ref = media["schema"]["$ref"].rsplit("/", 1)[-1]
                assert schemas[ref].get("examples"), f"{method.upper()} {path}: no example for {ref}"
    example = schemas["ClaimCreate"]["examples"][0]
    r = client.post(f"{API}/claims", json=example, headers=auth("citizen"))
    assert r.status_code == 201, r.text
    t = schemas["TransitionIn"]["examples"][0]
    c = file_claim(client, auth)
    c = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("officer"),
                    json={"to": "assigned", "reason": "", "expected_version": c["version"]}).json()
    from datetime import date, timedelta

    t = {**t, "expected_version": c["version"], "deadline": (date.today() + timedelta(days=20)).isoformat()}
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("officer"), json=t)
    assert r.status_code == 200, r.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
fields = st.sampled_from(["kind", "damage_date", "property", "owners", "priority_groups", "description", "submit",
                          "previous_claim", "filed_as_representative"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=st.dictionaries(fields, json_values, max_size=3), raw=st.binary(max_size=40))
def test_no_input_makes_a_500(client, auth, mutation, raw):
    from tests.factories import claim_body

    body = claim_body()
    body.update(mutation)
    r = client.post(f"{API}/claims", json=body, headers=auth("citizen"))
    assert r.status_code in (201, 403, 404, 409, 422), r.text
    if r.status_code != 201:
        assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"]
    r = client.post(f"{API}/claims", content=raw, headers={**auth("citizen"), "content-type": "application/json"})
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"
    r = client.post(f"{API}/claims/EM-2026-0000001/transitions", headers=auth("officer"),
                    content=json.dumps({"to": mutation.get("kind", "assigned"), "expected_version": mutation.get("submit", 1)},
                                       default=str))
    assert r.status_code < 500, r.text


def test_ids_too_large_for_any_record_are_422_not_500(client, auth):
    """Found by schemathesis: a path id beyond BIGINT reached the database and failed there."""
    c = file_claim(client, auth)
    huge = str(2**64)
    for path in (f"/api/v1/findings/{huge}", f"/api/v1/payment-batches/{huge}",
                 f"/api/v1/claims/{c['reference']}/evidence/{huge}"):
        r = client.get(path, headers=auth("auditor"))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (path, r.text)


def test_request_threads_follow_the_setting(db):
    import dataclasses

    import anyio.to_thread
    from fastapi.testclient import TestClient

    from everymetre.api.app import create_app
    from everymetre.config import get_settings

    with TestClient(create_app(dataclasses.replace(get_settings(), threads=3))) as c:
        assert c.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 3
        assert c.get("/api/v1/health").json()["status"] == "ok"
