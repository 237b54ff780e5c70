"""What the request middleware of ops/ (request id, the JSON access line, the Prometheus counters, the bearer
token's user id) costs per request, measured in the same run against the same app without it.

Calls the ASGI app directly (no network, no HTTP client) with GET /api/v1/health/live, once anonymous and once
with a bearer token, with and without ops.middleware.RequestContext, the log lines going to /dev/null, and
prints the median CPU per request in µs and the ratio.

    .venv/bin/python bench/ops_overhead.py [--requests 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="everymetre-bench-ops-"))
os.environ.setdefault("EVERYMETRE_DATABASE_URL", f"sqlite:///{_TMP / 'bench.db'}")
os.environ.setdefault("EVERYMETRE_DATA_DIR", str(_TMP / "data"))
os.environ.setdefault("EVERYMETRE_SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")

from everymetre.api.app import create_app  # noqa: E402
from everymetre.api.security import make_token  # noqa: E402
from everymetre.config import get_settings  # noqa: E402
from everymetre.ops import logs  # noqa: E402
from everymetre.ops.middleware import RequestContext  # noqa: E402


def without_ops(app):
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestContext]
    app.middleware_stack = None
    return app


async def run(app, n: int, headers: list[tuple[bytes, bytes]]) -> float:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/api/v1/health/live", "raw_path": b"/api/v1/health/live", "query_string": b"",
             "root_path": "", "headers": [(b"host", b"bench"), *headers], "client": ("127.0.0.1", 1),
             "server": ("bench", 80)}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200

    for _ in range(200):  # warm up
        await app(dict(scope), receive, send)
    start = time.process_time()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = get_settings()
    with_app, bare_app = create_app(settings), without_ops(create_app(settings))
    logs.configure(stream=open(os.devnull, "w"), force=True)  # noqa: SIM115  (the lines are written, then dropped)
    token = [(b"authorization", f"Bearer {make_token(settings, 1)}".encode())]
    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name, app, headers in [("bare, anonymous", bare_app, []), ("ops, anonymous", with_app, []),
                                   ("bare, bearer token", bare_app, token), ("ops, bearer token", with_app, token)]:
            results.setdefault(name, []).append(asyncio.run(run(app, args.requests, headers)))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"GET /api/v1/health/live, {args.requests:,} requests x {args.rounds} rounds, median CPU per request:")
    for name, us in med.items():
        print(f"  {name:<20} {us:8.1f} µs")
    for kind in ("anonymous", "bearer token"):
        extra = med[f"ops, {kind}"] - med[f"bare, {kind}"]
        print(f"  ops middleware, {kind}: +{extra:.1f} µs per request ({med[f'ops, {kind}'] / med[f'bare, {kind}']:.2f}x "
              f"the bare app; a submission costs 7,000-9,000 µs)")


if __name__ == "__main__":
    main()
