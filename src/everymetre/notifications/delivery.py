"""Delivering the outbox: at least once, each notification under its own stable Message-ID, several workers
side by side without sending one message twice.

A worker claims a batch of due rows in one short transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
workers never take the same row and never wait for each other; SQLite: the claiming UPDATE holds the one write
lock), marking them `sending` under a lease with its own token. It sends them outside any transaction and marks
them sent (up to MARK_EVERY per transaction; a failure at once: due again later, with exponential back-off, or
failed after the last try) only while it still holds the lease. A worker killed mid-send leaves its rows
`sending`; when the lease runs out another worker (or the same one restarted) takes them again. The messages
in flight (at most MARK_EVERY) may then reach the server twice, always with the same Message-ID (at least once;
a receiving server or mail client recognises the repeat by its Message-ID)."""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, text, update
from sqlalchemy.orm import Session

from everymetre.config import Settings
from everymetre.notifications.mail import Mailer, build_message
from everymetre.notifications.models import Notification
from everymetre.notifications.sms import SmsError, SmsGateway
from everymetre.ops import metrics
from everymetre.store.db import is_postgres
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

log = logging.getLogger("everymetre.worker")
N = Notification


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.skipped += other.skipped
        self.errors.extend(other.errors[:20])


class PermanentError(Exception):
    pass


def claim_batch(session: Session, token: str, limit: int, lease_seconds: int, now: datetime | None = None) -> list[Notification]:
    """Take up to `limit` due rows for this worker (`token`) under a lease; returns them."""
    now = now or utcnow()
    due = or_(and_(N.status == "pending", N.next_attempt_at <= now),
              and_(N.status == "sending", N.lease_until < now))  # a worker died holding it
    pick = select(N.id).where(due).order_by(N.next_attempt_at, N.id).limit(limit)
    if is_postgres(session):
        pick = pick.with_for_update(skip_locked=True)
    with atomic(session):
        ids = list(session.scalars(
            update(N).where(N.id.in_(pick.scalar_subquery()), due)
            .values(status="sending", lease_token=token, lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=N.attempts + 1)
            .returning(N.id).execution_options(synchronize_session=False)))
    if not ids:
        return []
    session.expire_all()
    return list(session.scalars(select(N).where(N.id.in_(ids), N.lease_token == token).order_by(N.id)))


