"""The decision clock kept on the claim, so queues can filter and count overdue claims with an index.

`sla.clock` reads a claim's clock from its audit trail (the authority); this module keeps the same clock in two
columns that every move maintains in its own transaction: `decision_due_on` (the last day for a decision while
the clock runs; NULL while the claim is suspended, before submission and once decided) and
`decision_paused_days` (the days spent suspended so far, added when the claim resumes). A claim is overdue when
`decision_due_on < today` (Kyiv): one range of the (oblast, decision_due_on) index. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from everymetre.sla.clock import DECIDED, KYIV

# a decision stops the clock for good: these states come only after one
STOPPED = DECIDED | {"appealed", "upheld", "revised"}
# the states in which the clock runs: only claims in these have a due date (queues look nowhere else)
RUNNING = frozenset({"submitted", "auto_checked", "assigned", "inspection_scheduled", "inspected", "remote_verified",
                     "assessed"})


def kyiv_day(at: datetime) -> date:
    """The calendar day in Kyiv of a UTC time (a naive time is taken as UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(KYIV).date()


def after_move(source: str, target: str, at: datetime, submitted_at: datetime | None, paused_since: datetime | None,
               paused_days: int, period_days: int) -> tuple[date | None, int]:
    """(decision_due_on, decision_paused_days) after a move from `source` to `target` at `at`.

    `paused_since`: when the claim entered `source` (its state_changed_at before the move), read when it leaves
    a suspension. Every move recomputes both from the submission day, so a move that neither starts, pauses,
    resumes nor stops the clock gives the due date it had."""
    if target in STOPPED or source in STOPPED or target == "suspended" or submitted_at is None:
        return None, paused_days
    if source == "suspended" and paused_since is not None:
        paused_days += (kyiv_day(at) - kyiv_day(paused_since)).days
    return kyiv_day(submitted_at) + timedelta(days=period_days + paused_days), paused_days


def from_moves(moves: Iterable[tuple[datetime, str, str]], period_days: int) -> tuple[date | None, int]:
    """The two columns for a claim with these moves ((at, from, to) in order), as `sla.clock.clock` reads them."""
    submitted: datetime | None = None
    since: datetime | None = None
    due: date | None = None
    paused = 0
    stopped = False
    for at, source, target in moves:
        if target == "submitted" and submitted is None:
            submitted = at
        if submitted is None or stopped:
            continue
        due, paused = after_move(source, target, at, submitted, since, paused, period_days)
        stopped = target in DECIDED
        since = at
    return due, paused
