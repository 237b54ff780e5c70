"""The restore drill on PostgreSQL: dump a populated store and its evidence, restore both into a fresh database
and folder, and prove the copy (audit against a checkpoint taken before the dump, ledger, rules, evidence)."""

from __future__ import annotations

import os
import subprocess

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DB_URL
from tests.ops.helpers import claim_life
from tests.ops.test_checks import EVERYMETRE

pytestmark = pytest.mark.skipif(not TEST_DB_URL.startswith("postgresql"), reason="the restore drill uses pg_dump and "
                                "pg_restore: set EVERYMETRE_TEST_DATABASE_URL to a PostgreSQL database to run it")
TARGET = f"{make_url(TEST_DB_URL).database}_restore"


def drill(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EVERYMETRE, "restore-drill", *args], capture_output=True, text=True, check=False, timeout=300,
                          env=dict(os.environ))


def exists(engine, name: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None


def populate(client, auth, db, users, principal) -> None:
    from everymetre.payments import batches as svc

    claim_life(client, auth)
    claim_life(client, auth)  # both decided, each with an IBAN: the batch pays them, the ledger records it
    from everymetre.accounts.actions import load_principal
    from tests.payments.store_helpers import ensure_user

    builder = ensure_user(db, "payments2@test.org", "payments", ["kharkivska", "kyivska"])
    batch = svc.do_build_batch(db, load_principal(db, builder)).batch  # built by another officer: the builder never approves
    assert batch.total_kopiykas > 0
    r = client.post(f"/api/v1/payment-batches/{batch.id}/approve", json={"expected_total_kopiykas": batch.total_kopiykas},
                    headers=auth("payments"))
    assert r.status_code == 200, r.text


def test_restore_drill_proves_the_copy(client, auth, db, users, principal, engine, tmp_path):
    populate(client, auth, db, users, principal)
    r = drill("--target-db", TARGET, "--work", str(tmp_path / "drill"))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    print(out)  # what an operator sees (pytest -s)
    assert "checkpoint of" in out and "taken before the dump" in out
    assert "everymetre audit verify: intact:" in out and "matches the checkpoint" in out
    assert "everymetre ledger check: ledger consistent" in out
    assert "everymetre rules recheck: all 4 decisions recompute to the same result" in out  # 2 first + 2 appeal
    assert "evidence: 2 file(s), every SHA-256 and size as the store records" in out
    assert "restore drill passed" in out
    assert not exists(engine, TARGET)  # dropped after the proof
    assert (tmp_path / "drill" / "store.dump").stat().st_size > 0


def test_a_damaged_evidence_file_fails_the_drill(client, auth, db, users, principal, engine, tmp_path):
    from everymetre.claims.models import Evidence
    from everymetre.config import get_settings

    claim_life(client, auth)
    sha = db.query(Evidence.sha256).first()[0]
    path = get_settings().evidence_dir / sha[:2] / sha[2:4] / sha
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # one flipped bit in the backed-up folder
    try:
        r = drill("--target-db", TARGET, "--work", str(tmp_path / "drill"))
    finally:
        path.write_bytes(original)
    assert r.returncode == 1 and f"evidence {sha}: the restored file's SHA-256 or size differs" in r.stderr
    assert not exists(engine, TARGET)


def test_an_existing_target_is_refused_and_kept(engine, users, tmp_path):
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{TARGET}"'))
    try:
        r = drill("--target-db", TARGET, "--work", str(tmp_path / "drill"))
        assert r.returncode == 1 and "already exists" in r.stderr
        assert exists(engine, TARGET)  # never dropped by the drill that refused it
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{TARGET}" WITH (FORCE)'))


def test_the_drill_refuses_sqlite(tmp_path):
    r = subprocess.run([EVERYMETRE, "restore-drill", "--work", str(tmp_path)], capture_output=True, text=True, check=False,
                       env={**os.environ, "EVERYMETRE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert r.returncode == 1 and "needs a PostgreSQL store" in r.stderr
