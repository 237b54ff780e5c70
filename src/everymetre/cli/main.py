"""The `everymetre` command. Errors print one line saying what and where, and exit non-zero."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from everymetre.config import get_settings
from everymetre.domain.errors import DomainError

app = typer.Typer(help="everymetre: war-damage housing compensation at national scale.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Staff and claimant accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
claims_app = typer.Typer(help="Claims: deadlines the system enforces.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(claims_app, name="claims")

err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 2) -> None:
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
    return None


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err, transient=False)


def engine():  # noqa: ANN201
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


def require_schema(eng) -> None:  # noqa: ANN001
    from everymetre.store.migrate import is_current

    if not is_current(eng):
        fail("the database has no everymetre schema yet: run `everymetre db upgrade` first")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision (default: every head)")] = "heads") -> None:
    """Create or upgrade the schema to the latest migration (safe to run again)."""
    from everymetre.store.migrate import upgrade

    eng = engine()
    upgrade(eng, revision)
    out.print(f"schema at {revision} on {eng.url.render_as_string(hide_password=True)}")


@app.command()
def serve(host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
          workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
          threads: Annotated[int | None, typer.Option(min=1, max=256, help="Threads per worker for requests that use the database (default: EVERYMETRE_THREADS, else 4)")] = None) -> None:
    """Serve the API and pages (http://HOST:PORT)."""
    import uvicorn

    if threads is not None:  # the workers read their settings from the environment
        os.environ["EVERYMETRE_THREADS"] = str(threads)
        get_settings.cache_clear()

    require_schema(engine())
    uvicorn.run("everymetre.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)


@app.command()
def demo(claims: Annotated[int, typer.Option("--claims", min=0, help="How many synthetic claims to write")] = 1000,
         seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 2022,
         if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the database has claims")] = False,
         with_fraud: Annotated[bool, typer.Option("--with-fraud", help="Imported claims with injected duplicates and fraud patterns; ground truth to DATA_DIR/demo-truth.parquet")] = False) -> None:
    """Write realistic synthetic claims, demo staff accounts and their audit trails."""
    from everymetre.demo.generate import DEMO_PASSWORD, DEMO_STAFF, ensure_demo_users, generate, has_claims

    eng = engine()
    require_schema(eng)
    if if_empty and has_claims(eng):
        out.print("the database already has claims; demo data not loaded")
        ensure_demo_users(eng)
    elif with_fraud:
        from everymetre.cli.link import demo_with_fraud
        return demo_with_fraud(eng, claims, seed)
    else:
        with progress() as bar:
            task = bar.add_task("writing claims", total=claims)
            generate(eng, claims, seed=seed, on_progress=lambda n: bar.advance(task, n))
        out.print(f"wrote {claims:,} claims")
    out.print(f"Demo sign-ins (password [bold]{DEMO_PASSWORD}[/]):")
    for email, role, _ in DEMO_STAFF:
        out.print(f"  {role:<10} {email}")


@users_app.command("add")
def users_add(email: Annotated[str, typer.Argument(help="Sign-in e-mail")],
              role: Annotated[str, typer.Option(help="claimant, officer, inspector, commission, payments, auditor, admin")],
              oblast: Annotated[list[str], typer.Option(help="Oblast the staff member works in (repeat for more)")] = [],  # noqa: B006
              name: Annotated[str, typer.Option(help="Full name")] = "",
              password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input")] = False) -> None:
    """Create an account. The password is read from standard input with --password-stdin."""
    from everymetre.services.users import do_create_user
    from everymetre.store.db import session_factory

    if not password_stdin:
        fail("give the password on standard input with --password-stdin (it is never taken as an argument)")
    password = sys.stdin.readline().rstrip("\r\n")
    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            user = do_create_user(session, None, email, password, role, oblast, full_name=name)
        except DomainError as exc:
            fail(f"{email}: {exc.detail}")
    scope = "all oblasts" if role in ("auditor", "admin") else ", ".join(sorted(user.oblast_codes))
    out.print(f"created {user.email} ({role}){' for ' + scope if scope else ''}")


@audit_app.command("verify")
def audit_verify(checkpoint: Annotated[Path | None, typer.Option(
        help="Also check the trail against a checkpoint published earlier (`everymetre audit checkpoint`)")] = None) -> None:
    """Recompute every audit chain. Exit 0 if intact; exit 1 naming the first broken event."""
    from everymetre.services.audit import checkpoint_problem, count_chains, verify
    from everymetre.store.db import session_factory

    published = _read_checkpoint(checkpoint) if checkpoint else None
    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session, progress() as bar:
        task = bar.add_task("verifying chains", total=count_chains(session))
        report = verify(session, progress=lambda n: bar.advance(task, n))
        if report.problem is None and published is not None:
            report.problem = checkpoint_problem(session, published)
    if report.problem:
        err.print(f"[bold red]TAMPERED:[/] {report.problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    out.print(f"intact: {report.chains:,} chains, {report.events:,} events"
              + (f"; matches the checkpoint of {published['at']}" if published else ""))


@claims_app.command("sweep")
def claims_sweep(today: Annotated[str | None, typer.Option(help="Act as if today were this date (YYYY-MM-DD)")] = None) -> None:
    """Suspensions whose deadline for documents has passed go back to their officer (run daily)."""
    from everymetre.services.claims import do_lapse_suspensions
    from everymetre.store.db import session_factory

    on = today_option(today)
    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        moved = do_lapse_suspensions(session, on)
    out.print(f"{len(moved):,} suspension(s) lapsed and went back to the officer" + (f": {', '.join(moved[:20])}" if moved else ""))


@audit_app.command("checkpoint")
def audit_checkpoint(out_file: Annotated[Path, typer.Option("--out", help="Write the checkpoint (JSON) here")]) -> None:
    """Record every chain's head and one digest over them: publish it outside the database, and later
    `audit verify --checkpoint FILE` proves no history before it was rewritten, even with hashes recomputed."""
    import json

    from everymetre.services.audit import checkpoint
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        cp = checkpoint(session)
    try:
        out_file.write_text(json.dumps(cp))
    except OSError as exc:
        fail(f"--out {out_file}: {exc.strerror}")
    out.print(f"checkpoint of {cp['chains']:,} chains written to {out_file}; digest {cp['digest']}")


def _read_checkpoint(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except OSError as exc:
        fail(f"--checkpoint {path}: {exc.strerror}")
    except ValueError:
        fail(f"--checkpoint {path}: not a JSON checkpoint file")


# Sub-commands in their own modules; they import the helpers above, so they are registered last.
from everymetre.cli.rules import compute, rules_app  # noqa: E402

app.command()(compute)
app.add_typer(rules_app, name="rules")


from everymetre.cli.link import link as _link  # noqa: E402
app.command("link")(_link)
from everymetre.cli.importer import import_app  # noqa: E402
app.add_typer(import_app, name="import")

from everymetre.cli.pay import ledger_app, pay_app  # noqa: E402
app.add_typer(pay_app, name="pay")
app.add_typer(ledger_app, name="ledger")
from everymetre.transparency.cli import register as _transparency  # noqa: E402  (log, publish, export)
_transparency(app)



def main() -> None:
    app()
