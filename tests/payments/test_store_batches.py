"""Payment batches on the store: each loss paid once, segregation, second approval, review flags, bank statements."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from everymetre.accounts.actions import SYSTEM
from everymetre.claims import payout_accounts
from everymetre.kernel.errors import Forbidden, GuardFailed
from everymetre.kernel.iban import make_ua_iban
from everymetre.payments import batches, ledger, queries, reconcile
from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
from everymetre.payments.iso20022 import read_pain001, validate_pain001
from everymetre.payments.models import (
    LedgerPosting,
    Payment,
    PaymentBatch,
    RepairPayout,
)
from tests.payments.store_helpers import decided_claim, ensure_user


def run_batch(db, principal, out, second=None):
    """Build as `principal`; approve as `second` (another payments officer by default) — above the limit the
    builder gives the first approval and `second` the one that releases it; write the file and send it."""
    from everymetre.accounts.actions import load_principal

    report = batches.do_build_batch(db, principal)
    if report.batch is None:
        return report, None
    batch = report.batch
    if second is not None and batch.total_kopiykas > batches.second_approval_above():
        batch = batches.do_approve_batch(db, principal, batch.id)
    other = second or load_principal(db, ensure_user(db, "payments2@test.org", "payments", ["kharkivska", "kyivska"]))
    batch = batches.do_approve_batch(db, other, batch.id)
    batches.do_export_batch(db, principal, batch.id, out)
    return report, batches.do_mark_sent(db, principal, batch.id)


def statement(xml_path, rejected=(), booking=date(2026, 2, 2)) -> bytes:
    entries = []
    for t in read_pain001(xml_path.read_bytes()):
        if t.end_to_end_id in rejected:
            entries.append(StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.REJECTED, booking,
                                          credit_debit="CRDT", reason_code="AC04"))
        else:
            entries.append(StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.BOOKED, booking))
    return build_camt053(entries, account_iban=batches.debtor_account().iban)


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
    assert ledger.ledger_violations(db) == []


def test_steps_are_idempotent(db, users, principal, tmp_path, pay2):
    from everymetre.accounts.actions import load_principal

    decided_claim(db, users["commission"])
    p = principal("payments")
    first = batches.do_build_batch(db, p).batch
    resumed = batches.do_build_batch(db, p)
    assert resumed.resumed and resumed.batch.id == first.id
    batches.do_approve_batch(db, load_principal(db, pay2), first.id)
    batches.do_approve_batch(db, load_principal(db, pay2), first.id)  # approving again changes nothing
    a = batches.do_export_batch(db, p, first.id, tmp_path / "a.xml").read_bytes()
    b = batches.do_export_batch(db, p, first.id, tmp_path / "b.xml").read_bytes()
    assert a == b  # the same file, byte for byte
    batches.do_mark_sent(db, p, first.id)
    batches.do_mark_sent(db, p, first.id)
    assert db.scalar(select(func.count()).select_from(LedgerPosting).where(LedgerPosting.kind == "payment_sent")) == 2
    assert ledger.ledger_violations(db) == []


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
    report = batches.do_build_batch(db, p2)
    assert report.held["decided by you (segregation)"] == 1
    assert {p.claim_id for p in db.scalars(select(Payment))} == {other.id}
    batches.do_cancel_batch(db, p2, report.batch.id, "test")
    # a batch built by someone else that contains the claim: the decider cannot approve it
    batch = batches.do_build_batch(db, principal("payments")).batch
    assert {p.claim_id for p in db.scalars(select(Payment).where(Payment.batch_id == batch.id))} == {mine.id, other.id}
    with pytest.raises(GuardFailed, match="Segregation"):
        batches.do_approve_batch(db, p2, batch.id)


def test_second_approver_required_above_threshold(db, users, principal, tmp_path, pay2, approval_limit):
    approval_limit(15000000)
    decided_claim(db, users["commission"], 10_000_000)
    decided_claim(db, users["commission"], 10_000_000)
    p = principal("payments")
    batch = batches.do_build_batch(db, p).batch
    batch = batches.do_approve_batch(db, p, batch.id)
    assert batch.state == "built" and batch.approved_by_id == users["payments"]
    with pytest.raises(GuardFailed, match="second, different payments user"):
        batches.do_approve_batch(db, p, batch.id)  # the same person twice is not two approvals
    with pytest.raises(Forbidden):
        batches.do_approve_batch(db, principal("commission"), batch.id)  # and it must be a payments user
    from everymetre.accounts.actions import load_principal

    batch = batches.do_approve_batch(db, load_principal(db, pay2), batch.id)
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
    batch = batches.do_build_batch(db, principal("payments")).batch
    db.execute(update(flagged.__class__).where(flagged.__class__.id == other.id).values(review_flag="fraud"))
    db.commit()
    batch = batches.do_approve_batch(db, principal("payments"), batch.id)
    assert batch.state == "cancelled" and batch.count == 0
    assert db.scalar(select(Payment.state).where(Payment.claim_id == other.id)) == "cancelled"
    assert db.scalar(select(func.count()).select_from(Payment).where(Payment.claim_id == flagged.id)) == 0


def test_reconcile_booked_and_rejected(db, users, principal, tmp_path):
    a = decided_claim(db, users["commission"], 10_000_000)
    b = decided_claim(db, users["commission"], 30_000_000)  # tier B (above UAH 200,000)
    _, _batch = run_batch(db, principal("payments"), tmp_path / "b.xml")
    pay_b = db.scalar(select(Payment).where(Payment.claim_id == b.id))
    stmt = statement(tmp_path / "b.xml", rejected={pay_b.end_to_end_id})
    r = reconcile.do_reconcile(db, SYSTEM, stmt)
    assert (r.booked, r.rejected, r.unmatched, r.problems) == (1, 1, [], [])
    again = reconcile.do_reconcile(db, SYSTEM, stmt)  # the same statement again changes nothing
    assert again.duplicate and again.upload_id == r.upload_id and (again.booked, again.rejected) == (1, 1)
    db.expire_all()
    assert db.scalar(select(Payment.state).where(Payment.claim_id == a.id)) == "booked"
    rejected = db.scalar(select(Payment).where(Payment.claim_id == b.id))
    assert rejected.state == "rejected" and rejected.reason_code == "AC04" and rejected.reason
    payout = db.scalar(select(RepairPayout).where(RepairPayout.claim_id == a.id))
    assert payout.state == "funds_transferred" and payout.tier == "A" and payout.window_end == date(2027, 2, 2)
    assert ledger.ledger_violations(db) == []
    # the rejected claim needs a new account first (claims.payout_accounts): no batch takes it until one is given
    assert queries.payout_status(db, principal("payments"), b.reference)["stage"] == "needs_account"
    assert batches.do_build_batch(db, principal("payments")).held["needs a new account"] == 1
    new_iban = make_ua_iban("305299", 4242)
    payout_accounts.do_set_payout_account(db, principal("officer"), b.reference, new_iban, "305299", reason="новий рахунок")
    # then it is owed again: the next batch pays it (a new payment id) to the new account, and only it
    _, batch2 = run_batch(db, principal("payments"), tmp_path / "b2.xml")
    again = db.scalars(select(Payment).where(Payment.batch_id == batch2.id)).all()
    assert [(p.claim_id, p.end_to_end_id.endswith("-02"), p.creditor_iban) for p in again] == [(b.id, True, new_iban)]
    assert ledger.ledger_violations(db) == []
    status = queries.payout_status(db, principal("payments"), b.reference)
    assert status["stage"] == "payment_in_progress" and [p["state"] for p in status["payments"]] == ["rejected", "sent"]


def test_statement_amount_mismatch_is_not_applied(db, users, principal, tmp_path):
    decided_claim(db, users["commission"], 10_000_000)
    run_batch(db, principal("payments"), tmp_path / "b.xml")
    t = read_pain001((tmp_path / "b.xml").read_bytes())[0]
    stmt = build_camt053([StatementEntry(t.end_to_end_id, t.amount_kopiykas - 1, EntryStatus.BOOKED, date(2026, 2, 2)),
                          StatementEntry("EMP-UNKNOWN", 5, EntryStatus.BOOKED, date(2026, 2, 2))],
                         account_iban=batches.debtor_account().iban)
    r = reconcile.do_reconcile(db, SYSTEM, stmt)
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
    r = ledger.do_sync_decisions(db)
    assert (r.posted, r.revised) == (1, 0)
    assert ledger.do_sync_decisions(db).posted == 0  # idempotent
    claim.state, claim.awarded_amount_kopiykas = "revised", 12_000_000
    db.commit()
    tx = ledger.do_post_decision(db, principal("commission2"), claim.reference)
    assert tx is not None and str(tx.kind) == "decision_revised" and tx.amount == 2_000_000
    assert ledger.do_post_decision(db, principal("commission2"), claim.reference) is None
    assert ledger.ledger_violations(db) == []
    claim.awarded_amount_kopiykas = 13_000_000  # changed behind the ledger's back
    db.commit()
    assert [v.code for v in ledger.ledger_violations(db)] == ["decision_mismatch"]


def test_builder_never_releases_their_own_batch(db, users, principal, tmp_path, pay2, approval_limit):
    """Issue 11: below the second-approval limit the one approval is never the builder's; above it the builder
    may give the first approval, never the second."""
    from everymetre.accounts.actions import load_principal
    from everymetre.kernel.errors import ErrorCode

    decided_claim(db, users["commission"], 10_000_000)  # UAH 100,000: far below the default UAH 1 million
    p, p2 = principal("payments"), load_principal(db, pay2)
    batch = batches.do_build_batch(db, p).batch
    with pytest.raises(GuardFailed, match="you built this batch") as refused:
        batches.do_approve_batch(db, p, batch.id)
    assert refused.value.code is ErrorCode.SEGREGATION_BUILT
    db.expire_all()
    assert db.get(PaymentBatch, batch.id).approved_by_id is None  # nothing recorded
    assert batches.do_approve_batch(db, p2, batch.id).state == "approved"
    batches.do_cancel_batch(db, p, batch.id, "test")
    # above the limit: another officer's first approval, then the builder may not give the second
    approval_limit(5_000_000)
    batch = batches.do_build_batch(db, p).batch
    assert batches.do_approve_batch(db, p2, batch.id).state == "built"
    with pytest.raises(GuardFailed, match="you built this batch"):
        batches.do_approve_batch(db, p, batch.id)


def test_batch_payees_are_oblast_scoped(db, users, principal, pay2, client, auth):
    """Issue 11: a payments officer of one oblast does not read another oblast's payees and amounts."""
    from everymetre.accounts.actions import load_principal
    from everymetre.kernel.errors import Forbidden

    decided_claim(db, users["commission"], 10_000_000, oblast="kyivska", owners=[("Бондар Ганна", 1, 1)])
    batch = batches.do_build_batch(db, load_principal(db, pay2)).batch  # pay2 covers Kyiv oblast
    kharkiv_only = principal("payments")
    assert queries.list_batches(db, kharkiv_only)["items"] == []
    with pytest.raises(Forbidden, match="kyivska"):
        queries.batch_detail(db, kharkiv_only, batch.id)
    assert queries.list_batches(db, load_principal(db, pay2))["total"] == 1
    assert queries.list_batches(db, principal("auditor"))["total"] == 1  # national roles see every batch
    listing = client.get("/api/v1/payment-batches", headers=auth("payments")).json()
    assert listing["total"] == 0 and listing["items"] == []
    r = client.get(f"/api/v1/payment-batches/{batch.id}", headers=auth("payments"))
    assert r.status_code == 403 and "Бондар" not in r.text and r.json()["code"] == "out_of_scope"
    assert client.get(f"/api/v1/payment-batches/{batch.id}", headers=auth("auditor")).status_code == 200


