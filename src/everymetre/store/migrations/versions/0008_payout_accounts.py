"""Payout accounts (the claimant's eRecovery account, corrected with a trail) and award controls (the computed
amount, the reason for another, a second commission member's approval) — issue 12.

Revision ID: 0008_payout_accounts
Revises: 0013_queue_speed
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from everymetre.store.types import UTCDateTime

revision: str = '0008_payout_accounts'
down_revision: str | None = '0013_queue_speed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payout_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('bank_code', sa.String(length=6), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('returned_payment', sa.String(length=35), nullable=True),
    sa.Column('returned_reason', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('active', 'returned', 'replaced')", name=op.f('ck_payout_accounts_state')),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_payout_accounts_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payout_accounts_created_by_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_payout_accounts_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_accounts'))
    )
    with op.batch_alter_table('payout_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_accounts_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('uq_payout_accounts_current', ['claim_id', 'person_id'], unique=True, sqlite_where=sa.text("state <> 'replaced'"), postgresql_where=sa.text("state <> 'replaced'"))

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('computed_amount_kopiykas', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('amount_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('approval', sa.String(length=12), server_default='final', nullable=False))
        batch_op.add_column(sa.Column('approval_needed_because', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approval_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_decisions_approved_by_id_users'), 'users', ['approved_by_id'], ['id'])
        batch_op.create_check_constraint('approval', "approval IN ('final', 'pending', 'approved', 'refused')")
        batch_op.create_check_constraint('approved_by_another', 'approved_by_id IS NULL OR approved_by_id <> decided_by_id')



def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint('approved_by_another', type_='check')
        batch_op.drop_constraint('approval', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_decisions_approved_by_id_users'), type_='foreignkey')
        batch_op.drop_column('approval_reason')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by_id')
        batch_op.drop_column('approval_needed_because')
        batch_op.drop_column('approval')
        batch_op.drop_column('amount_reason')
        batch_op.drop_column('computed_amount_kopiykas')

    with op.batch_alter_table('payout_accounts', schema=None) as batch_op:
        batch_op.drop_index('uq_payout_accounts_current', sqlite_where=sa.text("state <> 'replaced'"), postgresql_where=sa.text("state <> 'replaced'"))
        batch_op.drop_index(batch_op.f('ix_payout_accounts_claim_id'))

    op.drop_table('payout_accounts')
