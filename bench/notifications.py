"""Benchmark the outbox: two `everymetre worker --once` processes deliver N e-mails to a real SMTP server
(aiosmtpd, in this process, on 127.0.0.1), against a bare INSERT of the same rows in the same run.

Usage: .venv/bin/python bench/notifications.py [--n 10000] [--workers 2] [--db-url URL]

--db-url defaults to a temporary SQLite file; with PostgreSQL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench)
its schema is dropped and recreated. Prints rows/s of the bare INSERT, notifications/s delivered (from the first
to the last sent_at, and wall time including the workers' start), and checks: every Message-ID arrived, none
twice, and each daily job ran once.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select, text

from everymetre.notifications.models import JobRun, Notification
from everymetre.notifications.outbox import message_id
from everymetre.store.db import is_postgres, make_engine
from everymetre.store.migrate import upgrade
from everymetre.store.types import utcnow

MSGID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.I | re.M)


class Counting:
    def __init__(self) -> None:
        self.ids: Counter[bytes] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        m = MSGID.search(envelope.content)
        with self.lock:
            self.ids[m.group(1) if m else b"?"] += 1
        return "250 OK"


def rows(n: int) -> list[dict]:
    now = utcnow()
    out = []
    for i in range(n):
        key = f"bench:{i}:email"
        out.append(dict(idempotency_key=key, user_id=None, person_id=None, claim_id=None, reference=f"EM-2026-{i:07d}",
                        channel="email", address=f"person{i}@bench.test", language="uk", kind="submitted",
                        subject=f"Заяву EM-2026-{i:07d} прийнято",
                        body="Вашу заяву прийнято. Її розглянуть протягом 30 днів.", params={"ref": f"EM-2026-{i:07d}"},
                        status="pending", attempts=0, next_attempt_at=now, lease_until=None, lease_token=None,
                        last_error=None, message_id=message_id(key), provider_id=None, created_at=now, sent_at=None))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db-url")
    args = ap.parse_args()
    url = args.db_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='em-bench-')) / 'bench.db'}"
    engine = make_engine(url)
    if is_postgres(engine):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    data = rows(args.n)
    table = Notification.__table__

    t0 = time.perf_counter()
    with engine.begin() as conn:
        for i in range(0, len(data), 2000):
            conn.execute(table.insert(), data[i:i + 2000])
    insert_s = time.perf_counter() - t0

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Counting()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "EVERYMETRE_DATABASE_URL": url, "EVERYMETRE_SMTP_URL": f"smtp://127.0.0.1:{port}",
           "EVERYMETRE_DATA_DIR": tempfile.mkdtemp(prefix="em-bench-data-"), "EVERYMETRE_SECRET_KEY": "bench-" * 8}
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "everymetre", "worker", "--once"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(args.workers)]
    outs = [p.communicate()[0] for p in procs]
    wall_s = time.perf_counter() - t0
    controller.stop()

    with engine.connect() as conn:
        status = dict(conn.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
        first, last = conn.execute(select(func.min(Notification.sent_at), func.max(Notification.sent_at))).one()
        jobs = Counter(j for (j,) in conn.execute(select(JobRun.job)))
    span = (last - first).total_seconds() if first and last else float("nan")
    expected = {r["message_id"].encode() for r in data}
    dupes = sum(c - 1 for c in box.ids.values() if c > 1)
    per_worker = [int(m.group(1)) for o in outs for m in re.finditer(r"worker: sent (\d+)", o)][-args.workers:]
    print(f"store: {engine.dialect.name}; {args.n:,} notifications; {args.workers} workers")
    print(f"bare INSERT of the rows:  {args.n / insert_s:10,.0f} rows/s ({insert_s:.2f} s)")
    print(f"delivered over SMTP:      {args.n / span:10,.0f} notifications/s (first to last sent: {span:.2f} s)")
    print(f"  wall time incl. start:  {args.n / wall_s:10,.0f} notifications/s ({wall_s:.2f} s)")
    print(f"  delivery / bare insert: {(args.n / span) / (args.n / insert_s):.3f}")
    print(f"per worker sent: {per_worker}; statuses: {status}")
    print(f"received {sum(box.ids.values()):,}, distinct {len(box.ids):,}, duplicates {dupes}, "
          f"missing {len(expected - set(box.ids))}; job runs: {dict(jobs)}")
    ok = dupes == 0 and set(box.ids) == expected and status == {"sent": args.n} and all(v == 1 for v in jobs.values())
    print("OK" if ok else "PROBLEM")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
