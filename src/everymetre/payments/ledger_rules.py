"""The payments ledger's double-entry rules, with no database.

Accounts are text names, as stored in the ledger tables:

===========================  =================================================================
``programme_budget``         the programme's appropriation: debited when money is committed
``claim_payable:<claim>``    what the programme owes a claimant for one claim (credit balance)
``bank_clearing``            money instructed to / returned by the bank (credit = sent out)
``returned_funds``           money that came back (e.g. unspent repair balance) awaiting release
``certificate_reserved:<c>`` funds reserved for one housing certificate until the seller is paid
``agent_fund``               money allocated to the certificates' paying agent, not yet reserved (credit balance)
===========================  =================================================================

The standard transactions (:class:`TransactionKind`), each built by a helper below:

* ``decision``              Dr programme_budget            Cr claim_payable:<claim>
* ``decision_revised``      either direction between the same two accounts (an upheld appeal that changes
  the amount; a reduction debits claim_payable)
* ``payment_sent``          Dr claim_payable:<claim>       Cr bank_clearing
* ``payment_returned``      Dr bank_clearing               Cr claim_payable:<claim>   (bank returned it: the
  claim is owed again, e.g. after the IBAN is corrected)
* ``tranche_sent``          Dr claim_payable:<claim>       Cr bank_clearing           (tier B's second repair
  payment, 30 %, after the interim report is accepted; a claim has at most one outstanding)
* ``tranche_returned``      Dr bank_clearing               Cr claim_payable:<claim>   (the bank returned it)
* ``balance_returned``      Dr bank_clearing               Cr returned_funds          (unspent repair money)
* ``returned_to_budget``    Dr returned_funds              Cr programme_budget
* ``certificate_reserved``  Dr programme_budget            Cr certificate_reserved:<cert>
* ``certificate_paid``      Dr certificate_reserved:<cert> Cr bank_clearing           (paid to the seller)
* ``certificate_released``  Dr certificate_reserved:<cert> Cr programme_budget        (lapsed or expired)
* ``fund_allocated``        Dr programme_budget            Cr agent_fund              (money to the paying agent)

A reservation booked by a notary through the funding queue takes its money from ``agent_fund`` instead of
``programme_budget`` (``source=agent_fund()``), and a lapse, expiry or revocation returns it there; the agent's
fund never goes into debit (:func:`check_ledger`, ``fund_overdrawn``).

Amounts are integer kopiykas, never floats. A posting has exactly one positive side.

:func:`check_ledger` runs the invariants over rows from the database (any order) and returns a list of
:class:`Violation` saying what is wrong and where; an empty list means the ledger is consistent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Account",
    "AccountKind",
    "LedgerError",
    "LedgerRow",
    "Posting",
    "Transaction",
    "TransactionKind",
    "Violation",
    "agent_fund",
    "balance_returned_transaction",
    "bank_clearing",
    "certificate_paid_transaction",
    "certificate_released_transaction",
    "certificate_reserved",
    "certificate_reserved_transaction",
    "check_ledger",
    "claim_payable",
    "decision_revised_transaction",
    "decision_transaction",
    "fund_allocated_transaction",
    "parse_account",
    "payment_returned_transaction",
    "payment_sent_transaction",
    "programme_budget",
    "returned_funds",
    "returned_to_budget_transaction",
    "tranche_returned_transaction",
    "tranche_sent_transaction",
]


class LedgerError(ValueError):
    """A transaction or posting breaks the double-entry rules."""


class AccountKind(StrEnum):
    PROGRAMME_BUDGET = "programme_budget"
    CLAIM_PAYABLE = "claim_payable"
    BANK_CLEARING = "bank_clearing"
    RETURNED_FUNDS = "returned_funds"
    CERTIFICATE_RESERVED = "certificate_reserved"
    AGENT_FUND = "agent_fund"


_PER_OBJECT = {AccountKind.CLAIM_PAYABLE, AccountKind.CERTIFICATE_RESERVED}


@dataclass(frozen=True, slots=True)
class Account:
    """A parsed account name: its kind and, for per-claim/per-certificate accounts, the reference."""

    kind: AccountKind
    ref: str | None = None

    def __post_init__(self) -> None:
        if self.kind in _PER_OBJECT:
            if not self.ref or ":" in self.ref or self.ref != self.ref.strip():
                raise LedgerError(f"{self.kind} account needs a non-empty reference without ':' or spaces around, got {self.ref!r}")
        elif self.ref is not None:
            raise LedgerError(f"{self.kind} account takes no reference, got {self.ref!r}")

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}" if self.ref is not None else str(self.kind)


def programme_budget() -> str:
    return str(AccountKind.PROGRAMME_BUDGET)


def claim_payable(claim: str) -> str:
    return str(Account(AccountKind.CLAIM_PAYABLE, str(claim)))


def bank_clearing() -> str:
    return str(AccountKind.BANK_CLEARING)


def returned_funds() -> str:
    return str(AccountKind.RETURNED_FUNDS)


def certificate_reserved(certificate: str) -> str:
    return str(Account(AccountKind.CERTIFICATE_RESERVED, str(certificate)))


def agent_fund() -> str:
    return str(AccountKind.AGENT_FUND)


def parse_account(name: str) -> Account:
    """Parse an account name such as ``claim_payable:UA-2026-000123``; raise :class:`LedgerError` if unknown."""
    if not isinstance(name, str) or not name:
        raise LedgerError(f"account name must be a non-empty string, got {name!r}")
    kind_s, sep, ref = name.partition(":")
    try:
        kind = AccountKind(kind_s)
    except ValueError:
        known = ", ".join(k.value for k in AccountKind)
        raise LedgerError(f"unknown account kind {kind_s!r} in {name!r} (known: {known})") from None
    return Account(kind, ref if sep else None)


class TransactionKind(StrEnum):
    DECISION = "decision"
    DECISION_REVISED = "decision_revised"
    PAYMENT_SENT = "payment_sent"
    PAYMENT_RETURNED = "payment_returned"
    TRANCHE_SENT = "tranche_sent"
    TRANCHE_RETURNED = "tranche_returned"
    BALANCE_RETURNED = "balance_returned"
    RETURNED_TO_BUDGET = "returned_to_budget"
    CERTIFICATE_RESERVED = "certificate_reserved"
    CERTIFICATE_PAID = "certificate_paid"
    CERTIFICATE_RELEASED = "certificate_released"
    FUND_ALLOCATED = "fund_allocated"


def _check_amount(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LedgerError(f"{what} must be an integer number of kopiykas, got {type(value).__name__} {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of a transaction: exactly one of ``debit``/``credit`` is a positive kopiyka amount."""

    account: str
    debit: int = 0
    credit: int = 0

    def validate(self) -> None:
        parse_account(self.account)
        d = _check_amount(self.debit, f"debit on {self.account}")
        c = _check_amount(self.credit, f"credit on {self.account}")
        if d < 0 or c < 0:
            raise LedgerError(f"posting on {self.account} has a negative amount (debit {d}, credit {c})")
        if d and c:
            raise LedgerError(f"posting on {self.account} has both a debit ({d}) and a credit ({c}); use two postings")
        if not d and not c:
            raise LedgerError(f"posting on {self.account} is zero")


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """A posting as stored: the shape :func:`check_ledger` reads from the database.

    ``kind`` is the transaction's :class:`TransactionKind` value (the same on every row of a transaction);
    ``row_id`` is the database id, only used to say where a problem is.
    """

    transaction_id: str
    account: str
    debit: int
    credit: int
    kind: str | None = None
    row_id: int | str | None = None


