"""Outbox rows written straight into the store, for the delivery tests (and bench/notifications.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from everymetre.notifications.models import Notification
from everymetre.notifications.outbox import message_id
from everymetre.store.types import utcnow


def outbox_rows(n: int, tag: str = "t", channel: str = "email") -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for i in range(n):
        key = f"test:{tag}:{i}:{channel}"
        rows.append(dict(idempotency_key=key, user_id=None, person_id=None, claim_id=None, reference=f"EM-2026-{i:07d}",
                         channel=channel, address=f"person{i}@test.org", language="uk", kind="submitted",
                         subject=f"Заяву EM-2026-{i:07d} прийнято", body="Вашу заяву прийнято.", params=None,
                         status="pending", attempts=0, next_attempt_at=now, lease_until=None, lease_token=None,
                         last_error=None, message_id=message_id(key), provider_id=None, created_at=now, sent_at=None))
    return rows


def insert_outbox(engine: Engine, n: int, tag: str = "t", channel: str = "email") -> list[str]:
    rows = outbox_rows(n, tag, channel)
    with engine.begin() as conn:
        for i in range(0, len(rows), 2000):
            conn.execute(Notification.__table__.insert(), rows[i:i + 2000])
    return [r["message_id"] for r in rows]
