"""Shared fixtures: a real database (SQLite by default, PostgreSQL with EVERYMETRE_TEST_DATABASE_URL), the
migrated schema, staff accounts, and an API client.

CI runs the whole suite twice, once per store (.ci/run). With CI=true a missing PostgreSQL fails loudly.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# The machines that run the suite are shared and noisy: a property's examples are judged, never their timing.
hypothesis_settings.register_profile("everymetre", deadline=None)
hypothesis_settings.load_profile("everymetre")

_TMP = Path(tempfile.mkdtemp(prefix="everymetre-test-"))
TEST_DB_URL = os.environ.get("EVERYMETRE_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
os.environ["EVERYMETRE_DATABASE_URL"] = TEST_DB_URL
os.environ["EVERYMETRE_DATA_DIR"] = str(_TMP / "data")
os.environ.setdefault("EVERYMETRE_SECRET_KEY", "test-secret-key-not-for-production-use-0123456789")
# Most tests file claims without photos; the photo rule (claims/evidence_rules.py) is tested with its own counts
# in tests/store/test_evidence_rules.py. Deployments get the default of one close-up and one wide view.
os.environ.setdefault("EVERYMETRE_PHOTOS_CLOSEUP_REQUIRED", "0")
os.environ.setdefault("EVERYMETRE_PHOTOS_WIDE_REQUIRED", "0")
os.environ.setdefault("EVERYMETRE_REMOTE_PHOTOS_REQUIRED", "0")  # its own tests: tests/web/test_remote_photos.py

from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from everymetre.config import get_settings  # noqa: E402
from everymetre.store.db import engine_for, is_postgres, session_factory  # noqa: E402

get_settings.cache_clear()

STAFF = {
    "officer": ("officer@test.org", "officer", ["kharkivska", "kyivska"]),
    "officer_lviv": ("officer.lviv@test.org", "officer", ["lvivska"]),
    "inspector": ("inspector@test.org", "inspector", ["kharkivska", "kyivska"]),
    "commission": ("commission@test.org", "commission", ["kharkivska", "kyivska"]),
    "commission2": ("commission2@test.org", "commission", ["kharkivska", "kyivska"]),
    "commission3": ("commission3@test.org", "commission", ["kharkivska", "kyivska"]),
    "payments": ("payments@test.org", "payments", ["kharkivska"]),
    "auditor": ("auditor@test.org", "auditor", []),
    "admin": ("admin@test.org", "admin", []),
    "citizen": ("citizen@test.org", "claimant", []),
    "citizen2": ("other.citizen@test.org", "claimant", []),
    "notary": ("notary@test.org", "notary", []),
    "notary2": ("notary2@test.org", "notary", []),
}
PASSWORD = "correct horse battery"
# tables holding claim data, emptied after each test; accounts persist for the session
CLAIM_TABLES = ("decisions", "inspection_acts", "evidence", "ownerships", "claims", "properties")


def _reset_schema(engine: Engine) -> None:
    from everymetre.store.migrate import upgrade

    if is_postgres(engine):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)


@pytest.fixture(scope="session")
def engine() -> Engine:
    eng = engine_for(TEST_DB_URL)
    try:
        with eng.connect():
            pass
    except Exception as exc:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"CI: test database {TEST_DB_URL} is not reachable: {exc}") from exc
        pytest.skip(f"test database {TEST_DB_URL} not reachable")
    _reset_schema(eng)
    return eng


@dataclass
class Staff:
    ids: dict[str, int]

    def __getitem__(self, key: str) -> int:
        return self.ids[key]


@pytest.fixture(scope="session")
def users(engine: Engine) -> Staff:
    from everymetre.accounts.actions import do_create_user

    ids = {}
    with session_factory(engine)() as session:
        for key, (email, role, oblasts) in STAFF.items():
            ids[key] = do_create_user(session, None, email, PASSWORD, role, oblasts).id
    return Staff(ids)


@pytest.fixture()
def db(engine: Engine, users: Staff) -> Iterator[Session]:
    """A session on the test database; claim data is wiped after the test."""
    with session_factory(engine)() as session:
        yield session
    wipe_claims(engine)


def wipe_claims(engine: Engine) -> None:
    import everymetre.store.schema  # noqa: F401  (every feature's tables)
    from everymetre.store.base import Base

    extra = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in {
        "users", "user_oblasts", "persons", "audit_events", "audit_chains", *CLAIM_TABLES}]
    with engine.begin() as conn:
        for t in extra:
            conn.execute(t.delete())
        for name in CLAIM_TABLES:
            conn.execute(text(f"DELETE FROM {name}"))
        conn.execute(text("UPDATE users SET person_id = NULL, verified_rnokpp = NULL, verified_at = NULL, "
                          "verified_through = NULL"))
        conn.execute(text("DELETE FROM persons"))
        conn.execute(text("DELETE FROM audit_events WHERE chain NOT LIKE 'user:%'"))
        conn.execute(text("DELETE FROM audit_chains WHERE chain NOT LIKE 'user:%'"))
        # a claimant's link to a person (and their verified identity) is recorded on the user's chain: drop those
        # events too
        # (and what followed it on that chain, so that no user's chain is left with a gap)
        conn.execute(text(
            "DELETE FROM audit_events WHERE chain LIKE 'user:%' AND seq >= (SELECT MIN(f.seq) FROM audit_events f "
            "WHERE f.chain = audit_events.chain AND f.action IN ('user.linked_person', 'user.identity_verified', "
            "'user.identity_refused'))"))
        conn.execute(text(
            "UPDATE audit_chains SET last_seq = (SELECT MAX(seq) FROM audit_events e WHERE e.chain = audit_chains.chain), "
            "last_hash = (SELECT e.hash FROM audit_events e WHERE e.chain = audit_chains.chain AND e.seq = "
            "(SELECT MAX(seq) FROM audit_events f WHERE f.chain = audit_chains.chain))"))


@pytest.fixture()
def principal(db: Session, users: Staff):
    """principal('officer') -> the services' view of that test account (fresh from the database)."""
    from everymetre.accounts.actions import load_principal

    def get(key: str):
        db.expire_all()
        return load_principal(db, users[key])

    return get


@pytest.fixture()
def client(db: Session, users: Staff):
    from fastapi.testclient import TestClient

    from everymetre.api.app import create_app

    with TestClient(create_app(get_settings()), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def auth(engine: Engine, users: Staff):
    """auth('officer') -> Authorization header for that account (one API session per account per test)."""
    from everymetre.api.security import issue_token

    tokens: dict[str, str] = {}

    def header(key: str) -> dict[str, str]:
        if key not in tokens:
            with session_factory(engine)() as session:
                tokens[key] = issue_token(session, get_settings(), users[key])
        return {"Authorization": f"Bearer {tokens[key]}"}

    return header
