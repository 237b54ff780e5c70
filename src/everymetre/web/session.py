"""Page sessions: a signed cookie (HttpOnly, SameSite=Lax, Secure over https) and a per-session CSRF token.

The cookie holds only the user id, the id of the server-side session (`accounts.sessions`: it ends at sign-out,
password change or reset and deactivation, whatever the cookie says), the CSRF token and when the session began;
it is signed (itsdangerous) and expires after `MAX_AGE`. Every POST form carries the token in a hidden field and the
server checks it; a cross-site Origin header is refused as well, and so is `Origin: null` (sandboxed frames, file:
pages, data: URLs: never our own pages). The cookie is Secure over https, and always when the public address is https.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

from everymetre.web import i18n

COOKIE = "em_session"
MAX_AGE = 12 * 3600  # the cookie; the server-side session lasts Settings.session_minutes
SCOPE_KEY = "everymetre.web_session"
CSRF_FIELD = "csrf_token"


@dataclass
class PageSession:
    user_id: int | None = None
    session_id: str | None = None  # the server-side session (accounts.sessions); no live one, no sign-in
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    started: int = field(default_factory=lambda: int(time.time()))
    dirty: bool = False
    cookies: list[str] = field(default_factory=list)  # extra Set-Cookie values (the language choice)

    def sign_in(self, user_id: int, session_id: str) -> None:
        """A fresh session (new CSRF token) for the user: nothing from before sign-in carries over."""
        self.user_id, self.session_id = user_id, session_id
        self.csrf, self.started, self.dirty = secrets.token_urlsafe(32), int(time.time()), True

    def sign_out(self) -> None:
        """Forget the user in the cookie (the caller revokes the server-side session)."""
        self.user_id, self.session_id, self.csrf, self.dirty = None, None, secrets.token_urlsafe(32), True

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf)

    def payload(self) -> dict[str, Any]:
        return {"u": self.user_id, "i": self.session_id, "c": self.csrf, "s": self.started}


def page_session(request: Request) -> PageSession:
    session = request.scope.get(SCOPE_KEY)
    if session is None:  # a route outside the middleware's reach: never trusted with a user
        session = PageSession(dirty=True)
        request.scope[SCOPE_KEY] = session
    return session


def cookie_header(name: str, value: str, max_age: int, secure: bool) -> str:
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class PageSessions:
    """Pure ASGI middleware: reads the session cookie for page requests and writes it back when it changed."""

    def __init__(self, app, secret: str, always_secure: bool = False) -> None:
        self.app = app
        self.always_secure = always_secure
        self.serializer = URLSafeTimedSerializer(secret, salt="everymetre.page-session")

    def load(self, raw: str | None) -> PageSession:
        if raw:
            try:
                data = self.serializer.loads(raw, max_age=MAX_AGE)
                sid = data.get("i")
                return PageSession(user_id=data.get("u") if isinstance(sid, str) else None,
                                   session_id=sid if isinstance(sid, str) else None, csrf=str(data["c"]),
                                   started=int(data["s"]))
            except (BadSignature, KeyError, TypeError, ValueError):
                pass
        return PageSession(dirty=True)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/api/", "/static/", "/openapi.json")):
            await self.app(scope, receive, send)
            return
        jar = SimpleCookie()
        for key, value in scope.get("headers", []):
            if key == b"cookie":
                try:
                    jar.load(value.decode("latin-1"))
                except Exception:
                    pass
        session = self.load(jar[COOKIE].value if COOKIE in jar else None)
        scope[SCOPE_KEY] = session
        # the page's language, for everything the request renders (labels built before the template, too)
        i18n.set_language(jar[i18n.LANG_COOKIE].value if i18n.LANG_COOKIE in jar else i18n.DEFAULT)
        secure = self.always_secure or scope.get("scheme") == "https"

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if session.dirty:
                    value = self.serializer.dumps(session.payload())
                    headers.append((b"set-cookie", cookie_header(COOKIE, value, MAX_AGE, secure).encode("latin-1")))
                for extra in session.cookies:
                    headers.append((b"set-cookie", (extra + ("; Secure" if secure else "")).encode("latin-1")))
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))  # pages show personal data: never cached
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)
