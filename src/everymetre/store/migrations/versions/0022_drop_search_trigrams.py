"""Drop claim_search's pg_trgm GIN index (ix_claim_search_keys): the search walks the word index
(claim_search_words, 0021) and no query reads claim_search by its keys any more, while every filing, re-index
and bulk load still paid to update it (and a bulk load to rebuild it: the slowest index of the claims' tables).

Revision ID: 0022_drop_search_trigrams
Revises: 0021_search_words
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0022_drop_search_trigrams"
down_revision: str | None = "0021_search_words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_claim_search_keys")


def downgrade() -> None:
    op.create_index("ix_claim_search_keys", "claim_search", ["keys"], unique=False,
                    postgresql_using="gin", postgresql_ops={"keys": "gin_trgm_ops"})
