"""The ASGI application: the JSON API (and, mounted beside it, the pages)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from everymetre import __version__
from everymetre.accounts.api import router as accounts_router
from everymetre.api import problems
from everymetre.api.docs import router as docs_router
from everymetre.api.health import router as health_router
from everymetre.api.limits import Admission, BodyLimits
from everymetre.api.security import SecurityHeaders
from everymetre.claims.api import router as claims_router
from everymetre.config import Settings, get_settings
from everymetre.documents.api import router as documents_router
from everymetre.idempotency.middleware import Idempotency
from everymetre.linkage.api import router as linkage_router
from everymetre.notifications.api import router as notifications_router
from everymetre.ops.api import install as install_ops
from everymetre.payments.api import router as payments_router
from everymetre.payments.certificate_api import router as certificates_router
from everymetre.payments.day_api import router as payments_day_router
from everymetre.payments.repair_api import router as repair_router
from everymetre.store.db import engine_for, pool_capacity, session_factory
from everymetre.transparency.api import router as public_log_router
from everymetre.web import install as install_pages
from everymetre.workload.api import router as workload_router

DESCRIPTION = """everymetre holds claims for war-damaged and destroyed homes and moves them through their
lifecycle: submitted, checked, verified, inspected, assessed, decided, appealed. Every move is authorised
by role and audited in a tamper-evident trail. Errors are `application/problem+json` (RFC 9457).

Sign in with `POST /api/v1/auth/token` (OAuth2 password flow) and send `Authorization: Bearer <token>`."""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.threads
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="everymetre", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", lifespan=_lifespan)
    app.state.settings = settings
    app.state.engine = engine_for(settings.database_url)
    app.state.sessions = session_factory(app.state.engine)
    problems.install(app)
    for router in (docs_router, health_router, accounts_router, claims_router, linkage_router, payments_router,
                   payments_day_router, repair_router, certificates_router,
                   public_log_router, notifications_router, documents_router, workload_router):
        app.include_router(router)
    app.add_middleware(Admission, capacity=pool_capacity(app.state.engine))
    app.add_middleware(BodyLimits, settings=settings)  # inside the page sessions: it sees who is signed in
    install_pages(app)
    app.add_middleware(Idempotency, settings=settings, sessions=app.state.sessions)
    app.add_middleware(SecurityHeaders, settings=settings)
    install_ops(app)
    return app
