"""`everymetre compute` and `everymetre rules ...`: assessing claims, rechecking decisions, what-if budgets."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from everymetre.claims.lifecycle import COUNTS_FOR_BUDGET
from everymetre.cli.common import engine, err, fail, out, progress, require_schema, today_option

claims_app = typer.Typer(help="Claims: deadlines the system enforces.", no_args_is_help=True)
rules_app = typer.Typer(help="Compensation rules: recheck past decisions, simulate policy changes.", no_args_is_help=True)

# claims whose money is still to come or already decided: what a budget counts
BUDGET_STATES = sorted(s.value for s in COUNTS_FOR_BUDGET)


def compute(today: Annotated[str | None, typer.Option(help="Assess as of this date (YYYY-MM-DD); default today")] = None) -> None:
    """Assess every inspected or remotely verified claim (vectorised rules), moving it to 'assessed'."""
    from everymetre.claims.assessment import do_compute

    on = today_option(today) or datetime.now(UTC).date()
    eng = engine()
    require_schema(eng)
    with progress() as bar:
        task = bar.add_task("assessing claims", total=None)
        report = do_compute(eng, on=on, progress=lambda n: bar.advance(task, n), total=lambda n: bar.update(task, total=n))
    out.print(f"assessed {report.assessed:,} claims; {report.eligible:,} eligible; "
              f"total UAH {report.total_kopiykas / 100:,.2f}")


@rules_app.command("recheck")
def recheck() -> None:
    """Recompute every past decision with the rule set it was made under; exit 1 if any would differ."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from everymetre.claims.assessment import recheck_decisions
    from everymetre.claims.models import Decision

    eng = engine()
    require_schema(eng)
    differing = 0
    with Session(eng) as session, progress() as bar:
        total = session.scalar(select(func.count()).select_from(Decision).where(Decision.ruleset_hash.is_not(None)))
        task = bar.add_task("rechecking decisions", total=total)
        for _, finding in recheck_decisions(session):
            bar.advance(task)
            if finding:
                differing += 1
                err.print(f"decision {finding.decision_id} (claim id {finding.claim_id}) would differ: "
                          + "; ".join(f"{k}: {a} -> {b}" for k, (a, b) in finding.differences.items()), highlight=False)
    if differing:
        err.print(f"[bold red]{differing} decision(s) would differ[/]")
        raise typer.Exit(1)
    out.print(f"all {total:,} decisions recompute to the same result")


@rules_app.command("simulate")
def simulate(
    set_: Annotated[list[str], typer.Option("--set", help="NAME=VALUE, e.g. certificate.vavg_per_m2=40000 (repeatable)")],
    from_: Annotated[str | None, typer.Option("--from", help="The change takes effect on this date (YYYY-MM-DD)")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write the table as CSV here")] = None,
    today: Annotated[str | None, typer.Option(help="Assess as of this date; default today")] = None,
) -> None:
    """Recompute all claims under changed parameters; print the budget change in total, by oblast and payout."""
    from sqlalchemy.orm import Session

    from everymetre.claims.assessment import FACT_COLUMNS, claims_frame, current_ruleset
    from everymetre.rules import OverrideError, ParameterError, parse_effective_from, parse_overrides, simulate_budget

    base = current_ruleset()
    try:
        overrides = parse_overrides(set_, base)
        changed = base.with_overrides(overrides, effective_from=parse_effective_from(from_) if from_ else None)
    except (OverrideError, ParameterError, ValueError) as exc:
        fail(f"--set: {exc}")
    on = today_option(today) or datetime.now(UTC).date()
    eng = engine()
    require_schema(eng)
    with Session(eng) as session, err.status("reading claims"):
        frame = claims_frame(session, BUDGET_STATES, on, need_act=False)
    with err.status(f"assessing {frame.height:,} claims twice"):
        change = simulate_budget(frame.select(FACT_COLUMNS), base, changed)
    table = Table(title=f"Budget change: {', '.join(set_)}" + (f" from {from_}" if from_ else ""))
    for col in ("oblast", "payout", "claims", "before, UAH", "after, UAH", "change, UAH"):
        table.add_column(col, justify="right" if col not in ("oblast", "payout") else "left")
    rows = []
    for g in change.by_group.iter_rows(named=True):
        row = [g["oblast"], g["payout_kind"], g["claims"], g["base_kopiykas"], g["changed_kopiykas"], g["delta_kopiykas"]]
        rows.append(row)
        table.add_row(*[str(v) for v in row[:3]], *[f"{v / 100:,.2f}" for v in row[3:]])
    table.add_row("total", "", f"{change.claims:,}", f"{change.base_kopiykas / 100:,.2f}",
                  f"{change.changed_kopiykas / 100:,.2f}", f"{change.delta_kopiykas / 100:+,.2f}", style="bold")
    out.print(table)
    if csv_out:
        with csv_out.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["oblast", "payout_kind", "claims", "base_kopiykas", "changed_kopiykas", "delta_kopiykas"])
            w.writerows(rows)
            w.writerow(["total", "", change.claims, change.base_kopiykas, change.changed_kopiykas, change.delta_kopiykas])
        out.print(f"written {csv_out}")


@claims_app.command("sweep")
def claims_sweep(today: Annotated[str | None, typer.Option(help="Act as if today were this date (YYYY-MM-DD)")] = None) -> None:
    """Suspensions whose deadline for documents has passed go back to their officer (run daily)."""
    from everymetre.claims.actions import do_lapse_suspensions
    from everymetre.store.db import session_factory

    on = today_option(today)
    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        moved = do_lapse_suspensions(session, on)
    out.print(f"{len(moved):,} suspension(s) lapsed and went back to the officer" + (f": {', '.join(moved[:20])}" if moved else ""))
