"""Claimants and representatives: the person an account is verified as (users.verified_*), the casefolded search
key of an account (users.search_key), and the power of attorney a representative files with (powers_of_attorney).

Revision ID: 0017_representatives
Revises: 0015_staff
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from everymetre.store.types import UTCDateTime

revision: str = "0017_representatives"
down_revision: str | None = "0015_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("verified_rnokpp", sa.String(length=10), nullable=True))
    op.add_column("users", sa.Column("verified_at", UTCDateTime(), nullable=True))
    op.add_column("users", sa.Column("verified_through", sa.String(length=20), nullable=True))
    op.add_column("users", sa.Column("search_key", sa.String(length=460), server_default="", nullable=False))
    op.create_index("ix_users_verified_rnokpp", "users", ["verified_rnokpp"], unique=True)
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("email", sa.String),
                     sa.column("full_name", sa.String), sa.column("search_key", sa.String))
    conn = op.get_bind()
    for uid, email, name in conn.execute(sa.select(users.c.id, users.c.email, users.c.full_name)).all():
        conn.execute(users.update().where(users.c.id == uid)
                     .values(search_key=f"{email or ''} {name or ''}".casefold()))
    op.create_table(
        "powers_of_attorney",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("rnokpp", sa.String(length=10), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("document_type", sa.String(length=20), nullable=False),
        sa.Column("document_number", sa.String(length=60), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("notary_name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("state IN ('unchecked', 'accepted', 'refused')", name=op.f("ck_powers_of_attorney_state")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_powers_of_attorney_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["checked_by_id"], ["users.id"], name=op.f("fk_powers_of_attorney_checked_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_powers_of_attorney")),
        sa.UniqueConstraint("claim_id", name=op.f("uq_powers_of_attorney_claim_id")),
    )


def downgrade() -> None:
    op.drop_table("powers_of_attorney")
    op.drop_index("ix_users_verified_rnokpp", table_name="users")
    with op.batch_alter_table("users") as batch:
        for name in ("search_key", "verified_through", "verified_at", "verified_rnokpp"):
            batch.drop_column(name)
