"""`everymetre users ...`: accounts for staff and claimants."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from everymetre.cli.common import engine, fail, out, require_schema
from everymetre.kernel.errors import DomainError

users_app = typer.Typer(help="Staff and claimant accounts.", no_args_is_help=True)


@users_app.command("add")
def users_add(email: Annotated[str, typer.Argument(help="Sign-in e-mail")],
              role: Annotated[str, typer.Option(help="claimant, officer, inspector, commission, payments, auditor, admin")],
              oblast: Annotated[list[str], typer.Option(help="Oblast the staff member works in (repeat for more)")] = [],  # noqa: B006
              name: Annotated[str, typer.Option(help="Full name")] = "",
              password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input")] = False) -> None:
    """Create an account. The password is read from standard input with --password-stdin."""
    from everymetre.accounts.actions import do_create_user
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
