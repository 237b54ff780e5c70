"""`everymetre audit ...`: verify the tamper-evident trail and publish checkpoints of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from everymetre.cli.common import engine, err, fail, out, progress, require_schema

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(checkpoint: Annotated[Path | None, typer.Option(
        help="Also check the trail against a checkpoint published earlier (`everymetre audit checkpoint`)")] = None) -> None:
    """Recompute every audit chain. Exit 0 if intact; exit 1 naming the first broken event."""
    from everymetre.audit.verify import checkpoint_problem, count_chains, verify
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


@audit_app.command("checkpoint")
def audit_checkpoint(out_file: Annotated[Path, typer.Option("--out", help="Write the checkpoint (JSON) here")]) -> None:
    """Record every chain's head and one digest over them: publish it outside the database, and later
    `audit verify --checkpoint FILE` proves no history before it was rewritten, even with hashes recomputed."""
    import json

    from everymetre.audit.verify import checkpoint
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
