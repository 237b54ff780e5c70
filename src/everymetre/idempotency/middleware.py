"""`Idempotency-Key` for every POST under /api/v1 (pure ASGI middleware).

A client that may retry (a timeout, a dropped connection) sends a key of its choosing with the request. The
first request with a key is served and its result (status, body, Location) stored for the signed-in user; a
request with the same key and the same body within `idempotency_hours` gets that stored result back and
changes nothing; the same key with a different body (or another path) is a 422 problem. While the first
request is still being served, a second one with its key gets 409. A first result that is a server error
(5xx) is not kept, so the client may try again with the same key.

The body is compared by content: JSON canonically (key order and spacing do not matter), a multipart upload
with its boundary taken out; anything else byte for byte. Keys are per user: two users never share one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from everymetre.api.security import read_token
from everymetre.config import Settings
from everymetre.idempotency.models import IdempotentRequest
from everymetre.kernel.errors import ErrorCode
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

HEADER = b"idempotency-key"
KEY = re.compile(r"[\x21-\x7e]{1,255}")
PREFIX = "/api/v1/"
EXEMPT = frozenset({"/api/v1/auth/token"})  # signing in creates nothing a retry could duplicate


def body_digest(content_type: str, body: bytes) -> str:
    """The digest of a request body by its content (see the module docstring)."""
    if content_type.startswith("application/json"):
        with contextlib.suppress(ValueError):  # not JSON after all: compared byte for byte
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    elif content_type.startswith("multipart/") and (m := re.search(r"boundary=\"?([^\";]+)\"?", content_type)):
        body = body.replace(m.group(1).encode(), b"--boundary--")
    return hashlib.sha256(body).hexdigest()


@dataclass
class Stored:
    status: int
    content_type: str | None
    location: str | None
    body: bytes


def _problem(status: int, title: str, detail: str, code: ErrorCode, path: str) -> Stored:
    body = {"type": f"/problems/{code.value.replace('_', '-')}", "title": title, "status": status, "detail": detail,
            "instance": path, "code": code.value}
    return Stored(status, "application/problem+json", None, json.dumps(body).encode())


class Idempotency:
    def __init__(self, app: Any, settings: Settings, sessions: Any) -> None:
        self.app, self.settings, self.sessions = app, settings, sessions

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(PREFIX) \
                or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(HEADER)
        token = headers.get(b"authorization", b"").decode("latin-1")
        signed = read_token(self.settings, token[7:]) if token.lower().startswith("bearer ") else None
        user_id = signed[0] if signed else None  # (user id, session id): keys are per user
        if raw_key is None or user_id is None:  # no key, or not signed in (the route answers 401)
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not KEY.fullmatch(key):
            await self._send(send, _problem(422, "Some details need correcting",
                                            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
                                            ErrorCode.IDEMPOTENCY_KEY_INVALID, scope["path"]))
            return
        body = await _read_body(receive)
        digest = body_digest(headers.get(b"content-type", b"").decode("latin-1"), body)
        outcome = await anyio.to_thread.run_sync(self._claim, user_id, key, scope["path"], digest)
        if isinstance(outcome, Stored):
            await self._send(send, outcome, replayed=True)
            return
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, _replay(body, receive), capture)
        finally:
            await anyio.to_thread.run_sync(self._finish, outcome, captured)

    # ---------------------------------------------------------------------------- the store (in a thread)

    def _claim(self, user_id: int, key: str, path: str, digest: str) -> Stored | int:
        """The stored result to replay (or a problem), else the id of a new pending row for this request."""
        now = utcnow()
        with self.sessions() as session, atomic(session):  # SQLite: the write lock first, so requests queue
            row = session.scalar(select(IdempotentRequest).where(IdempotentRequest.user_id == user_id,
                                                                 IdempotentRequest.key == key))
            if row is not None and _aware(row.created_at) < now - timedelta(hours=self.settings.idempotency_hours):
                session.delete(row)
                session.flush()
                row = None
            if row is None:
                row = IdempotentRequest(user_id=user_id, key=key, method="POST", path=path, body_sha256=digest,
                                        created_at=now)
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:  # another request with this key got in first
                    return _problem(409, "Conflict with existing data", "A request with this Idempotency-Key is "
                                    "still being served; wait for its answer.", ErrorCode.IDEMPOTENCY_IN_PROGRESS, path)
                return row.id
            if row.path != path or row.body_sha256 != digest:
                return _problem(422, "Some details need correcting", "This Idempotency-Key was used for a different "
                                "request; use a new key for a new request.", ErrorCode.IDEMPOTENCY_KEY_REUSED, path)
            if row.status is None:
                return _problem(409, "Conflict with existing data", "A request with this Idempotency-Key is still "
                                "being served; wait for its answer.", ErrorCode.IDEMPOTENCY_IN_PROGRESS, path)
            return Stored(row.status, row.content_type, row.location, row.body or b"")

    def _finish(self, row_id: int, captured: dict[str, Any]) -> None:
        with self.sessions() as session, atomic(session):  # SQLite: the write lock first, so requests queue
            if captured["status"] >= 500:  # not a result: the client may try again with the same key
                session.execute(delete(IdempotentRequest).where(IdempotentRequest.id == row_id))
                return
            row = session.get(IdempotentRequest, row_id)
            if row is None:
                return
            hdrs = {k.lower(): v.decode("latin-1") for k, v in captured["headers"]}
            row.status, row.body = captured["status"], captured["body"]
            row.content_type, row.location = hdrs.get(b"content-type"), hdrs.get(b"location")

    async def _send(self, send: Any, stored: Stored, replayed: bool = False) -> None:
        headers = [(b"content-type", (stored.content_type or "application/octet-stream").encode()),
                   (b"content-length", str(len(stored.body)).encode())]
        if stored.location:
            headers.append((b"location", stored.location.encode()))
        if replayed:
            headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        await send({"type": "http.response.body", "body": stored.body})


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Any) -> Any:
    """A `receive` that gives the app the body already read, then waits on the client as before."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
