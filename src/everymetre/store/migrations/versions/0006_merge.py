"""merge the feature branches (drafts, payments, linkage, rules, queue indexes) into one line again

Revision ID: 0006_merge
Revises: 0002_claim_drafts, 0002_payments, 0003_linkage, 0004_rules, 0005_queue_indexes
"""

from __future__ import annotations

revision = "0006_merge"
down_revision = ("0002_claim_drafts", "0002_payments", "0003_linkage", "0004_rules", "0005_queue_indexes")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
