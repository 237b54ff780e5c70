"""`everymetre pay batch` killed at every step, then run again: one batch, each claim in it once, a valid file."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import func, select

from everymetre.payments import service as svc
from everymetre.payments.iso20022 import read_pain001, validate_pain001
from everymetre.payments.models import Payment, PaymentBatch
from tests.payments.store_helpers import decided_claim

STEPS = ["build-commit", "build", "approve", "export-written", "export", "sent-commit", "sent"]


def pay_batch(out, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("EVERYMETRE_CRASH_AT", None)
    if crash_at:
        env["EVERYMETRE_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-c", "from everymetre.cli.main import main; main()", "pay", "batch",
                           "--out", str(out), "--as", "payments@test.org"], env=env, capture_output=True, text=True, check=False,
                          timeout=120)


def test_crash_at_every_step_then_rerun(db, users, tmp_path):
    claims = {decided_claim(db, users["commission"], 5_000_000 + i).id for i in range(3)}
    out = tmp_path / "batch.xml"
    for step in STEPS:
        r = pay_batch(out, crash_at=step)
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
    assert svc.ledger_violations(db) == []


def test_cli_errors_are_one_line(db, users, tmp_path):
    r = subprocess.run([sys.executable, "-c", "from everymetre.cli.main import main; main()", "pay", "batch",
                        "--out", str(tmp_path / "x.xml"), "--as", "nobody@test.org"], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2 and "no active account" in r.stderr and len(r.stderr.strip().splitlines()) == 1