@dataclass(frozen=True, slots=True)
class Transaction:
    """A balanced set of postings made at once."""

    transaction_id: str
    kind: TransactionKind
    postings: tuple[Posting, ...]
    claim: str | None = None
    payment_id: str | None = None
    certificate: str | None = None
    memo: str = ""

    def validate(self) -> Transaction:
        """Raise :class:`LedgerError` unless every posting is well formed and debits equal credits."""
        where = f"transaction {self.transaction_id!r} ({self.kind})"
        if not self.transaction_id:
            raise LedgerError("transaction id is empty")
        if len(self.postings) < 2:
            raise LedgerError(f"{where} needs at least two postings, has {len(self.postings)}")
        for p in self.postings:
            try:
                p.validate()
            except LedgerError as exc:
                raise LedgerError(f"{where}: {exc}") from None
        debits = sum(p.debit for p in self.postings)
        credits = sum(p.credit for p in self.postings)
        if debits != credits:
            raise LedgerError(f"{where} does not balance: debits {debits} != credits {credits} (difference {debits - credits})")
        return self

    @property
    def amount(self) -> int:
        return sum(p.debit for p in self.postings)

    def rows(self) -> list[LedgerRow]:
        """The postings as :class:`LedgerRow` for storage (validates first)."""
        self.validate()
        return [LedgerRow(self.transaction_id, p.account, p.debit, p.credit, str(self.kind)) for p in self.postings]


