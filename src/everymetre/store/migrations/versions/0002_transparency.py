"""the public transparency log: leaves and signed tree heads

Revision ID: 0002_transparency
Revises: 0007_unread_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_transparency"
down_revision = "0001_schema"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "transparency_leaves",
        sa.Column("index", _ID, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("leaf", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.Column("appended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("index", name="pk_transparency_leaves"),
        sa.UniqueConstraint("kind", "ref_id", name="uq_transparency_leaves_kind_ref"),
        sa.CheckConstraint("kind IN ('decision', 'batch')", name="ck_transparency_leaves_kind"),
    )
    op.create_index("ix_transparency_leaves_reference", "transparency_leaves", ["reference"])
    op.create_table(
        "transparency_tree_heads",
        sa.Column("tree_size", _ID, primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_transparency_tree_heads"),
    )


def downgrade() -> None:
    op.drop_table("transparency_tree_heads")
    op.drop_index("ix_transparency_leaves_reference", table_name="transparency_leaves")
    op.drop_table("transparency_leaves")