class Channels:
    """The channels that are on (from the settings), their connections kept for a batch."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mailer = Mailer(settings.smtp_url, settings.smtp_from) if settings.smtp_url else None
        self.sms = SmsGateway(settings.sms_url, settings.sms_key, settings.sms_sender) if settings.sms_url else None

    def send(self, n: Notification) -> str | None:
        """Send one notification; returns the provider's id (SMS). Raises PermanentError or a retryable error."""
        if n.channel == "email":
            if self.mailer is None:
                raise PermanentError("e-mail is off (EVERYMETRE_SMTP_URL is not set)")
            msg = build_message(self.settings.smtp_from, n.address or "", n.subject, n.body, n.message_id, n.language)
            try:
                self.mailer.send(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [c for c, _ in exc.recipients.values()]
                if all(500 <= c < 600 for c in codes):
                    raise PermanentError(f"the mail server refused {n.address}: {codes}") from exc
                raise
            return None
        if n.channel == "sms":
            if self.sms is None:
                raise PermanentError("SMS is off (EVERYMETRE_SMS_URL is not set)")
            try:
                return self.sms.send(n.address or "", n.body, n.message_id)
            except SmsError as exc:
                if exc.permanent:
                    raise PermanentError(str(exc)) from exc
                raise
        raise PermanentError(f"no channel {n.channel!r}")

    def close(self) -> None:
        if self.mailer:
            self.mailer.close()
        if self.sms:
            self.sms.close()


def backoff(settings: Settings, attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... doubling per try, at most a day."""
    return timedelta(seconds=min(settings.worker_backoff_seconds * 2 ** max(attempts - 1, 0), 86_400))


def _finish(session: Session, n: Notification, token: str, **values: object) -> bool:
    with atomic(session):
        res = session.execute(update(N).where(N.id == n.id, N.lease_token == token, N.status == "sending")
                              .values(lease_token=None, lease_until=None, **values)
                              .execution_options(synchronize_session=False))
    return cast(CursorResult[Any], res).rowcount == 1


def _mark_sent(session: Session, token: str, sent: list[tuple[int, str | None]]) -> int:
    """Mark messages sent, several in one transaction; returns how many this worker still held."""
    if not sent:
        return 0
    now = utcnow()
    with atomic(session):
        if is_postgres(session):
            # No wait for the WAL flush: were PostgreSQL itself to crash right after, the marks could be lost
            # and the messages sent again, under the same Message-IDs (at least once either way).
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        done = 0
        plain = [i for i, provider in sent if provider is None]
        if plain:
            done += session.execute(update(N).where(N.id.in_(plain), N.lease_token == token, N.status == "sending")
                                    .values(status="sent", sent_at=now, lease_token=None, lease_until=None, last_error=None)
                                    .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        for i, provider in sent:
            if provider is not None:
                done += session.execute(update(N).where(N.id == i, N.lease_token == token, N.status == "sending")
                                        .values(status="sent", sent_at=now, provider_id=provider, lease_token=None,
                                                lease_until=None, last_error=None)
                                        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    sent.clear()
    return done


def _renew(session: Session, token: str, ids: list[int], lease: timedelta) -> None:
    with atomic(session):
        session.execute(update(N).where(N.id.in_(ids), N.lease_token == token, N.status == "sending")
                        .values(lease_until=utcnow() + lease).execution_options(synchronize_session=False))


MARK_EVERY = 10  # sent messages marked per transaction; a crash resends at most these (same Message-IDs)


def deliver_batch(session: Session, channels: Channels, settings: Settings, token: str, limit: int = 100,
                  stop: object = None) -> tuple[int, DeliveryReport]:
    """Claim one batch and deliver it; returns (rows claimed, report). `stop` (a threading.Event) ends the
    batch early between messages: rows not yet sent are handed back at once."""
    report = DeliveryReport()
    lease = timedelta(seconds=settings.worker_lease_seconds)
    renew_at = utcnow() + lease / 2
    batch = claim_batch(session, token, limit, settings.worker_lease_seconds)
    sent: list[tuple[int, str | None]] = []

    def flush() -> None:
        count = len(sent)
        done = _mark_sent(session, token, sent)
        report.sent += done
        report.skipped += count - done  # our lease ran out and another worker took it: not marked twice

    for i, n in enumerate(batch):
        if stop is not None and stop.is_set():  # type: ignore[attr-defined]
            flush()
            for rest in batch[i:]:
                _finish(session, rest, token, status="pending", attempts=max(rest.attempts - 1, 0))
            return len(batch), report
        if utcnow() >= renew_at:  # a slow server: keep the rest of the batch ours, so no one else sends it too
            flush()
            _renew(session, token, [r.id for r in batch[i:]], lease)
            renew_at = utcnow() + lease / 2
        try:
            provider_id = channels.send(n)
        except PermanentError as exc:
            _finish(session, n, token, status="failed", last_error=str(exc)[:500])
            metrics.notification_failed(n.channel)
            report.failed += 1
            report.errors.append(f"{n.id}: {exc}")
            continue
        except Exception as exc:
            last = n.attempts >= settings.worker_max_attempts
            _finish(session, n, token, status="failed" if last else "pending", last_error=f"{type(exc).__name__}: {exc}"[:500],
                    next_attempt_at=utcnow() + backoff(settings, n.attempts))
            if last:
                metrics.notification_failed(n.channel)
                report.failed += 1
            else:
                report.retried += 1
            report.errors.append(f"{n.id}: {type(exc).__name__}: {exc}")
            log.warning("notification %s (%s to %s) not sent: %s", n.id, n.channel, n.address, exc)
            continue
        sent.append((n.id, provider_id))
        metrics.notification_sent(n.channel)
        if len(sent) >= MARK_EVERY:
            flush()
    flush()
    return len(batch), report


def deliver_due(session: Session, settings: Settings, token: str | None = None, limit: int = 100,
                stop: object = None) -> DeliveryReport:
    """Deliver everything due now, batch after batch, until nothing is due (or `stop` is set)."""
    token = token or uuid.uuid4().hex
    total = DeliveryReport()
    channels = Channels(settings)
    try:
        while not (stop is not None and stop.is_set()):  # type: ignore[attr-defined]
            claimed, report = deliver_batch(session, channels, settings, token, limit, stop)
            total.add(report)
            if claimed == 0:
                break
    finally:
        channels.close()
    return total
