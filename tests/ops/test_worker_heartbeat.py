"""The worker's heartbeat is a job run every minute; in production, readiness needs a recent one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from everymetre.notifications.jobs import JOBS, last_heartbeat, run_due_jobs
from everymetre.notifications.models import JobRun
from everymetre.ops.api import HEARTBEAT_MAX_AGE_SECONDS, heartbeat_check


def test_a_worker_round_beats_and_readiness_reads_it(db, engine):
    db.query(JobRun).delete()
    db.commit()
    check = heartbeat_check(last_heartbeat, HEARTBEAT_MAX_AGE_SECONDS)
    assert check(engine) == "no heartbeat yet"
    beat = [j for j in JOBS if j.name == "heartbeat"]
    now = datetime.now(UTC)
    assert [r[0] for r in run_due_jobs(db, "test-worker", now, jobs=tuple(beat))] == ["heartbeat"]
    assert check(engine) is None
    assert run_due_jobs(db, "test-worker", now, jobs=tuple(beat)) == []  # once per minute
    old = datetime.now(UTC) - timedelta(seconds=HEARTBEAT_MAX_AGE_SECONDS + 60)
    db.query(JobRun).update({JobRun.started_at: old})
    db.commit()
    assert (check(engine) or "").startswith("last heartbeat")
    db.query(JobRun).delete()
    db.commit()
