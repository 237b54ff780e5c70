"""What `serve` and `worker` do before they start: the production-mode gate, JSON logs, and the directory the
processes share their Prometheus counters through.

    from everymetre.ops.startup import prepare_worker
    prepare_worker(get_settings(), engine)      # first line of `everymetre worker`

Neither imports prometheus_client: PROMETHEUS_MULTIPROC_DIR must be set before it is first imported.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import Engine

from everymetre.config import Settings
from everymetre.ops.checks import Check, startup_gate
from everymetre.ops.logs import configure, get_logger

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID = re.compile(r"_(\d+)\.db$")


def metrics_dir(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "prometheus"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_metrics_dir(path: Path) -> int:
    """Remove the metric files of processes that are gone (a previous `serve`'s workers); keep the files of
    running processes (a worker started before this server). Returns how many were removed."""
    removed = 0
    for f in path.glob("*.db"):
        m = _PID.search(f.name)
        if m is None or not _alive(int(m.group(1))):
            f.unlink(missing_ok=True)
            removed += 1
    return removed


def use_metrics_dir(settings: Settings, clean: bool) -> Path:
    path = metrics_dir(settings)
    path.mkdir(parents=True, exist_ok=True)
    if clean:
        clean_metrics_dir(path)
    os.environ[MULTIPROC_ENV] = str(path)  # inherited by uvicorn's worker processes
    return path


def _prepare(component: str, settings: Settings, engine: Engine, clean: bool) -> list[Check]:
    configure(settings.log_format)
    log = get_logger("everymetre.startup")
    checks = startup_gate(component, settings, engine)  # exits 1 in production when a required check fails
    path = use_metrics_dir(settings, clean=clean)
    log.info("starting", component=component, mode=settings.env, metrics_dir=str(path))
    return checks


def prepare_serve(settings: Settings, engine: Engine) -> list[Check]:
    """Before `serve`: refuse in production if unsafe (warn in development), JSON logs, metrics dir cleaned."""
    return _prepare("serve", settings, engine, clean=True)


def prepare_worker(settings: Settings, engine: Engine) -> list[Check]:
    """Before `worker`: the same gate; its counters go to the same directory as the servers' (not cleaned)."""
    return _prepare("worker", settings, engine, clean=False)
