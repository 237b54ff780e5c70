"""Prometheus metrics (the official prometheus-client), shared across uvicorn workers in multiprocess mode.

Two kinds:
- counted as things happen, in whichever process they happen (requests, latency, the database pool,
  notifications, scheduled jobs, the outbox): with PROMETHEUS_MULTIPROC_DIR set (ops.startup does it under
  DATA_DIR) every process writes them to files there and a scrape adds them up;
- read from the store at scrape time (claims by state, overdue claims, payment batches by state, the last
  linkage run), cached for STORE_CACHE_SECONDS so a scrape every 15 s does not count ten million claims each time.

Other features feed their own numbers with the small functions below (`notification_sent`, `job_finished`,
`set_outbox`) or add store gauges with `register_store_gauges`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import SQLAlchemyError

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STORE_CACHE_SECONDS = 15.0
PENDING_STATES = ("submitted", "auto_checked", "assigned", "suspended", "inspection_scheduled", "inspected",
                  "remote_verified", "assessed")  # submitted and not yet decided (nor withdrawn, nor a duplicate)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

REQUESTS = Counter("everymetre_http_requests_total", "HTTP requests answered, by route template and status",
                   ["method", "route", "status"])
LATENCY = Histogram("everymetre_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["method", "route"], buckets=LATENCY_BUCKETS)
POOL_IN_USE = Gauge("everymetre_db_pool_connections_in_use", "Database connections checked out of the pools",
                    multiprocess_mode="livesum")
POOL_CAPACITY = Gauge("everymetre_db_pool_connections_max", "Connections the pools may open (size + overflow)",
                      multiprocess_mode="livesum")
NOTIFICATIONS_SENT = Counter("everymetre_notifications_sent_total", "Notifications handed to their channel",
                             ["channel"])
NOTIFICATIONS_FAILED = Counter("everymetre_notifications_failed_total", "Notification attempts that failed",
                               ["channel"])
JOB_RUNS = Counter("everymetre_job_runs_total", "Scheduled job runs", ["job"])
JOB_FAILURES = Counter("everymetre_job_failures_total", "Scheduled job runs that failed", ["job"])
JOB_DURATION = Histogram("everymetre_job_duration_seconds", "How long a scheduled job ran", ["job"],
                         buckets=JOB_BUCKETS)
JOB_LAST_SUCCESS = Gauge("everymetre_job_last_success_timestamp_seconds", "When each job last succeeded (Unix time)",
                         ["job"], multiprocess_mode="max")
OUTBOX_DEPTH = Gauge("everymetre_outbox_depth", "Messages waiting in the outbox", multiprocess_mode="mostrecent")
OUTBOX_AGE = Gauge("everymetre_outbox_oldest_age_seconds", "Age of the oldest message waiting in the outbox",
                   multiprocess_mode="mostrecent")


# ---- fed by other features ----------------------------------------------------------------------------------

def notification_sent(channel: str) -> None:
    NOTIFICATIONS_SENT.labels(channel).inc()


def notification_failed(channel: str) -> None:
    NOTIFICATIONS_FAILED.labels(channel).inc()


def job_finished(job: str, ok: bool, seconds: float) -> None:
    """Call once per scheduled job run, whatever its outcome."""
    JOB_RUNS.labels(job).inc()
    JOB_DURATION.labels(job).observe(seconds)
    if ok:
        JOB_LAST_SUCCESS.labels(job).set(time.time())
    else:
        JOB_FAILURES.labels(job).inc()


def set_outbox(depth: int, oldest_age_seconds: float) -> None:
    """The outbox as its sender last saw it (0, 0 when empty)."""
    OUTBOX_DEPTH.set(depth)
    OUTBOX_AGE.set(oldest_age_seconds)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


# ---- the database pool --------------------------------------------------------------------------------------

def _on_checkout(*_args: object) -> None:
    POOL_IN_USE.inc()


def _on_checkin(*_args: object) -> None:
    POOL_IN_USE.dec()


def watch_pool(engine: Engine) -> None:
    """Count this engine's checked-out connections (once per engine, however many apps share it)."""
    if event.contains(engine, "checkout", _on_checkout):
        return
    event.listen(engine, "checkout", _on_checkout)
    event.listen(engine, "checkin", _on_checkin)
    pool = engine.pool
    size, overflow = getattr(pool, "size", None), getattr(pool, "_max_overflow", 0)
    if callable(size):
        POOL_CAPACITY.inc(size() + max(overflow, 0))


