"""Domain exceptions. Each carries what the caller needs to tell a person what went wrong and what to do.

The web layer maps them to RFC 9457 problem responses (`status`, `slug`), the CLI to one line and an exit code.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    slug: str = "bad-request"
    title: str = "The request cannot be carried out"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Unauthenticated(DomainError):
    status, slug, title = 401, "unauthenticated", "Sign-in required"


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Not allowed for your role"


class InvalidTransition(DomainError):
    status, slug, title = 409, "invalid-transition", "This move is not possible from the claim's current state"


class StaleVersion(DomainError):
    status, slug, title = 409, "stale-version", "The claim has changed since you loaded it"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict with existing data"


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule; `field` names where (dotted path)."""

    status, slug, title = 422, "validation", "Some details need correcting"

    def __init__(self, detail: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.field = field


class GuardFailed(DomainError):
    """The move exists and the role may make it, but a rule forbids it now (segregation, deadline...)."""

    status, slug, title = 409, "rule-forbids", "A programme rule forbids this move"


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "too-large", "The file is too large"


class UnsupportedMedia(DomainError):
    status, slug, title = 415, "unsupported-file", "This kind of file is not accepted"
