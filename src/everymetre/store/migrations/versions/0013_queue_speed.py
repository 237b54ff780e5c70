"""Queues at scale: per-(oblast, state) indexes for each sort, and the decision clock kept on the claim
(`decision_due_on`, `decision_paused_days`, see sla.due) with the index that finds overdue claims per oblast.

Existing claims whose clock runs get the due date from their submission day (Kyiv) plus 30 days; days they spent
suspended before this migration are not added (the trail-based clock on the claim page stays exact; the next
resume or decision sets the columns from the move).

Revision ID: 0013_queue_speed
Revises: 0010_repair_spending
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_queue_speed"
down_revision: str | None = "0010_repair_spending"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING = ("submitted", "auto_checked", "assigned", "inspection_scheduled", "inspected", "remote_verified", "assessed")
INDEXES = {
    "ix_claims_queue_waiting": ["oblast", "state", "state_changed_at", "id"],
    "ix_claims_queue_deadline": ["oblast", "state", "suspension_deadline", "submitted_at", "id"],
    "ix_claims_state_waiting": ["state", "state_changed_at", "id"],
    "ix_claims_state_deadline": ["state", "suspension_deadline", "submitted_at", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("decision_due_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("decision_paused_days", sa.Integer(), server_default="0", nullable=False))
    states = ", ".join(f"'{s}'" for s in RUNNING)
    if op.get_bind().dialect.name == "postgresql":
        due = "((submitted_at AT TIME ZONE 'Europe/Kyiv')::date + 30)"
    else:  # SQLite keeps UTC without a zone: Kyiv is two or three hours ahead
        due = "date(submitted_at, '+2 hours', '+30 days')"
    op.execute(f"UPDATE claims SET decision_due_on = {due} WHERE submitted_at IS NOT NULL AND state IN ({states})")
    for name, cols in INDEXES.items():
        op.create_index(name, "claims", cols)
    op.create_index("ix_claims_overdue", "claims", ["oblast", "decision_due_on"],
                    postgresql_where=sa.text("decision_due_on IS NOT NULL"),
                    sqlite_where=sa.text("decision_due_on IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_claims_overdue", table_name="claims")
    for name in INDEXES:
        op.drop_index(name, table_name="claims")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("decision_paused_days")
        batch.drop_column("decision_due_on")
