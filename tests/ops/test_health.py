"""Liveness answers without the store; readiness needs the store, migrations at head and every registered check."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from everymetre.api.app import create_app
from everymetre.config import get_settings
from everymetre.ops.api import register_readiness, unregister_readiness


def test_live_and_ready_on_a_good_store(client):
    assert client.get("/api/v1/health/live").json() == {"status": "ok"}
    r = client.get("/api/v1/health/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"store": "ok", "migrations": "ok"}}
    assert client.get("/api/v1/health").json()["status"] == "ok"  # the old endpoint still answers


def test_live_without_a_store_ready_says_why_not():
    settings = dataclasses.replace(get_settings(), database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        assert c.get("/api/v1/health/live").status_code == 200
        r = c.get("/api/v1/health/ready")
        assert r.status_code == 503 and r.json()["status"] == "not ready"
        assert r.json()["checks"]["store"].startswith("unavailable: ")


def test_ready_when_migrations_are_behind(tmp_path):
    from everymetre.store.db import engine_for
    from everymetre.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(engine_for(url), "0001_schema")
    with TestClient(create_app(dataclasses.replace(get_settings(), database_url=url))) as c:
        r = c.get("/api/v1/health/ready")
        assert r.status_code == 503 and r.json()["checks"]["migrations"].startswith("database at 0001_schema")


def test_a_registered_check_decides_readiness(client):
    register_readiness("worker", lambda engine: "no heartbeat for 300 s")
    try:
        r = client.get("/api/v1/health/ready")
        assert r.status_code == 503 and r.json()["checks"]["worker"] == "no heartbeat for 300 s"
        register_readiness("worker", lambda engine: None)
        assert client.get("/api/v1/health/ready").json()["checks"]["worker"] == "ok"

        def broken(engine):
            raise RuntimeError("boom")

        register_readiness("worker", broken)
        r = client.get("/api/v1/health/ready")
        assert r.status_code == 503 and r.json()["checks"]["worker"] == "check failed: RuntimeError"
    finally:
        unregister_readiness("worker")


def test_a_heartbeat_check(client):
    from datetime import UTC, datetime, timedelta

    from everymetre.ops.api import heartbeat_check

    beats: list[datetime | None] = [None]
    register_readiness("worker", heartbeat_check(lambda engine: beats[0], 120))
    try:
        assert client.get("/api/v1/health/ready").json()["checks"]["worker"] == "no heartbeat yet"
        beats[0] = datetime.now(UTC) - timedelta(seconds=600)
        r = client.get("/api/v1/health/ready")
        assert r.status_code == 503 and r.json()["checks"]["worker"].startswith("last heartbeat 600 s ago")
        beats[0] = datetime.now(UTC) - timedelta(seconds=5)
        assert client.get("/api/v1/health/ready").status_code == 200
    finally:
        unregister_readiness("worker")
