"""Claim search: the claim_search table of folded keys, with a pg_trgm GIN index on PostgreSQL; existing
claims are indexed here.

Revision ID: 0006_claim_search
Revises: 0005_batch_release_not_builder
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_claim_search"
down_revision: str | None = "0005_batch_release_not_builder"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "claim_search",
        sa.Column("claim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_search_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_claim_search")),
    )
    from everymetre.claims.search import index_missing

    index_missing(bind)  # before the index: building it once is much quicker than updating it per row
    op.create_index("ix_claim_search_keys", "claim_search", ["keys"], unique=False,
                    postgresql_using="gin", postgresql_ops={"keys": "gin_trgm_ops"})


def downgrade() -> None:
    op.drop_index("ix_claim_search_keys", table_name="claim_search")
    op.drop_table("claim_search")
