"""The SLA clock of one claim, read from its audit trail: the period starts when the claim is submitted, stops
while it is suspended (documents asked for), and ends with the first decision. Pure apart from `for_claim`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.audit.models import AuditEvent
from everymetre.audit.record import claim_chain

KYIV = ZoneInfo("Europe/Kyiv")
DECIDED = frozenset({"approved", "rejected", "withdrawn", "duplicate"})


@dataclass(frozen=True)
class Clock:
    due_on: date  # the last day for a decision, with the days spent suspended added
    days_left: int  # negative when overdue
    paused: bool  # suspended now: the clock does not run
    stopped: bool  # decided (or withdrawn): the period is over
    paused_days: int

    @property
    def overdue(self) -> bool:
        return not self.stopped and not self.paused and self.days_left < 0


def clock(moves: Iterable[tuple[datetime, str, str]], today: date, period_days: int = 30) -> Clock | None:
    """`moves`: (at, from state, to state) in order. None if the claim was never submitted."""
    start: date | None = None
    paused_since: date | None = None
    paused = 0
    stopped_on: date | None = None
    for at, source, target in moves:
        d = at.astimezone(KYIV).date()
        if target == "submitted" and start is None:
            start = d
        elif start is None or stopped_on is not None:
            continue
        elif target == "suspended":
            paused_since = d
        elif source == "suspended" and paused_since is not None:
            paused += (d - paused_since).days
            paused_since = None
        if target in DECIDED and stopped_on is None:
            stopped_on = d
    if start is None:
        return None
    if paused_since is not None and stopped_on is None:
        paused += (today - paused_since).days  # still waiting: the days so far do not count
    due = start + timedelta(days=period_days + paused)
    end = stopped_on or today
    return Clock(due, (due - end).days, paused_since is not None and stopped_on is None, stopped_on is not None, paused)


def for_claim(session: Session, claim_id: int, period_days: int = 30, today: date | None = None) -> Clock | None:
    rows = session.execute(select(AuditEvent.at, AuditEvent.payload).where(
        AuditEvent.chain == claim_chain(claim_id), AuditEvent.action == "claim.transition").order_by(AuditEvent.seq)).all()
    moves = []
    for at, payload in rows:
        p = json.loads(payload)
        moves.append((at, str(p.get("from")), str(p.get("to"))))
    return clock(moves, today or datetime.now(KYIV).date(), period_days)
