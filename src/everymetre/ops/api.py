"""Routes for operators and load balancers: liveness, readiness and the Prometheus scrape; `install` mounts them
with the request middleware and the JSON logs (one line in api/app.py).

- `GET /api/v1/health/live`: the process answers (no database): a load balancer or systemd restarts on failure.
- `GET /api/v1/health/ready`: the store answers, its migrations are at head, and every registered readiness
  check passes (the worker's heartbeat, when the worker registers it): 200, else 503; take the machine out of
  rotation, do not restart it.
- `GET /metrics`: Prometheus text; needs `Authorization: Bearer $EVERYMETRE_METRICS_TOKEN` (401 without it,
  404 when no token is configured).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from everymetre.api.problems import problem
from everymetre.ops import logs, metrics
from everymetre.ops.middleware import RequestContext

router = APIRouter(prefix="/api/v1/health", tags=["service"])
scrape = APIRouter(include_in_schema=False)

# name -> check(engine) returning None when ready, else one line saying why not
ReadinessCheck = Callable[[Engine], "str | None"]
_READINESS: dict[str, ReadinessCheck] = {}
HEARTBEAT_MAX_AGE_SECONDS = 180  # the worker beats every minute (notifications.jobs, "heartbeat")


def register_readiness(name: str, check: ReadinessCheck) -> None:
    """Add a readiness check (e.g. "worker": the heartbeat is recent). Registering a name again replaces it."""
    _READINESS[name] = check


def unregister_readiness(name: str) -> None:
    _READINESS.pop(name, None)


def heartbeat_check(last_beat: Callable[[Engine], datetime | None], max_age_seconds: float) -> ReadinessCheck:
    """A readiness check for a process that beats: `last_beat(engine)` returns when it last did (tz-aware UTC,
    or None if never). The worker stores its beat (a row) and its package registers, where the web app imports
    it: `register_readiness("worker", heartbeat_check(read_beat, 120))` (the check runs in the web process)."""

    def check(engine: Engine) -> str | None:
        beat = last_beat(engine)
        if beat is None:
            return "no heartbeat yet"
        age = (datetime.now(UTC) - beat).total_seconds()
        return None if age <= max_age_seconds else f"last heartbeat {age:.0f} s ago (more than {max_age_seconds:.0f} s)"

    return check


class Live(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    checks: dict[str, str]


def _store_checks(engine: Engine) -> dict[str, str]:
    from everymetre.store.migrate import code_heads

    results: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            results["store"] = "ok"
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        current = frozenset(rows)
        results["migrations"] = "ok" if current == code_heads() else (
            f"database at {', '.join(sorted(current)) or 'no revision'}, code at {', '.join(sorted(code_heads()))}")
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        results.setdefault("store", "unavailable: " + (str(orig).strip().splitlines() or ["error"])[0])
        results.setdefault("migrations", "unknown")
    for name, check in list(_READINESS.items()):
        try:
            results[name] = check(engine) or "ok"
        except Exception as exc:
            results[name] = f"check failed: {type(exc).__name__}"
    return results


@router.get("/live", response_model=Live)
async def live() -> Live:
    """The process answers. No database: a slow store must not get healthy processes restarted."""
    return Live(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready, "description": "Not ready"}})
async def ready(request: Request) -> JSONResponse:
    """The store answers, migrations are at head, every registered check (the worker's heartbeat) passes."""
    checks = await run_in_threadpool(_store_checks, request.app.state.engine)
    ok = all(v == "ok" for v in checks.values())
    body = Ready(status="ready" if ok else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@scrape.get("/metrics")
async def prometheus(request: Request) -> Response:
    settings = request.app.state.settings
    if not settings.metrics_token:
        return problem(404, "http-404", "Not found", "Not Found", request)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), settings.metrics_token.encode()):
        return problem(401, "unauthenticated", "Sign-in required",
                       "Send the operator's metrics token: 'Authorization: Bearer <EVERYMETRE_METRICS_TOKEN>'.", request)
    body = await run_in_threadpool(metrics.exposition, request.app.state.metrics_store)
    return Response(body, media_type=metrics.CONTENT_TYPE)


def install(app: FastAPI) -> None:
    """Mount health and metrics, log as JSON lines, and wrap every request (outermost middleware)."""
    settings = app.state.settings
    logs.configure(settings.log_format)
    app.include_router(router)
    app.include_router(scrape)
    app.state.metrics_store = metrics.StoreCollector(app.state.engine, settings.decision_due_days)
    metrics.watch_pool(app.state.engine)
    if settings.production:  # in production a server is ready only while a worker delivers and runs the jobs
        from everymetre.notifications.jobs import last_heartbeat

        register_readiness("worker", heartbeat_check(last_heartbeat, HEARTBEAT_MAX_AGE_SECONDS))
    app.add_middleware(RequestContext, settings=settings, on_error=app.exception_handlers.get(Exception))  # type: ignore[arg-type]
