"""`everymetre pay ...` and `everymetre ledger check`: payment batches, bank statements, deadlines, the ledger.

A batch takes two operators, one run each, so no single person (or script) releases money:

    everymetre pay batch --as BUILDER --out FILE    # build (or resume) BUILDER's batch; once approved: write, send
    everymetre pay approve BATCH --as APPROVER      # one officer's approval (above the limit: two, by two people)

`pay batch` runs the builder's steps — build or resume, then (once the batch is approved) write the pain.001
file and mark it sent — each in its own transaction and each idempotent, so after a crash at any point
running it again finishes the same batch and never puts a claim in two. EVERYMETRE_CRASH_AT=STEP kills the
process at that step (exit 9) for the crash tests: build-commit, build, approve (in `pay approve`),
export-written, export, sent-commit, sent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from everymetre.cli.common import engine, err, fail, out, require_schema, today_option
from everymetre.config import get_settings
from everymetre.kernel.errors import DomainError
from everymetre.rules.money import format_uah

pay_app = typer.Typer(help="Payments: batches to the bank (pain.001), statements back (camt.053), deadlines.",
                      no_args_is_help=True)
ledger_app = typer.Typer(help="The double-entry payments ledger.", no_args_is_help=True)


def crash_point(step: str) -> None:
    """Die here, without cleaning up, if EVERYMETRE_CRASH_AT names this step (for crash tests)."""
    if get_settings().crash_at == step:
        os._exit(9)


def _principal(session, email: str):
    from sqlalchemy import select

    from everymetre.accounts.actions import load_principal
    from everymetre.accounts.models import User

    uid = session.scalar(select(User.id).where(User.email == email.strip().lower()))
    principal = load_principal(session, uid) if uid is not None else None
    if principal is None:
        fail(f"--as {email}: no active account with that e-mail")
    return principal


@pay_app.command("batch")
def pay_batch(out_file: Annotated[Path, typer.Option("--out", help="Where to write the pain.001 XML file")],
              as_email: Annotated[str, typer.Option("--as", help="The payments officer building the batch (e-mail)")],
              today: Annotated[str | None, typer.Option(help="Requested execution date (YYYY-MM-DD); default today")] = None) -> None:
    """Collect approved, unpaid claims into your batch (or resume it); once another officer approved it
    (`pay approve`), write its pain.001 file and mark it sent."""
    from everymetre.payments import batches
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    if out_file.is_dir():
        fail(f"--out {out_file} is a directory; give a file name such as {out_file / 'batch.xml'}")
    if not out_file.parent.exists():
        fail(f"--out {out_file}: the directory {out_file.parent} does not exist")
    with session_factory(eng)() as session:
        try:
            who = _principal(session, as_email)
            report = batches.do_build_batch(session, who, today_option(today), checkpoint=crash_point)
            crash_point("build")
            batch = report.batch
            for reason, n in sorted(report.held.items()):
                err.print(f"held back: {n:,} claim(s) — {reason}", highlight=False)
            if batch is None:
                out.print("nothing to pay: no approved claim is waiting for payment")
                return
            if report.resumed:
                err.print(f"resuming batch {batch.id} ({batch.state}, {batch.count:,} payments, {format_uah(batch.total_kopiykas)})",
                          highlight=False)
            else:
                out.print(f"built batch {batch.id}: {batch.count:,} payments, {format_uah(batch.total_kopiykas)}")
            if batch.state == "built":
                two = batch.total_kopiykas > batches.second_approval_above()
                given = "1 of 2 approvals given" if batch.approved_by_id else ("2 approvals needed" if two else "1 approval needed")
                out.print(f"batch {batch.id} awaits approval ({given}): another payments officer runs "
                          f"`everymetre pay approve {batch.id} --as EMAIL`, then run this again to write and send it")
                return
            if batch.state in ("approved", "exported"):
                path = batches.do_export_batch(session, who, batch.id, out_file, checkpoint=crash_point)
                crash_point("export")
                batch = batches.do_mark_sent(session, who, batch.id, checkpoint=crash_point)
                crash_point("sent")
                out.print(f"wrote {path} (message {batch.message_id}); batch {batch.id} sent: "
                          f"{batch.count:,} payments, {format_uah(batch.total_kopiykas)}")
        except DomainError as exc:
            fail(exc.detail)


@pay_app.command("approve")
def pay_approve(batch_id: Annotated[int, typer.Argument(help="The batch's number (printed by `pay batch`)", min=1)],
                as_email: Annotated[str, typer.Option("--as", help="The approving payments officer (e-mail); not the builder")]) -> None:
    """Give one officer's approval to a built batch. At or below EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS one
    approval releases it; above, two different officers approve. The builder never gives the releasing one."""
    from everymetre.payments import batches
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            who = _principal(session, as_email)
            batch = batches.do_approve_batch(session, who, batch_id)
            crash_point("approve")
        except DomainError as exc:
            fail(exc.detail)
        if batch.state == "cancelled":
            out.print(f"batch {batch.id} cancelled: no payments left after withdrawing flagged claims")
        elif batch.state == "built":
            out.print(f"batch {batch.id}: your approval is recorded; it totals {format_uah(batch.total_kopiykas)}, above "
                      f"{format_uah(batches.second_approval_above())}, so a second, different payments officer must approve it")
        else:
            out.print(f"batch {batch.id} approved ({batch.count:,} payments, {format_uah(batch.total_kopiykas)}); "
                      "its builder's `everymetre pay batch` writes the file and sends it")


@pay_app.command("reconcile")
def pay_reconcile(statement: Annotated[Path, typer.Argument(help="A camt.053 bank statement (XML)")]) -> None:
    """Apply a bank statement: payments booked or rejected (with the bank's reason; rejected claims are owed
    again). Every entry is stored; one matching no payment (or disagreeing with it) waits in the payments
    exceptions queue, is printed on a line of its own, and the command exits 1. The same statement again
    records nothing (exit 0, saying so)."""
    from everymetre.accounts.actions import SYSTEM
    from everymetre.payments.reconcile import do_reconcile
    from everymetre.store.db import session_factory

    if not statement.is_file():
        fail(f"{statement}: no such file")
    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            report = do_reconcile(session, SYSTEM, statement.read_bytes())
        except DomainError as exc:
            fail(f"{statement}: {exc.detail}")
    if report.duplicate:
        out.print(f"statement {report.statement_id} was uploaded before (upload {report.upload_id}): nothing recorded again")
        return
    for line in report.open_lines:
        err.print(f"unmatched: {escape(line)}", highlight=False, soft_wrap=True)
    out.print(f"statement {report.statement_id} (upload {report.upload_id}): {report.booked:,} booked, {report.rejected:,} "
              f"rejected, {report.already:,} already applied, {report.ignored:,} not final, {len(report.open_lines):,} unmatched")
    if report.open_lines:
        raise typer.Exit(1)


@pay_app.command("sweep")
def pay_sweep(today: Annotated[str | None, typer.Option(help="Run as of this date (YYYY-MM-DD); default today")] = None) -> None:
    """Enforce deadlines: expire repair payouts whose final report is late (15 working days after the window) and close
    those of re-damaged homes, returning their unspent money; lapse 30-day reservations; expire certificates;
    redeem certificates whose seller was paid; confirm the certificates' funding queue while the fund lasts."""
    from everymetre.accounts.actions import SYSTEM
    from everymetre.payments.payouts import do_sweep
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            r = do_sweep(session, SYSTEM, today_option(today))
        except DomainError as exc:
            fail(exc.detail)
    out.print(f"repair payouts expired: {r.payouts_expired:,}, closed for a repeat damage: {r.payouts_redamaged:,} "
              f"({format_uah(r.returned_kopiykas)} returned); "
              f"reservations lapsed: {r.reservations_lapsed:,}; certificates expired: {r.certificates_expired:,} "
              f"({format_uah(r.released_kopiykas)} released); certificates redeemed: {r.certificates_redeemed:,}; "
              f"reservations confirmed: {r.reservations_confirmed:,}; escalated past the 5-working-day target: "
              f"{r.reservations_escalated:,}")


@pay_app.command("sync")
def pay_sync() -> None:
    """Post decided claims to the ledger that are not there yet (catch-up; `pay batch` does it too), and issue the
    housing certificates of approved destroyed-housing claims that have none."""
    from everymetre.accounts.actions import SYSTEM
    from everymetre.payments.ledger import do_sync_decisions
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        r = do_sync_decisions(session, SYSTEM)
    out.print(f"checked {r.checked:,} decided claims: {r.posted:,} posted ({format_uah(r.total_kopiykas)}), {r.revised:,} revised, "
              f"{r.certificates_issued:,} housing certificates issued")


@ledger_app.command("check")
def ledger_check() -> None:
    """Check the ledger: every transaction balances, no claim paid twice, sums match decisions. Exit 1 on any violation."""
    from everymetre.payments.ledger import ledger_violations
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        violations = ledger_violations(session)
    for v in violations:
        err.print(f"[bold red]VIOLATION[/] {escape(str(v))}", highlight=False, soft_wrap=True)
    if violations:
        err.print(f"[bold red]{len(violations):,} violation(s)[/]")
        raise typer.Exit(1)
    out.print("ledger consistent: every transaction balances, no claim paid twice, commitments match decisions")
