"""notifications: the outbox and the scheduled jobs' runs

Revision ID: 0004_notifications
Revises: 0003_auth_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from everymetre.store.types import UTCDateTime

revision = "0004_notifications"
down_revision = "0003_auth_sessions"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", _ID, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_notifications_user_id_users"), nullable=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("persons.id", name="fk_notifications_person_id_persons"), nullable=True),
        sa.Column("claim_id", _ID, sa.ForeignKey("claims.id", ondelete="CASCADE", name="fk_notifications_claim_id_claims"), nullable=True),
        sa.Column("reference", sa.String(40), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.String(254), nullable=True),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("lease_token", sa.String(40), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("provider_id", sa.String(120), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("idempotency_key", name="uq_notifications_idempotency_key"),
    )
    op.create_index("ix_notifications_claim_id", "notifications", ["claim_id"])
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_index("ix_notifications_inbox", "notifications", ["user_id", "channel", "id"])
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(40), nullable=False),
        sa.Column("period", sa.String(40), nullable=False),
        sa.Column("worker", sa.String(60), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("result", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("job", "period", name="pk_job_runs"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_index("ix_notifications_inbox", table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_index("ix_notifications_claim_id", table_name="notifications")
    op.drop_table("notifications")
