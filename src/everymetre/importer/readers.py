"""Reading the input file (CSV, JSON Lines, Parquet) into a polars frame of the mapped columns.

CSV is read as text (no type guessing: "0123" stays "0123"); JSON Lines and Parquet keep their types, which
validation accepts (dates as dates, numbers as numbers). Each row gets ``__row``, its 1-based number among the
data rows (for CSV: the line number minus the header line).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from everymetre.importer.mapping import FORMATS, Mapping

ROW = "__row"
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
               ".parquet": "parquet", ".pq": "parquet"}


class InputError(ValueError):
    """The input file cannot be read; the message says which file and why."""


def detect_format(path: Path, given: str | None, mapping: Mapping | None = None) -> str:
    fmt = given or (mapping.input_format if mapping else None)
    if fmt:
        if fmt not in FORMATS:
            raise InputError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    suffix = path.suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    raise InputError(f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
                     f"give --format ({', '.join(FORMATS)})")


def read_columns(path: Path, fmt: str, mapping: Mapping) -> list[str]:
    """The input's column names (without reading the data)."""
    try:
        if fmt == "csv":
            return pl.scan_csv(path, separator=mapping.delimiter, infer_schema=False).collect_schema().names()
        if fmt == "parquet":
            return pl.scan_parquet(path).collect_schema().names()
        return pl.scan_ndjson(path, infer_schema_length=1000).collect_schema().names()
    except Exception as exc:
        raise _input_error(path, fmt, exc) from None


def preflight(path: Path, fmt: str | None, mapping: Mapping) -> str:
    """Check that the file is there, readable in its format, and has the mapped columns; return the format."""
    fmt = detect_format(path, fmt, mapping)
    _openable(path)
    mapping.check_columns(read_columns(path, fmt, mapping), path.name)
    return fmt


def _openable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None


def read_input(path: Path, fmt: str, mapping: Mapping) -> pl.DataFrame:
    """The mapped columns of every row, plus ``__row``."""
    _openable(path)
    columns = read_columns(path, fmt, mapping)
    mapping.check_columns(columns, path.name)
    wanted = mapping.columns()
    try:
        if fmt == "csv":
            lf = pl.scan_csv(path, separator=mapping.delimiter, infer_schema=False, encoding="utf8")
        elif fmt == "parquet":
            lf = pl.scan_parquet(path)
        else:
            lf = pl.scan_ndjson(path, infer_schema_length=None)
        df = lf.select(wanted).with_row_index(ROW, offset=1).collect()
    except Exception as exc:
        raise _input_error(path, fmt, exc) from None
    return df.with_columns(pl.col(ROW).cast(pl.Int64))


def _input_error(path: Path, fmt: str, exc: Exception) -> InputError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"{path}: cannot read it as {fmt}: {text}")
