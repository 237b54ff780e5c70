"""`everymetre doctor` (every production-mode check with its state, in both modes) and
`everymetre restore-drill` (back up, restore into a fresh database and folder, prove the copy)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from everymetre.config import get_settings
from everymetre.ops.checks import failures, run_checks

out = Console(soft_wrap=True, highlight=False)
STYLE = {"ok": "green", "FAIL": "bold red", "warn": "yellow"}


def _open_engine(url: str) -> Engine | None:
    from everymetre.store.db import engine_for

    try:
        eng = engine_for(url)
        with eng.connect():
            pass
    except Exception:
        return None
    return eng


def doctor() -> None:
    """Print every production check (signing key, store, public URL, metrics token, migrations, demo
    accounts) with its state. In production mode exit 1 if any required check fails."""
    settings = get_settings()
    checks = run_checks(settings, _open_engine(settings.database_url))
    out.print(f"everymetre doctor: {settings.env} mode (EVERYMETRE_ENV)")
    width = max(len(c.name) for c in checks)
    for c in checks:
        out.print(f"  [{STYLE[c.state]}]{c.state:<4}[/]  {c.name:<{width}}  {escape(c.detail)}")
    failed = failures(checks)
    if not failed:
        out.print("ready for production" if settings.production else "every required check passes")
        return
    if settings.production:
        out.print(f"[bold red]not ready for production:[/] {len(failed)} check(s) failed")
        raise typer.Exit(1)
    out.print(f"{len(failed)} check(s) would stop a production start (EVERYMETRE_ENV=production)")


def restore_drill(
        target_db: Annotated[str | None, typer.Option(help="Restore into this new database on the same server (default: <db>_restore_drill)")] = None,
        target_url: Annotated[str | None, typer.Option(help="Or into this database URL (must not exist yet)")] = None,
        work: Annotated[Path, typer.Option(help="Folder for the checkpoint, the dump, the evidence tar and the restored folder")] = Path("./restore-drill"),
        keep: Annotated[bool, typer.Option("--keep", help="Keep the restored database (default: dropped after the proof)")] = False) -> None:
    """Back up the PostgreSQL store and the evidence folder, restore both into a fresh database and folder, and
    prove the copy: audit verify against a checkpoint taken before the dump, ledger check, rules recheck and
    every evidence file's SHA-256. Exit 0 when every proof holds, 1 naming the first that does not."""
    from everymetre.ops.drill import DrillFailed, sibling_url
    from everymetre.ops.drill import restore_drill as drill

    settings = get_settings()
    if target_db and target_url:
        _fail("give --target-db or --target-url, not both")
    url = sibling_url(settings.database_url, target_db) if target_db else target_url
    try:
        report = drill(settings.database_url, settings.evidence_dir, work, url, keep=keep,
                       say=lambda line: out.print(f"  [green]ok[/]  {escape(line)}"))
    except DrillFailed as exc:
        _fail(str(exc), 1)
    except OSError as exc:
        _fail(f"{exc.filename or 'the drill'}: {exc.strerror}", 1)
    out.print(f"restore drill passed: {len(report.steps)} steps")


def _fail(message: str, code: int = 2) -> None:
    Console(stderr=True, soft_wrap=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)
