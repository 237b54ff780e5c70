"""Request bodies are limited by route before they are parsed, and uploads are never read before sign-in:
against a real server, the answer arrives before the body is sent, and the server's memory stays put."""

from __future__ import annotations

import socket
import time

from tests.server.conftest import rss_bytes

HUGE = 200 * 1024 * 1024


def _send_headers(port: int, path: str, headers: dict[str, str]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    sock.sendall("\r\n".join(lines).encode())
    return sock


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _answer_before_body(port: int, path: str, headers: dict[str, str]) -> tuple[int, float]:
    """Send only the headers of a huge body and wait for the answer: (status, seconds until it came)."""
    sock = _send_headers(port, path, headers)
    t0 = time.monotonic()
    try:
        sock.settimeout(5)
        data = sock.recv(65536)
    finally:
        sock.close()
    assert data, "the server closed the connection without an answer"
    return _status(data), time.monotonic() - t0


def _stream_until_answer(port: int, path: str, headers: dict[str, str], total: int) -> tuple[int, int]:
    """Stream a chunked body of `total` bytes until the server answers: (status, bytes sent by then)."""
    sock = _send_headers(port, path, {**headers, "Transfer-Encoding": "chunked"})
    chunk = b" " * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    sock.setblocking(False)
    try:
        while sent < total:
            try:
                data = sock.recv(65536)
                if data:
                    return _status(data), sent
            except BlockingIOError:
                pass
            try:
                sock.sendall(frame)
                sent += len(chunk)
            except BlockingIOError:
                time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        sock.settimeout(5)
        data = sock.recv(65536)
        assert data, "no answer"
        return _status(data), sent
    finally:
        sock.close()


def test_huge_bodies_are_refused_before_they_are_read(serve, auth):
    server = serve()
    before = rss_bytes(server.pid)
    json_headers = {"Content-Type": "application/json"}
    # declared too large: refused at once, nothing of the body sent
    status, took = _answer_before_body(server.port, "/api/v1/claims", {**json_headers, "Content-Length": str(HUGE)})
    assert status == 413 and took < 3
    # an upload without a token: 401 before anything is read, whatever its size
    form = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(HUGE)}
    status, _ = _answer_before_body(server.port, "/api/v1/claims/EM-2026-1/evidence", form)
    assert status == 401
    status, _ = _answer_before_body(server.port, "/my/claims/EM-2026-1/evidence", form)
    assert status == 401
    # signed in, but too large for an upload: 413, unread
    status, _ = _answer_before_body(server.port, "/api/v1/claims/EM-2026-1/evidence",
                                    {**form, "Authorization": auth("citizen")["Authorization"]})
    assert status == 413
    # streamed with no length: counted as it comes and refused once past the limit (1 MiB), far before 200 MB
    status, sent = _stream_until_answer(server.port, "/api/v1/claims", json_headers, HUGE)
    assert status == 413 and sent < 32 * 1024 * 1024, sent
    status, sent = _stream_until_answer(server.port, "/api/v1/claims/EM-2026-1/evidence",
                                        {"Content-Type": "multipart/form-data; boundary=x"}, HUGE)
    assert status == 401 and sent < 32 * 1024 * 1024, sent
    assert rss_bytes(server.pid) - before < 50 * 1024 * 1024


def test_slow_bodies_hold_nothing(serve) -> None:
    """Clients trickling their bodies (more of them than the pool has connections) do not stop others."""
    import httpx

    server = serve()
    slow = []
    try:
        for _ in range(40):
            sock = _send_headers(server.port, "/api/v1/claims", {"Content-Type": "application/json",
                                                                 "Content-Length": "1000"})
            sock.sendall(b'{"kind": ')
            slow.append(sock)
        time.sleep(0.5)
        t0 = time.monotonic()
        r = httpx.get(f"{server.url}/api/v1/health", timeout=30)
        assert r.status_code == 200 and time.monotonic() - t0 < 5, time.monotonic() - t0
    finally:
        for sock in slow:
            sock.close()
