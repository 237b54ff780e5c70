"""Payment batches: the approval that releases a batch (the second, or the only one) is never its builder's.

The database holds what `accounts.permissions` (Action.BATCH_RELEASE, Segregation.NOT_BUILDER) enforces, so
no code path (or hand-written UPDATE) can release a batch its builder approved alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_batch_release_not_builder"
down_revision: str | None = "0002_transparency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "state NOT IN ('approved', 'exported', 'sent') OR COALESCE(second_approver_id, approved_by_id) <> created_by_id"


def upgrade() -> None:
    with op.batch_alter_table("payment_batches") as batch:
        batch.create_check_constraint("released_by_another", CHECK)


def downgrade() -> None:
    with op.batch_alter_table("payment_batches") as batch:
        batch.drop_constraint("released_by_another", type_="check")
