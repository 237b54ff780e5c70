"""Schemathesis over the live API with every role's token (`make fuzz`; not part of `make test`).

Starts `everymetre serve` on a fresh SQLite database in a temporary folder, creates one account per role (every
role of `accounts.roles.Role` but the system's, so a new role is probed without editing this file) plus an
integrator's service account (client credentials, officer role) and a few claims for them to find, then runs
`st run` against /openapi.json once per role with that role's bearer token. Prints, per role and in total: requests sent, failures by check, server errors (5xx; target 0) and wrong 2xx: a success on an operation the
authorisation matrix (tests/test_authorisation_matrix.py) refuses to that role (target 0).
Exit 1 if any 5xx or wrong 2xx was seen.

    .venv/bin/python bench/fuzz.py [--max-examples 50] [--roles officer,claimant] [--checks all]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
from everymetre.accounts.roles import NATIONAL_ROLES, Role  # noqa: E402

ROLES = (*(r.value for r in Role if r is not Role.SYSTEM), "service")
PASSWORD = "fuzzing password 0123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Schema, one account per role (staff in two oblasts) and a service account: {role: bearer token}."""
    os.environ.update(env)
    from everymetre.config import get_settings

    get_settings.cache_clear()
    import everymetre.store.schema  # noqa: F401  (every feature's tables)
    from everymetre.accounts.actions import do_create_user
    from everymetre.accounts.service_accounts import client_credentials, do_create_service_account
    from everymetre.api.security import issue_token, make_token
    from everymetre.kernel.errors import ValidationFailed
    from everymetre.store.db import engine_for, session_factory
    from everymetre.store.migrate import upgrade

    engine = engine_for(env["EVERYMETRE_DATABASE_URL"])
    upgrade(engine)
    settings = get_settings()
    tokens = {}
    with session_factory(engine)() as session:
        for role in ROLES:
            if role == "service":
                client, secret = do_create_service_account(session, None, "Fuzz bank", "officer", ["kharkivska"])
                user, sid = client_credentials(session, settings, client.client_id, secret, None)
                tokens[role] = make_token(settings, user.id, sid)
                continue
            national = role == "claimant" or Role(role) in NATIONAL_ROLES
            oblasts = [] if national else ["kharkivska", "kyivska"]
            try:
                uid = do_create_user(session, None, f"{role}@fuzz.example", PASSWORD, role, oblasts,
                                     full_name=f"Fuzz {role}").id
            except ValidationFailed:  # a role that takes no oblasts
                uid = do_create_user(session, None, f"{role}@fuzz.example", PASSWORD, role, [],
                                     full_name=f"Fuzz {role}").id
            tokens[role] = issue_token(session, settings, uid)  # a live API session (tokens name one)
    return tokens


def seed_claims(url: str, token: str) -> None:
    from tests.factories import claim_body

    for _ in range(5):
        httpx.post(f"{url}/api/v1/claims", json=claim_body(), headers={"Authorization": f"Bearer {token}"}, timeout=30)


def count(ndjson: Path) -> tuple[int, collections.Counter, int]:
    """(requests, failures by check name, 5xx responses) from a schemathesis NDJSON events file."""
    requests, failures, errors5xx = 0, collections.Counter(), 0
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        scenario = event.get("ScenarioFinished")
        if not scenario:
            continue
        for case in (scenario.get("recorder") or {}).get("interactions", {}).values():
            requests += 1
            response = case.get("response") or {}
            if int(response.get("status_code") or 0) >= 500:
                errors5xx += 1
        for check_list in (scenario.get("recorder") or {}).get("checks", {}).values():
            for check in check_list:
                if str(check.get("status", "")).lower() == "failure":
                    failures[check.get("name", "?")] += 1
    return requests, failures, errors5xx


MATRIX_KEY = {"claimant": "citizen", "service": "officer"}  # the fuzz's accounts as the matrix names them


def wrong_2xx(ndjson: Path, role: str) -> collections.Counter:
    """2xx answers to `role` on operations the authorisation matrix refuses it, by operation (the fuzz's staff
    work in the seeded claims' oblast and its claimant filed them: the matrix's in-scope officer and own claimant)."""
    from tests.test_authorisation_matrix import MATRIX

    key, out = MATRIX_KEY.get(role, role), collections.Counter()
    for line in ndjson.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario.get("recorder") or {}
        method, _, path = str(recorder.get("label", "")).partition(" ")
        entry = MATRIX.get((method, path))
        if entry is None or entry.public or key in entry.allow:
            continue
        for case in (recorder.get("interactions") or {}).values():
            if 200 <= int((case.get("response") or {}).get("status_code") or 0) < 300:
                out[recorder["label"]] += 1
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--checks", default="all")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (reports, server log)")
    args = parser.parse_args()
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    tmp = Path(tempfile.mkdtemp(prefix="everymetre-fuzz-"))
    env = {"EVERYMETRE_DATABASE_URL": f"sqlite:///{tmp / 'fuzz.db'}", "EVERYMETRE_DATA_DIR": str(tmp / "data"),
           "EVERYMETRE_SECRET_KEY": "fuzz-secret-key-not-for-production-0123456789"}
    tokens = prepare(env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "everymetre", "serve", "--port", str(port)],
                              env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        seed_claims(url, tokens["claimant"])
        total_requests, total_failures, total_5xx, total_wrong = 0, collections.Counter(), 0, 0
        for role in args.roles.split(","):
            report = tmp / f"{role}.ndjson"
            t0 = time.perf_counter()
            subprocess.run([st, "run", f"{url}/openapi.json", "-H", f"Authorization: Bearer {tokens[role]}",
                            "--checks", args.checks, "-n", str(args.max_examples), "--report", "ndjson",
                            "--report-ndjson-path", str(report), "--no-color"],
                           stdout=(tmp / f"{role}.out").open("wb"), stderr=subprocess.STDOUT, check=False)
            requests, failures, errors5xx = count(report)
            wrong = wrong_2xx(report, role)
            total_requests += requests
            total_failures.update(failures)
            total_5xx += errors5xx
            total_wrong += sum(wrong.values())
            print(f"{role:>10}: {requests:6d} requests, {errors5xx} 5xx, {sum(wrong.values())} wrong 2xx"
                  f"{' ' + str(dict(wrong)) if wrong else ''}, {time.perf_counter() - t0:5.0f} s, "
                  f"failures: {dict(failures) or 'none'}", flush=True)
        print(f"{len(args.roles.split(','))} roles probed")
        print(f"{'total':>10}: {total_requests:6d} requests, {total_5xx} 5xx, {total_wrong} wrong 2xx, "
              f"failures: {dict(total_failures) or 'none'}")
        print(f"reports and server log: {tmp}" if args.keep else "")
        return 1 if total_5xx or total_wrong else 0
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
