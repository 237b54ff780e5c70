"""Soak: minutes of mixed traffic against a served app, per store, watching errors, latency and memory.

Starts `everymetre serve` (faulthandler on, core dumps allowed) on a fresh database — PostgreSQL with 2 workers
(database `everymetre_soak` on 127.0.0.1:5432 unless --pg-url) and SQLite with 1 worker — then drives it with
concurrent clients doing a mix of: saving a claim as a draft (API), uploading its close-up and wide photos and submitting it (API), the officer's work
queue (page) and moving a claim (API: auto_checked -> assigned). Prints per store: requests/s, p50/p99 per kind,
errors (any 5xx, exception or unexpected status), each worker's RSS after warm-up and at the end (target: 0
errors, RSS growth under 10 %), and whether a worker died (a crash prints its Python stack to the log).

    .venv/bin/python bench/soak.py [--minutes 10] [--store both|postgres|sqlite] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
PASSWORD = "soak password 0123456"
CLAIMANTS = 8
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def workers(pid: int) -> list[int]:
    """The server's worker processes (itself when it runs one worker)."""
    try:
        kids = [int(k) for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []
    python_kids = [k for k in kids if "python" in Path(f"/proc/{k}/cmdline").read_bytes().decode(errors="replace")]
    # uvicorn with several workers: a supervisor, its spawned workers (and multiprocessing's resource tracker)
    real = [k for k in python_kids if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes()]
    return real or [pid]


def prepare(url: str, data_dir: Path) -> dict[str, list[int]]:
    """A fresh schema and the accounts: {role: [user ids]}."""
    os.environ.update({"EVERYMETRE_DATABASE_URL": url, "EVERYMETRE_DATA_DIR": str(data_dir)})
    from sqlalchemy import create_engine, text

    from everymetre.config import get_settings

    get_settings.cache_clear()
    if url.startswith("postgresql"):
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        name = url.rsplit("/", 1)[1]
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    import everymetre.store.schema  # noqa: F401
    from everymetre.accounts.actions import do_create_user
    from everymetre.store.db import make_engine, session_factory
    from everymetre.store.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    ids: dict[str, list[int]] = {"claimant": [], "officer": []}
    with session_factory(engine)() as session:
        for i in range(CLAIMANTS):
            ids["claimant"].append(do_create_user(session, None, f"c{i}@soak.example", PASSWORD, "claimant",
                                                  full_name=f"Soak {i}").id)
        ids["officer"].append(do_create_user(session, None, "officer@soak.example", PASSWORD, "officer",
                                             ["kharkivska"], full_name="Soak officer").id)
    engine.dispose()
    return ids


def photo(rnd: random.Random) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))).save(buf, "JPEG")
    return buf.getvalue()


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: collections.Counter = collections.Counter()
        self.samples: list[str] = []

    def add(self, kind: str, seconds: float) -> None:
        self.latency[kind].append(seconds)

    def error(self, kind: str, what: str) -> None:
        self.errors[f"{kind}: {what}"] += 1
        if len(self.samples) < 5:
            self.samples.append(f"{kind}: {what}")


