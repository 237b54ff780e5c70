"""Payments tables in the store: the double-entry ledger, payments and their batches, repair payouts and
housing certificates (migration 0001_schema).

What the database itself guarantees, so "pay each loss exactly once" does not rest on code alone:

* a claim has at most one live repair payment (partial unique index: state not rejected/cancelled), and a
  certificate at most one live seller payment; a payment names at most one batch (one column);
* one open batch per payments officer (``open_for_user_id`` unique, NULL once sent or cancelled); two different
  approvers, and the approval that releases a batch is never its builder's (CHECKs);
* a ledger posting has exactly one positive side (CHECK); balances are derived from postings, never stored;
  transaction ids are deterministic, so posting the same event twice is a primary-key conflict;
* one live certificate per claim and co-owner, numbers unique, ``0 <= redeemed <= value`` (CHECK), one repair payout per claim.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from everymetre.store.base import Base
from everymetre.store.types import utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")

LIVE_PAYMENT = "state NOT IN ('rejected', 'cancelled')"  # payments.states.DEAD_PAYMENT
CERTIFICATE_STATES = ("'issued', 'reservation_filed', 'funds_reserved', 'ownership_terminated', 'contract_signed', "
                      "'paid_to_seller', 'redeemed', 'reservation_lapsed', 'expired', 'revoked'")
# The states and their moves: payments.states (the CHECK constraints below list the same states; a test holds them equal).


class LedgerTransaction(Base):
    """A balanced set of postings. The id is deterministic (e.g. ``DEC-12-34``): an event posts once."""

    __tablename__ = "ledger_transactions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    claim_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # no FK: the ledger outlives the claim row
    payment_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    certificate_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    amount_kopiykas: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("amount_kopiykas > 0", name="positive"),)


class LedgerPosting(Base):
    __tablename__ = "ledger_postings"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(80))
    debit: Mapped[int] = mapped_column(BigInteger, default=0)
    credit: Mapped[int] = mapped_column(BigInteger, default=0)
    kind: Mapped[str] = mapped_column(String(30))  # the transaction's kind, on every row

    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name="one_side"),
        Index("ix_ledger_postings_account", "account"),
    )


class PaymentBatch(Base):
    __tablename__ = "payment_batches"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="built")
    total_kopiykas: Mapped[int] = mapped_column(BigInteger, default=0)
    count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    second_approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    open_for_user_id: Mapped[int | None] = mapped_column(Integer, unique=True)  # set while not sent/cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_on: Mapped[date] = mapped_column(Date)
    approved_at: Mapped[datetime | None] = mapped_column()
    exported_at: Mapped[datetime | None] = mapped_column()
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("state IN ('built', 'approved', 'exported', 'sent', 'cancelled')", name="state"),
        CheckConstraint("second_approver_id IS NULL OR second_approver_id <> approved_by_id", name="two_people"),
        # the approval that releases a batch (the second, or the only one) is never its builder's (migration 0002)
        CheckConstraint("state NOT IN ('approved', 'exported', 'sent') OR COALESCE(second_approver_id, approved_by_id) "
                        "<> created_by_id", name="released_by_another"),
    )

    @property
    def pmt_inf_id(self) -> str:
        return f"EMB-{self.id:010d}"


class Payment(Base):
    """One transfer: a repair payout to the claimant's special account, or a certificate's seller payment."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    purpose: Mapped[str] = mapped_column(String(12))  # repair | certificate
    # a repair payment's part: 1 (the whole of tier A, or tier B's first 70 %), 2 (tier B's second 30 %)
    tranche: Mapped[int] = mapped_column(SmallInteger, default=1, server_default=text("1"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(BigInteger)
    amount_kopiykas: Mapped[int] = mapped_column(BigInteger)
    creditor_name: Mapped[str] = mapped_column(String(140))
    creditor_iban: Mapped[str] = mapped_column(String(34))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    reason_code: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    settled_on: Mapped[date | None] = mapped_column(Date)  # booked or rejected, as the bank dated it

    __table_args__ = (
        CheckConstraint("amount_kopiykas > 0", name="positive"),
        CheckConstraint("tranche IN (1, 2) AND (tranche = 1 OR purpose = 'repair')", name="tranche"),
        CheckConstraint("state IN ('pending', 'batched', 'sent', 'booked', 'rejected', 'cancelled')", name="state"),
        CheckConstraint("state = 'pending' OR state = 'cancelled' OR batch_id IS NOT NULL", name="batched"),
        CheckConstraint("(purpose = 'repair' AND certificate_id IS NULL) OR (purpose = 'certificate' AND certificate_id IS NOT NULL)",
                        name="purpose"),
        # pay each loss once: at most one live payment per claim (repair) and per certificate (seller)
        Index("uq_payments_live_repair_tranche", "claim_id", "tranche", unique=True,
              sqlite_where=text(f"purpose = 'repair' AND {LIVE_PAYMENT}"),
              postgresql_where=text(f"purpose = 'repair' AND {LIVE_PAYMENT}")),
        Index("uq_payments_live_certificate", "certificate_id", unique=True,
              sqlite_where=text(f"purpose = 'certificate' AND {LIVE_PAYMENT}"),
              postgresql_where=text(f"purpose = 'certificate' AND {LIVE_PAYMENT}")),
        Index("ix_payments_state", "state", "id"),
    )


class RepairPayout(Base):
    """The repair money on the claimant's special account: spent within the tier's window, reported, closed."""

    __tablename__ = "repair_payouts"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    tier: Mapped[str] = mapped_column(String(1))
    amount_kopiykas: Mapped[int] = mapped_column(BigInteger)
    transferred_on: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(30), default="funds_transferred")
    interim_reported_on: Mapped[date | None] = mapped_column(Date)
    final_reported_on: Mapped[date | None] = mapped_column(Date)
    verified_on: Mapped[date | None] = mapped_column(Date)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_on: Mapped[date | None] = mapped_column(Date)
    spent_kopiykas: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_kopiykas: Mapped[int] = mapped_column(BigInteger, default=0)
    # tier B: the whole award (the first payment is `amount_kopiykas` until the second one lands)
    awarded_kopiykas: Mapped[int | None] = mapped_column(BigInteger)
    interim_accepted_on: Mapped[date | None] = mapped_column(Date)
    second_paid_on: Mapped[date | None] = mapped_column(Date)  # the second payment (30 %) booked by the bank

    __table_args__ = (
        CheckConstraint("spent_kopiykas >= 0 AND returned_kopiykas >= 0 "
                        "AND spent_kopiykas + returned_kopiykas <= amount_kopiykas", name="within_amount"),
        Index("ix_repair_payouts_state_window", "state", "window_end"),
    )


class Certificate(Base):
    """A housing certificate for a destroyed home: value split among co-owners, redeemed once for a purchase."""

    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    serial: Mapped[int] = mapped_column(Integer)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    # the co-owner it is issued to (one certificate per co-owner, for C x their share; migration 0012)
    holder_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(BigInteger)
    value_kopiykas: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(30), default="issued")
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_reservations.id"), index=True)
    bookings: Mapped[int] = mapped_column(SmallInteger, default=0)  # reservations made: the ledger ids' attempt number
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoked_reason: Mapped[str | None] = mapped_column(String(30))  # revised | overturned | admin
    issued_on: Mapped[date] = mapped_column(Date)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_on: Mapped[date] = mapped_column(Date)
    reserved_on: Mapped[date | None] = mapped_column(Date)
    ownership_terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_document: Mapped[str | None] = mapped_column(String(120))
    contract_number: Mapped[str | None] = mapped_column(String(60))
    contract_signed_on: Mapped[date | None] = mapped_column(Date)
    contract_price_kopiykas: Mapped[int | None] = mapped_column(BigInteger)
    seller_name: Mapped[str | None] = mapped_column(String(140))
    seller_iban: Mapped[str | None] = mapped_column(String(34))
    paid_on: Mapped[date | None] = mapped_column(Date)
    redeemed_on: Mapped[date | None] = mapped_column(Date)
    redeemed_kopiykas: Mapped[int] = mapped_column(BigInteger, default=0)
    closed_on: Mapped[date | None] = mapped_column(Date)  # lapsed or expired

    shares: Mapped[list[CertificateShare]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                          order_by="CertificateShare.id")

    __table_args__ = (
        CheckConstraint("value_kopiykas > 0", name="positive"),
        CheckConstraint("redeemed_kopiykas >= 0 AND redeemed_kopiykas <= value_kopiykas", name="redeemed_within_value"),
        CheckConstraint("redeemed_kopiykas = 0 OR state = 'redeemed'", name="redeemed_state"),
        CheckConstraint("contract_price_kopiykas IS NULL OR contract_price_kopiykas > 0", name="price"),
        CheckConstraint(f"state IN ({CERTIFICATE_STATES})", name="state"),
        Index("uq_certificates_year_serial", "year", "serial", unique=True),
        # one live certificate per claim and co-owner: a revised decision replaces, never adds
        Index("uq_certificates_live_holder", "claim_id", "holder_person_id", unique=True,
              sqlite_where=text("state <> 'revoked'"), postgresql_where=text("state <> 'revoked'")),
        Index("ix_certificates_state", "state"),
    )


