"""payments: double-entry ledger, payments and batches, repair payouts, housing certificates (+ co-owner shares)

Revision ID: 0002_payments
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_payments"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('ledger_transactions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('claim_id', sa.BigInteger(), nullable=True),
    sa.Column('payment_id', sa.BigInteger(), nullable=True),
    sa.Column('certificate_id', sa.BigInteger(), nullable=True),
    sa.Column('amount_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.CheckConstraint('amount_kopiykas > 0', name=op.f('ck_ledger_transactions_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transactions'))
    )
    with op.batch_alter_table('ledger_transactions') as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_transactions_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transactions_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transactions_payment_id'), ['payment_id'], unique=False)

    op.create_table('ledger_postings',
    sa.Column('id', _ID, nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=80), nullable=False),
    sa.Column('debit', sa.BigInteger(), nullable=False),
    sa.Column('credit', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.CheckConstraint('debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)', name=op.f('ck_ledger_postings_one_side')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_ledger_postings_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_postings'))
    )
    with op.batch_alter_table('ledger_postings') as batch_op:
        batch_op.create_index('ix_ledger_postings_account', ['account'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_postings_transaction_id'), ['transaction_id'], unique=False)

    op.create_table('payment_batches',
    sa.Column('id', _ID, nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('total_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('second_approver_id', sa.Integer(), nullable=True),
    sa.Column('open_for_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('approved_at', _TS, nullable=True),
    sa.Column('exported_at', _TS, nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('sent_at', _TS, nullable=True),
    sa.CheckConstraint("state IN ('built', 'approved', 'exported', 'sent', 'cancelled')", name=op.f('ck_payment_batches_state')),
    sa.CheckConstraint('second_approver_id IS NULL OR second_approver_id <> approved_by_id', name=op.f('ck_payment_batches_two_people')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_payment_batches_approved_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payment_batches_created_by_id_users')),
    sa.ForeignKeyConstraint(['second_approver_id'], ['users.id'], name=op.f('fk_payment_batches_second_approver_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_batches')),
    sa.UniqueConstraint('message_id', name=op.f('uq_payment_batches_message_id')),
    sa.UniqueConstraint('open_for_user_id', name=op.f('uq_payment_batches_open_for_user_id'))
    )
    op.create_table('certificates',
    sa.Column('id', _ID, nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('claim_id', _ID, nullable=False),
    sa.Column('decision_id', sa.BigInteger(), nullable=True),
    sa.Column('value_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('reserved_on', sa.Date(), nullable=True),
    sa.Column('ownership_terminated_on', sa.Date(), nullable=True),
    sa.Column('termination_document', sa.String(length=120), nullable=True),
    sa.Column('contract_number', sa.String(length=60), nullable=True),
    sa.Column('contract_signed_on', sa.Date(), nullable=True),
    sa.Column('contract_price_kopiykas', sa.BigInteger(), nullable=True),
    sa.Column('seller_name', sa.String(length=140), nullable=True),
    sa.Column('seller_iban', sa.String(length=34), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('redeemed_on', sa.Date(), nullable=True),
    sa.Column('redeemed_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.CheckConstraint("redeemed_kopiykas = 0 OR state = 'redeemed'", name=op.f('ck_certificates_redeemed_state')),
    sa.CheckConstraint('contract_price_kopiykas IS NULL OR contract_price_kopiykas > 0', name=op.f('ck_certificates_price')),
    sa.CheckConstraint('redeemed_kopiykas >= 0 AND redeemed_kopiykas <= value_kopiykas', name=op.f('ck_certificates_redeemed_within_value')),
    sa.CheckConstraint('value_kopiykas > 0', name=op.f('ck_certificates_positive')),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_certificates_claim_id_claims')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_certificates_issued_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_certificates_claim_id')),
    sa.UniqueConstraint('number', name=op.f('uq_certificates_number'))
    )
    with op.batch_alter_table('certificates') as batch_op:
        batch_op.create_index('ix_certificates_state', ['state'], unique=False)
        batch_op.create_index('uq_certificates_year_serial', ['year', 'serial'], unique=True)

    op.create_table('certificate_shares',
    sa.Column('id', _ID, nullable=False),
    sa.Column('certificate_id', _ID, nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('share_numerator', sa.Integer(), nullable=False),
    sa.Column('share_denominator', sa.Integer(), nullable=False),
    sa.Column('amount_kopiykas', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_kopiykas >= 0', name=op.f('ck_certificate_shares_non_negative')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_shares_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_certificate_shares_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_shares'))
    )
    with op.batch_alter_table('certificate_shares') as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_shares_certificate_id'), ['certificate_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', _ID, nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('claim_id', _ID, nullable=False),
    sa.Column('certificate_id', _ID, nullable=True),
    sa.Column('decision_id', sa.BigInteger(), nullable=True),
    sa.Column('amount_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('creditor_name', sa.String(length=140), nullable=False),
    sa.Column('creditor_iban', sa.String(length=34), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason_code', sa.String(length=10), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('batch_id', _ID, nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('sent_at', _TS, nullable=True),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.CheckConstraint("(purpose = 'repair' AND certificate_id IS NULL) OR (purpose = 'certificate' AND certificate_id IS NOT NULL)", name=op.f('ck_payments_purpose')),
    sa.CheckConstraint("state = 'pending' OR state = 'cancelled' OR batch_id IS NOT NULL", name=op.f('ck_payments_batched')),
    sa.CheckConstraint("state IN ('pending', 'batched', 'sent', 'booked', 'rejected', 'cancelled')", name=op.f('ck_payments_state')),
    sa.CheckConstraint('amount_kopiykas > 0', name=op.f('ck_payments_positive')),
    sa.ForeignKeyConstraint(['batch_id'], ['payment_batches.id'], name=op.f('fk_payments_batch_id_payment_batches')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_payments_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_payments_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('end_to_end_id', name=op.f('uq_payments_end_to_end_id'))
    )
    with op.batch_alter_table('payments') as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_payments_state', ['state', 'id'], unique=False)
        batch_op.create_index('uq_payments_live_certificate', ['certificate_id'], unique=True, sqlite_where=sa.text("purpose = 'certificate' AND state NOT IN ('rejected', 'cancelled')"), postgresql_where=sa.text("purpose = 'certificate' AND state NOT IN ('rejected', 'cancelled')"))
        batch_op.create_index('uq_payments_live_repair', ['claim_id'], unique=True, sqlite_where=sa.text("purpose = 'repair' AND state NOT IN ('rejected', 'cancelled')"), postgresql_where=sa.text("purpose = 'repair' AND state NOT IN ('rejected', 'cancelled')"))

    op.create_table('repair_payouts',
    sa.Column('id', _ID, nullable=False),
    sa.Column('claim_id', _ID, nullable=False),
    sa.Column('payment_id', _ID, nullable=False),
    sa.Column('tier', sa.String(length=1), nullable=False),
    sa.Column('amount_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('transferred_on', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('interim_reported_on', sa.Date(), nullable=True),
    sa.Column('final_reported_on', sa.Date(), nullable=True),
    sa.Column('verified_on', sa.Date(), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('spent_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('returned_kopiykas', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('spent_kopiykas >= 0 AND returned_kopiykas >= 0 AND spent_kopiykas + returned_kopiykas <= amount_kopiykas', name=op.f('ck_repair_payouts_within_amount')),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_repair_payouts_claim_id_claims')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_repair_payouts_payment_id_payments')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_repair_payouts_verified_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_payouts')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_repair_payouts_claim_id')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_repair_payouts_payment_id'))
    )
    with op.batch_alter_table('repair_payouts') as batch_op:
        batch_op.create_index('ix_repair_payouts_state_window', ['state', 'window_end'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('repair_payouts') as batch_op:
        batch_op.drop_index('ix_repair_payouts_state_window')

    op.drop_table('repair_payouts')
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_index('uq_payments_live_repair', sqlite_where=sa.text("purpose = 'repair' AND state NOT IN ('rejected', 'cancelled')"), postgresql_where=sa.text("purpose = 'repair' AND state NOT IN ('rejected', 'cancelled')"))
        batch_op.drop_index('uq_payments_live_certificate', sqlite_where=sa.text("purpose = 'certificate' AND state NOT IN ('rejected', 'cancelled')"), postgresql_where=sa.text("purpose = 'certificate' AND state NOT IN ('rejected', 'cancelled')"))
        batch_op.drop_index('ix_payments_state')
        batch_op.drop_index(batch_op.f('ix_payments_claim_id'))
        batch_op.drop_index(batch_op.f('ix_payments_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_payments_batch_id'))

    op.drop_table('payments')
    with op.batch_alter_table('certificate_shares') as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_shares_certificate_id'))

    op.drop_table('certificate_shares')
    with op.batch_alter_table('certificates') as batch_op:
        batch_op.drop_index('uq_certificates_year_serial')
        batch_op.drop_index('ix_certificates_state')

    op.drop_table('certificates')
    op.drop_table('payment_batches')
    with op.batch_alter_table('ledger_postings') as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_postings_transaction_id'))
        batch_op.drop_index('ix_ledger_postings_account')

    op.drop_table('ledger_postings')
    with op.batch_alter_table('ledger_transactions') as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_transactions_payment_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_transactions_claim_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_transactions_certificate_id'))

    op.drop_table('ledger_transactions')