async def drive(url: str, tokens: dict[str, list[str]], seconds: float, clients: int, stats: Stats) -> int:
    from tests.factories import claim_body

    limits = httpx.Limits(max_connections=clients + 4)
    api = httpx.AsyncClient(base_url=url, timeout=60, limits=limits)
    page = httpx.AsyncClient(base_url=url, timeout=60)
    token = CSRF.search((await page.get("/signin")).text).group(1)  # type: ignore[union-attr]
    r = await page.post("/signin", data={"email": "officer@soak.example", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    officer = {"Authorization": f"Bearer {tokens['officer'][0]}"}
    to_move: collections.deque = collections.deque(maxlen=5000)
    with_photo: collections.deque = collections.deque(maxlen=5000)
    stop = time.monotonic() + seconds
    done = 0

    async def timed(kind: str, call, ok: tuple[int, ...]) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            response = await call
        except httpx.HTTPError as exc:
            stats.error(kind, type(exc).__name__)
            return None
        stats.add(kind, time.perf_counter() - t0)
        if response.status_code not in ok:
            stats.error(kind, f"{response.status_code} {response.text[:120]}")
        return response

    async def client(n: int) -> None:
        nonlocal done
        rnd = random.Random(n)
        me = {"Authorization": f"Bearer {tokens['claimant'][n % len(tokens['claimant'])]}"}
        while time.monotonic() < stop:
            roll = rnd.random()
            if roll < 0.35:  # a draft, as the form saves it; its photos and submission follow
                r = await timed("file", api.post("/api/v1/claims", json=claim_body(submit=False), headers=me), (201,))
                if r is not None and r.status_code == 201:
                    with_photo.append((r.json(), me, ["photo_closeup", "photo_wide"]))
            elif roll < 0.55 and with_photo:
                claim, who, kinds = with_photo.popleft()
                ref = claim["reference"]
                if kinds:  # the photos the law asks for (a close-up and a wide view), one per turn
                    await timed("upload", api.post(f"/api/v1/claims/{ref}/evidence", headers=who,
                                                   data={"kind": kinds[0]},
                                                   files={"file": ("dom.jpg", photo(rnd), "image/jpeg")}), (201,))
                    with_photo.append((claim, who, kinds[1:]))
                else:
                    body = {"to": "submitted", "reason": "", "expected_version": claim["version"]}
                    r = await timed("submit", api.post(f"/api/v1/claims/{ref}/transitions", json=body, headers=who),
                                    (200,))
                    if r is not None and r.status_code == 200:
                        to_move.append(r.json())
            elif roll < 0.80:
                await timed("queue page", page.get("/staff/queue"), (200,))
            elif to_move:
                claim = to_move.popleft()
                body = {"to": "assigned", "reason": "soak", "expected_version": claim["version"]}
                await timed("move", api.post(f"/api/v1/claims/{claim['reference']}/transitions", json=body,
                                             headers=officer), (200, 409))
            else:
                await asyncio.sleep(0.01)
                continue
            done += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    await api.aclose()
    await page.aclose()
    return done


def api_tokens(url: str, ids: dict[str, list[int]]) -> dict[str, list[str]]:
    """A bearer token per account, each naming a server-side API session (as `POST /api/v1/auth/token` makes)."""
    from everymetre.accounts.sessions import API, open_session
    from everymetre.api.security import make_token
    from everymetre.config import get_settings
    from everymetre.store.db import make_engine, session_factory
    from everymetre.store.tx import atomic

    settings = get_settings()
    engine = make_engine(url)
    out: dict[str, list[str]] = {}
    with session_factory(engine)() as session, atomic(session):
        for role, uids in ids.items():
            out[role] = [make_token(settings, uid, open_session(session, uid, API, settings.token_minutes))
                         for uid in uids]
    engine.dispose()
    return out


def allow_core_dumps() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass


def soak(store: str, url: str, n_workers: int, minutes: float, clients: int) -> bool:
    tmp = Path(tempfile.mkdtemp(prefix=f"everymetre-soak-{store}-"))
    ids = prepare(url, tmp / "data")
    from everymetre.config import get_settings

    env = {**os.environ, "EVERYMETRE_DATABASE_URL": url, "EVERYMETRE_DATA_DIR": str(tmp / "data"),
           "PYTHONFAULTHANDLER": "1"}
    os.environ["EVERYMETRE_SECRET_KEY"] = env["EVERYMETRE_SECRET_KEY"] = "soak-secret-key-not-for-production-0123456789"
    get_settings.cache_clear()
    tokens = api_tokens(url, ids)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp / "server.log"
    server = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "everymetre", "serve", "--port", str(port),
                               "--workers", str(n_workers)], env=env, stdout=log_path.open("wb"),
                              stderr=subprocess.STDOUT, preexec_fn=allow_core_dumps, cwd=tmp)
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        warm = Stats()
        asyncio.run(drive(base, tokens, 15, clients, warm))  # warm-up: imports, caches, pools
        pids = workers(server.pid)
        start_rss = {p: rss_mb(p) for p in pids}
        stats = Stats()
        t0 = time.perf_counter()
        done = asyncio.run(drive(base, tokens, minutes * 60, clients, stats))
        elapsed = time.perf_counter() - t0
        end_pids = workers(server.pid)
        end_rss = {p: rss_mb(p) for p in pids}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    log = log_path.read_text(errors="replace")
    every = [x for xs in stats.latency.values() for x in xs]
    print(f"\n== {store}: {n_workers} worker(s), {clients} clients, {minutes:g} min ==")
    print(f"requests: {done} in {elapsed:.0f} s = {done / elapsed:.1f}/s; errors: {sum(stats.errors.values())}")
    print(f"{'all':>11}: p50 {_q(every, 0.5) * 1000:7.1f} ms  p99 {_q(every, 0.99) * 1000:7.1f} ms")
    for kind, xs in sorted(stats.latency.items()):
        print(f"{kind:>11}: {len(xs):6d}  p50 {_q(xs, 0.5) * 1000:7.1f} ms  p99 {_q(xs, 0.99) * 1000:7.1f} ms")
    for what, n in stats.errors.most_common(8):
        print(f"  error x{n}: {what}")
    growth_ok = True
    for p in pids:
        growth = (end_rss[p] - start_rss[p]) / start_rss[p] * 100 if start_rss[p] else float("nan")
        growth_ok &= growth < 10
        print(f"worker {p}: RSS {start_rss[p]:.0f} MB after warm-up -> {end_rss[p]:.0f} MB at the end ({growth:+.1f} %)"
              + ("" if p in end_pids else "  ** this worker is gone **"))
    crashed = "Fatal Python error" in log or "Segmentation fault" in log or set(end_pids) != set(pids)
    print("worker crash: " + ("YES, see " + str(log_path) if crashed else "none (faulthandler on)"))
    if "Traceback" in log:
        print(f"server log has tracebacks: {log_path}")
    ok = not stats.errors and growth_ok and not crashed
    if ok:
        shutil.rmtree(tmp, ignore_errors=True)
    return ok


def _q(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    if len(xs) < 2:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[min(98, max(0, int(q * 100) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--store", choices=("both", "postgres", "sqlite"), default="both")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/everymetre_soak")
    args = parser.parse_args()
    ok = True
    if args.store in ("both", "postgres"):
        ok &= soak("postgres", args.pg_url, 2, args.minutes, args.clients)
    if args.store in ("both", "sqlite"):
        sqlite_dir = Path(tempfile.mkdtemp(prefix="everymetre-soak-db-"))
        ok &= soak("sqlite", f"sqlite:///{sqlite_dir / 'soak.db'}", 1, args.minutes, args.clients)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
