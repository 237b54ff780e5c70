"""Bulk import of claims from other systems' exports (CSV, JSON Lines, Parquet) through a mapping file.

`mapping` reads the TOML mapping, `readers` the input, `validate` checks every row with vectorised polars
expressions (the intake rules of `everymetre.claims.schemas`), `writer` lands the good rows in batches, one
transaction each, with their audit trails (PostgreSQL COPY, SQLite executemany). See docs/import.md.
"""

from everymetre.importer.mapping import Mapping, MappingError, load_mapping
from everymetre.importer.readers import InputError
from everymetre.importer.writer import ImportReport, run_import

__all__ = ["ImportReport", "InputError", "Mapping", "MappingError", "load_mapping", "run_import"]
