"""linkage: runs, findings (and the claims they name), reviewers' pair decisions

Revision ID: 0003_linkage
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_linkage"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "linkage_runs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("model_path", sa.String(length=500), nullable=True),
        sa.Column("model_hash", sa.String(length=64), nullable=True),
        sa.Column("trained", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("flag_score", sa.Float(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("decisions_applied", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_runs")),
    )
    op.create_table(
        "linkage_findings",
        sa.Column("id", _ID, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("claim_ids", sa.JSON(), nullable=False),
        sa.Column("claim_refs", sa.JSON(), nullable=False),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("first_run_id", sa.BigInteger(), nullable=False),
        sa.Column("last_run_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", _TS, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"], name=op.f("fk_linkage_findings_reviewed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_findings")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_linkage_findings_fingerprint")),
    )
    with op.batch_alter_table("linkage_findings") as batch:
        batch.create_index(batch.f("ix_linkage_findings_last_run_id"), ["last_run_id"], unique=False)
        batch.create_index("ix_linkage_findings_status_score", ["status", "score"], unique=False)
    op.create_table(
        "linkage_finding_claims",
        sa.Column("finding_id", _ID, nullable=False),
        sa.Column("claim_id", _ID, nullable=False),
        sa.Column("oblast", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["finding_id"], ["linkage_findings.id"],
                                name=op.f("fk_linkage_finding_claims_finding_id_linkage_findings"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_linkage_finding_claims_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("finding_id", "claim_id", name=op.f("pk_linkage_finding_claims")),
    )
    with op.batch_alter_table("linkage_finding_claims") as batch:
        batch.create_index(batch.f("ix_linkage_finding_claims_claim_id"), ["claim_id"], unique=False)
        batch.create_index("ix_linkage_finding_claims_oblast", ["oblast", "finding_id"], unique=False)
    op.create_table(
        "linkage_review_decisions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("record_id_a", sa.String(length=160), nullable=False),
        sa.Column("record_id_b", sa.String(length=160), nullable=False),
        sa.Column("ownership_id_a", sa.BigInteger(), nullable=True),
        sa.Column("ownership_id_b", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("finding_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", _TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_linkage_review_decisions_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_review_decisions")),
        sa.UniqueConstraint("record_id_a", "record_id_b", name="uq_linkage_review_decisions_pair"),
    )


def downgrade() -> None:
    op.drop_table("linkage_review_decisions")
    op.drop_table("linkage_finding_claims")
    op.drop_table("linkage_findings")
    op.drop_table("linkage_runs")
