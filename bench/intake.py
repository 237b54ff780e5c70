"""Claim intake under load: submissions/s and latency against PostgreSQL, with GET /health as the ceiling.

Starts `everymetre serve` on a fresh database (default: PostgreSQL database `everymetre_bench` on
127.0.0.1:5432, created if missing), then drives it from this process with concurrent HTTP clients:

1. GET /api/v1/health, closed loop, as fast as it answers: the server's ceiling for a trivial request.
2. POST /api/v1/claims, closed loop: the highest submission rate and its latency.
3. POST /api/v1/claims, open loop at 70 % of the target (or of the rate reached, if lower): p50/p99.

Prints rates and their ratio to the ceiling measured in the same run (machines are shared and noisy), and for
the closed-loop phases the CPU time per request of the server (all its workers) and of PostgreSQL: where the
time goes, in a unit that noise disturbs less than a rate.

    .venv/bin/python bench/intake.py [--seconds 10] [--concurrency 32] [--workers 2] [--target 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from everymetre.kernel.identifiers import make_rnokpp  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    from everymetre.store.db import make_engine
    from everymetre.store.migrate import upgrade

    if url.startswith("postgresql"):
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        name = url.rsplit("/", 1)[1]
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()


def claim_body(rnd: random.Random) -> dict:
    born = date(1950, 1, 1) + timedelta(days=rnd.randrange(20000))
    return {
        "kind": "repair_application", "damage_date": "2024-03-15", "description": "Вибито вікна.",
        "property": {"kind": "apartment", "oblast": "kharkivska", "hromada": "Харків", "street": "вул. Сумська",
                     "building": str(rnd.randrange(1, 200)), "apartment": str(rnd.randrange(1, 300)),
                     "total_area_m2": f"{rnd.randrange(30, 120)}.50", "rooms": 2, "year_built": 1975},
        "owners": [{"full_name": "Шевченко Олена Петрівна", "birth_date": born.isoformat(),
                    "rnokpp": make_rnokpp(born, rnd.randrange(1000), False), "share": "1", "is_applicant": True}],
        "submit": True,
    }


async def closed_loop(client: httpx.AsyncClient, method: str, path: str, seconds: float, concurrency: int,
                      headers: dict, bodies: list[dict] | None) -> tuple[int, int, list[float]]:
    stop = time.perf_counter() + seconds
    ok = errors = 0
    lat: list[float] = []

    async def worker(i: int) -> None:
        nonlocal ok, errors
        n = i
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            if bodies is None:
                r = await client.request(method, path, headers=headers)
            else:
                r = await client.request(method, path, headers=headers, json=bodies[n % len(bodies)])
                n += concurrency
            lat.append(time.perf_counter() - t0)
            if r.status_code < 300:
                ok += 1
            else:
                errors += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return ok, errors, lat


async def open_loop(client: httpx.AsyncClient, path: str, rate: float, seconds: float, headers: dict,
                    bodies: list[dict]) -> tuple[int, int, list[float]]:
    """Send at a fixed rate regardless of answers (latency includes queueing, as a real user sees it)."""
    ok = errors = 0
    lat: list[float] = []
    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)

    async def one(i: int, due: float) -> None:
        nonlocal ok, errors
        r = await client.post(path, headers=headers, json=bodies[i % len(bodies)])
        lat.append(time.perf_counter() - due)
        if r.status_code < 300:
            ok += 1
        else:
            errors += 1

    for i in range(total):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))  # always yield, so sent requests progress
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return ok, errors, lat


def cpu_seconds(root: int) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by the server (its process and workers) and by PostgreSQL's
    processes: per request, a figure that a shared, noisy machine disturbs far less than a rate."""
    def ticks(pid: int) -> int:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            return 0

    def children(pid: int) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        return [int(c) for c in out]

    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children(pid))
    pg = [int(x) for x in subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True).stdout.split()]
    hz = os.sysconf("SC_CLK_TCK")
    return sum(map(ticks, tree)) / hz, sum(map(ticks, pg)) / hz


def cpu_note(before: tuple[float, float], after: tuple[float, float], requests: float) -> str:
    if requests <= 0:
        return ""
    return (f"  CPU/request: server {1000 * (after[0] - before[0]) / requests:.2f} ms, "
            f"PostgreSQL {1000 * (after[1] - before[1]) / requests:.2f} ms")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000


WRK_SCRIPT = """
local bodies = {%s}
local i = 0
wrk.method = "%s"
wrk.headers["Content-Type"] = "application/json"
%s
request = function()
  if #bodies == 0 then return wrk.format() end
  i = i %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


# POSTs a valid claim with a fresh RNOKPP (check digit computed, birth date matching) and registry number on
# every request; each wrk thread numbers its own requests (`setup` gives every thread its id).
WRK_FRESH = """
local counter = 0
function setup(thread) counter = counter + 1; thread:set("tid", counter) end
local i = 0
local weights = {-1, 5, 7, 9, 4, 6, 10, 5, 7}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%s
local template = [==[%s]==]
request = function()
  i = i + 1
  local n = i * 8 + (tid or 0)
  local days = 18263 + math.floor(n / 1000) %% 20000   -- born 1950-01-01 onwards
  local born = os.date("!%%Y-%%m-%%d", days * 86400 - 2209075200)
  local nine = string.format("%%05d%%03d%%d", days, n %% 1000, math.floor(n / 1000) %% 10)
  local sum = 0
  for k = 1, 9 do sum = sum + weights[k] * tonumber(nine:sub(k, k)) end
  local rnokpp = nine .. tostring(sum %% 11 %% 10)
  local body = template:gsub("@RNOKPP@", rnokpp):gsub("@BORN@", born):gsub("@REGISTRY@", string.format("%%013d", 1000000000000 + n))
  return wrk.format(nil, nil, nil, body)