def _positive(amount: int, what: str) -> int:
    _check_amount(amount, what)
    if amount <= 0:
        raise LedgerError(f"{what} must be positive, got {amount}")
    return amount


def _pair(txid: str, kind: TransactionKind, debit_acct: str, credit_acct: str, amount: int, **kw: str | None) -> Transaction:
    _positive(amount, f"{kind} amount")
    return Transaction(txid, kind, (Posting(debit_acct, debit=amount), Posting(credit_acct, credit=amount)), **kw).validate()  # type: ignore[arg-type]


def decision_transaction(transaction_id: str, claim: str, amount: int, memo: str = "") -> Transaction:
    """Commit the decided amount of an approved claim: Dr programme_budget, Cr claim_payable:<claim>."""
    return _pair(transaction_id, TransactionKind.DECISION, programme_budget(), claim_payable(claim), amount, claim=claim, memo=memo)


def decision_revised_transaction(transaction_id: str, claim: str, delta: int, memo: str = "") -> Transaction:
    """Change the committed amount after a revision: ``delta`` > 0 owes more, < 0 owes less."""
    _check_amount(delta, "revision delta")
    if delta == 0:
        raise LedgerError("revision delta is zero: nothing to post")
    if delta > 0:
        return _pair(transaction_id, TransactionKind.DECISION_REVISED, programme_budget(), claim_payable(claim), delta, claim=claim, memo=memo)
    return _pair(transaction_id, TransactionKind.DECISION_REVISED, claim_payable(claim), programme_budget(), -delta, claim=claim, memo=memo)


def payment_sent_transaction(transaction_id: str, claim: str, payment_id: str, amount: int) -> Transaction:
    """A payment released to the bank: Dr claim_payable:<claim>, Cr bank_clearing."""
    return _pair(transaction_id, TransactionKind.PAYMENT_SENT, claim_payable(claim), bank_clearing(), amount, claim=claim, payment_id=payment_id)


def payment_returned_transaction(transaction_id: str, claim: str, payment_id: str, amount: int, reason_code: str = "") -> Transaction:
    """The bank rejected/returned a payment: Dr bank_clearing, Cr claim_payable:<claim> (owed again)."""
    return _pair(
        transaction_id, TransactionKind.PAYMENT_RETURNED, bank_clearing(), claim_payable(claim), amount,
        claim=claim, payment_id=payment_id, memo=reason_code,
    )


def tranche_sent_transaction(transaction_id: str, claim: str, payment_id: str, amount: int) -> Transaction:
    """Tier B's second repair payment released to the bank: Dr claim_payable:<claim>, Cr bank_clearing."""
    return _pair(transaction_id, TransactionKind.TRANCHE_SENT, claim_payable(claim), bank_clearing(), amount, claim=claim, payment_id=payment_id)


def tranche_returned_transaction(transaction_id: str, claim: str, payment_id: str, amount: int, reason_code: str = "") -> Transaction:
    """The bank returned tier B's second payment: Dr bank_clearing, Cr claim_payable:<claim> (owed again)."""
    return _pair(transaction_id, TransactionKind.TRANCHE_RETURNED, bank_clearing(), claim_payable(claim), amount,
                 claim=claim, payment_id=payment_id, memo=reason_code)


def balance_returned_transaction(transaction_id: str, amount: int, claim: str | None = None) -> Transaction:
    """Unspent repair money came back from the claimant's special account: Dr bank_clearing, Cr returned_funds."""
    return _pair(transaction_id, TransactionKind.BALANCE_RETURNED, bank_clearing(), returned_funds(), amount, claim=claim)


