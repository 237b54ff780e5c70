"""`everymetre pay batch` / `pay approve` killed at every step, then run again: one batch, each claim in it once,
a valid file. One officer's approval per run: the builder's run never approves."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import func, select

from everymetre.payments import ledger
from everymetre.payments.iso20022 import read_pain001, validate_pain001
from everymetre.payments.models import Payment, PaymentBatch
from tests.payments.store_helpers import decided_claim, ensure_user

STEPS = ["build-commit", "build", "approve", "export-written", "export", "sent-commit", "sent"]


def pay(*args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("EVERYMETRE_CRASH_AT", None)
    if crash_at:
        env["EVERYMETRE_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-c", "from everymetre.cli.main import main; main()", "pay", *args],
                          env=env, capture_output=True, text=True, check=False, timeout=120)


def pay_batch(out, crash_at: str | None = None) -> subprocess.CompletedProcess:
    return pay("batch", "--out", str(out), "--as", "payments@test.org", crash_at=crash_at)


def pay_day(db, out, crash_at: str) -> subprocess.CompletedProcess:
    """The builder's run, the approver's run, the builder's run again: up to the first that does not exit 0."""
    r = pay_batch(out, crash_at)
    if r.returncode != 0:
        return r
    db.rollback()
    batch_id = db.scalar(select(func.max(PaymentBatch.id)))
    r = pay("approve", str(batch_id), "--as", "payments2@test.org", crash_at=crash_at)
    if r.returncode != 0:
        return r
    return pay_batch(out, crash_at)


def test_crash_at_every_step_then_rerun(db, users, tmp_path):
    claims = {decided_claim(db, users["commission"], 5_000_000 + i).id for i in range(3)}
    ensure_user(db, "payments2@test.org", "payments", ["kharkivska", "kyivska"])
    out = tmp_path / "batch.xml"
    for step in STEPS:
        r = pay_day(db, out, crash_at=step)
        assert r.returncode == 9, (step, r.stdout, r.stderr)
        db.rollback()
        # never more than one payment per claim, never more than one batch
        per_claim = db.execute(select(Payment.claim_id, func.count()).group_by(Payment.claim_id)).all()
        assert all(n == 1 for _, n in per_claim), (step, per_claim)
        assert db.scalar(select(func.count()).select_from(PaymentBatch)) <= 1
    db.rollback()
    batch = db.scalar(select(PaymentBatch))
    assert batch.state == "sent"  # the last crash came after "sent" was committed
    done = pay_batch(out)
    assert done.returncode == 0 and "nothing to pay" in done.stdout, done.stderr
    db.rollback()
    assert db.scalar(select(func.count()).select_from(PaymentBatch)) == 1
    payments = db.scalars(select(Payment)).all()
    assert {p.claim_id for p in payments} == claims and len(payments) == 3
    assert {p.batch_id for p in payments} == {batch.id} and {p.state for p in payments} == {"sent"}
    xml = out.read_bytes()
    validate_pain001(xml)
    assert sorted(t.end_to_end_id for t in read_pain001(xml)) == sorted(p.end_to_end_id for p in payments)
    assert ledger.ledger_violations(db) == []


def test_cli_errors_are_one_line(db, users, tmp_path):
    r = subprocess.run([sys.executable, "-c", "from everymetre.cli.main import main; main()", "pay", "batch",
                        "--out", str(tmp_path / "x.xml"), "--as", "nobody@test.org"], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2 and "no active account" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_one_approval_per_run(db, users, tmp_path):
    """`pay batch` never approves; the builder cannot give the approval that releases a batch (issue 11)."""
    decided_claim(db, users["commission"], 5_000_000)
    ensure_user(db, "payments2@test.org", "payments", ["kharkivska", "kyivska"])
    out = tmp_path / "batch.xml"
    two = pay("batch", "--out", str(out), "--as", "payments@test.org", "--approver", "payments2@test.org")
    assert two.returncode == 2 and "--approver" in two.stderr  # no second officer's approval in the builder's run
    built = pay_batch(out)
    assert built.returncode == 0 and "awaits approval" in built.stdout and not out.exists(), built.stderr
    db.rollback()
    batch = db.scalar(select(PaymentBatch))
    assert batch.state == "built" and batch.approved_by_id is None
    own = pay("approve", str(batch.id), "--as", "payments@test.org")
    assert own.returncode == 2 and "you built this batch" in own.stderr and len(own.stderr.strip().splitlines()) == 1
    ok = pay("approve", str(batch.id), "--as", "payments2@test.org")
    assert ok.returncode == 0 and f"batch {batch.id} approved" in ok.stdout, ok.stderr
    sent = pay_batch(out)
    assert sent.returncode == 0 and "sent" in sent.stdout and out.exists(), sent.stderr
    db.rollback()
    assert db.scalar(select(PaymentBatch.state).where(PaymentBatch.id == batch.id)) == "sent"
    assert ledger.ledger_violations(db) == []


def test_concurrent_build_loser_prints_one_line(db, engine, users, tmp_path):
    """Issue 11: a `pay batch` that collides with another build (here: this session's uncommitted posting of the
    same decision) says so in one line — on PostgreSQL, where the collision happens; SQLite queues the writers."""
    import time

    from everymetre.store.db import is_postgres

    decided_claim(db, users["commission"], 5_000_000)
    ledger.sync(db, None)  # the other build's first write, not committed yet
    db.flush()
    env = dict(os.environ)
    env.pop("EVERYMETRE_CRASH_AT", None)
    proc = subprocess.Popen([sys.executable, "-c", "from everymetre.cli.main import main; main()", "pay", "batch",
                             "--out", str(tmp_path / "b.xml"), "--as", "payments@test.org"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if is_postgres(db):  # wait until it waits on our write
        from sqlalchemy import text

        deadline = time.monotonic() + 60
        with engine.connect() as watch:
            while not watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                            "AND wait_event_type = 'Lock'")).scalar():
                assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
                time.sleep(0.1)
                watch.rollback()
    else:
        time.sleep(3)
    db.commit()
    stdout, stderr = proc.communicate(timeout=120)
    assert "Traceback" not in stderr and "IntegrityError" not in stderr, stderr
    if is_postgres(db):
        assert proc.returncode == 2 and len(stderr.strip().splitlines()) == 1, (stdout, stderr)
        assert "Another payment batch was built at the same time" in stderr
    else:
        assert proc.returncode == 0 and "awaits approval" in stdout, (stdout, stderr)
