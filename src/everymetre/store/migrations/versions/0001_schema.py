"""The schema: every feature's tables.

The history before the first production database (five branches merged at 0006) was squashed into this one
revision; tests/store/test_migrations.py proves it builds exactly what the models describe, on both stores.

Revision ID: 0001_schema
Revises:
Create Date: 2026-12-01 23:57:11.928472
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001_schema'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_chains',
    sa.Column('chain', sa.String(length=60), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_chains'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chain', sa.String(length=60), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('chain', 'seq', name='uq_audit_events_chain_seq')
    )
    op.create_table('ledger_transactions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('claim_id', sa.BigInteger(), nullable=True),
    sa.Column('payment_id', sa.BigInteger(), nullable=True),
    sa.Column('certificate_id', sa.BigInteger(), nullable=True),
    sa.Column('amount_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_kopiykas > 0', name=op.f('ck_ledger_transactions_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transactions'))
    )
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_transactions_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transactions_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transactions_payment_id'), ['payment_id'], unique=False)

    op.create_table('linkage_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('model_path', sa.String(length=500), nullable=True),
    sa.Column('model_hash', sa.String(length=64), nullable=True),
    sa.Column('trained', sa.Boolean(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('flag_score', sa.Float(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('pairs', sa.Integer(), nullable=False),
    sa.Column('decisions_applied', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('timings', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_linkage_runs'))
    )
    op.create_table('persons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('full_name_latin', sa.String(length=200), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('rnokpp', sa.String(length=10), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons'))
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_persons_rnokpp'), ['rnokpp'], unique=False)

    op.create_table('properties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('oblast', sa.String(length=40), nullable=False),
    sa.Column('hromada', sa.String(length=120), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.Column('building', sa.String(length=20), nullable=False),
    sa.Column('apartment', sa.String(length=20), nullable=True),
    sa.Column('registry_number', sa.String(length=40), nullable=True),
    sa.Column('total_area_m2', sa.Numeric(precision=9, scale=2), nullable=False),
    sa.Column('year_built', sa.SmallInteger(), nullable=True),
    sa.Column('rooms', sa.SmallInteger(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('common_parts_damaged', sa.Boolean(), nullable=True),
    sa.Column('own_street_entrance', sa.Boolean(), nullable=True),
    sa.Column('heritage', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_properties'))
    )
    with op.batch_alter_table('properties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_properties_registry_number'), ['registry_number'], unique=False)

    op.create_table('rulesets',
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('canonical', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hash', name=op.f('pk_rulesets'))
    )
    op.create_table('ledger_postings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=80), nullable=False),
    sa.Column('debit', sa.BigInteger(), nullable=False),
    sa.Column('credit', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.CheckConstraint('debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)', name=op.f('ck_ledger_postings_one_side')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_ledger_postings_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_postings'))
    )
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_postings_account', ['account'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_postings_transaction_id'), ['transaction_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('all_oblasts', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_users_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_person_id'), ['person_id'], unique=False)

    op.create_table('claims',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ref_year', sa.SmallInteger(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('oblast', sa.String(length=40), nullable=False),
    sa.Column('property_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('filed_as_representative', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=True),
    sa.Column('source_record_id', sa.String(length=120), nullable=True),
    sa.Column('damage_date', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('priority_mask', sa.SmallInteger(), nullable=False),
    sa.Column('is_redamage', sa.Boolean(), nullable=False),
    sa.Column('previous_claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('duplicate_of_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('inspector_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assessed_amount_kopiykas', sa.BigInteger(), nullable=True),
    sa.Column('awarded_amount_kopiykas', sa.BigInteger(), nullable=True),
    sa.Column('suspension_deadline', sa.Date(), nullable=True),
    sa.Column('documents_requested', sa.JSON(), nullable=True),
    sa.Column('inspection_date', sa.Date(), nullable=True),
    sa.Column('review_flag', sa.String(length=40), nullable=True),
    sa.Column('assessment', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_claims_assignee_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_claims_decided_by_id_users')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['claims.id'], name=op.f('fk_claims_duplicate_of_id_claims')),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_claims_inspector_id_users')),
    sa.ForeignKeyConstraint(['previous_claim_id'], ['claims.id'], name=op.f('fk_claims_previous_claim_id_claims')),
    sa.ForeignKeyConstraint(['property_id'], ['properties.id'], name=op.f('fk_claims_property_id_properties')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_claims_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims')),
    sa.UniqueConstraint('source', 'source_record_id', name='uq_claims_source_record')
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index('ix_claims_deadline', ['suspension_deadline', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_claims_queue', ['oblast', 'state', 'id'], unique=False)
        batch_op.create_index('ix_claims_state_id', ['state', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_submitted_by_id'), ['submitted_by_id'], unique=False)
        batch_op.create_index('ix_claims_waiting', ['state_changed_at', 'id'], unique=False)

    op.create_table('linkage_findings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('claim_ids', sa.JSON(), nullable=False),
    sa.Column('claim_refs', sa.JSON(), nullable=False),
    sa.Column('record_ids', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('first_run_id', sa.BigInteger(), nullable=False),
    sa.Column('last_run_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_linkage_findings_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_linkage_findings')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_linkage_findings_fingerprint'))
    )
    with op.batch_alter_table('linkage_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_linkage_findings_last_run_id'), ['last_run_id'], unique=False)
        batch_op.create_index('ix_linkage_findings_status_score', ['status', 'score'], unique=False)

    op.create_table('linkage_review_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_id_a', sa.String(length=160), nullable=False),
    sa.Column('record_id_b', sa.String(length=160), nullable=False),
    sa.Column('ownership_id_a', sa.BigInteger(), nullable=True),
    sa.Column('ownership_id_b', sa.BigInteger(), nullable=True),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('finding_id', sa.BigInteger(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_linkage_review_decisions_decided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_linkage_review_decisions')),
    sa.UniqueConstraint('record_id_a', 'record_id_b', name='uq_linkage_review_decisions_pair')
    )
    op.create_table('payment_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('total_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('second_approver_id', sa.Integer(), nullable=True),
    sa.Column('open_for_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('built', 'approved', 'exported', 'sent', 'cancelled')", name=op.f('ck_payment_batches_state')),
    sa.CheckConstraint('second_approver_id IS NULL OR second_approver_id <> approved_by_id', name=op.f('ck_payment_batches_two_people')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_payment_batches_approved_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payment_batches_created_by_id_users')),
    sa.ForeignKeyConstraint(['second_approver_id'], ['users.id'], name=op.f('fk_payment_batches_second_approver_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_batches')),
    sa.UniqueConstraint('message_id', name=op.f('uq_payment_batches_message_id')),
    sa.UniqueConstraint('open_for_user_id', name=op.f('uq_payment_batches_open_for_user_id'))
    )
    op.create_table('user_oblasts',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('oblast', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_oblasts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'oblast', name=op.f('pk_user_oblasts'))
    )
    op.create_table('certificates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
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
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('ix_certificates_state', ['state'], unique=False)
        batch_op.create_index('uq_certificates_year_serial', ['year', 'serial'], unique=True)

    op.create_table('claim_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_drafts_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_claim_drafts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_drafts')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_claim_drafts_claim_id'))
    )
    with op.batch_alter_table('claim_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_drafts_user_id'), ['user_id'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('amount_kopiykas', sa.BigInteger(), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ruleset_hash', sa.String(length=64), nullable=True),
    sa.Column('rule_inputs', sa.JSON(), nullable=True),
    sa.Column('rule_result', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_decisions_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_decisions_decided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_claim_id'), ['claim_id'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=60), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_evidence_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_evidence_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_sha256'), ['sha256'], unique=False)

    op.create_table('inspection_acts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('damage_category', sa.String(length=20), nullable=False),
    sa.Column('damaged_elements', sa.JSON(), nullable=False),
    sa.Column('works', sa.JSON(), nullable=False),
    sa.Column('works_total_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('technical_report_required', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_inspection_acts_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_inspection_acts_inspector_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_acts'))
    )
    with op.batch_alter_table('inspection_acts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_acts_claim_id'), ['claim_id'], unique=False)

    op.create_table('linkage_finding_claims',
    sa.Column('finding_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('oblast', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_linkage_finding_claims_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['finding_id'], ['linkage_findings.id'], name=op.f('fk_linkage_finding_claims_finding_id_linkage_findings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('finding_id', 'claim_id', name=op.f('pk_linkage_finding_claims'))
    )
    with op.batch_alter_table('linkage_finding_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_linkage_finding_claims_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_linkage_finding_claims_oblast', ['oblast', 'finding_id'], unique=False)

    op.create_table('ownerships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('share_numerator', sa.Integer(), nullable=False),
    sa.Column('share_denominator', sa.Integer(), nullable=False),
    sa.Column('is_applicant', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_ownerships_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_ownerships_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ownerships'))
    )
    with op.batch_alter_table('ownerships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ownerships_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ownerships_person_id'), ['person_id'], unique=False)

    op.create_table('certificate_shares',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('certificate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('share_numerator', sa.Integer(), nullable=False),
    sa.Column('share_denominator', sa.Integer(), nullable=False),
    sa.Column('amount_kopiykas', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_kopiykas >= 0', name=op.f('ck_certificate_shares_non_negative')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_shares_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_certificate_shares_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_shares'))
    )
    with op.batch_alter_table('certificate_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_shares_certificate_id'), ['certificate_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('certificate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decision_id', sa.BigInteger(), nullable=True),
    sa.Column('amount_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('creditor_name', sa.String(length=140), nullable=False),
    sa.Column('creditor_iban', sa.String(length=34), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason_code', sa.String(length=10), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
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
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_payments_state', ['state', 'id'], unique=False)
        batch_op.create_index('uq_payments_live_certificate', ['certificate_id'], unique=True, sqlite_where=sa.text("purpose = 'certificate' AND state NOT IN ('rejected', 'cancelled')"), postgresql_where=sa.text("purpose = 'certificate' AND state NOT IN ('rejected', 'cancelled')"))
        batch_op.create_index('uq_payments_live_repair', ['claim_id'], unique=True, sqlite_where=sa.text("purpose = 'repair' AND state NOT IN ('rejected', 'cancelled')"), postgresql_where=sa.text("purpose = 'repair' AND state NOT IN ('rejected', 'cancelled')"))

    op.create_table('repair_payouts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
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
    with op.batch_alter_table('repair_payouts', schema=None) as batch_op:
        batch_op.create_index('ix_repair_payouts_state_window', ['state', 'window_end'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('repair_payouts', schema=None) as batch_op:
        batch_op.drop_index('ix_repair_payouts_state_window')

    op.drop_table('repair_payouts')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_live_repair', sqlite_where=sa.text("purpose = 'repair' AND state NOT IN ('rejected', 'cancelled')"), postgresql_where=sa.text("purpose = 'repair' AND state NOT IN ('rejected', 'cancelled')"))
        batch_op.drop_index('uq_payments_live_certificate', sqlite_where=sa.text("purpose = 'certificate' AND state NOT IN ('rejected', 'cancelled')"), postgresql_where=sa.text("purpose = 'certificate' AND state NOT IN ('rejected', 'cancelled')"))
        batch_op.drop_index('ix_payments_state')
        batch_op.drop_index(batch_op.f('ix_payments_claim_id'))
        batch_op.drop_index(batch_op.f('ix_payments_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_payments_batch_id'))

    op.drop_table('payments')
    with op.batch_alter_table('certificate_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_shares_certificate_id'))

    op.drop_table('certificate_shares')
    with op.batch_alter_table('ownerships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ownerships_person_id'))
        batch_op.drop_index(batch_op.f('ix_ownerships_claim_id'))

    op.drop_table('ownerships')
    with op.batch_alter_table('linkage_finding_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_linkage_finding_claims_oblast')
        batch_op.drop_index(batch_op.f('ix_linkage_finding_claims_claim_id'))

    op.drop_table('linkage_finding_claims')
    with op.batch_alter_table('inspection_acts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_acts_claim_id'))

    op.drop_table('inspection_acts')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_sha256'))
        batch_op.drop_index(batch_op.f('ix_evidence_claim_id'))

    op.drop_table('evidence')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_claim_id'))

    op.drop_table('decisions')
    with op.batch_alter_table('claim_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_drafts_user_id'))

    op.drop_table('claim_drafts')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_year_serial')
        batch_op.drop_index('ix_certificates_state')

    op.drop_table('certificates')
    op.drop_table('user_oblasts')
    op.drop_table('payment_batches')
    op.drop_table('linkage_review_decisions')
    with op.batch_alter_table('linkage_findings', schema=None) as batch_op:
        batch_op.drop_index('ix_linkage_findings_status_score')
        batch_op.drop_index(batch_op.f('ix_linkage_findings_last_run_id'))

    op.drop_table('linkage_findings')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_waiting')
        batch_op.drop_index(batch_op.f('ix_claims_submitted_by_id'))
        batch_op.drop_index('ix_claims_state_id')
        batch_op.drop_index('ix_claims_queue')
        batch_op.drop_index('ix_claims_deadline')

    op.drop_table('claims')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_person_id'))

    op.drop_table('users')
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_postings_transaction_id'))
        batch_op.drop_index('ix_ledger_postings_account')

    op.drop_table('ledger_postings')
    op.drop_table('rulesets')
    with op.batch_alter_table('properties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_properties_registry_number'))

    op.drop_table('properties')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_rnokpp'))

    op.drop_table('persons')
    op.drop_table('linkage_runs')
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_transactions_payment_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_transactions_claim_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_transactions_certificate_id'))

    op.drop_table('ledger_transactions')
    op.drop_table('audit_events')
    op.drop_table('audit_chains')
