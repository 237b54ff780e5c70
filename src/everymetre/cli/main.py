"""The `everymetre` command. Errors print one line saying what and where, and exit non-zero."""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import Annotated, Any

import typer

from everymetre.cli.common import engine, out, require_schema
from everymetre.config import get_settings, private_dir

_HELP = "everymetre: war-damage housing compensation at national scale."
_base = typer.Typer(help=_HELP, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
_base.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision (default: every head)")] = "heads") -> None:
    """Create or upgrade the schema to the latest migration (safe to run again)."""
    from everymetre.store.migrate import upgrade

    eng = engine()
    upgrade(eng, revision)
    out.print(f"schema at {revision} on {eng.url.render_as_string(hide_password=True)}")


@_base.command()
def serve(host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
          workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
          threads: Annotated[int | None, typer.Option(min=1, max=256, help="Threads per worker for requests that use the database (default: EVERYMETRE_THREADS, else 4)")] = None) -> None:
    """Serve the API and pages (http://HOST:PORT)."""
    import uvicorn

    from everymetre.ops.startup import prepare_serve

    if threads is not None:  # the workers read their settings from the environment
        os.environ["EVERYMETRE_THREADS"] = str(threads)
        get_settings.cache_clear()

    eng = engine()
    require_schema(eng)
    private_dir(get_settings().data_dir)
    # the production gate: refuses in production, and in development prints each unsafe setting as a warning line
    # (demo accounts with their published password among them, every time)
    prepare_serve(get_settings(), eng)
    # no `server: uvicorn` header: which server we run is nobody's business
    uvicorn.run("everymetre.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, log_config=None, server_header=False,
                timeout_keep_alive=get_settings().keepalive_seconds,
                proxy_headers=bool(get_settings().forwarded_allow_ips),
                forwarded_allow_ips=get_settings().forwarded_allow_ips or None)


@cache
def _full_app() -> typer.Typer:
    """Every feature's commands, mounted on the base (db, serve) once; their imports take about a second."""
    from everymetre.accounts.cli import service_app, users_app
    from everymetre.audit.cli import audit_app
    from everymetre.claims.cli import claims_app, compute, rules_app
    from everymetre.demo.cli import demo
    from everymetre.importer.cli import import_app
    from everymetre.linkage.cli import link
    from everymetre.notifications.cli import notifications_app, worker
    from everymetre.ops.cli import doctor, restore_drill
    from everymetre.payments import repair_cli  # noqa: F401  (registers `pay card-transactions` on pay_app)
    from everymetre.payments.cli import ledger_app, pay_app
    from everymetre.programme.cli import programme_app
    from everymetre.transparency.cli import register as register_transparency

    _base.command()(demo)
    _base.add_typer(users_app, name="users")
    _base.add_typer(service_app, name="service-accounts")
    _base.add_typer(audit_app, name="audit")
    _base.add_typer(programme_app, name="programme")
    _base.add_typer(claims_app, name="claims")
    _base.command()(compute)
    _base.add_typer(rules_app, name="rules")
    _base.command("link")(link)
    _base.add_typer(import_app, name="import")
    _base.add_typer(pay_app, name="pay")
    _base.add_typer(ledger_app, name="ledger")
    _base.command()(doctor)
    _base.command("restore-drill")(restore_drill)
    register_transparency(_base)  # log, publish, export
    _base.command()(worker)
    _base.add_typer(notifications_app, name="notifications")
    return _base


def __getattr__(name: str) -> Any:
    # `from everymetre.cli.main import app` (tests, the console script of older installs): the whole command
    if name == "app":
        return _full_app()
    raise AttributeError(name)


def _link_only() -> typer.Typer:
    """`everymetre link` alone: the command imports only what linkage needs (see `main`)."""
    from everymetre.linkage.cli import link

    light = typer.Typer(help=_HELP, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
    light.command("link")(link)
    light.add_typer(db_app, name="db")  # two commands: typer keeps "link" a subcommand
    return light


def main() -> None:
    """The console entry point. `everymetre link` mounts only its own command: the imports of every other
    feature (the web app, the importer, payments ...) were about a second of each run, which on a small store
    is most of it."""
    if sys.argv[1:2] == ["link"]:
        _link_only()(prog_name="everymetre")
        return
    _full_app()(prog_name="everymetre")
