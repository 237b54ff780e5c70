"""JSON log lines with request ids; the id in the response and on error pages; no personal data in any line."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from everymetre.ops import logs
from tests.conftest import PASSWORD
from tests.ops.helpers import claim_life


@pytest.fixture()
def captured(client):
    """Every log line written while the test runs (the app's own JSON handler, pointed at a buffer)."""
    buf = io.StringIO()
    logs.configure(stream=buf, force=True)
    logging.getLogger("everymetre.test").warning("start")  # a library-style stdlib line goes the same way
    yield buf
    logs.configure(force=True)


def lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_no_personal_data_in_any_line_of_a_claims_life(client, auth, captured):
    # sign in with the password too, so the password passed through a request the logs saw
    r = client.post("/api/v1/auth/token", data={"username": "citizen@test.org", "password": PASSWORD})
    assert r.status_code == 200
    bad = client.post("/api/v1/auth/token", data={"username": "citizen@test.org", "password": "wrong " + PASSWORD})
    assert bad.status_code == 401
    _, personal = claim_life(client, auth)
    logging.getLogger("everymetre.api").warning("integrity error: Key (rnokpp)=(%s) already exists", personal["rnokpp"])
    text = captured.getvalue()
    records = lines(captured)
    requests = [r for r in records if r.get("event") == "request"]
    assert len(requests) >= 14
    for secret in (personal["rnokpp"], personal["iban"], personal["phone"], personal["phone"].lstrip("+"),
                   personal["email"], PASSWORD, "Шевченко"):
        assert secret not in text, f"{secret!r} is in the logs"
    ten = re.search(r"(?<!\w)\d{10}(?!\w)", text)  # an RNOKPP-shaped number (not digits inside a hex id)
    assert re.search(r"UA\d{27}", text) is None and ten is None, text[max(0, ten.start() - 300):ten.end() + 50] if ten else ""
    assert any("[rnokpp]" in r["event"] for r in records)  # the database-error line was masked, not dropped


def test_request_lines_carry_id_route_status_timing_user(client, auth, users, captured):
    r = client.get("/api/v1/claims?limit=5", headers={**auth("officer"), "X-Request-ID": "lb-7f3a9c21"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "lb-7f3a9c21"
    r2 = client.get("/api/v1/claims/EM-2026-0000000", headers=auth("citizen"))
    generated = r2.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    by_id = {x.get("request_id"): x for x in lines(captured) if x.get("event") == "request"}
    first = by_id["lb-7f3a9c21"]
    assert first["route"] == "/api/v1/claims" and first["status"] == 200 and first["user_id"] == users["officer"]
    assert first["method"] == "GET" and isinstance(first["duration_ms"], float) and first["level"] == "info"
    assert "timestamp" in first and "path" not in first
    second = by_id[generated]
    assert second["route"] == "/api/v1/claims/{reference}" and second["status"] == 404
    assert second["user_id"] == users["citizen"]


def test_a_bad_incoming_id_is_replaced(client):
    r = client.get("/api/v1/health/live", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


def test_error_page_shows_the_request_id(client):
    r = client.get("/no/such/page", headers={"X-Request-ID": "support-1234abcd"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "support-1234abcd"
    assert 'class="request-id">support-1234abcd</code>' in r.text
    assert "назвіть цей номер" in r.text  # Ukrainian by default


def test_an_unexpected_error_answers_500_with_the_id_and_logs_it(client, captured):
    app = client.app

    @app.get("/api/v1/ops-test-boom")
    def boom() -> None:
        raise RuntimeError("exploded with 3012345678 inside")

    app.router.routes.insert(0, app.router.routes.pop())  # before the pages' catch-alls, if any
    r = client.get("/api/v1/ops-test-boom", headers={"X-Request-ID": "boom-req-0001"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "boom-req-0001"
    assert r.headers["content-type"].startswith("application/problem+json")
    records = [x for x in lines(captured) if x.get("request_id") == "boom-req-0001"]
    assert any(x["event"] == "request" and x["status"] == 500 for x in records)
    assert any("RuntimeError" in x.get("exception", "") for x in records)
    assert "3012345678" not in captured.getvalue()


def test_redaction_of_keys_and_values():
    event = logs.redact(None, "info", {"event": "x", "password": "p", "payload": {"iban": "UA1", "n": "+380671112233"},
                                       "note": "mail me at a.b@example.org, Bearer abc.def.ghi"})
    assert event["password"] == "[redacted]" and event["payload"] == {"iban": "[redacted]", "n": "[phone]"}
    assert event["note"] == "mail me at [email], Bearer [token]"


def test_the_preformatted_access_line_matches_the_structlog_one(captured):
    """The access line written in one json.dumps (the JSON handler alone) has the chain's fields and order, and
    a request id that looks like personal data is masked as the chain would mask it."""
    root = logging.getLogger()
    others = [h for h in root.handlers if not getattr(h, "_everymetre_json", False)]  # pytest's own capture
    for h in others:
        root.removeHandler(h)
    try:
        logs.access_line("POST", "/api/v1/claims", 201, 3.25, 7, "1234567890")
        logs.access_line("GET", "/api/v1/health", 200, 1.5, None, "lb-7f3a9c21")
    finally:
        for h in others:
            root.addHandler(h)
    fast = [x for x in lines(captured) if x.get("event") == "request"]
    assert list(fast[0]) == ["method", "route", "status", "duration_ms", "user_id", "event", "request_id", "logger",
                             "level", "timestamp"]
    assert fast[0]["request_id"] == "[rnokpp]" and fast[0]["status"] == 201 and fast[0]["user_id"] == 7
    assert fast[1]["request_id"] == "lb-7f3a9c21" and fast[1]["user_id"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", fast[1]["timestamp"])
    logs.access_line("GET", "/api/v1/health", 200, 1.5, None, "lb-7f3a9c21")  # pytest's handler too: the chain
    chain = [x for x in lines(captured) if x.get("event") == "request"][-1]
    assert set(chain) - {"request_id"} == set(fast[1]) - {"request_id"}
