"""The outbox (one row per message per channel) and the scheduled jobs' runs (one row per job and period)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from everymetre.store.base import Base
from everymetre.store.types import utcnow


class Notification(Base):
    """A message to one person on one channel. Written by the action that causes it, in its transaction;
    sent by the worker afterwards (status pending -> sending -> sent | failed; inbox rows are sent at once)."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # unique: the same cause (audit event, reminder) never queues the same message twice
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str | None] = mapped_column(String(40))  # the claim's reference, as the text names it
    channel: Mapped[str] = mapped_column(String(10))  # email | sms | inbox
    address: Mapped[str | None] = mapped_column(String(254))  # e-mail address or phone number; None for inbox
    language: Mapped[str] = mapped_column(String(5))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any] | None] = mapped_column()  # what the text was made from (for the timeline)
    status: Mapped[str] = mapped_column(String(10))  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()  # a worker holds a 'sending' row until then
    lease_token: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(200))  # stable: a resend after a crash carries the same id
    provider_id: Mapped[str | None] = mapped_column(String(120))  # the gateway's id for an SMS
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),  # the worker's claim query
        Index("ix_notifications_inbox", "user_id", "channel", "id"),  # "My claims"
    )


class JobRun(Base):
    """One scheduled job's run for one period: the primary key lets exactly one worker take a period."""

    __tablename__ = "job_runs"
    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(40), primary_key=True)  # the scheduled time, ISO, Europe/Kyiv
    worker: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime] = mapped_column()  # a run that died is taken again after this
    finished_at: Mapped[datetime | None] = mapped_column()
    result: Mapped[str | None] = mapped_column(String(500))
