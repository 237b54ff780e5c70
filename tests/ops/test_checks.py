"""Production mode: each unsafe setting makes `serve` (and the worker's gate) refuse with one line; development
prints the same as warnings; `doctor` prints every check and passes on a correctly configured deployment."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from everymetre.config import get_settings
from everymetre.ops.checks import run_checks, startup_gate
from everymetre.store.db import engine_for
from tests.conftest import TEST_DB_URL

EVERYMETRE = str(Path(os.environ.get("VIRTUAL_ENV", "/work/main/.venv")) / "bin" / "everymetre")
if not Path(EVERYMETRE).exists():  # the venv this pytest runs in
    import sys

    EVERYMETRE = str(Path(sys.executable).with_name("everymetre"))
GOOD_KEY = "k" * 48
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/nowhere"


def production(**changes):
    """Settings of a correct production deployment on the test store, with `changes` applied."""
    base = dataclasses.replace(get_settings(), env="production", secret_key=GOOD_KEY,
                               public_url="https://everymetre.example.gov.ua", metrics_token="m" * 40,
                               smtp_url="smtp://mail.example.gov.ua:25")
    return dataclasses.replace(base, **changes)


def refusal(settings, engine, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        startup_gate("serve", settings, engine)
    assert exc.value.code == 78  # EX_CONFIG: systemd does not restart it
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to start serve in production: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A store of a fresh deployment: migrated to head, no accounts (the shared test store may hold the demo
    accounts another test loaded). SQLite; the store check reads the settings' URL, given as PostgreSQL."""
    from everymetre.store.migrate import upgrade

    eng = engine_for(f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}")
    upgrade(eng)
    return eng


def passing_store(engine):
    return {"database_url": PG_URL}


def test_generated_signing_key_is_refused(clean, capsys):
    line = refusal(production(secret_key=None, **passing_store(clean)), clean, capsys)
    assert "signing key" in line and "EVERYMETRE_SECRET_KEY" in line and "store" not in line


def test_short_signing_key_is_refused(clean, capsys):
    assert "shorter than 32" in refusal(production(secret_key="short", **passing_store(clean)), clean, capsys)


def test_sqlite_store_is_refused(clean, capsys, tmp_path):
    line = refusal(production(database_url=f"sqlite:///{tmp_path / 'x.db'}"), clean, capsys)
    assert "store: the store is sqlite" in line


def test_http_public_url_is_refused(clean, capsys):
    line = refusal(production(public_url="http://everymetre.example.gov.ua", **passing_store(clean)), clean, capsys)
    assert "public URL" in line and "not an https address" in line
    assert "EVERYMETRE_PUBLIC_URL is not set" in refusal(production(public_url=None, **passing_store(clean)), clean, capsys)


