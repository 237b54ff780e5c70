"""`everymetre pay card-transactions FILE`: the bank's file of what the owners spent from their special accounts
(format: docs/card-transactions.md; `payments.card_transactions`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from everymetre.cli.common import engine, fail, out, require_schema
from everymetre.kernel.errors import DomainError
from everymetre.payments.cli import _principal, pay_app
from everymetre.rules.money import format_uah


@pay_app.command("card-transactions")
def pay_card_transactions(
    file: Annotated[Path, typer.Argument(help="The bank's CSV: transaction_id,account,date,amount,mcc,merchant")],
    as_email: Annotated[str | None, typer.Option("--as", help="The payments officer applying it (e-mail); default the system")] = None,
    rejects: Annotated[Path | None, typer.Option(help="Where to write rejected rows (default: FILE-STEM.rejects.csv next "
                                                      "to FILE, when there are any)")] = None,
) -> None:
    """Apply the bank's card-transaction file: spending in the counted merchant categories (5211, 5231, 1520) grows
    the payouts' spent amounts; other rows are recorded as not counted; bad rows go to the rejects file (line,
    transaction id, reason). Running the same file again changes nothing. Exit 0 when it ran (even with rejects)."""
    from everymetre.accounts.actions import SYSTEM
    from everymetre.payments.card_transactions import do_import_card_transactions, write_rejects
    from everymetre.store.db import session_factory

    if not file.is_file():
        fail(f"{file}: no such file")
    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        principal = _principal(session, as_email) if as_email else SYSTEM
        try:
            r = do_import_card_transactions(session, principal, file.read_bytes(), file.name)
        except DomainError as exc:
            fail(f"{file}: {exc.detail}")
    out.print(f"{r.rows:,} rows: {r.counted:,} counted ({format_uah(r.counted_kopiykas)}) on {r.payouts:,} payouts, "
              f"{r.refused:,} not counted, {r.already:,} seen before, {r.rejected:,} rejected "
              f"({r.seconds['total']:.1f} s)", highlight=False)
    if r.rejects:
        path = rejects or file.with_name(f"{file.stem}.rejects.csv")
        with path.open("w", encoding="utf-8", newline="") as fh:
            write_rejects(r.rejects, fh)
        out.print(f"rejected rows: {path}", highlight=False)
