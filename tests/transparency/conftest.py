"""A live server on the test database (urllib clients need a real socket) and decided claims and batches."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from everymetre.payments.models import PaymentBatch

_n = itertools.count(1)


@pytest.fixture(scope="session")
def live(engine, users) -> Iterator[str]:
    import uvicorn

    from everymetre.api.app import create_app
    from everymetre.config import get_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(get_settings()), host="127.0.0.1", port=port, log_level="warning",
                                        lifespan="off", access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def exported_batch(db: Session, created_by: int, total: int = 30_000_000, at: datetime | None = None) -> PaymentBatch:
    n = next(_n)
    at = at or datetime.now(UTC)
    b = PaymentBatch(message_id=f"EMPAY-TEST-{n:06d}", state="exported", total_kopiykas=total, count=3,
                     created_by_id=created_by, requested_on=date(2026, 1, 16), exported_at=at,
                     file_sha256=f"{n:064x}")
    db.add(b)
    db.commit()
    return b


def spaced(i: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)
