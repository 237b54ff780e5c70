"""RFC 9457 problem details: every error the API returns is `application/problem+json`."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from everymetre.kernel.errors import DomainError, ValidationFailed

log = logging.getLogger("everymetre.api")
PROBLEM = "application/problem+json"
RETRY_AFTER = "2"  # seconds, on a 503: the database was busy


def problem(status: int, slug: str, title: str, detail: str, request: Request | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers or None)


def problem_responses(extra: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route: the common problems (401, 422) plus the route's own, as problem+json."""
    described = {401: "Not signed in", 403: "Not allowed for your role, or a programme rule forbids it", 422: "Invalid input (or a body that is not valid JSON); `errors` lists each "
                 "field path", **extra}
    return {code: {"description": text, "content": {PROBLEM: {}}} for code, text in sorted(described.items())}


def allowed_methods(request: Request) -> str:
    """Every method the API documents at this path (Starlette's own 405 names only the first route's). A literal
    path the spec names (`/reservations/bulk`) is that resource alone, not also a templated one it happens to
    match (`/reservations/{reservation_id}`)."""
    table = getattr(request.app.state, "allowed_methods", None)
    if table is None:
        table = [(re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), {m.upper() for m in ops}, path)
                 for path, ops in request.app.openapi().get("paths", {}).items()]
        request.app.state.allowed_methods = table
    matched = [(ops, path) for pattern, ops, path in table if pattern.match(request.url.path)]
    literal = [(ops, path) for ops, path in matched if path == request.url.path]
    methods = {m for ops, _ in (literal or matched) for m in ops}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _loc(loc: tuple | list) -> str:
    return ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        extra = dict(exc.extra)
        if isinstance(exc, ValidationFailed) and exc.field:
            extra["errors"] = [{"field": exc.field, "message": exc.detail}]
        response = problem(exc.status, exc.slug, exc.title, exc.detail, request, **extra)
        if isinstance(retry := exc.params.get("retry_after"), int):  # 429 (and 503) say when to come back
            response.headers["Retry-After"] = str(retry)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            msg = str(e.get("msg", "invalid value"))
            msg = msg.removeprefix("Value error, ")
            errors.append({"field": _loc(e.get("loc", ())), "message": msg})
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem(422, "validation", "Some details need correcting", detail, request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body that could not be parsed (not JSON, broken multipart): invalid input
            return problem(422, "validation", "Some details need correcting", f"body: {exc.detail}", request,
                           errors=[{"field": "body", "message": str(exc.detail)}])
        titles = {404: "Not found", 405: "Method not allowed", 401: "Sign-in required", 413: "Too large"}
        # keep the exception's headers: a 503 says when to retry; a 405 lists every method of the path
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem(exc.status_code, f"http-{exc.status_code}", titles.get(exc.status_code, "Request failed"),
                       str(exc.detail), request, headers=headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error on %s: %s", request.url.path, exc.orig)
        return problem(409, "conflict", "Conflict with existing data",
                       "The change conflicts with data saved meanwhile; reload and try again.", request)

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable on %s: %s", request.url.path, exc.orig)
        return problem(503, "unavailable", "Service busy", "The database is busy or unavailable; try again shortly.",
                       request, headers={"Retry-After": RETRY_AFTER})

    @app.exception_handler(PoolTimeout)
    async def _pool(request: Request, exc: PoolTimeout) -> JSONResponse:
        log.error("no database connection free on %s: %s", request.url.path, exc)
        return problem(503, "busy", "Service busy", "Too many requests at once; try again in a few seconds.",
                       request, headers={"Retry-After": RETRY_AFTER})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem(500, "internal", "Something went wrong on our side",
                       "The error was logged; nothing was saved. Please try again later.", request)
