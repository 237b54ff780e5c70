"""Finer planner statistics for the search's word index (PostgreSQL): a larger sample and list of the most
common word keys (2,000, was 100).

The search joins one range of claim_search_words per query word and leaves the order to the planner. With the
default statistics a million claims' word index (about 11 million rows) kept only the hundred commonest keys:
every other key, a building number of 5,600 claims or a town of 15,000 alike, was estimated at one row, and the
planner walked from the commonest word. (Extended statistics of (word key, oblast) pairs were tried: they made
planning a search's 25-branch statements cost 40-80 ms, more than running them.)

Revision ID: 0023_search_word_statistics
Revises: 0022_drop_search_trigrams
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0023_search_word_statistics"
down_revision: str | None = "0022_drop_search_trigrams"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TARGET = 2000


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE claim_search_words ALTER COLUMN word_key SET STATISTICS {TARGET}")
    op.execute("ANALYZE claim_search_words")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE claim_search_words ALTER COLUMN word_key SET STATISTICS -1")
