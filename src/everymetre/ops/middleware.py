"""One pure-ASGI middleware for every HTTP request: the request id, the access log line and the request metrics.

The request id is taken from `X-Request-ID` when it is a short token (a proxy's id, so one id follows the
request through every hop), otherwise made here; it is returned in `X-Request-ID`, bound to every log line the
request writes, and shown on HTML error pages (`request.scope["everymetre.request_id"]`).

The access line carries the user id only: never a name, e-mail, RNOKPP, IBAN or phone (ops.logs redacts them
anyway). The route is the template (`/api/v1/claims/{reference}`), never the path with its values.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import Response

from everymetre.config import Settings
from everymetre.ops import metrics
from everymetre.ops.logs import access_line, get_logger

REQUEST_ID = "everymetre.request_id"
HEADER = b"x-request-id"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
log = get_logger("everymetre.ops")

Scope = dict[str, Any]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


def incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            text = value.decode("latin-1").strip()
            return text if _VALID_ID.fullmatch(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's template; `unmatched` for paths no route has (so unknown paths make one series)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


@lru_cache(maxsize=4096)
def _token_subject(key: str, token: str) -> tuple[int | None, float]:
    """(user id, expiry) of a bearer token whose signature verifies; (None, 0) otherwise. Cached: a client sends
    the same token for hours, and verifying it again for the log line would cost more than the line."""
    import jwt

    from everymetre.api.security import ALGORITHM

    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience="everymetre-api")
        return int(claims["sub"]), float(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None, 0.0


def user_id(scope: Scope, settings: Settings) -> int | None:
    """Who made the request: the page session's principal, or the API bearer token's subject (verified)."""
    principal = scope.get("everymetre.principal")
    if principal is not None:
        return getattr(principal, "user_id", None)
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                uid, expires = _token_subject(settings.signing_key(), token.strip())
                return uid if expires > time.time() else None
    return None


class RequestContext:
    def __init__(self, app: Any, settings: Settings, on_error: ErrorHandler | None = None) -> None:
        self.app, self.settings, self.on_error = app, settings, on_error

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope) or uuid.uuid4().hex
        scope[REQUEST_ID] = rid
        tokens = structlog.contextvars.bind_contextvars(request_id=rid)
        started = time.perf_counter()
        sent: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"], sent["started"] = message["status"], True
                headers = [h for h in message.get("headers", []) if h[0].lower() != HEADER]
                message["headers"] = [*headers, (HEADER, rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Unhandled errors pass every inner layer; answer here (with the app's own 500 handler) so the
            # response carries the request id and the access line its status.
            if sent["started"] or self.on_error is None:
                log.exception("unhandled error after the response started", route=route_template(scope))
                raise
            response = await self.on_error(Request(scope, receive), exc)
            await response(scope, receive, send_with_id)  # type: ignore[arg-type]  # Starlette types send narrowly
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            status = int(sent["status"])
            method = str(scope.get("method", ""))
            metrics.observe_request(method, route, status, seconds)
            access_line(method, route, status, round(seconds * 1000, 2),
                        user_id(scope, self.settings) if status != 401 else None, rid)
            structlog.contextvars.reset_contextvars(**tokens)
