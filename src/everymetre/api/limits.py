"""Request-body limits by route, enforced before anything parses the body (pure ASGI middleware).

- Every body (JSON, forms) may be at most `Settings.body_max_bytes`; evidence uploads at most
  `evidence_max_bytes` (API: one file; pages: `upload_max_files` files) plus room for the multipart framing.
- A declared `Content-Length` over the limit is refused at once (413), before a byte of the body is read; a
  streamed (chunked) body is counted as it arrives and refused (413) as soon as it passes the limit.
- A small body (not an upload) is read whole before the request goes further, so a client sending it slowly
  holds no admission slot (`Admission`) and no database connection while it trickles in.
- An upload route is never read for someone not signed in: its bearer token (API) or page session (pages) is
  checked from the headers first, and a 401 answers before the body is touched.

API answers are problem+json; page answers are HTML error pages.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from everymetre.api.security import read_token
from everymetre.config import Settings

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the form's small fields
_API_UPLOAD = re.compile(r"^/api/v1/claims/[^/]+/evidence/?$")
_API_REPAIR_REPORT = re.compile(r"^/api/v1/claims/[^/]+/repair-reports/?$")
_PAGE_REPAIR_REPORT = re.compile(r"^/my/claims/[^/]+/repair-report/?$")
_API_CARD_FILE = re.compile(r"^/api/v1/card-transactions/?$")
_PAGE_UPLOAD = re.compile(r"^/(?:my/claims/[^/]+|apply/[^/]+)/evidence/?$")
_API_STATEMENT = re.compile(r"^/api/v1/bank-statements/?$")  # camt.053 uploads (payments.api)
_PAGE_STATEMENT = re.compile(r"^/staff/payments/statements/?$")
SESSION_KEY = "everymetre.web_session"  # web.session.SCOPE_KEY (the page session, loaded by PageSessions)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request is larger than this address accepts ({_size(limit)}).")


def _size(n: int) -> str:
    return f"{n / 1_048_576:.0f} MB" if n >= 1_048_576 else f"{n // 1024} KB"


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


def _is_page(path: str) -> bool:
    return not path.startswith(("/api/", "/openapi.json", "/static/"))


class BodyLimits:
    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def route_limit(self, method: str, path: str) -> tuple[int, str | None]:
        """(the largest body accepted, "api"/"page" when the route is an upload that needs a sign-in first)."""
        s = self.settings
        if method == "POST" and _API_UPLOAD.match(path):
            return s.evidence_max_bytes + MULTIPART_OVERHEAD, "api"
        if method == "POST" and _PAGE_UPLOAD.match(path):
            return s.evidence_max_bytes * s.upload_max_files + MULTIPART_OVERHEAD, "page"
        if method == "POST" and (_API_REPAIR_REPORT.match(path) or _PAGE_REPAIR_REPORT.match(path)):
            return s.evidence_max_bytes * s.repair_report_max_files + MULTIPART_OVERHEAD, "api" if _is_api(path) else "page"
        if method == "POST" and _API_CARD_FILE.match(path):
            return s.card_transactions_max_bytes + MULTIPART_OVERHEAD, "api"
        if method == "POST" and _API_STATEMENT.match(path):
            return s.statement_max_bytes + MULTIPART_OVERHEAD, "api"
        if method == "POST" and _PAGE_STATEMENT.match(path):
            return s.statement_max_bytes + MULTIPART_OVERHEAD, "page"
        return s.body_max_bytes, None

    def signed_in(self, scope: dict[str, Any], kind: str) -> bool:
        if kind == "api":
            for key, value in scope.get("headers", []):
                if key == b"authorization":
                    scheme, _, token = value.decode("latin-1").partition(" ")
                    return scheme.lower() == "bearer" and read_token(self.settings, token.strip()) is not None
            return False
        session = scope.get(SESSION_KEY)
        return session is not None and session.user_id is not None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, upload = self.route_limit(scope["method"], scope["path"])
        if upload is not None and not self.signed_in(scope, upload):
            await self.refuse(scope, receive, send, 401)
            return
        declared = None
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > limit:
            await self.refuse(scope, receive, send, 413, limit)
            return
        if upload is None:
            await self.buffered(scope, receive, send, limit)
            return
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted_receive, send)

    async def buffered(self, scope, receive, send, limit: int) -> None:
        """Read the whole (small) body before the request goes on, so a client trickling its body holds no
        admission slot or database connection meanwhile; then hand it over as one message."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > limit:
                await self.refuse(scope, receive, send, 413, limit)
                return
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def refuse(self, scope, receive, send, status: int, limit: int = 0) -> None:
        """Answer without reading the body. The connection is closed after the answer (the body is unread)."""
        if status == 413:
            title, detail = "Too large", BodyTooLarge(limit).detail
        else:
            title, detail = "Sign-in required", "Sign in first: uploads are read only for signed-in users."
        if _is_page(scope["path"]):
            from everymetre.web.common import error_page  # the pages' look (imported late: pages import the API)

            page_title = "The file is too large" if status == 413 else "Sign in"
            response: Any = error_page(Request(scope, receive), status, page_title,
                                       "Send fewer or smaller files." if status == 413 else "")
            response.headers["connection"] = "close"
        else:
            from fastapi.responses import Response

            slug = "too-large" if status == 413 else "unauthenticated"
            body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail,
                    "instance": scope["path"], "code": "too_large" if status == 413 else "unauthenticated"}
            headers = {"connection": "close"}
            if status == 401:
                headers["www-authenticate"] = "Bearer"
            response = Response(json.dumps(body), status_code=status, media_type="application/problem+json",
                                headers=headers)
        await response(scope, receive, send)


class Admission:
    """At most `capacity` requests per worker use the database at once; the rest queue here, on the event
    loop, holding nothing, and get a 503 with Retry-After if their turn does not come within `wait_s`.

    A request holds its pooled connection from its first query until its session is closed, including while
    it waits for a thread (endpoint, response validation, closing). Admitting more requests than the pool
    holds let held connections wait for threads while every thread waited for a connection: the pool timed
    out and answered 500 (48 clients on SQLite). `capacity` is the pool's size plus its overflow.
    """

    def __init__(self, app, capacity: int, wait_s: float = 20.0) -> None:
        import anyio

        self.app = app
        self.capacity = capacity
        self.slots = anyio.Semaphore(capacity)
        self.wait_s = wait_s

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        import anyio

        admitted = False
        with anyio.move_on_after(self.wait_s):
            await self.slots.acquire()
            admitted = True
        if not admitted:
            await busy(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


async def busy(scope, receive, send) -> None:
    from fastapi.responses import Response

    if _is_page(scope["path"]):
        from everymetre.web.common import error_page

        response = error_page(Request(scope, receive), 503, "Something went wrong", "Please try again later.")
        response.headers["retry-after"] = "2"
        await response(scope, receive, send)
        return
    body = {"type": "/problems/busy", "title": "Service busy", "status": 503, "instance": scope["path"],
            "detail": "Too many requests at once; try again in a few seconds."}
    await Response(json.dumps(body), status_code=503, media_type="application/problem+json",
                   headers={"retry-after": "2"})(scope, receive, send)