def returned_to_budget_transaction(transaction_id: str, amount: int, claim: str | None = None) -> Transaction:
    """Returned money released back to the budget: Dr returned_funds, Cr programme_budget."""
    return _pair(transaction_id, TransactionKind.RETURNED_TO_BUDGET, returned_funds(), programme_budget(), amount, claim=claim)


def certificate_reserved_transaction(transaction_id: str, certificate: str, amount: int, source: str | None = None) -> Transaction:
    """Reserve a certificate's value: Dr programme_budget (or ``source``, the agent's fund), Cr certificate_reserved:<cert>."""
    return _pair(transaction_id, TransactionKind.CERTIFICATE_RESERVED, source or programme_budget(), certificate_reserved(certificate),
                 amount, certificate=certificate)


def certificate_paid_transaction(transaction_id: str, certificate: str, payment_id: str, amount: int) -> Transaction:
    """Pay the seller: Dr certificate_reserved:<cert>, Cr bank_clearing."""
    return _pair(
        transaction_id, TransactionKind.CERTIFICATE_PAID, certificate_reserved(certificate), bank_clearing(), amount,
        certificate=certificate, payment_id=payment_id,
    )


def certificate_released_transaction(transaction_id: str, certificate: str, amount: int, to: str | None = None) -> Transaction:
    """Release a lapsed or expired reservation: Dr certificate_reserved:<cert>, Cr programme_budget (or ``to``)."""
    return _pair(transaction_id, TransactionKind.CERTIFICATE_RELEASED, certificate_reserved(certificate), to or programme_budget(),
                 amount, certificate=certificate)


def fund_allocated_transaction(transaction_id: str, amount: int, memo: str = "") -> Transaction:
    """Money allocated to the certificates' paying agent: Dr programme_budget, Cr agent_fund."""
    return _pair(transaction_id, TransactionKind.FUND_ALLOCATED, programme_budget(), agent_fund(), amount, memo=memo)