def test_demo_account_is_refused(tmp_path, capsys):
    from everymetre.accounts.actions import do_create_user
    from everymetre.store.db import session_factory
    from everymetre.store.migrate import upgrade

    store = engine_for(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(store)
    assert run_checks(production(**passing_store(store)), store)[-1].ok
    with session_factory(store)() as session:
        do_create_user(session, None, "officer@demo.everymetre.org", "everymetre-demo", "officer", ["kyivska"])
    line = refusal(production(**passing_store(store)), store, capsys)
    assert line.endswith("demo accounts: 1 demo account(s) (@demo.everymetre.org) exist, with a published password: "
                         "this is a demo store")


def test_migrations_not_at_head_are_refused(tmp_path, capsys):
    from alembic.script import ScriptDirectory

    from everymetre.store.migrate import alembic_config, upgrade

    behind = engine_for(f"sqlite:///{tmp_path / 'behind.db'}")
    upgrade(behind, "0001_schema")
    (head,) = ScriptDirectory.from_config(alembic_config(str(behind.url))).get_heads()
    assert head != "0001_schema", "the test needs a revision after the first"
    line = refusal(production(database_url=PG_URL), behind, capsys)
    assert f"migrations: the database is at 0001_schema, the code at {head}" in line
    empty = engine_for(f"sqlite:///{tmp_path / 'empty.db'}")
    assert "no everymetre schema" in refusal(production(database_url=PG_URL), empty, capsys)


def test_every_failure_is_named_in_the_one_line(tmp_path, capsys):
    empty = engine_for(f"sqlite:///{tmp_path / 'empty.db'}")
    line = refusal(production(secret_key=None, public_url="http://x", database_url=f"sqlite:///{tmp_path}/e.db"),
                   empty, capsys)
    for name in ("signing key:", "store:", "public URL:", "migrations:"):
        assert name in line


def test_development_warns_and_starts(clean, capsys):
    settings = dataclasses.replace(get_settings(), env="development", secret_key=None, public_url=None)
    checks = startup_gate("worker", settings, clean)  # no SystemExit
    err = capsys.readouterr().err
    assert "warning: worker in development mode: signing key:" in err
    assert "warning: worker in development mode: public URL:" in err
    assert any(not c.ok for c in checks)


def test_a_correct_deployment_passes_every_required_check(clean):
    checks = run_checks(production(**passing_store(clean)), clean)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([EVERYMETRE, *args], capture_output=True, text=True, check=False, timeout=120,
                          env={**os.environ, **env})


def test_serve_refuses_in_production_with_one_line(engine, users, tmp_path):
    r = cli("serve", "--port", "1", EVERYMETRE_ENV="production", EVERYMETRE_SECRET_KEY="",
            EVERYMETRE_PUBLIC_URL="https://everymetre.example.gov.ua", EVERYMETRE_DATA_DIR=str(tmp_path))
    assert r.returncode == 78, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to start serve in production: signing key"), lines


def test_doctor_in_development_prints_every_check_and_exits_0(engine, users, tmp_path):
    r = cli("doctor", EVERYMETRE_ENV="development", EVERYMETRE_SECRET_KEY="", EVERYMETRE_PUBLIC_URL="",
            EVERYMETRE_DATA_DIR=str(tmp_path))
    assert r.returncode == 0, r.stderr
    for name in ("signing key", "store", "public URL", "metrics token", "migrations", "demo accounts"):
        assert name in r.stdout
    assert "FAIL  signing key" in r.stdout and "ok    migrations" in r.stdout


def test_doctor_in_production_fails_on_a_bad_deployment(tmp_path):
    r = cli("doctor", EVERYMETRE_ENV="production", EVERYMETRE_DATABASE_URL=f"sqlite:///{tmp_path / 'e.db'}",
            EVERYMETRE_PUBLIC_URL="http://insecure.example", EVERYMETRE_DATA_DIR=str(tmp_path))
    assert r.returncode == 1
    assert "FAIL  store" in r.stdout and "FAIL  public URL" in r.stdout and "not ready for production" in r.stdout


@pytest.mark.skipif(not TEST_DB_URL.startswith("postgresql"), reason="a production deployment runs on PostgreSQL: "
                    "set EVERYMETRE_TEST_DATABASE_URL to run this on one")
def test_doctor_passes_on_a_correct_postgresql_deployment(engine, tmp_path):
    """A fresh PostgreSQL database beside the test one (the shared one may hold demo accounts), migrated with
    `everymetre db upgrade`, given a key, an https URL and a metrics token: doctor passes, and serve's gate too."""
    from sqlalchemy.engine import make_url

    name = f"{make_url(TEST_DB_URL).database}_doctor"
    url = make_url(TEST_DB_URL).set(database=name).render_as_string(hide_password=False)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    env = {"EVERYMETRE_DATABASE_URL": url, "EVERYMETRE_ENV": "production", "EVERYMETRE_SECRET_KEY": GOOD_KEY,
           "EVERYMETRE_METRICS_TOKEN": "m" * 40, "EVERYMETRE_PUBLIC_URL": "https://everymetre.example.gov.ua",
           "EVERYMETRE_SMTP_URL": "smtp://mail.example.gov.ua:25",
           "EVERYMETRE_DATA_DIR": str(tmp_path)}
    try:
        before = cli("doctor", **env)
        assert before.returncode == 1 and "FAIL  migrations" in before.stdout  # not yet upgraded
        assert cli("db", "upgrade", **env).returncode == 0
        r = cli("doctor", **env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "FAIL" not in r.stdout and "warn" not in r.stdout and "ready for production" in r.stdout
        settings = production(database_url=url)
        assert all(c.ok for c in startup_gate("serve", settings, engine_for(url)))  # no SystemExit, no warning
    finally:
        engine_for(url).dispose()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_no_mail_server_is_a_warning_naming_what_it_costs(clean):
    checks = {c.name: c for c in run_checks(production(**passing_store(clean), smtp_url=None), clean)}
    assert checks["e-mail"].state == "warn" and "sign-up" in checks["e-mail"].detail
    off = {c.name: c for c in run_checks(production(**passing_store(clean), signup_confirm="off"), clean)}
    assert off["e-mail"].state == "warn" and "EVERYMETRE_SIGNUP_CONFIRM=off" in off["e-mail"].detail
