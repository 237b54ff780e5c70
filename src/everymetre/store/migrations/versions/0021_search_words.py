"""The search's word index: claim_search_words (word key, oblast, claim id), one row per word key of a claim,
filled from the keys already in claim_search.

Revision ID: 0021_search_words
Revises: 0020_certificates_more
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_search_words"
down_revision: str | None = "0020_certificates_more"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "claim_search_words",
        sa.Column("word_key", sa.String(100).with_variant(sa.String(100, collation="C"), "postgresql"), nullable=False),
        sa.Column("oblast", sa.String(40), nullable=False),
        sa.Column("claim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_search_words_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("word_key", "oblast", "claim_id", name=op.f("pk_claim_search_words")),
    )
    from everymetre.claims.search import words_from_keys

    words_from_keys(bind)  # before the second index: building it once is quicker than updating it per row
    op.create_index("ix_claim_search_words_claim", "claim_search_words", ["claim_id", "word_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_claim_search_words_claim", table_name="claim_search_words")
    op.drop_table("claim_search_words")
