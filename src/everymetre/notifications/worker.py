"""`everymetre worker`: delivers the outbox and runs the scheduled jobs, until SIGTERM (or SIGINT).

On a stop signal the worker finishes the message it is sending, hands back the rest of its batch, and exits 0.
After kill -9 nothing is lost: rows it held come back when their lease runs out (notifications.delivery)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from everymetre.config import Settings
from everymetre.notifications.delivery import DeliveryReport, deliver_due
from everymetre.notifications.jobs import run_due_jobs
from everymetre.notifications.models import Notification
from everymetre.ops import metrics
from everymetre.store.db import engine_for, session_factory
from everymetre.store.types import utcnow

log = logging.getLogger("everymetre.worker")


def worker_token() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run(settings: Settings, once: bool = False, stop: threading.Event | None = None,
        say: Callable[[str], None] = print) -> DeliveryReport:
    """Run until `stop` is set (the signal handlers set it), or one round with `once`."""
    stop = stop or threading.Event()
    token = worker_token()
    sessions = session_factory(engine_for(settings.database_url))
    total = DeliveryReport()
    while not stop.is_set():
        try:
            with sessions() as session:
                report = deliver_due(session, settings, token, stop=stop)
                ran = run_due_jobs(session, token, stop=stop)
        except OperationalError as exc:  # the database is away: say so, wait, try again (nothing is lost)
            if once:
                raise
            say(f"worker: database unavailable ({str(exc.orig).strip().splitlines()[0] if exc.orig else exc}); retrying")
            stop.wait(max(settings.worker_poll_seconds, 5))
            continue
        total.add(report)
        _report_outbox(sessions)
        if report.sent or report.retried or report.failed:
            say(f"worker: sent {report.sent}, to retry {report.retried}, failed {report.failed}")
        for job, period, result in ran:
            say(f"worker: {job} ({period}): {result}")
        if once:
            break
        stop.wait(settings.worker_poll_seconds)
    return total


def _report_outbox(sessions: sessionmaker[Session]) -> None:
    """The outbox's depth and its oldest waiting message's age, for /metrics (and the outbox-age alert)."""
    with sessions() as session:
        waiting, oldest = session.execute(select(func.count(), func.min(Notification.created_at))
                                          .where(Notification.status.in_(("pending", "sending")))).one()
    metrics.set_outbox(waiting, (utcnow() - oldest).total_seconds() if oldest is not None else 0.0)


def install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("worker: signal %s, stopping after the current message", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
