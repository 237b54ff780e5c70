"""Demo data only into an empty database; `serve` warns about demo accounts; PostgreSQL sequences after demo data."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.cli.test_cli import EVERYMETRE, run


def _fresh_env(tmp_path: Path) -> dict[str, str]:
    env = {"EVERYMETRE_DATABASE_URL": f"sqlite:///{tmp_path / 'real.db'}", "EVERYMETRE_DATA_DIR": str(tmp_path / "data")}
    assert run("db", "upgrade", env=env).returncode == 0
    return env


def test_if_empty_adds_no_demo_accounts_to_a_real_database(tmp_path):
    env = _fresh_env(tmp_path)
    r = run("users", "add", "admin@ministry.gov.ua", "--role", "admin", "--password-stdin", stdin="a real long password\n", env=env)
    assert r.returncode == 0, r.stderr
    r = run("demo", "--claims", "20", "--if-empty", env=env)
    assert r.returncode == 0 and "not loaded" in r.stdout and "demo.everymetre.org" not in r.stdout
    r = run("demo", "--claims", "20", env=env)  # asked plainly: refused, one line
    assert r.returncode == 2 and "empty database" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    import sqlite3

    con = sqlite3.connect(tmp_path / "real.db")
    emails = [e for (e,) in con.execute("SELECT email FROM users")]
    claims = con.execute("SELECT COUNT(*) FROM claims").fetchone()[0]
    con.close()
    assert emails == ["admin@ministry.gov.ua"] and claims == 0


def test_if_empty_loads_an_empty_database_and_serve_warns(tmp_path):
    env = _fresh_env(tmp_path)
    r = run("demo", "--claims", "20", "--if-empty", env=env)
    assert r.returncode == 0 and "wrote 20 claims" in r.stdout and "admin@demo.everymetre.org" in r.stdout
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([EVERYMETRE, "serve", "--port", str(port)], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:  # one warning line per unsafe setting (printed before it listens); the demo accounts are one of them
        for _ in range(600):
            with socket.socket() as c:
                if c.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    line = next((x for x in stderr.splitlines() if "demo account" in x), "")
    assert line.lower().startswith("warning") and "11 demo account(s)" in line and "published password" in line


def test_serve_says_nothing_without_demo_accounts(tmp_path):
    env = _fresh_env(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([EVERYMETRE, "serve", "--port", str(port)], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):  # until it listens
            with socket.socket() as c:
                if c.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert "demo account" not in stderr


@pytest.fixture()
def demo_loaded(engine, db):
    """Demo data written into the test store (explicit ids), removed again afterwards with its demo accounts."""
    from everymetre.demo.generate import generate

    generate(engine, 30, seed=7)
    yield
    from tests.conftest import wipe_claims

    wipe_claims(engine)
    with engine.begin() as conn:
        ids = [i for (i,) in conn.execute(text("SELECT id FROM users WHERE email LIKE '%@demo.everymetre.org'"))]
        for uid in ids:
            conn.execute(text("DELETE FROM audit_events WHERE chain = :c"), {"c": f"user:{uid}"})
            conn.execute(text("DELETE FROM audit_chains WHERE chain = :c"), {"c": f"user:{uid}"})
            conn.execute(text("DELETE FROM auth_sessions WHERE user_id = :u"), {"u": uid})
            conn.execute(text("DELETE FROM user_oblasts WHERE user_id = :u"), {"u": uid})
            conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": uid})


def test_after_demo_data_new_claims_decisions_and_imports_get_fresh_ids(demo_loaded, client, auth, db, tmp_path):
    from everymetre.claims.models import Claim
    from tests.factories import claim_body
    from tests.importer.conftest import FULL_MAPPING, person_row, write_input
    from tests.store.test_claims_api import ACT, move

    r = client.post("/api/v1/claims", json=claim_body(), headers=auth("citizen"))
    assert r.status_code == 201, r.text  # PostgreSQL before the fix: 409 (the id was the demo's)
    c = r.json()
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "inspector", c, "remote_verified", inspection_act={**ACT, "method": "remote_photo"})
    c = move(client, auth, "officer", c, "assessed")
    c = move(client, auth, "commission", c, "approved", decision={"reasons": "ok"})
    assert c["state"] == "approved"
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(FULL_MAPPING.format(source="after-demo"), encoding="utf-8")
    src = write_input(tmp_path / "claims.csv", [person_row(i) for i in range(1, 6)])
    from everymetre.cli.main import app

    r = CliRunner().invoke(app, ["import", "claims", str(src), "--mapping", str(mapping)])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output and "5 imported" in r.output
    db.rollback()
    assert len(list(db.scalars(select(Claim.id).where(Claim.source == "after-demo")))) == 5


def test_importer_refusal_is_one_line(engine, db, tmp_path):
    """A store that refuses a batch (here: the sequence set back below existing ids) gets one line, not a traceback."""
    from everymetre.store.db import is_postgres
    from tests.importer.conftest import FULL_MAPPING, person_row, write_input

    if not is_postgres(engine):
        pytest.skip("ids come from sequences on PostgreSQL only")
    from everymetre.cli.main import app

    mapping = tmp_path / "mapping.toml"
    mapping.write_text(FULL_MAPPING.format(source="first"), encoding="utf-8")
    assert CliRunner().invoke(app, ["import", "claims", str(write_input(tmp_path / "a.csv", [person_row(1)])),
                                    "--mapping", str(mapping)]).exit_code == 0
    with engine.begin() as conn:
        for table in ("claims", "persons", "properties"):  # the next id drawn is one already taken
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT MAX(id) FROM {table}), false)"))
    mapping.write_text(FULL_MAPPING.format(source="second"), encoding="utf-8")
    r = CliRunner().invoke(app, ["import", "claims", str(write_input(tmp_path / "b.csv", [person_row(2)])),
                                 "--mapping", str(mapping), "--jobs", "1"])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "refused" in r.output
    from everymetre.store.db import advance_sequences

    assert "claims_id_seq" in " ".join(advance_sequences(engine))
