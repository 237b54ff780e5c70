"""Settings read from the environment, in one place.

EVERYMETRE_DATABASE_URL  SQLAlchemy URL (default sqlite:///./everymetre.db)
EVERYMETRE_DATA_DIR      evidence files and the generated secret key (default ./data)
EVERYMETRE_SECRET_KEY    signs API tokens and page sessions (default: generated once into DATA_DIR/secret.key)
EVERYMETRE_THREADS       threads per server worker for requests that use the database (default 4)
EVERYMETRE_PHOTOS_CLOSEUP_REQUIRED / EVERYMETRE_PHOTOS_WIDE_REQUIRED  photos needed to submit (default 1 each)
EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS  payment batches above this total need two approvals (default 100000000)
EVERYMETRE_PAYER_IBAN / EVERYMETRE_PAYER_NAME  the programme's paying account in pain.001 files (a demo account)
EVERYMETRE_CRASH_AT      crash tests only: `pay` commands die at this step (see payments.cli)
EVERYMETRE_ENV           development (default) or production: production refuses to start when unsafe (ops.checks)
EVERYMETRE_PUBLIC_URL    the https address citizens use (e.g. https://everymetre.example.gov.ua)
EVERYMETRE_METRICS_TOKEN bearer token an operator's Prometheus sends to /metrics (unset: /metrics is 404)
EVERYMETRE_LOG_FORMAT    json (default) or console: how log lines are written
EVERYMETRE_LOG_SIGNING_KEY  the public log's Ed25519 private key, base64 of its 32-byte seed (default: generated
                         once into DATA_DIR/log-signing.key)
EVERYMETRE_LOG_ORIGIN    the public log's name, the first line of every signed tree head (default everymetre/log)
EVERYMETRE_PUBLIC_MIN_COUNT  published statistics suppress any cell counting fewer people than this (default 10)
EVERYMETRE_PUBLIC_CACHE_SECONDS  the public pages reuse computed statistics this long per worker (default 300)
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./everymetre.db"
    data_dir: Path = Path("./data")
    secret_key: str | None = None
    token_minutes: int = 8 * 60
    # Requests that use the database run in a thread pool. Few threads per worker: requests hold the GIL most
    # of their time, and more threads only contend for it (bench/intake.py prints the CPU per request; anyio's
    # default of 40 measured more per submission). Raise it when requests wait on slow I/O rather than compute.
    threads: int = 4
    # programme policy, configurable because the law does not fix it (docs/domain.md)
    suspension_default_days: int = 30
    suspension_max_days: int = 90
    appeal_window_days: int = 60
    decision_due_days: int = 30
    evidence_max_bytes: int = 20 * 1024 * 1024
    idempotency_hours: int = 24  # how long the first result of an Idempotency-Key is replayed
    # photos the law asks for before a claim can be submitted (Resolution 380: close-up and wide views)
    photos_closeup_required: int = 1
    photos_wide_required: int = 1
    # tests only: the importer exits (os._exit) after committing this many batches, to prove a crash loses nothing
    crash_after_batches: int = 0
    # payments
    second_approval_above_kopiykas: int = 100_000_000  # UAH 1,000,000.00
    payer_iban: str | None = None  # None: a demo account (payments.batches.debtor_account)
    payer_name: str = "eRecovery programme account"
    crash_at: str | None = None  # crash tests: the step at which `pay` commands kill themselves
    # operations (ops/): production mode, the public address, the metrics token, log format
    env: str = "development"
    public_url: str | None = None
    metrics_token: str | None = None
    log_format: str = "json"

    @property
    def production(self) -> bool:
        return self.env == "production"
    # the public transparency log and open statistics (everymetre.transparency)
    log_signing_key: str | None = None
    log_origin: str = "everymetre/log"
    public_min_count: int = 10
    public_cache_seconds: int = 300

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @property
    def log_key_file(self) -> Path:
        return self.data_dir / "log-signing.key"

    def signing_key(self) -> str:
        return self.secret_key or _key_file(self.data_dir.resolve())


@lru_cache(maxsize=8)
def _key_file(data_dir: Path) -> str:
    """The generated signing key in DATA_DIR/secret.key (created once; read once per process)."""
    path = data_dir / "secret.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: when several workers start at once, exactly one writes the key and all read it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    for _ in range(100):  # another worker may have created the file and not yet written it
        if key := path.read_text().strip():
            return key
        time.sleep(0.01)
    raise SystemExit(f"error: {path} is empty; delete it or set EVERYMETRE_SECRET_KEY")


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"error: {name}={raw!r} is not a whole number") from None


def _choice_env(name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first is the default); anything else exits with a message."""
    raw = (os.environ.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise SystemExit(f"error: {name}={raw!r} is not one of {', '.join(choices)}")
    return raw


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("EVERYMETRE_DATABASE_URL") or "sqlite:///./everymetre.db",
        data_dir=Path(os.environ.get("EVERYMETRE_DATA_DIR") or "./data"),
        secret_key=os.environ.get("EVERYMETRE_SECRET_KEY") or None,
        threads=max(1, _int_env("EVERYMETRE_THREADS", 4)),
        suspension_default_days=_int_env("EVERYMETRE_SUSPENSION_DAYS", 30),
        suspension_max_days=_int_env("EVERYMETRE_SUSPENSION_MAX_DAYS", 90),
        appeal_window_days=_int_env("EVERYMETRE_APPEAL_DAYS", 60),
        crash_after_batches=_int_env("EVERYMETRE_CRASH_AFTER_BATCHES", 0),
        photos_closeup_required=max(0, _int_env("EVERYMETRE_PHOTOS_CLOSEUP_REQUIRED", 1)),
        photos_wide_required=max(0, _int_env("EVERYMETRE_PHOTOS_WIDE_REQUIRED", 1)),
        second_approval_above_kopiykas=_int_env("EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS", 100_000_000),
        payer_iban=os.environ.get("EVERYMETRE_PAYER_IBAN") or None,
        payer_name=os.environ.get("EVERYMETRE_PAYER_NAME") or "eRecovery programme account",
        crash_at=os.environ.get("EVERYMETRE_CRASH_AT") or None,
        env=_choice_env("EVERYMETRE_ENV", ("development", "production")),
        public_url=os.environ.get("EVERYMETRE_PUBLIC_URL") or None,
        metrics_token=os.environ.get("EVERYMETRE_METRICS_TOKEN") or None,
        log_format=_choice_env("EVERYMETRE_LOG_FORMAT", ("json", "console")),
        log_signing_key=os.environ.get("EVERYMETRE_LOG_SIGNING_KEY") or None,
        log_origin=os.environ.get("EVERYMETRE_LOG_ORIGIN") or "everymetre/log",
        public_min_count=max(1, _int_env("EVERYMETRE_PUBLIC_MIN_COUNT", 10)),
        public_cache_seconds=max(0, _int_env("EVERYMETRE_PUBLIC_CACHE_SECONDS", 300)),
    )
