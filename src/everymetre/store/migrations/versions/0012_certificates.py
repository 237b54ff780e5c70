"""Housing certificates per co-owner (no longer one per claim), notaries' reservations, revocation.

Revision ID: 0012_certificates
Revises: 0009_payday
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from everymetre.store.types import UTCDateTime

revision: str = '0012_certificates'
down_revision: str | None = '0009_payday'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('certificate_reservations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('notary_id', sa.Integer(), nullable=False),
    sa.Column('filed_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('confirm_due', sa.Date(), nullable=False),
    sa.Column('seller_name', sa.String(length=140), nullable=False),
    sa.Column('seller_rnokpp', sa.String(length=10), nullable=False),
    sa.Column('seller_iban', sa.String(length=34), nullable=False),
    sa.Column('property_registry_number', sa.String(length=40), nullable=False),
    sa.Column('property_address', sa.String(length=300), nullable=False),
    sa.Column('property_katottg', sa.String(length=19), nullable=False),
    sa.Column('property_area_m2', sa.Numeric(precision=9, scale=2), nullable=False),
    sa.Column('property_kind', sa.String(length=20), nullable=False),
    sa.Column('price_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('certificates_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('buyer_part_kopiykas', sa.BigInteger(), nullable=False),
    sa.Column('related_party', sa.Boolean(), nullable=False),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_on', sa.Date(), nullable=True),
    sa.Column('contract_due', sa.Date(), nullable=True),
    sa.Column('termination_extract', sa.String(length=120), nullable=True),
    sa.Column('termination_extract_on', sa.Date(), nullable=True),
    sa.Column('contract_number', sa.String(length=60), nullable=True),
    sa.Column('contract_signed_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.CheckConstraint("state IN ('review', 'queued', 'confirmed', 'ownership_terminated', 'contract_signed', 'completed', 'lapsed', 'refused', 'cancelled')", name=op.f('ck_certificate_reservations_state')),
    sa.CheckConstraint('buyer_part_kopiykas = CASE WHEN price_kopiykas > certificates_kopiykas THEN price_kopiykas - certificates_kopiykas ELSE 0 END', name=op.f('ck_certificate_reservations_buyer_part')),
    sa.CheckConstraint('price_kopiykas > 0 AND certificates_kopiykas > 0 AND buyer_part_kopiykas >= 0', name=op.f('ck_certificate_reservations_amounts')),
    sa.ForeignKeyConstraint(['notary_id'], ['users.id'], name=op.f('fk_certificate_reservations_notary_id_users')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_certificate_reservations_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_reservations'))
    )
    with op.batch_alter_table('certificate_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_reservations_notary_id'), ['notary_id'], unique=False)
        batch_op.create_index('ix_certificate_reservations_queue', ['state', 'id'], unique=False)

    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_person_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reservation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('bookings', sa.SmallInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('revoked_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=30), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_certificates_claim_id'), type_='unique')
        batch_op.create_index(batch_op.f('ix_certificates_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_holder_person_id'), ['holder_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_reservation_id'), ['reservation_id'], unique=False)
        batch_op.create_index('uq_certificates_live_holder', ['claim_id', 'holder_person_id'], unique=True, sqlite_where=sa.text("state <> 'revoked'"), postgresql_where=sa.text("state <> 'revoked'"))
        batch_op.create_foreign_key(batch_op.f('fk_certificates_holder_person_id_persons'), 'persons', ['holder_person_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_certificates_reservation_id_certificate_reservations'), 'certificate_reservations', ['reservation_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_certificates_state'), "state IN ('issued', 'reservation_filed', 'funds_reserved', "
                                         "'ownership_terminated', 'contract_signed', 'paid_to_seller', 'redeemed', "
                                         "'reservation_lapsed', 'expired', 'revoked')")
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.alter_column('bookings', server_default=None)



def downgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_certificates_state'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_certificates_reservation_id_certificate_reservations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_certificates_holder_person_id_persons'), type_='foreignkey')
        batch_op.drop_index('uq_certificates_live_holder', sqlite_where=sa.text("state <> 'revoked'"), postgresql_where=sa.text("state <> 'revoked'"))
        batch_op.drop_index(batch_op.f('ix_certificates_reservation_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_holder_person_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_claim_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_certificates_claim_id'), ['claim_id'])
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('revoked_on')
        batch_op.drop_column('bookings')
        batch_op.drop_column('reservation_id')
        batch_op.drop_column('holder_person_id')

    with op.batch_alter_table('certificate_reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_certificate_reservations_queue')
        batch_op.drop_index(batch_op.f('ix_certificate_reservations_notary_id'))

    op.drop_table('certificate_reservations')
