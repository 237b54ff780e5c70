"""drop indexes that no query reads

Every index is paid on each insert (a bulk import of a million claims pays it a million times, and each claim
filed online once). Nothing looks a person up by phone or IBAN (record linkage reads the whole table), and an
audit trail is read by its chain, never by claim id.

Revision ID: 0007_unread_indexes
Revises: 0006_merge
"""

from __future__ import annotations

from alembic import op

revision = "0007_unread_indexes"
down_revision = "0006_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_persons_phone", table_name="persons")
    op.drop_index("ix_persons_iban", table_name="persons")
    op.drop_index("ix_audit_events_claim_id", table_name="audit_events")


def downgrade() -> None:
    op.create_index("ix_audit_events_claim_id", "audit_events", ["claim_id"])
    op.create_index("ix_persons_iban", "persons", ["iban"])
    op.create_index("ix_persons_phone", "persons", ["phone"])
