"""What every command shares: one-line errors with an exit code, the --today option, progress bars, the
store (opened with a clear message when it cannot be), and the check that the schema exists."""

from __future__ import annotations

from datetime import date
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from everymetre.config import get_settings

err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def today_option(text: str | None) -> date | None:
    """The value of a `--today YYYY-MM-DD` option (None when not given); a bad date exits with a message."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--today: {text!r} is not a date like 2026-11-27")


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err, transient=False)


def engine() -> Any:
    from sqlalchemy.exc import ArgumentError, OperationalError

    from everymetre.store.db import engine_for

    url = get_settings().database_url
    try:
        eng = engine_for(url)
        with eng.connect():
            pass
        return eng
    except ArgumentError:
        fail(f"EVERYMETRE_DATABASE_URL={url!r} is not a database URL (e.g. sqlite:///./everymetre.db)")
    except OperationalError as exc:
        fail(f"cannot open the database at EVERYMETRE_DATABASE_URL ({url}): {str(exc.orig).strip().splitlines()[0]}")


def require_schema(eng: Any) -> None:
    from everymetre.store.migrate import is_current

    if not is_current(eng):
        fail("the database has no everymetre schema yet: run `everymetre db upgrade` first")
