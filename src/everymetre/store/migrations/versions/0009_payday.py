"""Bank statements as uploaded, and each entry with what became of it (unknown entries wait for a person).

Revision ID: 0009_payday
Revises: 0008_payout_accounts
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009_payday"
down_revision: str | None = "0008_payout_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bank_statements",
        sa.Column("id", _ID, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("statement_id", sa.String(length=35), nullable=False),
        sa.Column("account_iban", sa.String(length=34), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("already", sa.Integer(), nullable=False),
        sa.Column("ignored", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_bank_statements_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statements")),
        sa.UniqueConstraint("sha256", name=op.f("uq_bank_statements_sha256")),
    )
    op.create_index("uq_bank_statements_ids", "bank_statements", ["message_id", "statement_id"], unique=True)
    op.create_table(
        "statement_entries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("statement_id", _ID, nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=True),
        sa.Column("amount_kopiykas", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credit_debit", sa.String(length=4), nullable=False),
        sa.Column("bank_status", sa.String(length=10), nullable=False),
        sa.Column("reason_code", sa.String(length=10), nullable=True),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("bank_ref", sa.String(length=70), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("payment_id", _ID, nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('settled', 'open', 'matched', 'dismissed')", name=op.f("ck_statement_entries_state")),
        sa.CheckConstraint("outcome IN ('booked', 'rejected', 'already', 'ignored', 'unknown', 'mismatch')",
                           name=op.f("ck_statement_entries_outcome")),
        sa.ForeignKeyConstraint(["statement_id"], ["bank_statements.id"], name=op.f("fk_statement_entries_statement_id_bank_statements"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_statement_entries_payment_id_payments")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["users.id"], name=op.f("fk_statement_entries_resolved_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_entries")),
    )
    op.create_index(op.f("ix_statement_entries_statement_id"), "statement_entries", ["statement_id"])
    op.create_index(op.f("ix_statement_entries_end_to_end_id"), "statement_entries", ["end_to_end_id"])
    op.create_index(op.f("ix_statement_entries_payment_id"), "statement_entries", ["payment_id"])
    op.create_index("ix_statement_entries_state", "statement_entries", ["state", "id"])


def downgrade() -> None:
    op.drop_table("statement_entries")
    op.drop_table("bank_statements")
