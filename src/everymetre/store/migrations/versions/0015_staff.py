"""Staff can run the programme: stored programme settings (the admin area), indexes for the audit-trail search,
the identity-provider subject an account signs in with (OpenID Connect).

Revision ID: 0015_staff
Revises: 0007_idempotency
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0015_staff"
down_revision: str | None = "0007_idempotency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_programme_settings")),
    )
    op.add_column("users", sa.Column("oidc_subject", sa.String(length=300), nullable=True))
    op.create_index("ix_users_oidc_subject", "users", ["oidc_subject"], unique=True)
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor_id"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_index("ix_audit_events_actor_id", table_name="audit_events")
    op.drop_index("ix_users_oidc_subject", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("oidc_subject")
    op.drop_table("programme_settings")
