"""The worker as a process: killed with -9 mid-send it loses nothing and resends only with the same Message-ID;
SIGTERM stops it cleanly; two workers side by side send each message once and run each daily job once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

from sqlalchemy import func, select

from everymetre.notifications.jobs import JOBS
from everymetre.notifications.models import JobRun, Notification
from tests.notifications.helpers import insert_outbox


def start_worker(*args: str, lease: int = 2) -> subprocess.Popen:
    env = {**os.environ, "EVERYMETRE_WORKER_LEASE_SECONDS": str(lease), "EVERYMETRE_WORKER_POLL_SECONDS": "0.2"}
    return subprocess.Popen([sys.executable, "-m", "everymetre", "worker", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def statuses(engine) -> Counter:
    with engine.connect() as conn:
        return Counter(dict(conn.execute(select(Notification.status, func.count()).group_by(Notification.status)).all()))


def test_kill_9_mid_send_then_restart_delivers_each_once_by_message_id(engine, db, smtp):
    ids = insert_outbox(engine, 5, "kill")
    smtp.hold.set()  # the server keeps the first message and does not answer
    proc = start_worker()
    try:
        assert smtp.holding.wait(30), "the worker never sent"
        proc.kill()  # SIGKILL while the message is on the wire: the worker never learns it arrived
        proc.wait(10)
    finally:
        smtp.hold.clear()
        if proc.poll() is None:
            proc.kill()
    assert statuses(engine) == Counter({"sending": 5})  # held by the dead worker's lease
    time.sleep(2.2)  # the lease runs out
    done = subprocess.run([sys.executable, "-m", "everymetre", "worker", "--once"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert statuses(engine) == Counter({"sent": 5})
    got = Counter(smtp.ids())
    # at least once, never under another id: the one message in flight at the kill came twice, same Message-ID
    assert set(got) == set(ids)
    assert sorted(got.values()) == [1, 1, 1, 1, 2]
    with engine.connect() as conn:
        attempts = dict(conn.execute(select(Notification.message_id, Notification.attempts)).all())
    assert attempts[smtp.messages[0]["Message-ID"]] == 2


def test_sigterm_finishes_the_message_in_hand_and_hands_back_the_rest(engine, db, smtp):
    insert_outbox(engine, 4, "term")
    smtp.hold.set()
    proc = start_worker(lease=600)
    try:
        assert smtp.holding.wait(30)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        smtp.hold.clear()  # the server answers; the worker marks that one sent and stops
        out, _ = proc.communicate(timeout=30)
    finally:
        smtp.hold.clear()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert statuses(engine) == Counter({"sent": 1, "pending": 3})  # no lease left behind: the rest is due at once
    assert len(smtp.messages) == 1


def test_two_workers_send_each_once_and_run_each_job_once(engine, db, smtp):
    n = 600
    ids = insert_outbox(engine, n, "pair")
    procs = [start_worker("--once", lease=120) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    got = Counter(smtp.ids())
    assert len(got) == n and set(got) == set(ids) and max(got.values()) == 1  # none twice
    assert statuses(engine) == Counter({"sent": n})
    sent_by = [int(line.split("sent ")[1].split(",")[0]) for o in outs for line in o.splitlines()
               if line.startswith("worker: sent")]
    assert sum(sent_by) >= n
    with engine.connect() as conn:
        runs = conn.execute(select(JobRun.job, JobRun.finished_at)).all()
    assert sorted(r.job for r in runs) == sorted(j.name for j in JOBS)  # each job once for its period
    assert all(r.finished_at is not None for r in runs)
    again = subprocess.run([sys.executable, "-m", "everymetre", "worker", "--once"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "claims_sweep" not in again.stdout
