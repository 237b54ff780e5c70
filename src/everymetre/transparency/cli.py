"""`everymetre log sync|verify`, `everymetre publish` and `everymetre export rd4u`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from everymetre.cli.common import engine, err, fail, out, require_schema
from everymetre.config import get_settings

log_app = typer.Typer(help="The public, verifiable log of decisions and payment batches (RFC 6962).",
                      no_args_is_help=True)
export_app = typer.Typer(help="Exports to other registers.", no_args_is_help=True)


@log_app.command("sync")
def log_sync() -> None:
    """Append every decision and exported payment batch not yet logged, and sign a tree head (run often)."""
    from everymetre.store.db import session_factory
    from everymetre.transparency import log

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        report = log.sync(session, get_settings())
    out.print(f"appended {report.appended:,} leaves; signed tree head of size {report.tree_size:,}, "
              f"root {report.head.root_hash}")


@log_app.command("verify")
def log_verify(url: Annotated[str, typer.Option("--url", help="The log's server, e.g. https://everymetre.example")],
               leaf: Annotated[str | None, typer.Option("--leaf", help="Check only this claim reference or batch message id, "
                                                        "or a saved leaf file (JSON), over HTTP without the database")] = None,
               key: Annotated[str | None, typer.Option("--key", help="The log's public key (base64) to pin; default: the server's")] = None,
               known_head: Annotated[list[Path], typer.Option("--known-head", help="A tree head saved earlier (JSON); must be "
                                                              "consistent with the latest (repeat for more)")] = [],  # noqa: B006
               max_proofs: Annotated[int, typer.Option(min=0, help="Inclusion proofs to ask the server for, spread over the "
                                                       "store's leaves (0: every leaf)")] = 2000) -> None:
    """Check the latest signed tree head, consistency of every published head with it, and inclusion of every
    decision and batch in the store (or of one leaf with --leaf). Exit 0 if all hold, 1 naming what does not."""
    from everymetre.transparency import verify as v
    from everymetre.transparency.signing import SignatureError

    client = v.LogClient(url)
    report = v.Report()
    known = []
    for path in known_head:
        try:
            known.append(v.head_from(json.loads(path.read_text())))
        except OSError as exc:
            fail(f"--known-head {path}: {exc.strerror}")
        except (ValueError, KeyError, TypeError):
            fail(f"--known-head {path}: not a saved tree head (JSON with tree_size, root_hash, signature, ...)")
    leaf_text = None
    if leaf is not None:
        leaf_path = Path(leaf)
        leaf_text = leaf_path.read_text() if leaf_path.suffix == ".json" and leaf_path.is_file() else leaf
    try:
        pub = v.load_key(client, key, report)
        head = v.check_heads(client, pub, report, known)
        if head is not None and leaf_text is not None:
            v.check_leaf(client, head, leaf_text, report)
        elif head is not None:
            _check_store(client, head, report, max_proofs)
    except v.Unreachable as exc:
        fail(f"--url: cannot reach the log: {exc}")
    except v.LogRefused as exc:
        fail(f"--url: the log refused: {exc}")
    except SignatureError as exc:
        fail(f"--key: {exc}")
    for note in report.notes:
        out.print(note, highlight=False, soft_wrap=True)
    if not report.ok:
        for problem in report.problems:
            err.print(f"[bold red]FAILED:[/] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    assert report.head is not None
    out.print(f"verified: tree head of size {report.head.tree_size:,}, root {report.head.root_hash}")


def _check_store(client, head, report, max_proofs: int) -> None:
    from everymetre.store.db import session_factory
    from everymetre.transparency import log
    from everymetre.transparency.verify import check_store

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        entries = log.store_entries(session)
        logged = log.leaf_indexes(session)
    expected = [(e.kind, f"{e.kind} {e.ref_id} of {e.reference}", e.ref_id, e.leaf) for e in entries]
    check_store(client, head, expected, logged, report, max_proofs)


@export_app.command("rd4u")
def export_rd4u(out_file: Annotated[Path, typer.Option("--out", help="Where to write the JSON Lines file")]) -> None:
    """One record per person (not per family) for the Register of Damage for Ukraine, category A3.1."""
    from everymetre.store.db import session_factory
    from everymetre.transparency.rd4u import write_jsonl

    if out_file.is_dir():
        fail(f"--out {out_file} is a directory; give a file name such as {out_file / 'rd4u.jsonl'}")
    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            n = write_jsonl(session, out_file)
        except OSError as exc:
            fail(f"--out {out_file}: {exc.strerror}")
    out.print(f"wrote {n:,} records (one per person) to {out_file}")


def publish(out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the open data into")],
            k: Annotated[int | None, typer.Option("--k", min=1, help="Suppress cells counting fewer people than this "
                                                  "(default EVERYMETRE_PUBLIC_MIN_COUNT, else 10)")] = None) -> None:
    """Write the open statistics as CSV and Parquet with a Frictionless datapackage.json and a data dictionary."""
    from everymetre.store.db import session_factory
    from everymetre.transparency.publish import write_package

    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out {out_dir} is a file; give a folder")
    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            written = write_package(session, out_dir, k or get_settings().public_min_count)
        except OSError as exc:
            fail(f"--out {out_dir}: {exc.strerror}")
    out.print(f"wrote {len(written)} files to {out_dir}: {', '.join(p.name for p in written)}")


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="log")
    app.add_typer(export_app, name="export")
    app.command("publish")(publish)
