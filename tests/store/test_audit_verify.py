"""`everymetre audit verify` finds rows edited or deleted behind the app's back, on both stores."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from everymetre.cli.main import app
from tests.store.test_claims_api import file_claim, move


def verify():  # noqa: ANN201
    return CliRunner().invoke(app, ["audit", "verify"])


@pytest.fixture()
def trail(client, auth, engine):  # noqa: ANN001, ANN201
    c = file_claim(client, auth)
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "officer", c, "suspended", documents_requested=["Витяг"])
    r = verify()
    assert r.exit_code == 0, r.output
    return int(c["reference"].split("-")[-1])


def test_edited_payload_is_named(trail, engine):
    with engine.begin() as conn:
        eid = conn.execute(text("SELECT id FROM audit_events WHERE chain = :c AND seq = 2"), {"c": f"claim:{trail}"}).scalar()
        conn.execute(text("UPDATE audit_events SET payload = replace(payload, 'submitted', 'approved') WHERE id = :i"), {"i": eid})
    r = verify()
    assert r.exit_code == 1 and f"event id {eid}" in r.output and "altered" in r.output


def test_deleted_middle_event(trail, engine):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq = 3"), {"c": f"claim:{trail}"})
    r = verify()
    assert r.exit_code == 1 and "deleted" in r.output


def test_deleted_last_event(trail, engine):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq = (SELECT MAX(seq) FROM audit_events WHERE chain = :c)"),
                     {"c": f"claim:{trail}"})
    r = verify()
    assert r.exit_code == 1 and "recorded head" in r.output


def test_deleted_whole_trail(trail, engine):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE chain = :c"), {"c": f"claim:{trail}"})
        conn.execute(text("DELETE FROM audit_chains WHERE chain = :c"), {"c": f"claim:{trail}"})
    r = verify()
    assert r.exit_code == 1 and f"claim:{trail}" in r.output
