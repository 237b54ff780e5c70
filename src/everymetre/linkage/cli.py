"""`everymetre link`: run record linkage over the whole store and put suspicious claims in review."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer


def _writable(path: Path | None, option: str) -> None:
    from everymetre.cli.common import fail

    if path is None:
        return
    parent = path.expanduser().resolve().parent
    if not parent.is_dir():
        fail(f"{option} {path}: the folder {parent} does not exist")
    if path.exists() and path.is_dir():
        fail(f"{option} {path}: is a folder, give a file name")


def link(
    pairs_out: Annotated[Path | None, typer.Option("--pairs-out", help="Write every scored person pair at or above "
                                                   "the threshold (source record ids, probability, agreeing fields) to this CSV")] = None,
    findings_out: Annotated[Path | None, typer.Option("--findings-out", help="Write this run's findings to this CSV")] = None,
    retrain: Annotated[bool, typer.Option("--retrain", help="Train the person model again on the store and save it")] = False,
    threshold: Annotated[float | None, typer.Option("--threshold", min=0.0, max=1.0,
                                                    help="Match probability at or above which two records are one person (default: the programme setting linkage_match_percent, else EVERYMETRE_LINKAGE_MATCH_PERCENT or 90 %)")] = None,
    flag_score: Annotated[float | None, typer.Option("--flag-score", min=0.0, max=1.0,
                                                     help="Findings scoring at least this put their claims in review "
                                                          "(default: the programme setting linkage_flag_percent, else "
                                                          "EVERYMETRE_LINKAGE_FLAG_SCORE or 0.6)")] = None,
) -> None:
    """Link people and homes across every claim; record findings; flag their claims for review."""
    from rich.table import Table

    from everymetre.cli.common import engine, err, fail, out, require_schema
    from everymetre.config import get_settings
    from everymetre.linkage.service import LinkageError, run_linkage, write_pairs_csv

    _writable(pairs_out, "--pairs-out")
    _writable(findings_out, "--findings-out")
    eng = engine()
    require_schema(eng)
    from sqlalchemy import inspect

    if not inspect(eng).has_table("linkage_findings"):
        fail("the database has no linkage tables yet: run `everymetre db upgrade` first")
    # Splink resets its own logger's level per model; its training notes on small stores are noise here
    for name in ("splink.internals.expectation_maximisation", "splink.internals.em_training_session",
                 "splink.internals.blocking", "splink.internals.em_sampling"):
        logging.getLogger(name).setLevel(logging.ERROR)
    labels = {"extract": "reading claims", "decisions": "reading reviewers' decisions",
              "train and link": "training the person model and linking", "link": "linking people and homes",
              "findings": "writing findings and review flags"}
    with err.status("starting", spinner="dots") as status:
        def on_phase(name: str, seconds: float | None) -> None:
            if seconds is None:
                status.update(labels.get(name, name) + " ...")
            else:
                err.print(f"[green]✓[/] {labels.get(name, name)} [dim]{seconds:.1f} s[/]", highlight=False)

        try:
            report = run_linkage(eng, get_settings().data_dir, threshold=threshold, flag_score=flag_score,
                                 retrain=retrain, on_phase=on_phase)
        except LinkageError as exc:
            fail(str(exc), 1)
    assert report.pairs_frame is not None and report.findings_frame is not None
    if pairs_out is not None:
        n = write_pairs_csv(report.pairs_frame, pairs_out)
        out.print(f"wrote {n:,} pairs to {pairs_out}", highlight=False)
    if findings_out is not None:
        from everymetre.linkage import LinkageResult

        n = LinkageResult(clusters=None, pairs=None, findings=report.findings_frame,
                          threshold=report.threshold).findings_to_csv(findings_out)
        out.print(f"wrote {n:,} findings to {findings_out}", highlight=False)
    table = Table(title=f"linkage run {report.run_id}: {report.records:,} records in {report.claims:,} claims, "
                        f"{report.pairs:,} person pairs >= {report.threshold}", title_justify="left")
    table.add_column("finding kind")
    table.add_column("findings", justify="right")
    for kind, n in sorted(report.by_kind.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(kind, f"{n:,}")
    table.add_row("[bold]all[/]", f"[bold]{report.current_findings:,}[/]")
    out.print(table)
    model = "trained and saved to" if report.trained else "loaded from"
    out.print(f"model {model} {report.model_path}; {report.decisions:,} reviewer decisions applied", highlight=False)
    out.print(f"findings: {report.new_findings:,} new; claims in review (score >= {report.flag_score}): "
              f"{report.flagged_claims:,} ({report.flagged:,} newly flagged, {report.cleared:,} cleared)", highlight=False)
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items() if not k.startswith("link."))
    out.print(f"timings: {phases}", highlight=False)


def demo_with_fraud(eng, claims: int, seed: int) -> None:
    """`everymetre demo --with-fraud`: demo staff, then synthetic claims with injected patterns and their truth."""
    from everymetre.cli.common import out, progress
    from everymetre.config import get_settings
    from everymetre.demo.fraud import load_fraud_population
    from everymetre.demo.generate import DEMO_PASSWORD, ensure_demo_users

    ensure_demo_users(eng)
    with progress() as bar:
        task = bar.add_task("writing claims with fraud patterns", total=claims)
        result = load_fraud_population(eng, claims, seed=seed, data_dir=get_settings().data_dir,
                                       on_progress=lambda n: bar.advance(task, n))
    injected = ", ".join(f"{k} {v:,}" for k, v in sorted(result.injected.items()))
    out.print(f"wrote {result.claims:,} claims (injected: {injected or 'none'}); ground truth in {result.truth_path}",
              highlight=False)
    out.print(f"run `everymetre link` to find them. Demo sign-ins use the password [bold]{DEMO_PASSWORD}[/].")
