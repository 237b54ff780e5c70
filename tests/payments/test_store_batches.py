"""Payment batches on the store: each loss paid once, segregation, second approval, review flags, bank statements."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from everymetre.kernel.errors import Forbidden, GuardFailed
from everymetre.payments import service as svc
from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
from everymetre.payments.iso20022 import read_pain001, validate_pain001
from everymetre.payments.models import (
    LedgerPosting,
    Payment,
    PaymentBatch,
    RepairPayout,
)
from tests.payments.store_helpers import decided_claim, ensure_user


@pytest.fixture()
def pay2(db):
    return ensure_user(db, "payments2@test.org", "payments", ["kharkivska", "kyivska"])


def run_batch(db, principal, out, second=None):
    report = svc.do_build_batch(db, principal)
    if report.batch is None:
        return report, None
    batch = svc.do_approve_batch(db, principal, report.batch.id)
    if batch.state == "built" and second is not None:
        batch = svc.do_approve_batch(db, second, batch.id)
    svc.do_export_batch(db, principal, batch.id, out)
    return report, svc.do_mark_sent(db, principal, batch.id)


def statement(xml_path, rejected=(), booking=date(2026, 2, 2)) -> bytes:
    entries = []
    for t in read_pain001(xml_path.read_bytes()):
        if t.end_to_end_id in rejected:
            entries.append(StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.REJECTED, booking,
                                          credit_debit="CRDT", reason_code="AC04"))
        else:
            entries.append(StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.BOOKED, booking))
    return build_camt053(entries, account_iban=svc.debtor_account().iban)


def test_pays_each_claim_once(db, users, principal, tmp_path):
    claims = [decided_claim(db, users["commission"], 10_000_000 + i) for i in range(3)]
    _report, batch = run_batch(db, principal("payments"), tmp_path / "b1.xml")
    assert batch.state == "sent" and batch.count == 3 and batch.total_kopiykas == 30_000_003
    xml = (tmp_path / "b1.xml").read_bytes()
    validate_pain001(xml)
    assert sorted(t.amount_kopiykas for t in read_pain001(xml)) == [10_000_000, 10_000_001, 10_000_002]
    # the second run finds nothing to pay
    again, none = run_batch(db, principal("payments"), tmp_path / "b2.xml")
    assert again.batch is None and none is None and not (tmp_path / "b2.xml").exists()
    assert db.scalar(select(func.count()).select_from(Payment)) == 3
    assert {p.claim_id for p in db.scalars(select(Payment))} == {c.id for c in claims}
    assert svc.ledger_violations(db) == []


def test_steps_are_idempotent(db, users, principal, tmp_path):
    decided_claim(db, users["commission"])
    p = principal("payments")
    first = svc.do_build_batch(db, p).batch
    resumed = svc.do_build_batch(db, p)
    assert resumed.resumed and resumed.batch.id == first.id
    svc.do_approve_batch(db, p, first.id)
    svc.do_approve_batch(db, p, first.id)  # approving again changes nothing
    a = svc.do_export_batch(db, p, first.id, tmp_path / "a.xml").read_bytes()
    b = svc.do_export_batch(db, p, first.id, tmp_path / "b.xml").read_bytes()
    assert a == b  # the same file, byte for byte
    svc.do_mark_sent(db, p, first.id)
    svc.do_mark_sent(db, p, first.id)
    assert db.scalar(select(func.count()).select_from(LedgerPosting).where(LedgerPosting.kind == "payment_sent")) == 2
    assert svc.ledger_violations(db) == []


def test_database_refuses_a_second_live_payment(db, users, principal, tmp_path):
    claim = decided_claim(db, users["commission"])
    run_batch(db, principal("payments"), tmp_path / "b.xml")
    with pytest.raises(IntegrityError):
        db.execute(insert(Payment).values(end_to_end_id="EMP-X", purpose="repair", claim_id=claim.id, amount_kopiykas=1,
                                          creditor_name="x", creditor_iban="UA00", state="pending"))
    db.rollback()


def test_decider_cannot_release(db, users, principal, tmp_path, pay2):
    mine = decided_claim(db, pay2)  # decided by the second payments user (a role change, say)
    other = decided_claim(db, users["commission"])
    from everymetre.accounts.actions import load_principal

    p2 = load_principal(db, pay2)
    report = svc.do_build_batch(db, p2)
    assert report.held["decided by you (segregation)"] == 1
    assert {p.claim_id for p in db.scalars(select(Payment))} == {other.id}
    svc.do_cancel_batch(db, p2, report.batch.id, "test")
    # a batch built by someone else that contains the claim: the decider cannot approve it
    batch = svc.do_build_batch(db, principal("payments")).batch
    assert {p.claim_id for p in db.scalars(select(Payment).where(Payment.batch_id == batch.id))} == {mine.id, other.id}
    with pytest.raises(GuardFailed, match="Segregation"):
        svc.do_approve_batch(db, p2, batch.id)


def test_second_approver_required_above_threshold(db, users, principal, tmp_path, pay2, monkeypatch):
    monkeypatch.setenv("EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS", "15000000")
    decided_claim(db, users["commission"], 10_000_000)
    decided_claim(db, users["commission"], 10_000_000)
    p = principal("payments")
    batch = svc.do_build_batch(db, p).batch
    batch = svc.do_approve_batch(db, p, batch.id)
    assert batch.state == "built" and batch.approved_by_id == users["payments"]
    with pytest.raises(GuardFailed, match="second, different payments user"):
        svc.do_approve_batch(db, p, batch.id)  # the same person twice is not two approvals
    with pytest.raises(Forbidden):
        svc.do_approve_batch(db, principal("commission"), batch.id)  # and it must be a payments user
    from everymetre.accounts.actions import load_principal

    batch = svc.do_approve_batch(db, load_principal(db, pay2), batch.id)
    assert batch.state == "approved" and batch.second_approver_id == pay2
    # the database refuses one person as both approvers
    with pytest.raises(IntegrityError):
        db.execute(update(PaymentBatch).where(PaymentBatch.id == batch.id).values(second_approver_id=users["payments"]))
        db.flush()
    db.rollback()


def test_open_review_flag_blocks_payment(db, users, principal, tmp_path):
    flagged = decided_claim(db, users["commission"], review_flag="duplicate_claim")
    clean = decided_claim(db, users["commission"])
    report, batch = run_batch(db, principal("payments"), tmp_path / "b.xml")
    assert report.held["open review flag"] == 1
    assert {p.claim_id for p in db.scalars(select(Payment))} == {clean.id}
    # flagged after the batch was built: withdrawn from it at approval
    other = decided_claim(db, users["commission"])
    batch = svc.do_build_batch(db, principal("payments")).batch
    db.execute(update(flagged.__class__).where(flagged.__class__.id == other.id).values(review_flag="fraud"))
    db.commit()
    batch = svc.do_approve_batch(db, principal("payments"), batch.id)
    assert batch.state == "cancelled" and batch.count == 0
    assert db.scalar(select(Payment.state).where(Payment.claim_id == other.id)) == "cancelled"
    assert db.scalar(select(func.count()).select_from(Payment).where(Payment.claim_id == flagged.id)) == 0


def test_reconcile_booked_and_rejected(db, users, principal, tmp_path):
    a = decided_claim(db, users["commission"], 10_000_000)
    b = decided_claim(db, users["commission"], 30_000_000)  # tier B (above UAH 200,000)
    _, _batch = run_batch(db, principal("payments"), tmp_path / "b.xml")
    pay_b = db.scalar(select(Payment).where(Payment.claim_id == b.id))
    stmt = statement(tmp_path / "b.xml", rejected={pay_b.end_to_end_id})
    r = svc.do_reconcile(db, svc.SYSTEM, stmt)
    assert (r.booked, r.rejected, r.unmatched, r.problems) == (1, 1, [], [])
    assert svc.do_reconcile(db, svc.SYSTEM, stmt).already == 2  # the same statement again changes nothing
    db.expire_all()
    assert db.scalar(select(Payment.state).where(Payment.claim_id == a.id)) == "booked"
    rejected = db.scalar(select(Payment).where(Payment.claim_id == b.id))
    assert rejected.state == "rejected" and rejected.reason_code == "AC04" and rejected.reason
    payout = db.scalar(select(RepairPayout).where(RepairPayout.claim_id == a.id))
    assert payout.state == "funds_transferred" and payout.tier == "A" and payout.window_end == date(2027, 2, 2)
    assert svc.ledger_violations(db) == []
    # the rejected claim is owed again: the next batch pays it (a new payment id), and only it
    _, batch2 = run_batch(db, principal("payments"), tmp_path / "b2.xml")
    again = db.scalars(select(Payment).where(Payment.batch_id == batch2.id)).all()
    assert [(p.claim_id, p.end_to_end_id.endswith("-02")) for p in again] == [(b.id, True)]
    assert svc.ledger_violations(db) == []
    status = svc.payout_status(db, principal("payments"), b.reference)
    assert status["stage"] == "payment_in_progress" and [p["state"] for p in status["payments"]] == ["rejected", "sent"]


def test_statement_amount_mismatch_is_not_applied(db, users, principal, tmp_path):
    decided_claim(db, users["commission"], 10_000_000)
    run_batch(db, principal("payments"), tmp_path / "b.xml")
    t = read_pain001((tmp_path / "b.xml").read_bytes())[0]
    stmt = build_camt053([StatementEntry(t.end_to_end_id, t.amount_kopiykas - 1, EntryStatus.BOOKED, date(2026, 2, 2)),
                          StatementEntry("EMP-UNKNOWN", 5, EntryStatus.BOOKED, date(2026, 2, 2))],
                         account_iban=svc.debtor_account().iban)
    r = svc.do_reconcile(db, svc.SYSTEM, stmt)
    assert r.booked == 0 and len(r.problems) == 1 and r.unmatched == ["EMP-UNKNOWN"]


def test_ledger_check_cli_exits_1_on_tampered_posting(db, users, principal, tmp_path):
    from typer.testing import CliRunner

    from everymetre.cli.main import app

    decided_claim(db, users["commission"])
    run_batch(db, principal("payments"), tmp_path / "b.xml")
    runner = CliRunner()
    ok = runner.invoke(app, ["ledger", "check"])
    assert ok.exit_code == 0, ok.output
    pid = db.scalar(select(func.max(LedgerPosting.id)).where(LedgerPosting.credit > 0))
    db.execute(update(LedgerPosting).where(LedgerPosting.id == pid).values(credit=LedgerPosting.credit + 100))
    db.commit()
    bad = runner.invoke(app, ["ledger", "check"])
    assert bad.exit_code == 1
    assert "unbalanced" in bad.output and "VIOLATION" in bad.output


def test_decision_posting_and_revision(db, users, principal):
    claim = decided_claim(db, users["commission"], 10_000_000)
    r = svc.do_sync_decisions(db)
    assert (r.posted, r.revised) == (1, 0)
    assert svc.do_sync_decisions(db).posted == 0  # idempotent
    claim.state, claim.awarded_amount_kopiykas = "revised", 12_000_000
    db.commit()
    tx = svc.do_post_decision(db, principal("commission2"), claim.reference)
    assert tx is not None and str(tx.kind) == "decision_revised" and tx.amount == 2_000_000
    assert svc.do_post_decision(db, principal("commission2"), claim.reference) is None
    assert svc.ledger_violations(db) == []
    claim.awarded_amount_kopiykas = 13_000_000  # changed behind the ledger's back
    db.commit()
    assert [v.code for v in svc.ledger_violations(db)] == ["decision_mismatch"]