# ---- read from the store at scrape time ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StoreGauge:
    name: str
    help: str
    labels: tuple[str, ...]
    samples: list[tuple[tuple[str, ...], float]]


StoreGaugeSource = Callable[[Engine], Iterable[StoreGauge]]
_SOURCES: list[StoreGaugeSource] = []


def register_store_gauges(source: StoreGaugeSource) -> StoreGaugeSource:
    """Add gauges read from the store at scrape time (e.g. the outbox table). Usable as a decorator."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


def core_gauges(engine: Engine, decision_due_days: int = 30) -> Iterator[StoreGauge]:
    from everymetre.claims.models import Claim
    from everymetre.linkage.models import LinkageRun
    from everymetre.payments.models import PaymentBatch
    from everymetre.sla.overdue import overdue_by_oblast
    from everymetre.store.types import utcnow

    due = utcnow() - timedelta(days=decision_due_days)
    with engine.connect() as conn:
        by_state = conn.execute(select(Claim.state, func.count()).group_by(Claim.state)).all()
        overdue = conn.execute(select(func.count()).select_from(Claim).where(
            Claim.state.in_(PENDING_STATES), Claim.submitted_at < due)).scalar_one()
        by_oblast = overdue_by_oblast(conn, cached=False)  # (this scrape's own cache covers it)
        batches = conn.execute(select(PaymentBatch.state, func.count()).group_by(PaymentBatch.state)).all()
        last_run = conn.execute(select(LinkageRun.started_at, LinkageRun.finished_at)
                                .where(LinkageRun.finished_at.is_not(None))
                                .order_by(LinkageRun.finished_at.desc()).limit(1)).first()
    yield StoreGauge("everymetre_claims", "Claims by lifecycle state", ("state",),
                     [((str(s),), float(n)) for s, n in by_state])
    yield StoreGauge("everymetre_claims_overdue", f"Claims submitted more than {decision_due_days} days ago and "
                     "not yet decided", (), [((), float(overdue))])
    yield StoreGauge("everymetre_claims_overdue_by_oblast", "Claims past their decision deadline today (the clock "
                     "paused while suspended), by commission (oblast)", ("oblast",),
                     [((o,), float(n)) for o, n in sorted(by_oblast.items())])
    yield StoreGauge("everymetre_payment_batches", "Payment batches by state", ("state",),
                     [((str(s),), float(n)) for s, n in batches])
    if last_run is not None:
        started, finished = last_run
        assert started is not None and finished is not None  # selected for a finished run
        yield StoreGauge("everymetre_linkage_last_run_seconds", "How long the last finished linkage run took",
                         (), [((), (finished - started).total_seconds())])
        yield StoreGauge("everymetre_linkage_last_run_finished_timestamp_seconds",
                         "When the last linkage run finished (Unix time)", (), [((), finished.timestamp())])


class StoreCollector(Collector):
    """Collects the store gauges at scrape time (cached for STORE_CACHE_SECONDS)."""

    def __init__(self, engine: Engine, decision_due_days: int = 30) -> None:
        self.engine, self.decision_due_days = engine, decision_due_days
        self._lock = threading.Lock()
        self._cached: tuple[float, list[StoreGauge]] | None = None

    def forget(self) -> None:
        self._cached = None

    def _gauges(self) -> list[StoreGauge]:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > STORE_CACHE_SECONDS:
                gauges = list(core_gauges(self.engine, self.decision_due_days))
                for source in _SOURCES:
                    gauges += list(source(self.engine))
                self._cached = (now, gauges)
            return self._cached[1]

    def collect(self) -> Iterator[Metric]:
        try:
            gauges = self._gauges()
            up = 1.0
        except SQLAlchemyError:
            gauges, up = [], 0.0
        yield GaugeMetricFamily("everymetre_store_up", "1 if the store answered the scrape's queries", value=up)
        for g in gauges:
            family = GaugeMetricFamily(g.name, g.help, labels=list(g.labels))
            for labels, value in g.samples:
                family.add_metric(list(labels), value)
            yield family


class _Process(Collector):
    """This process's metrics (when not in multiprocess mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(store: StoreCollector | None) -> bytes:
    """The text every scrape gets: all processes' counters (multiprocess mode) or this one's, plus the store."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    if store is not None:
        registry.register(store)
    return generate_latest(registry)