def test_two_builds_at_once_one_is_refused_cleanly(db, engine, users, principal, pay2):
    """Issue 11: two `pay batch` runs at the same time: the later one is refused with a Conflict (one line in the
    CLI), never an IntegrityError; nothing is paid twice. (On SQLite builds queue for the write lock, so the
    later one finds nothing left; on PostgreSQL it collides on the unique indexes.)"""
    import threading
    import time

    from everymetre.accounts.actions import load_principal
    from everymetre.kernel.errors import Conflict, ErrorCode
    from everymetre.store.db import session_factory

    decided_claim(db, users["commission"], 10_000_000)
    outcome: dict[str, object] = {}

    def other_build() -> None:
        with session_factory(engine)() as s:
            try:
                outcome["report"] = batches.do_build_batch(s, load_principal(s, pay2))
            except Exception as exc:
                outcome["error"] = exc

    def at(step: str) -> None:
        if step == "build-commit":  # the first build has written its batch and not yet committed
            outcome["thread"] = t = threading.Thread(target=other_build)
            t.start()
            time.sleep(1.0)

    first = batches.do_build_batch(db, principal("payments"), checkpoint=at)
    outcome["thread"].join(60)
    assert first.batch is not None and first.batch.count == 1
    error = outcome.get("error")
    if error is not None:
        assert isinstance(error, Conflict) and error.code is ErrorCode.BATCH_BUILT_MEANWHILE, repr(error)
    else:
        assert outcome["report"].batch is None  # it waited, then found nothing left to pay
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Payment)) == 1
    assert db.scalar(select(func.count()).select_from(PaymentBatch)) == 1


def test_database_refuses_a_batch_released_by_its_builder(db, users, principal, pay2):
    """The CHECK behind Segregation.NOT_BUILDER (migration 0002): no UPDATE releases a batch on its builder's
    approval alone, or with the builder as the second approver."""
    decided_claim(db, users["commission"])
    batch = batches.do_build_batch(db, principal("payments")).batch
    me = users["payments"]
    for values in ({"approved_by_id": me}, {"approved_by_id": pay2, "second_approver_id": me}):
        with pytest.raises(IntegrityError):
            db.execute(update(PaymentBatch).where(PaymentBatch.id == batch.id).values(state="approved", **values))
            db.flush()
        db.rollback()
    # the builder's first approval and another officer's release: allowed
    db.execute(update(PaymentBatch).where(PaymentBatch.id == batch.id)
               .values(state="approved", approved_by_id=me, second_approver_id=pay2))
    db.commit()
