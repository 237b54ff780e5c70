"""The scheduled jobs: each runs once per period of its cron schedule (Europe/Kyiv), whichever worker gets
there first. A period is taken by inserting its (job, period) row; a worker that dies mid-run leaves the row
unfinished under a lease, and once the lease runs out another worker runs the job again (every job here is
safe to run twice: the sweeps skip what they already moved, the reminders' keys are unique)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from croniter import croniter
from sqlalchemy import CursorResult, Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from everymetre.claims.lifecycle import State
from everymetre.claims.models import Claim
from everymetre.notifications.models import JobRun
from everymetre.notifications.outbox import KYIV, Intent, enqueue
from everymetre.ops import metrics
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

log = logging.getLogger("everymetre.worker")
REMINDER_DAYS = (7, 1)
JOB_LEASE = timedelta(minutes=30)


def claims_sweep(session: Session, today: date) -> str:
    from everymetre.claims.actions import do_lapse_suspensions

    moved = do_lapse_suspensions(session, today)
    return f"{len(moved)} suspension(s) lapsed"


def pay_sweep(session: Session, today: date) -> str:
    from everymetre.accounts.actions import SYSTEM
    from everymetre.payments.payouts import do_sweep

    r = do_sweep(session, SYSTEM, today)
    return (f"payouts expired {r.payouts_expired}, redamaged {r.payouts_redamaged}, reservations lapsed {r.reservations_lapsed}, "
            f"certificates expired {r.certificates_expired}")


def deadline_reminders(session: Session, today: date) -> str:
    """Remind claimants 7 days and 1 day before their documents are due."""
    days = {today + timedelta(days=d): d for d in REMINDER_DAYS}
    with atomic(session):
        rows = session.execute(select(Claim.id, Claim.suspension_deadline, Claim.documents_requested)
                               .where(Claim.state == State.SUSPENDED.value, Claim.suspension_deadline.in_(list(days)))).all()
        intents = [Intent(f"reminder:{cid}:{deadline.isoformat()}:{days[deadline]}", "deadline_reminder", cid,
                          {"documents": list(docs or []), "deadline": deadline.isoformat(), "days": days[deadline]})
                   for cid, deadline, docs in rows]
        new = enqueue(session, intents)
    return f"{len(intents)} claim(s) reminded ({new} new message(s))"


def public_log_sync(session: Session, today: date) -> str:
    """Append the decisions and exported batches not yet in the public log, and sign a new tree head."""
    from everymetre.config import get_settings
    from everymetre.transparency.log import sync

    report = sync(session, get_settings())
    return f"{report.appended} leaves appended; tree head of size {report.tree_size}"


def heartbeat(session: Session, today: date) -> str:
    """The run's row itself is the worker's heartbeat, which readiness reads (`last_heartbeat`); a day of them is kept."""
    with atomic(session):
        session.execute(delete(JobRun).where(JobRun.job == "heartbeat", JobRun.started_at < utcnow() - timedelta(days=1)))
    return "alive"


def last_heartbeat(engine: Engine) -> datetime | None:
    """When a worker last beat (its latest heartbeat run started), or None: the readiness check of `serve`."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(JobRun.started_at)).where(JobRun.job == "heartbeat")).scalar()


@dataclass(frozen=True)
class Job:
    name: str
    cron: str  # minute hour day month weekday, in Europe/Kyiv
    run: Callable[[Session, date], str]


JOBS: tuple[Job, ...] = (
    Job("claims_sweep", "5 0 * * *", claims_sweep),
    Job("pay_sweep", "15 0 * * *", pay_sweep),
    Job("deadline_reminders", "0 9 * * *", deadline_reminders),
    Job("public_log_sync", "30 * * * *", public_log_sync),
    Job("heartbeat", "* * * * *", heartbeat),
)


def period_of(job: Job, now: datetime) -> datetime:
    """The latest scheduled time of `job` at or before `now` (Europe/Kyiv)."""
    local = now.astimezone(KYIV)
    it = croniter(job.cron, local + timedelta(seconds=1))
    prev = it.get_prev(datetime)
    return prev


def take(session: Session, job: str, period: str, token: str, now: datetime) -> bool:
    """Take (job, period) for this worker: the first to insert its row, or the first after a dead run's lease."""
    values = {"job": job, "period": period, "worker": token[:60], "started_at": now, "lease_until": now + JOB_LEASE}
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(JobRun.__table__)
    with atomic(session):
        stmt = ins.values(**values).on_conflict_do_nothing(index_elements=["job", "period"]).returning(JobRun.job)
        if session.execute(stmt).first() is not None:  # (rowcount is not reliable for ON CONFLICT on psycopg)
            return True
        res = session.execute(update(JobRun).where(JobRun.job == job, JobRun.period == period,
                                                   JobRun.finished_at.is_(None), JobRun.lease_until < now)
                              .values(worker=token[:60], started_at=now, lease_until=now + JOB_LEASE)
                              .execution_options(synchronize_session=False))
        return cast(CursorResult[Any], res).rowcount == 1


def run_due_jobs(session: Session, token: str, now: datetime | None = None, jobs: tuple[Job, ...] = JOBS,
                 stop: object = None) -> list[tuple[str, str, str]]:
    """Run every job whose current period nobody has run yet; returns (job, period, result) for those run."""
    now = now or utcnow()
    done = []
    for job in jobs:
        if stop is not None and stop.is_set():  # type: ignore[attr-defined]
            break
        when = period_of(job, now)
        period = when.isoformat()
        if session.scalar(select(JobRun.finished_at).where(JobRun.job == job.name, JobRun.period == period)) is not None:
            session.rollback()
            continue
        session.rollback()
        if not take(session, job.name, period, token, now):
            continue
        began = time.monotonic()
        try:
            result = job.run(session, when.date())
        except Exception as exc:  # a failed run is tried again after a while, in the same period
            metrics.job_finished(job.name, False, time.monotonic() - began)
            session.rollback()
            log.exception("job %s for %s failed", job.name, period)
            with atomic(session):
                session.execute(update(JobRun).where(JobRun.job == job.name, JobRun.period == period)
                                .values(result=f"failed: {type(exc).__name__}: {exc}"[:500],
                                        lease_until=utcnow() + timedelta(minutes=5)))
            done.append((job.name, period, f"failed: {exc}"))
            continue
        metrics.job_finished(job.name, True, time.monotonic() - began)
        with atomic(session):
            session.execute(update(JobRun).where(JobRun.job == job.name, JobRun.period == period)
                            .values(finished_at=utcnow(), result=result[:500]))
        done.append((job.name, period, result))
    return done