end
"""


def wrk_phase(base: str, path: str, method: str, seconds: float, concurrency: int, token: str | None,
              bodies: list[dict]) -> tuple[float, float, float, int]:
    """Closed loop with wrk (C, light on the CPU we share with the server): rate, p50, p99 ms, errors."""
    import json
    import re

    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        if bodies:
            body = dict(bodies[0], property={**bodies[0]["property"], "registry_number": "@REGISTRY@"},
                        owners=[{**bodies[0]["owners"][0], "rnokpp": "@RNOKPP@", "birth_date": "@BORN@"}])
            fh.write(WRK_FRESH % (auth, json.dumps(body, ensure_ascii=False)))
        else:
            fh.write(WRK_SCRIPT % ("", method, auth))
    res = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{seconds:.0f}s", "--latency", "-s", fh.name, base + path],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", res).group(1))

    def ms(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", res)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else float("nan")

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", res)
    return rate, ms("50"), ms("99"), int(errors.group(1)) if errors else 0


async def run(args: argparse.Namespace, base: str, token: str) -> None:
    rnd = random.Random(7)
    bodies = [claim_body(rnd) for _ in range(200 if args.client == "wrk" else 2000)]
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await closed_loop(client, "GET", "/api/v1/health", 1, 4, {}, None)  # warm up
        await closed_loop(client, "POST", "/api/v1/claims", 1, 4, headers, bodies)
        cpu = cpu_seconds(args.server_pid)
        if args.client == "wrk":
            health_rate, p50, p99, err = wrk_phase(base, "/api/v1/health", "GET", args.seconds, args.concurrency, None, [])
        else:
            ok, err, lat = await closed_loop(client, "GET", "/api/v1/health", args.seconds, args.concurrency, {}, None)
            health_rate, p50, p99 = ok / args.seconds, pct(lat, 50), pct(lat, 99)
        health_cpu = cpu_note(cpu, cpu := cpu_seconds(args.server_pid), health_rate * args.seconds)
        print(f"GET /health        : {health_rate:8.0f} req/s   p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {err}{health_cpu}")
        if args.client == "wrk":
            max_rate, p50, p99, err = wrk_phase(base, "/api/v1/claims", "POST", args.seconds, args.concurrency, token, bodies)
        else:
            ok, err, lat = await closed_loop(client, "POST", "/api/v1/claims", args.seconds, args.concurrency, headers, bodies)
            max_rate, p50, p99 = ok / args.seconds, pct(lat, 50), pct(lat, 99)
        post_cpu = cpu_note(cpu, cpu_seconds(args.server_pid), max_rate * args.seconds)
        print(f"POST /claims (max) : {max_rate:8.0f} req/s   p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {err}{post_cpu}")
        paced = 0.7 * min(args.target, max_rate)
        ok, err, lat = await open_loop(client, "/api/v1/claims", paced, args.seconds, headers, bodies)
        print(f"POST /claims @ {paced:5.0f}/s (70 % of {'target' if args.target <= max_rate else 'max reached'}): "
              f"p50 {pct(lat, 50):6.1f} ms  p99 {pct(lat, 99):6.1f} ms  errors {err}  sent {ok + err}")
        print(f"ratio submissions/health ceiling: {max_rate / health_rate:.3f} (target at least 0.3)")
        print(f"target 1,000 submissions/s: {'met' if max_rate >= args.target else f'not met ({max_rate / args.target:.0%} of it)'}; "
              f"p99 < 100 ms at 70 %: {'met' if pct(lat, 99) < 100 else 'not met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/everymetre_bench")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--target", type=float, default=1000)
    ap.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    ap.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                    help="closed-loop load generator: wrk (Debian package, default when installed) or Python httpx")
    args = ap.parse_args()

    prepare_database(args.database_url)
    data_dir = tempfile.mkdtemp(prefix="everymetre-bench-")
    env = {**os.environ, "EVERYMETRE_DATABASE_URL": args.database_url, "EVERYMETRE_DATA_DIR": data_dir,
           "EVERYMETRE_SECRET_KEY": "bench-secret-key-0123456789-0123456789",
           # the filing itself is measured: the photos the law asks for are uploads of their own before it
           "EVERYMETRE_PHOTOS_CLOSEUP_REQUIRED": "0", "EVERYMETRE_PHOTOS_WIDE_REQUIRED": "0"}
    everymetre = str(Path(sys.executable).with_name("everymetre"))
    subprocess.run([everymetre, "users", "add", "bench@example.org", "--role", "claimant", "--password-stdin"],
                   input="bench password 123\n", text=True, env=env, check=True, capture_output=True)
    port = args.port or free_port()
    server = subprocess.Popen([everymetre, "serve", "--port", str(port), "--workers", str(args.workers)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # a loaded machine starts the workers slowly
            try:
                if httpx.get(f"{base}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "bench@example.org",
                                                              "password": "bench password 123"}).json()["access_token"]
        print(f"server: {args.workers} worker(s), {os.cpu_count()} cores, store {args.database_url.split('@')[-1]}, "
              f"{args.concurrency} concurrent clients ({args.client}), {args.seconds:.0f} s per phase")
        args.server_pid = server.pid
        asyncio.run(run(args, base, token))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
