"""A real SMTP server (aiosmtpd) and a real HTTP SMS gateway, both on 127.0.0.1, started by the tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from everymetre.config import get_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the SMTP server received, in order; `hold` makes it wait before answering a DATA (to kill a
    client mid-send)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        if self.hold.is_set():
            self.holding.set()
            while self.hold.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"

    def ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]

    def wait_for(self, n: int, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.messages) >= n:
                    return
            time.sleep(0.05)
        raise AssertionError(f"the SMTP server got {len(self.messages)} message(s), expected {n}")


@pytest.fixture()
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("EVERYMETRE_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("EVERYMETRE_WORKER_BACKOFF_SECONDS", "0")
    get_settings.cache_clear()
    try:
        yield box
    finally:
        controller.stop()
        get_settings.cache_clear()


class Gateway:
    def __init__(self) -> None:
        self.requests: list[tuple[dict, dict]] = []
        self.answer: tuple[int, dict] = (200, {"response_code": 800, "response_status": "SUCCESS_MESSAGE_ACCEPTED",
                                              "response_result": [{"response_code": 0, "message_id": "gw-1"}]})


@pytest.fixture()
def sms_gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    gw = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            gw.requests.append((dict(self.headers), body))
            code, answer = gw.answer
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("EVERYMETRE_SMS_URL", f"http://127.0.0.1:{server.server_address[1]}/message/send.json")
    monkeypatch.setenv("EVERYMETRE_SMS_KEY", "test-key")
    monkeypatch.setenv("EVERYMETRE_WORKER_BACKOFF_SECONDS", "0")
    get_settings.cache_clear()
    try:
        yield gw
    finally:
        server.shutdown()
        server.server_close()
        get_settings.cache_clear()
