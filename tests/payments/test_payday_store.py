"""The statement store on both databases: `everymetre pay reconcile` exits 1 with one line per unmatched entry;
the same statement twice books nothing; an entry named twice in one statement is applied once; a statement with
one rejection and one unknown entry stores every entry with what became of it, audited."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select
from typer.testing import CliRunner

from everymetre.accounts.actions import SYSTEM
from everymetre.audit.models import AuditEvent
from everymetre.cli.main import app
from everymetre.payments import batches, ledger, reconcile
from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
from everymetre.payments.iso20022 import read_pain001
from everymetre.payments.models import BankStatement, Payment, RepairPayout, StatementLine
from everymetre.payments.return_reasons import RETURN_REASONS, Remedy, reason
from tests.payments.store_helpers import decided_claim
from tests.payments.test_store_batches import run_batch


def test_reconcile_cli_exits_1_with_a_line_per_unmatched_entry(db, users, principal, tmp_path):
    decided_claim(db, users["commission"], 10_000_000)
    run_batch(db, principal("payments"), tmp_path / "b.xml")
    t = read_pain001((tmp_path / "b.xml").read_bytes())[0]
    path = tmp_path / "s.xml"
    path.write_bytes(build_camt053([StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.BOOKED, date(2026, 2, 2)),
                                    StatementEntry("EMP-STRANGER-1", 500, EntryStatus.BOOKED, date(2026, 2, 2)),
                                    StatementEntry("EMP-STRANGER-2", 700, EntryStatus.BOOKED, date(2026, 2, 2))],
                                   account_iban=batches.debtor_account().iban))
    runner = CliRunner()
    r = runner.invoke(app, ["pay", "reconcile", str(path)])
    assert r.exit_code == 1, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("unmatched:")]
    assert len(lines) == 2 and "EMP-STRANGER-1" in lines[0] and "EMP-STRANGER-2" in lines[1]
    assert "exceptions queue" in lines[0] and "1 booked" in r.output
    again = runner.invoke(app, ["pay", "reconcile", str(path)])
    assert again.exit_code == 0 and "uploaded before" in again.output
    assert db.scalar(select(func.count()).select_from(BankStatement)) == 1
    path.write_bytes(b"not xml at all")
    bad = runner.invoke(app, ["pay", "reconcile", str(path)])
    assert bad.exit_code != 0 and "not XML" in bad.output and "Traceback" not in bad.output


def test_statement_with_a_rejection_and_an_unknown_entry_is_stored_and_audited(db, users, principal, tmp_path):
    a = decided_claim(db, users["commission"], 10_000_000)
    b = decided_claim(db, users["commission"], 20_000_000)
    run_batch(db, principal("payments"), tmp_path / "b.xml")
    t = {x.amount_kopiykas: x for x in read_pain001((tmp_path / "b.xml").read_bytes())}
    booked = StatementEntry(t[10_000_000].end_to_end_id, 10_000_000, EntryStatus.BOOKED, date(2026, 2, 2))
    stmt = build_camt053([booked, booked,  # the bank lists one twice: applied once
                          StatementEntry(t[20_000_000].end_to_end_id, 20_000_000, EntryStatus.REJECTED, date(2026, 2, 3),
                                         credit_debit="CRDT", reason_code="MD07"),
                          StatementEntry("EMP-NOT-OURS", 1_000, EntryStatus.BOOKED, date(2026, 2, 2)),
                          StatementEntry(t[10_000_000].end_to_end_id, 9_999_999, EntryStatus.BOOKED, date(2026, 2, 2))],
                         account_iban=batches.debtor_account().iban)
    r = reconcile.do_reconcile(db, principal("payments"), stmt)
    assert (r.booked, r.rejected, r.already, r.unmatched, len(r.problems)) == (1, 1, 1, ["EMP-NOT-OURS"], 1)
    db.expire_all()
    states = dict(db.execute(select(StatementLine.outcome, func.count()).group_by(StatementLine.outcome)).all())
    assert states == {"booked": 1, "already": 1, "rejected": 1, "unknown": 1, "mismatch": 1}
    assert db.scalar(select(func.count()).where(StatementLine.state == "open")) == 2
    ret = db.scalar(select(Payment).where(Payment.claim_id == b.id))
    assert ret.state == "rejected" and ret.reason_code == "MD07" and "deceased" in ret.reason
    assert db.scalar(select(func.count()).select_from(RepairPayout).where(RepairPayout.claim_id == a.id)) == 1
    event = json.loads(db.scalar(select(AuditEvent.payload).where(AuditEvent.action == "statement.reconciled")))
    assert event["booked"] == [t[10_000_000].end_to_end_id] and event["unknown"] == 1
    assert ledger.ledger_violations(db) == []
    # again, byte for byte: nothing booked twice, the attempt audited
    dup = reconcile.do_reconcile(db, SYSTEM, stmt)
    assert dup.duplicate and dup.upload_id == r.upload_id
    assert db.scalar(select(func.count()).select_from(StatementLine)) == 5
    assert db.scalar(select(func.count()).where(AuditEvent.action == "statement.uploaded_again")) == 1


def test_return_reasons_in_both_languages():
    for code in ("AC01", "AC04", "AC06", "AM04", "MD07", "RR01"):
        r = RETURN_REASONS[code]
        assert r.en and r.uk and r.uk != r.en and all("\u0400" <= ch <= "\u04ff" or not ch.isalpha() for ch in r.uk)
    assert reason("AC04").remedy is Remedy.NEW_ACCOUNT and reason("AM04").remedy is Remedy.RETRY
    unknown = reason("ZZ99")
    assert unknown.code == "ZZ99" and "ZZ99" in unknown.uk and unknown.remedy is Remedy.INVESTIGATE
