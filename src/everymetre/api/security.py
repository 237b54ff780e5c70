"""Tokens for the API (OAuth2 password flow, signed JWT) and security headers for every response."""

from __future__ import annotations

from datetime import timedelta

import jwt
from sqlalchemy.orm import Session

from everymetre.config import Settings
from everymetre.store.types import utcnow

ALGORITHM = "HS256"


def make_token(settings: Settings, user_id: int, session_id: str) -> str:
    """A signed token naming the user and its server-side session (`jti`): valid while that session is live."""
    now = utcnow()
    claims = {"sub": str(user_id), "jti": session_id, "iat": now, "exp": now + timedelta(minutes=settings.token_minutes),
              "aud": "everymetre-api"}
    return jwt.encode(claims, settings.signing_key(), algorithm=ALGORITHM)


def issue_token(session: Session, settings: Settings, user_id: int) -> str:
    """Open an API session for the user (revocable: sign-out, password change, deactivation) and sign its token."""
    from everymetre.accounts.sessions import API, open_session
    from everymetre.store.tx import atomic

    with atomic(session):
        sid = open_session(session, user_id, API, settings.token_minutes)
    return make_token(settings, user_id, sid)


def read_token(settings: Settings, token: str) -> tuple[int, str] | None:
    """(user id, session id) from a token whose signature, audience and expiry are good; a token without a
    session id (issued before sessions were kept) is not accepted."""
    try:
        claims = jwt.decode(token, settings.signing_key(), algorithms=[ALGORITHM], audience="everymetre-api")
        sid = claims["jti"]
        if not isinstance(sid, str) or not sid:
            return None
        return int(claims["sub"]), sid
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def is_https(settings: Settings) -> bool:
    """The public address is https (a proxy may speak plain http to us): browsers are told to stay on https."""
    return (settings.public_url or "").lower().startswith("https://")


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request). HSTS on https requests, and on
    every request when the public address is https."""

    def __init__(self, app, settings: Settings | None = None) -> None:
        self.app = app
        self.always_https = settings is not None and is_https(settings)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        wanted = [*HEADERS, HSTS] if self.always_https or scope.get("scheme") == "https" else HEADERS

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in wanted if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
