"""`everymetre programme ...`: the programme settings kept in the store (the same action as the admin page)."""

from __future__ import annotations

from typing import Annotated

import typer

from everymetre.cli.common import engine, fail, out, require_schema
from everymetre.kernel.errors import DomainError

programme_app = typer.Typer(help="Programme settings kept in the store (evidence rules, ...).", no_args_is_help=True)


@programme_app.command("show")
def show() -> None:
    """Every setting: its value now, and the deployment's default (config.py, EVERYMETRE_*)."""
    from everymetre.programme import settings as programme
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        now, defaults = programme.effective(session), programme.defaults()
    for key in programme.SPECS:
        note = "" if now[key] == defaults[key] else f"  (default {defaults[key]})"
        out.print(f"{key:28} {now[key]}{note}", highlight=False)


@programme_app.command("set")
def set_(key: Annotated[str, typer.Argument(help="The setting's name (see `everymetre programme show`)")],
         value: Annotated[str, typer.Argument(help="Its new value (a whole number)")]) -> None:
    """Change one setting (audited on the `programme` chain); it applies at once."""
    from everymetre.programme import settings as programme
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            changed = programme.do_set_setting(session, None, key, value)
        except DomainError as exc:
            fail(f"{key}: {exc.detail}")
    out.print(f"{key} = {value.strip()}" + ("" if changed else " (unchanged)"), highlight=False)