class CertificateShare(Base):
    """A co-owner's part of a certificate's value (largest-remainder split: the parts add up exactly)."""

    __tablename__ = "certificate_shares"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    share_numerator: Mapped[int] = mapped_column(Integer)
    share_denominator: Mapped[int] = mapped_column(Integer)
    amount_kopiykas: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("amount_kopiykas >= 0", name="non_negative"),)


class CardTransaction(Base):
    """One transaction of the special account's card, from the bank's file (``payments.card_transactions``).

    Keyed on the bank's transaction id: a row seen twice is stored once. ``counted`` rows were spent on repair
    (the merchant category is one of the configured ones, inside the window, within the balance); the others are
    kept with ``refusal`` saying why they were not counted.
    """

    __tablename__ = "card_transactions"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    bank_transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("repair_payouts.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    booked_on: Mapped[date] = mapped_column(Date)
    amount_kopiykas: Mapped[int] = mapped_column(BigInteger)
    mcc: Mapped[str] = mapped_column(String(4))
    merchant: Mapped[str] = mapped_column(String(140), default="")
    counted: Mapped[bool] = mapped_column(Boolean)
    refusal: Mapped[str | None] = mapped_column(String(20))  # mcc | window | closed | balance
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_kopiykas > 0", name="positive"),
        CheckConstraint("(counted AND refusal IS NULL) OR (NOT counted AND refusal IN ('mcc', 'window', 'closed', 'balance'))",
                        name="refusal"),
    )