# --------------------------------------------------------------------------------------------- invariants


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant: a stable ``code``, a human message, and where it is."""

    code: str
    message: str
    transaction_id: str | None = None
    account: str | None = None
    claim: str | None = None
    row_id: int | str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            f"{k}={v}" for k, v in (("transaction", self.transaction_id), ("account", self.account), ("claim", self.claim),
                                    ("row", self.row_id)) if v is not None
        )
        return f"[{self.code}] {self.message}" + (f" ({where})" if where else "")


@dataclass(slots=True)
class _TxAgg:
    debit: int = 0
    credit: int = 0
    rows: int = 0
    kinds: set[str | None] = field(default_factory=set)
    claims_debited: set[str] = field(default_factory=set)
    claims_credited: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _ClaimAgg:
    decided: int = 0  # credits from decision / decision_revised, less revision debits
    paid: int = 0  # debits from payment_sent
    returned: int = 0  # credits from payment_returned
    balance: int = 0  # credits - debits on claim_payable:<claim>
    payments: list[str] = field(default_factory=list)
    returns: list[str] = field(default_factory=list)
    tranches: list[str] = field(default_factory=list)  # tier B's second payments
    tranche_returns: list[str] = field(default_factory=list)


_DECISION_KINDS = {TransactionKind.DECISION.value, TransactionKind.DECISION_REVISED.value}


def check_ledger(rows: Iterable[LedgerRow], decided: Mapping[str, int] | None = None) -> list[Violation]:
    """Check the ledger's invariants over posting rows (any order); return every violation found.

    Checks: each posting is well formed (known account, integer, one positive side); each transaction has
    at least two postings, a single kind, and balances; no claim has more than one payment outstanding
    (sent and not returned) — i.e. no claim paid twice; no claim is paid more than was decided and no
    ``claim_payable`` account goes into debit. With ``decided`` (claim -> decided amount in kopiykas, from
    the decisions table), the amount committed in the ledger for each claim must equal the decision, every
    decided claim must be posted, and every posted claim must have a decision.
    """
    out: list[Violation] = []
    txs: dict[str, _TxAgg] = defaultdict(_TxAgg)
    claims: dict[str, _ClaimAgg] = defaultdict(_ClaimAgg)
    fund = 0

    for row in rows:
        tx = txs[row.transaction_id]
        tx.rows += 1
        tx.kinds.add(row.kind)
        try:
            Posting(row.account, row.debit, row.credit).validate()
        except LedgerError as exc:
            out.append(Violation("bad_posting", str(exc), row.transaction_id, row.account, row_id=row.row_id))
            continue
        tx.debit += row.debit
        tx.credit += row.credit
        acct = parse_account(row.account)
        if acct.kind is AccountKind.AGENT_FUND:
            fund += row.credit - row.debit
        if acct.kind is not AccountKind.CLAIM_PAYABLE:
            continue
        claim = acct.ref
        assert claim is not None
        c = claims[claim]
        c.balance += row.credit - row.debit
        if row.debit:
            tx.claims_debited.add(claim)
        if row.credit:
            tx.claims_credited.add(claim)
        if row.kind in _DECISION_KINDS:
            c.decided += row.credit - row.debit
        elif row.kind == TransactionKind.PAYMENT_SENT:
            c.paid += row.debit - row.credit
            if row.debit:
                c.payments.append(row.transaction_id)
        elif row.kind == TransactionKind.PAYMENT_RETURNED:
            c.returned += row.credit - row.debit
            if row.credit:
                c.returns.append(row.transaction_id)
        elif row.kind == TransactionKind.TRANCHE_SENT:
            c.paid += row.debit - row.credit
            if row.debit:
                c.tranches.append(row.transaction_id)
        elif row.kind == TransactionKind.TRANCHE_RETURNED:
            c.returned += row.credit - row.debit
            if row.credit:
                c.tranche_returns.append(row.transaction_id)

    known_kinds = {k.value for k in TransactionKind}
    for txid, tx in txs.items():
        if tx.rows < 2:
            out.append(Violation("single_posting", f"transaction has {tx.rows} posting; double entry needs at least two", txid))
        if len(tx.kinds) > 1:
            out.append(Violation("mixed_kinds", f"rows of one transaction disagree on its kind: {sorted(map(str, tx.kinds))}", txid))
        for kind in tx.kinds:
            if kind is not None and kind not in known_kinds:
                out.append(Violation("unknown_kind", f"unknown transaction kind {kind!r}", txid))
        if tx.debit != tx.credit:
            out.append(Violation("unbalanced", f"debits {tx.debit} != credits {tx.credit} (difference {tx.debit - tx.credit})", txid))

    for claim, c in sorted(claims.items()):
        payable = claim_payable(claim)
        outstanding = len(c.payments) - len(c.returns)
        second = len(c.tranches) - len(c.tranche_returns)
        if second > 1:
            out.append(Violation(
                "paid_twice", f"claim has {second} second (tier B) payments outstanding "
                f"(transactions: {', '.join(sorted(c.tranches))})", account=payable, claim=claim))
        if outstanding > 1:
            out.append(Violation(
                "paid_twice",
                f"claim has {len(c.payments)} payments sent and {len(c.returns)} returned: {outstanding} payments outstanding "
                f"(payment transactions: {', '.join(sorted(c.payments))})",
                account=payable, claim=claim,
            ))
        net_paid = c.paid - c.returned
        if net_paid > c.decided:
            out.append(Violation("overpaid", f"net paid {net_paid} exceeds amount committed by decisions {c.decided}",
                                 account=payable, claim=claim))
        if c.balance < 0:
            out.append(Violation("payable_overdrawn", f"claim_payable balance is {c.balance} (debit): more paid out than owed",
                                 account=payable, claim=claim))

    if fund < 0:
        out.append(Violation("fund_overdrawn", f"the paying agent's fund is {fund} (debit): more reserved than allocated",
                             account=agent_fund()))
    if decided is not None:
        for claim, amount in sorted(decided.items()):
            if claim not in claims or claims[claim].decided == 0:
                out.append(Violation("decision_not_posted", f"decision of {amount} kopiykas has no ledger posting",
                                     account=claim_payable(claim), claim=claim))
            elif claims[claim].decided != amount:
                got = claims[claim].decided
                out.append(Violation(
                    "decision_mismatch", f"ledger commits {got} kopiykas but the decision is {amount} (difference {got - amount})",
                    account=claim_payable(claim), claim=claim,
                ))
        for claim in sorted(set(claims) - set(decided)):
            out.append(Violation("no_decision", "claim has ledger postings but no decision", account=claim_payable(claim), claim=claim))
    return out
