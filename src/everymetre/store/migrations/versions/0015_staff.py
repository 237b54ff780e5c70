"""Staff can run the programme: stored programme settings (the admin area), indexes for the audit-trail search,
the identity-provider subject an account signs in with (OpenID Connect), integrators' OAuth2 clients, photos' perceptual hashes.

Revision ID: 0015_staff
Revises: 0012_certificates
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0015_staff"
down_revision: str | None = "0012_certificates"
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
    op.create_table(
        "service_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_service_clients_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_service_clients_client_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_service_clients_user_id")),
    )
    op.create_table(
        "photo_hashes",
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("phash", sa.String(length=16), nullable=False),
        *(sa.Column(f"band{i}", sa.Integer(), nullable=False) for i in range(4)),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"], name=op.f("fk_photo_hashes_evidence_id_evidence"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_photo_hashes_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["property_id"], ["properties.id"], name=op.f("fk_photo_hashes_property_id_properties")),
        sa.PrimaryKeyConstraint("evidence_id", name=op.f("pk_photo_hashes")),
    )
    op.create_index("ix_photo_hashes_claim_id", "photo_hashes", ["claim_id"])
    for i in range(4):
        op.create_index(f"ix_photo_hashes_band{i}", "photo_hashes", [f"band{i}"])
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor_id"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_index("ix_audit_events_actor_id", table_name="audit_events")
    op.drop_table("photo_hashes")
    op.drop_table("service_clients")
    op.drop_index("ix_users_oidc_subject", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("oidc_subject")
    op.drop_table("programme_settings")
