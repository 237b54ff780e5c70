"""Overdue claims per commission (oblast): claims past their decision clock today, from the stored clock
(`sla.due`) and its (oblast, decision_due_on) index. Read by the staff queue page and `/metrics`; kept for
CACHE_SECONDS per process, so a busy queue page does not count them on every load."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from everymetre.claims.models import Claim
from everymetre.sla.due import kyiv_day
from everymetre.store.types import utcnow

CACHE_SECONDS = 300.0
_cache: dict[tuple[str, date], tuple[float, dict[str, int]]] = {}
_lock = threading.Lock()


def overdue_by_oblast(conn: Connection | Session, now: datetime | None = None, cached: bool = True) -> dict[str, int]:
    """{oblast: claims whose decision was due before today (Kyiv)}; oblasts with none are left out."""
    today = kyiv_day(now or utcnow())
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    key = (str(bind.engine.url), today)
    if cached:
        with _lock:
            hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    rows = conn.execute(select(Claim.oblast, func.count()).where(Claim.decision_due_on < today)
                        .group_by(Claim.oblast)).tuples().all()
    counts = dict(rows)
    with _lock:
        _cache[key] = (time.monotonic(), counts)
    return counts


def clear_cache() -> None:
    with _lock:
        _cache.clear()
