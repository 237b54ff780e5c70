from __future__ import annotations

import pytest

from everymetre.payments.ledger_rules import (
    Account,
    AccountKind,
    LedgerError,
    LedgerRow,
    Posting,
    Transaction,
    TransactionKind,
    bank_clearing,
    certificate_paid_transaction,
    certificate_reserved_transaction,
    check_ledger,
    claim_payable,
    decision_revised_transaction,
    decision_transaction,
    parse_account,
    payment_returned_transaction,
    payment_sent_transaction,
    programme_budget,
)


def _codes(violations: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(v.code for v in violations)


def test_account_names_round_trip() -> None:
    assert claim_payable("CLM-1") == "claim_payable:CLM-1"
    assert parse_account("claim_payable:CLM-1") == Account(AccountKind.CLAIM_PAYABLE, "CLM-1")
    assert parse_account("bank_clearing") == Account(AccountKind.BANK_CLEARING)
    with pytest.raises(LedgerError, match="unknown account kind 'cash'"):
        parse_account("cash")
    with pytest.raises(LedgerError, match="needs a non-empty reference"):
        parse_account("claim_payable:")
    with pytest.raises(LedgerError, match="takes no reference"):
        parse_account("bank_clearing:x")


def test_imbalance_is_detected() -> None:
    tx = Transaction("t1", TransactionKind.DECISION, (Posting(programme_budget(), debit=100), Posting(claim_payable("C"), credit=99)))
    with pytest.raises(LedgerError, match="does not balance: debits 100 != credits 99"):
        tx.validate()


@pytest.mark.parametrize(
    ("posting", "fragment"),
    [
        (Posting("bank_clearing"), "is zero"),
        (Posting("bank_clearing", debit=-5), "negative"),
        (Posting("bank_clearing", debit=5, credit=5), "both a debit"),
        (Posting("bank_clearing", debit=1.5), "integer number of kopiykas"),  # type: ignore[arg-type]
        (Posting("nowhere", debit=5), "unknown account kind"),
    ],
)
def test_bad_postings(posting: Posting, fragment: str) -> None:
    tx = Transaction("t1", TransactionKind.DECISION, (posting, Posting(programme_budget(), credit=5)))
    with pytest.raises(LedgerError) as exc:
        tx.validate()
    assert fragment in str(exc.value) and "'t1'" in str(exc.value)


def test_single_posting_refused() -> None:
    with pytest.raises(LedgerError, match="at least two postings"):
        Transaction("t", TransactionKind.DECISION, (Posting("bank_clearing", debit=1),)).validate()


def test_builders_refuse_nonpositive_amounts() -> None:
    with pytest.raises(LedgerError, match="must be positive"):
        decision_transaction("t", "C", 0)
    with pytest.raises(LedgerError, match="delta is zero"):
        decision_revised_transaction("t", "C", 0)


def _happy_ledger() -> list[LedgerRow]:
    rows: list[LedgerRow] = []
    rows += decision_transaction("t1", "C1", 100_000_00).rows()
    rows += payment_sent_transaction("t2", "C1", "P1", 100_000_00).rows()
    rows += decision_transaction("t3", "C2", 50_000_00).rows()
    rows += payment_sent_transaction("t4", "C2", "P2", 50_000_00).rows()
    rows += payment_returned_transaction("t5", "C2", "P2", 50_000_00, "AC01").rows()
    rows += payment_sent_transaction("t6", "C2", "P3", 50_000_00).rows()  # re-sent after IBAN fix
    rows += decision_revised_transaction("t7", "C2", -10_000_00).rows()  # a reduction after payment overdraws the payable
    return rows


def test_consistent_ledger_has_no_violations() -> None:
    rows = _happy_ledger()[:-2]
    assert check_ledger(rows, {"C1": 100_000_00, "C2": 50_000_00}) == []
    rows += certificate_reserved_transaction("t8", "HC-2026-0001234-6", 2_000_000_00).rows()
    rows += certificate_paid_transaction("t9", "HC-2026-0001234-6", "P9", 2_000_000_00).rows()
    assert check_ledger(reversed(rows), {"C1": 100_000_00, "C2": 50_000_00}) == []


def test_reduction_below_paid_is_flagged() -> None:
    v = check_ledger(_happy_ledger(), {"C1": 100_000_00, "C2": 40_000_00})
    assert _codes(v) == ["overpaid", "payable_overdrawn"]
    assert all(x.claim == "C2" for x in v)


def test_claim_paid_twice() -> None:
    rows = decision_transaction("t1", "C1", 100).rows()
    rows += payment_sent_transaction("t2", "C1", "P1", 100).rows()
    rows += payment_sent_transaction("t3", "C1", "P2", 100).rows()
    v = check_ledger(rows, {"C1": 100})
    assert _codes(v) == ["overpaid", "paid_twice", "payable_overdrawn"]
    paid_twice = next(x for x in v if x.code == "paid_twice")
    assert "t2, t3" in paid_twice.message and paid_twice.account == "claim_payable:C1"


def test_unbalanced_and_malformed_rows() -> None:
    rows = decision_transaction("t1", "C1", 100).rows()
    rows.append(LedgerRow("t2", bank_clearing(), 5, 0, "payment_sent", row_id=17))
    rows.append(LedgerRow("t3", "bogus", 5, 0, "payment_sent", row_id=18))
    rows.append(LedgerRow("t3", bank_clearing(), 0, 5, "weird", row_id=19))
    v = check_ledger(rows)
    assert _codes(v) == ["bad_posting", "mixed_kinds", "single_posting", "unbalanced", "unbalanced", "unknown_kind"]
    bad = next(x for x in v if x.code == "bad_posting")
    assert bad.row_id == 18 and bad.transaction_id == "t3"
    assert "row=18" in str(bad)


def test_decisions_must_match() -> None:
    rows = decision_transaction("t1", "C1", 100).rows() + decision_transaction("t2", "C3", 7).rows()
    v = check_ledger(rows, {"C1": 101, "C2": 5})
    assert _codes(v) == ["decision_mismatch", "decision_not_posted", "no_decision"]
    mismatch = next(x for x in v if x.code == "decision_mismatch")
    assert "ledger commits 100 kopiykas but the decision is 101" in mismatch.message


def test_revision_counts_toward_decided() -> None:
    rows = decision_transaction("t1", "C1", 100).rows() + decision_revised_transaction("t2", "C1", 50).rows()
    assert check_ledger(rows, {"C1": 150}) == []
