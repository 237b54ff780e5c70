"""Certificate bookings past the 5-working-day confirmation target are escalated by the sweep: the day it
did so (shown to payments officers on the fund page and in the API; the notary is told once).

Revision ID: 0020_certificates_more
Revises: 0015_staff
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_certificates_more"
down_revision: str | None = "0017_representatives"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificate_reservations") as batch:
        batch.add_column(sa.Column("escalated_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certificate_reservations") as batch:
        batch.drop_column("escalated_on")