class RepairReport(Base):
    """The owner's interim (tier B) or final repair report with its photos and receipts, and the officer's check."""

    __tablename__ = "repair_reports"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("repair_payouts.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # interim | final
    state: Mapped[str] = mapped_column(String(10), default="filed")  # filed | accepted | returned
    note: Mapped[str] = mapped_column(Text, default="")
    redamaged: Mapped[bool] = mapped_column(Boolean, default=False)  # the owner ticked "re-damaged"
    evidence_ids: Mapped[list[Any]] = mapped_column(default=list)
    filed_on: Mapped[date] = mapped_column(Date)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("kind IN ('interim', 'final')", name="kind"),
        CheckConstraint("state IN ('filed', 'accepted', 'returned')", name="state"),
        CheckConstraint("state <> 'returned' OR return_reason IS NOT NULL", name="returned_with_reason"),
    )


class BankStatement(Base):
    """A camt.053 statement as uploaded (migration 0009_payday): applied once. The same file again (by its
    SHA-256) or the same statement sent again (the bank's message and statement ids) books nothing."""

    __tablename__ = "bank_statements"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str] = mapped_column(String(35))
    statement_id: Mapped[str] = mapped_column(String(35))
    account_iban: Mapped[str | None] = mapped_column(String(34))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system (CLI, a bank link)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    already: Mapped[int] = mapped_column(Integer, default=0)
    ignored: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)  # matching no payment, or disagreeing with it

    __table_args__ = (Index("uq_bank_statements_ids", "message_id", "statement_id", unique=True),)


class StatementLine(Base):
    """One entry of an uploaded statement and what became of it: settled when applied, open (the payments
    exceptions queue) when it matches no payment of ours or disagrees with the one it names, until a payments
    officer matches it by hand or dismisses it with a reason (payments.states.STATEMENT_ENTRY)."""

    __tablename__ = "statement_entries"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id", ondelete="CASCADE"), index=True)
    line: Mapped[int | None] = mapped_column(Integer)
    end_to_end_id: Mapped[str | None] = mapped_column(String(35), index=True)
    amount_kopiykas: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="UAH")
    credit_debit: Mapped[str] = mapped_column(String(4))
    bank_status: Mapped[str] = mapped_column(String(10))  # camt053.EntryStatus
    reason_code: Mapped[str | None] = mapped_column(String(10))
    booking_date: Mapped[date | None] = mapped_column(Date)
    bank_ref: Mapped[str | None] = mapped_column(String(70))
    # what the upload did: booked, rejected, already, ignored (not final), unknown (no such payment), mismatch
    outcome: Mapped[str] = mapped_column(String(10))
    problem: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolution_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("state IN ('settled', 'open', 'matched', 'dismissed')", name="state"),
        CheckConstraint("outcome IN ('booked', 'rejected', 'already', 'ignored', 'unknown', 'mismatch')", name="outcome"),
        Index("ix_statement_entries_state", "state", "id"),
    )
