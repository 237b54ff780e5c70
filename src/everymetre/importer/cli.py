"""`everymetre import claims`: bulk import of other systems' exports through a mapping file (docs/import.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import_app = typer.Typer(help="Bulk import from other systems' exports (CSV, JSON Lines, Parquet).", no_args_is_help=True)

CLAIMS_HELP = """Import claims from FILE (CSV, JSON Lines or Parquet) as the mapping file says.

The mapping (TOML) names the input column for each field. Required: source_record_id, a name (full_name, or
surname + given_name [+ patronymic]), damage_date (with its format), oblast, property_kind and total_area_m2.
Optional: birth_date, rnokpp, phone, iban, share, full_name_latin, hromada, street, building, apartment,
registry_number, claim_kind (default damage_report), description, is_redamage, previous. Example:
examples/import/mapping.toml; reference: docs/import.md.

Each good row becomes a person, a property and a claim in state "submitted" (channel "import") with its audit
trail. Rows that fail validation go to the rejects file (row, source_record_id, field, reason; one line per
failing field); the good rows land. Rows whose source record id is already in the store for this source are
skipped: running the same file again changes nothing, and a run stopped half-way completes when run again
(each batch is one transaction). Exit 0 when the import ran (even with rejects), 2 on a bad mapping or input.
"""


def import_claims(
    file: Annotated[Path, typer.Argument(help="The input file: .csv, .jsonl/.ndjson or .parquet", show_default=False)],
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="The mapping file (TOML)", show_default=False)],
    source: Annotated[str | None, typer.Option(help="Name of the source system (default: [source] name in the mapping)")] = None,
    rejects: Annotated[Path | None, typer.Option(help="Where to write rejected rows (default: FILE-STEM.rejects.csv here, when there are any)")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, jsonl or parquet (default: from the extension)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1_000_000, help="Rows per transaction")] = 20_000,
    jobs: Annotated[int, typer.Option(min=1, max=16, help="Batches written at once (PostgreSQL; SQLite has one writer)")] = 2,
    defer_indexes: Annotated[bool, typer.Option(help="PostgreSQL: drop the secondary indexes for the import and build "
                                                     "them after it (much quicker for a large first load; queues and "
                                                     "search are slow meanwhile)")] = False,
) -> None:
    from everymetre.cli.common import engine, err, fail, out, progress, require_schema
    from everymetre.importer import InputError, MappingError, load_mapping, run_import
    from everymetre.importer.readers import preflight

    try:
        m = load_mapping(mapping)
    except MappingError as exc:
        fail(str(exc))
    name = (source or m.source or "").strip()
    if not name:
        fail(f"{mapping}: source.name: missing; name the source system with --source NAME or [source] name = \"...\"")
    if len(name) > 60:
        fail(f"--source {name!r}: at most 60 characters")
    eng = engine()
    require_schema(eng)
    try:
        fmt = preflight(file, fmt, m)
    except (MappingError, InputError) as exc:
        fail(str(exc))
    try:
        with progress() as bar:
            task = bar.add_task("importing claims", total=None)
            report = run_import(eng, file, m, name, fmt=fmt, rejects_path=rejects, batch_size=batch_size, jobs=jobs,
                                defer_indexes=defer_indexes, on_start=lambda n: bar.update(task, total=n),
                                on_progress=lambda n: bar.advance(task, n))
    except MappingError as exc:
        fail(str(exc))
    except InputError as exc:
        fail(str(exc))
    except _store_errors() as exc:  # never a raw traceback: say what and what to do
        orig = getattr(exc, "orig", None) or exc
        first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        fail(f"{file}: the store refused a batch ({first}); the batches committed so far are in the store, and "
             "running the same command again continues")
    except KeyboardInterrupt:
        err.print("interrupted: the batches committed so far are in the store; run the same command again to finish")
        raise typer.Exit(130) from None
    total = sum(report.timings.get(k, 0.0) for k in ("read", "validate", "resolve", "write"))
    rate = report.read / total if total else 0.0
    out.print(f"{report.file}: {report.read:,} rows read; {report.imported:,} imported, {report.already:,} already "
              f"imported, {report.rejected:,} rejected ({report.reject_lines:,} problems) in {total:.1f} s "
              f"({rate:,.0f} rows/s); source {report.source!r}", highlight=False)
    if report.rejected and report.rejects_path:
        out.print(f"rejected rows: {report.rejects_path}", highlight=False)


def _store_errors() -> tuple[type[BaseException], ...]:
    """What a store raises when it refuses a batch: SQLAlchemy's errors and the drivers' own (COPY runs raw)."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    errors: list[type[BaseException]] = [DBAPIError, sqlite3.DatabaseError]
    try:
        import psycopg

        errors.append(psycopg.DatabaseError)
    except ImportError:  # pragma: no cover - PostgreSQL support not installed
        pass
    return tuple(errors)


import_app.command("claims", help=CLAIMS_HELP)(import_claims)
