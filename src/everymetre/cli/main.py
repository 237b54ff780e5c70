"""The `everymetre` command. Errors print one line saying what and where, and exit non-zero."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from everymetre.accounts.cli import service_app, users_app
from everymetre.audit.cli import audit_app
from everymetre.claims.cli import claims_app, compute, rules_app
from everymetre.cli.common import engine, out, require_schema
from everymetre.config import get_settings, private_dir
from everymetre.demo.cli import demo
from everymetre.importer.cli import import_app
from everymetre.linkage.cli import link
from everymetre.notifications.cli import notifications_app, worker
from everymetre.ops.cli import doctor, restore_drill
from everymetre.payments import repair_cli  # noqa: F401  (registers `pay card-transactions` on pay_app)
from everymetre.payments.cli import ledger_app, pay_app
from everymetre.programme.cli import programme_app
from everymetre.transparency.cli import register as register_transparency

app = typer.Typer(help="everymetre: war-damage housing compensation at national scale.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


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


# The features' commands, mounted here and defined in their packages.
app.command()(demo)
app.add_typer(users_app, name="users")
app.add_typer(service_app, name="service-accounts")
app.add_typer(audit_app, name="audit")
app.add_typer(programme_app, name="programme")
app.add_typer(claims_app, name="claims")
app.command()(compute)
app.add_typer(rules_app, name="rules")
app.command("link")(link)
app.add_typer(import_app, name="import")
app.add_typer(pay_app, name="pay")
app.add_typer(ledger_app, name="ledger")
app.command()(doctor)
app.command("restore-drill")(restore_drill)
register_transparency(app)  # log, publish, export
app.command()(worker)
app.add_typer(notifications_app, name="notifications")


def main() -> None:
    app()
