"""Repair money after it lands (Resolution 381): tier B's second payment (payments.tranche), the bank's card
transactions and the owner's interim and final repair reports.

Revision ID: 0010_repair_spending
Revises: 0016_signup_channels
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_repair_spending"
down_revision: str | None = "0016_signup_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LIVE_REPAIR = "purpose = 'repair' AND state NOT IN ('rejected', 'cancelled')"


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tranche", sa.SmallInteger(), server_default=sa.text("1"), nullable=False))
        batch_op.drop_index("uq_payments_live_repair", sqlite_where=sa.text(LIVE_REPAIR), postgresql_where=sa.text(LIVE_REPAIR))
        batch_op.create_index("uq_payments_live_repair_tranche", ["claim_id", "tranche"], unique=True,
                              sqlite_where=sa.text(LIVE_REPAIR), postgresql_where=sa.text(LIVE_REPAIR))
        batch_op.create_check_constraint("tranche", "tranche IN (1, 2) AND (tranche = 1 OR purpose = 'repair')")
    with op.batch_alter_table("repair_payouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("awarded_kopiykas", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("interim_accepted_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("second_paid_on", sa.Date(), nullable=True))

    op.create_table(
        "card_transactions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("bank_transaction_id", sa.String(length=64), nullable=False),
        sa.Column("payout_id", _ID, nullable=False),
        sa.Column("claim_id", _ID, nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("amount_kopiykas", sa.BigInteger(), nullable=False),
        sa.Column("mcc", sa.String(length=4), nullable=False),
        sa.Column("merchant", sa.String(length=140), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("refusal", sa.String(length=20), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_kopiykas > 0", name=op.f("ck_card_transactions_positive")),
        sa.CheckConstraint("(counted AND refusal IS NULL) OR (NOT counted AND refusal IN ('mcc', 'window', 'closed', 'balance'))",
                           name=op.f("ck_card_transactions_refusal")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_card_transactions_claim_id_claims")),
        sa.ForeignKeyConstraint(["payout_id"], ["repair_payouts.id"], name=op.f("fk_card_transactions_payout_id_repair_payouts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_transactions")),
        sa.UniqueConstraint("bank_transaction_id", name=op.f("uq_card_transactions_bank_transaction_id")),
    )
    with op.batch_alter_table("card_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_transactions_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_card_transactions_payout_id"), ["payout_id"], unique=False)

    op.create_table(
        "repair_reports",
        sa.Column("id", _ID, nullable=False),
        sa.Column("payout_id", _ID, nullable=False),
        sa.Column("claim_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("redamaged", sa.Boolean(), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('interim', 'final')", name=op.f("ck_repair_reports_kind")),
        sa.CheckConstraint("state IN ('filed', 'accepted', 'returned')", name=op.f("ck_repair_reports_state")),
        sa.CheckConstraint("state <> 'returned' OR return_reason IS NOT NULL", name=op.f("ck_repair_reports_returned_with_reason")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_repair_reports_claim_id_claims")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_repair_reports_decided_by_id_users")),
        sa.ForeignKeyConstraint(["filed_by_id"], ["users.id"], name=op.f("fk_repair_reports_filed_by_id_users")),
        sa.ForeignKeyConstraint(["payout_id"], ["repair_payouts.id"], name=op.f("fk_repair_reports_payout_id_repair_payouts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_reports")),
    )
    with op.batch_alter_table("repair_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repair_reports_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_repair_reports_payout_id"), ["payout_id"], unique=False)


def downgrade() -> None:
    op.drop_table("repair_reports")
    op.drop_table("card_transactions")
    with op.batch_alter_table("repair_payouts", schema=None) as batch_op:
        batch_op.drop_column("second_paid_on")
        batch_op.drop_column("interim_accepted_on")
        batch_op.drop_column("awarded_kopiykas")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payments_tranche"), type_="check")
        batch_op.drop_index("uq_payments_live_repair_tranche", sqlite_where=sa.text(LIVE_REPAIR), postgresql_where=sa.text(LIVE_REPAIR))
        batch_op.create_index("uq_payments_live_repair", ["claim_id"], unique=True,
                              sqlite_where=sa.text(LIVE_REPAIR), postgresql_where=sa.text(LIVE_REPAIR))
        batch_op.drop_column("tranche")
