"""`everymetre audit verify` finds rows edited or deleted behind the app's back, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from everymetre.cli.main import app
from tests.store.test_claims_api import file_claim, move


def verify():
    return CliRunner().invoke(app, ["audit", "verify"])


@pytest.fixture()
def trail(client, auth, engine):
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


def test_checkpoint_catches_a_rewritten_chain_with_recomputed_hashes(trail, engine, tmp_path):
    """Someone with database access rewrites an event and recomputes every hash after it and the head:
    the chain verifies, but not against the checkpoint published before."""
    from everymetre.audit.chain import event_hash

    cp = tmp_path / "checkpoint.json"
    r = CliRunner().invoke(app, ["audit", "checkpoint", "--out", str(cp)])
    assert r.exit_code == 0 and "digest" in r.output, r.output
    r = CliRunner().invoke(app, ["audit", "verify", "--checkpoint", str(cp)])
    assert r.exit_code == 0 and "matches the checkpoint" in r.output, r.output
    chain = f"claim:{trail}"
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, seq, at, actor_id, action, payload, prev_hash FROM audit_events "
                                 "WHERE chain = :c ORDER BY seq"), {"c": chain}).all()
        prev = rows[0].prev_hash
        for row in rows:
            payload = row.payload.replace("submitted", "approved") if row.seq == 2 else row.payload
            at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(row.at)  # SQLite gives text
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            h = event_hash(prev, chain, row.seq, at, row.actor_id, row.action, payload)
            conn.execute(text("UPDATE audit_events SET payload = :p, prev_hash = :ph, hash = :h WHERE id = :i"),
                         {"p": payload, "ph": prev, "h": h, "i": row.id})
            prev = h
        conn.execute(text("UPDATE audit_chains SET last_hash = :h WHERE chain = :c"), {"h": prev, "c": chain})
    assert verify().exit_code == 0  # the forged chain is self-consistent
    r = CliRunner().invoke(app, ["audit", "verify", "--checkpoint", str(cp)])
    assert r.exit_code == 1 and "checkpoint" in r.output and chain in r.output, r.output
    r = CliRunner().invoke(app, ["audit", "verify", "--checkpoint", str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and "missing.json" in r.output
