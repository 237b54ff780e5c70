"""Structured logs: one JSON object per line (structlog), with the request id bound for the whole request.

Every line goes through `redact` last: keys that name personal data are dropped, and anything in a value that
looks like an RNOKPP (10 digits), a Ukrainian IBAN, a phone number or an e-mail address is masked. That
second pass matters because database errors quote the values they reject ("Key (rnokpp)=(...)").
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import IO, Any

import structlog

# keys whose values are personal data or secrets: never written, whatever logged them
SECRET_KEYS = frozenset({"password", "passwd", "secret", "token", "access_token", "authorization", "cookie",
                         "rnokpp", "iban", "phone", "email", "full_name", "name", "birth_date", "address"})
_PATTERNS = [
    (re.compile(r"\bUA\d{2}\s?(?:\d\s?){25}\b", re.IGNORECASE), "[iban]"),
    (re.compile(r"(?<![\w.])\+?(?:380|0)\d{9}\b"), "[phone]"),
    (re.compile(r"(?<![\w.])\d{10}(?![\w.])"), "[rnokpp]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+"), r"\1 [token]"),
]
_HANDLER_MARK = "_everymetre_json"
_FORMAT_MARK = "_everymetre_format"


def scrub(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: ("[redacted]" if str(k).lower() in SECRET_KEYS else _clean(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: drop personal-data keys, mask personal data inside every value."""
    for key in list(event_dict):
        if key.lower() in SECRET_KEYS:
            event_dict[key] = "[redacted]"
        else:
            event_dict[key] = _clean(event_dict[key])
    return event_dict


def _drop_color_message(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event_dict.pop("color_message", None)  # uvicorn's duplicate of the message with terminal colours
    return event_dict


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _drop_color_message,
]


def formatter(fmt: str = "json") -> logging.Formatter:
    """The stdlib formatter that writes every record (ours and libraries') as one JSON line."""
    renderer: Any = (structlog.processors.JSONRenderer(ensure_ascii=False) if fmt == "json"
                     else structlog.dev.ConsoleRenderer(colors=False))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    redact, renderer])


class _Stream(logging.StreamHandler):
    """Writes to the given stream, or to whatever sys.stderr is at the moment of writing (test runners swap
    it; a handler holding an old one would write to a closed file)."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(stream or sys.stderr)
        self._fixed = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._fixed or sys.stderr
        super().emit(record)


def configure(fmt: str = "json", stream: IO[str] | None = None, force: bool = False) -> None:
    """Route structlog and the standard library's logging through one JSON handler on the root logger:
    libraries at WARNING and above, everymetre's own loggers at INFO. Safe to call again (no duplicate
    handlers); `force` replaces the handler (tests pass their own stream)."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]
    if ours and not force:
        return
    for h in ours:
        root.removeHandler(h)
    handler = _Stream(stream)
    setattr(handler, _HANDLER_MARK, True)
    setattr(handler, _FORMAT_MARK, fmt)
    handler.setFormatter(formatter(fmt))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger("everymetre").setLevel(logging.INFO)
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *_SHARED, structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.processors.StackInfoRenderer(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


_access = logging.getLogger("everymetre.access")


def access_line(method: str, route: str, status: int, duration_ms: float, user_id: int | None, request_id: str) -> None:
    """The access log's line for one request (logger everymetre.access, event "request"). When our JSON handler
    is the only one, the line is formatted here in one json.dumps (the same fields, order and redaction as the
    structlog chain: only the request id can carry outside text, and it is scrubbed) and written at once: the
    generic chain cost a seventh of a small request's CPU. Any other setup (console format, extra handlers such
    as a test's capture) takes the structlog path."""
    root = logging.getLogger()
    handlers = root.handlers
    if (len(handlers) != 1 or getattr(handlers[0], _FORMAT_MARK, None) != "json" or _access.handlers
            or not _access.isEnabledFor(logging.INFO) or structlog.contextvars.get_contextvars().keys() - {"request_id"}):
        get_logger("everymetre.access").info("request", method=method, route=route, status=status,
                                             duration_ms=duration_ms, user_id=user_id)
        return
    handler = handlers[0]
    line = json.dumps({"method": scrub(method), "route": scrub(route), "status": status, "duration_ms": duration_ms,
                       "user_id": user_id, "event": "request", "request_id": scrub(request_id),
                       "logger": "everymetre.access", "level": "info",
                       "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}, ensure_ascii=False)
    assert isinstance(handler, _Stream)
    handler.acquire()
    try:
        stream = handler._fixed or sys.stderr
        stream.write(line + handler.terminator)
        stream.flush()
    finally:
        handler.release()
