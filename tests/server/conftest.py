"""A real server for the tests that need one: `everymetre serve` in a subprocess on a free port, on the test
database (SQLite or PostgreSQL, as the rest of the suite)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class LiveServer:
    url: str
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


@pytest.fixture()
def serve(engine: Any, users: Any, tmp_path: Path) -> Iterator[Any]:
    """serve(**env) -> a LiveServer (one worker) with extra EVERYMETRE_* settings; stopped after the test."""
    started: list[LiveServer] = []

    def start(workers: int = 1, **env: str) -> LiveServer:
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        proc = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", "-m", "everymetre", "serve", "--port", str(port),
             "--workers", str(workers)],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
        server = LiveServer(f"http://127.0.0.1:{port}", port, proc, log)
        started.append(server)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()}")
            try:
                if httpx.get(f"{server.url}/api/v1/health", timeout=1).status_code == 200:
                    return server
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in 120 s")

    yield start
    for server in started:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
