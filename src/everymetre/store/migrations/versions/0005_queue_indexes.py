"""queue indexes: staff queues sorted by waiting time and by deadline

Revision ID: 0005_queue_indexes
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0005_queue_indexes"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_claims_waiting", "claims", ["state_changed_at", "id"])
    op.create_index("ix_claims_deadline", "claims", ["suspension_deadline", "submitted_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_claims_deadline", table_name="claims")
    op.drop_index("ix_claims_waiting", table_name="claims")
