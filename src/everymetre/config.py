"""Settings read from the environment, in one place.

EVERYMETRE_DATABASE_URL  SQLAlchemy URL (default sqlite:///./everymetre.db)
EVERYMETRE_DATA_DIR      evidence files and the generated secret key (default ./data)
EVERYMETRE_SECRET_KEY    signs API tokens and page sessions (default: generated once into DATA_DIR/secret.key)
EVERYMETRE_THREADS       threads per server worker for requests that use the database (default 4)
EVERYMETRE_PHOTOS_CLOSEUP_REQUIRED / EVERYMETRE_PHOTOS_WIDE_REQUIRED  photos needed to submit (default 1 each)
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

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

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
    )
