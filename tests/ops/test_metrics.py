"""/metrics: operator-only, Prometheus text, counters that move with a claim's life, and the store's gauges;
across several uvicorn workers in multiprocess mode."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from everymetre.api.app import create_app
from everymetre.config import get_settings
from everymetre.ops import metrics
from tests.ops.helpers import claim_life
from tests.ops.test_checks import EVERYMETRE

TOKEN = "metrics-token-for-the-tests-0123456789abcdef"
# Two spawned workers import the whole app; on a machine at load 30 (shared CI) that took 405 s once.
STARTUP_SECONDS = 600


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture()
def ops_client(db, users):
    with TestClient(create_app(dataclasses.replace(get_settings(), metrics_token=TOKEN)),
                    raise_server_exceptions=False) as c:
        yield c


def scrape(c) -> dict:
    c.app.state.metrics_store.forget()
    r = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


def test_metrics_need_the_operator_token(ops_client, client, auth):
    assert client.get("/metrics").status_code == 404  # no token configured: not there at all
    assert ops_client.get("/metrics").status_code == 401
    assert ops_client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert ops_client.get("/metrics", headers=auth("admin")).status_code == 401  # a staff sign-in is not enough
    assert ops_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_counters_move_with_a_claims_life(ops_client, auth):
    route = "/api/v1/claims/{reference}/transitions"
    before = scrape(ops_client)
    claim_life(ops_client, auth)
    ops_client.get("/api/v1/claims/EM-2026-0000000", headers=auth("officer"))  # a 404
    after = scrape(ops_client)
    moved = value(after, "everymetre_http_requests_total", method="POST", route=route, status="200") - \
        value(before, "everymetre_http_requests_total", method="POST", route=route, status="200")
    assert moved == 9  # the nine moves of claim_life
    assert value(after, "everymetre_http_requests_total", method="GET", route="/api/v1/claims/{reference}",
                 status="404") > value(before, "everymetre_http_requests_total", method="GET",
                                       route="/api/v1/claims/{reference}", status="404")
    assert value(after, "everymetre_http_request_duration_seconds_count", method="POST", route=route) - \
        value(before, "everymetre_http_request_duration_seconds_count", method="POST", route=route) == 9
    assert value(after, "everymetre_claims", state="revised") == value(before, "everymetre_claims", state="revised") + 1
    assert value(after, "everymetre_store_up") == 1
    assert ("everymetre_claims_overdue", frozenset()) in after
    assert value(after, "everymetre_db_pool_connections_max") >= 1
    # no path with values as a label: one series per route template
    assert not any(dict(labels).get("route", "").startswith("/api/v1/claims/EM-") for _, labels in after)


def test_overdue_claims_and_payment_batches_are_counted(ops_client, db, users, principal):
    from datetime import UTC, datetime, timedelta

    from everymetre.claims.models import Claim
    from everymetre.payments import batches as svc
    from tests.payments.store_helpers import decided_claim

    decided_claim(db, users["commission"], 10_000_000)
    svc.do_build_batch(db, principal("payments"))
    old = decided_claim(db, users["commission"], 5_000_000)
    before = scrape(ops_client)
    claim = db.get(Claim, old.id)
    claim.state, claim.submitted_at = "assigned", datetime.now(UTC) - timedelta(days=31)
    db.commit()
    after = scrape(ops_client)
    assert value(after, "everymetre_claims_overdue") == value(before, "everymetre_claims_overdue") + 1
    assert value(after, "everymetre_payment_batches", state="built") >= 1


def test_the_last_linkage_run_is_measured(ops_client, db):
    from datetime import UTC, datetime, timedelta

    from everymetre.linkage.models import LinkageRun

    finished = datetime.now(UTC).replace(microsecond=0)
    db.add(LinkageRun(started_at=finished - timedelta(seconds=95), finished_at=finished, status="finished",
                      threshold=0.9, flag_score=0.6))
    db.commit()
    got = scrape(ops_client)
    assert value(got, "everymetre_linkage_last_run_seconds") == 95
    assert value(got, "everymetre_linkage_last_run_finished_timestamp_seconds") == finished.timestamp()


def test_fed_counters_and_gauges(ops_client):
    before = scrape(ops_client)
    metrics.notification_sent("email")
    metrics.notification_failed("sms")
    metrics.job_finished("claims-sweep", ok=True, seconds=0.2)
    metrics.job_finished("claims-sweep", ok=False, seconds=1.5)
    metrics.set_outbox(7, 42.0)
    after = scrape(ops_client)
    for name, labels in [("everymetre_notifications_sent_total", {"channel": "email"}),
                         ("everymetre_notifications_failed_total", {"channel": "sms"}),
                         ("everymetre_job_failures_total", {"job": "claims-sweep"})]:
        assert value(after, name, **labels) == value(before, name, **labels) + 1
    assert value(after, "everymetre_job_runs_total", job="claims-sweep") == \
        value(before, "everymetre_job_runs_total", job="claims-sweep") + 2
    assert value(after, "everymetre_outbox_depth") == 7 and value(after, "everymetre_outbox_oldest_age_seconds") == 42
    assert value(after, "everymetre_job_last_success_timestamp_seconds", job="claims-sweep") > time.time() - 60


def test_a_registered_store_gauge_is_scraped(ops_client):
    @metrics.register_store_gauges
    def outbox(engine):
        yield metrics.StoreGauge("everymetre_test_outbox_rows", "rows", ("channel",), [(("email",), 3.0)])

    try:
        assert value(scrape(ops_client), "everymetre_test_outbox_rows", channel="email") == 3
    finally:
        metrics._SOURCES.remove(outbox)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_uvicorn_workers_share_their_counters(engine, users, tmp_path):
    """A real `everymetre serve --workers 2`: requests land on both workers; one scrape counts them all."""
    port = _free_port()
    data = tmp_path / "data"
    stale = data / "prometheus"
    stale.mkdir(parents=True)
    (stale / "counter_999999.db").write_bytes(b"stale")  # a dead process's file: cleaned at start
    env = {**os.environ, "EVERYMETRE_METRICS_TOKEN": TOKEN, "EVERYMETRE_DATA_DIR": str(data)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([EVERYMETRE, "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("the server did not start: " + (tmp_path / "serve.log").read_text()[-2000:])
        assert not (stale / "counter_999999.db").exists()
        while time.monotonic() < deadline:  # both workers up: each writes its gauge file when it imports the metrics
            if len(list(stale.glob("gauge_livesum_*.db"))) >= 2:
                break
            time.sleep(0.5)

        def hit(_: int) -> int:
            with httpx.Client(base_url=base, timeout=10, headers={"Connection": "close"}) as h:
                return sum(h.get("/api/v1/health/ready").status_code == 200 for _ in range(10))

        n = 0
        with ThreadPoolExecutor(8) as pool:  # concurrent connections until both workers have answered some
            for _ in range(50):
                n += sum(pool.map(hit, range(8)))
                if len(list(stale.glob("counter_*.db"))) >= 2:
                    break
        pids = {f.name for f in stale.glob("counter_*.db")}
        assert len(pids) == 2, pids  # each worker writes its own file
        with httpx.Client(base_url=base, timeout=5, headers={"Connection": "close"}) as h:
            scraped = [samples(h.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text) for _ in range(4)]
        for got in scraped:  # whichever worker answers the scrape counts every worker's requests
            assert value(got, "everymetre_http_requests_total", method="GET", route="/api/v1/health/ready",
                         status="200") == n
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
