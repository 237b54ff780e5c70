"""An index on claims.property_id: the duplicate check at every submission (another open claim on the same
registry number) goes from the property found by its registry number to its claims; without it that join read
every open claim, a cost growing with the store.

Revision ID: 0027_claims_property_index
Revises: 0023_search_word_statistics
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0027_claims_property_index"
down_revision: str | None = "0023_search_word_statistics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claims_property_id", "claims", ["property_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_claims_property_id", table_name="claims")
