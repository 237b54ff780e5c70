"""The mapping file: which input column feeds which claim field (TOML, read with tomllib).

A field is either a column name (``oblast = "Область"``) or a table::

    damage_date = { column = "Дата пошкодження", format = "%d.%m.%Y" }    # dates: a strptime-style format
    property_kind = { column = "Тип", values = { "будинок" = "house", "квартира" = "apartment" } }
    claim_kind = { value = "repair_application" }                          # the same value for every row

Every problem is a :class:`MappingError` whose message names the file and the key (``mapping.toml:
fields.damage_date.format: ...``), so an operator can fix it without reading code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("csv", "jsonl", "parquet")

# field -> what it is (shown in --help and docs/import.md); REQUIRED must be mapped, NAME_FIELDS need one form
FIELDS: dict[str, str] = {
    "source_record_id": "the record's id in the source system (required; re-imports skip ids already imported)",
    "full_name": "owner's full name as in the passport, surname first (or give surname + given_name)",
    "surname": "owner's surname (with given_name; instead of full_name)",
    "given_name": "owner's given name (with surname)",
    "patronymic": "owner's patronymic (optional, with surname and given_name)",
    "full_name_latin": "name in Latin letters (default: transliterated by the 2010 official rules)",
    "birth_date": "owner's date of birth (give format)",
    "rnokpp": "taxpayer number RNOKPP, 10 digits with a check digit",
    "phone": "owner's phone number",
    "iban": "owner's bank account (IBAN, checksum verified)",
    "share": "the applicant's ownership share, e.g. 1/2 or 0.5 (default 1)",
    "oblast": "oblast: code, Ukrainian or English name (required)",
    "hromada": "hromada, city or village",
    "street": "street",
    "building": "building number",
    "apartment": "apartment number (then required for apartments and rooms)",
    "registry_number": "object number in the State Register of Real Property Rights",
    "property_kind": "house, apartment or room (required; translate the source's words with values = {...})",
    "total_area_m2": "total area in m², at most 2 decimals, comma or point (required)",
    "damage_date": "date of the damage, 24 Feb 2022 to today (required; give format)",
    "claim_kind": "damage_report, repair_application or destroyed_housing_application (default damage_report)",
    "description": "what is damaged, free text",
    "is_redamage": "repeat damage: yes/no, true/false, 1/0, так/ні",
    "previous": "earlier claim for repeat damage: its reference (EM-YYYY-NNNNNNN) or source record id",
}
REQUIRED = ("source_record_id", "damage_date", "oblast", "property_kind", "total_area_m2")
DATE_FIELDS = ("birth_date", "damage_date")
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
_SPEC_KEYS = {"column", "value", "format", "values"}


class MappingError(ValueError):
    """A mapping file that cannot be used; the message says what and where (file, key)."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    column: str | None = None  # the input column, or None for a constant
    value: Any = None  # the constant, when column is None
    format: str | None = None  # dates
    values: dict[str, Any] = field(default_factory=dict)  # raw value -> value, applied before validation


@dataclass(frozen=True)
class Mapping:
    path: Path
    fields: dict[str, FieldSpec]
    input_format: str | None = None
    delimiter: str = ","
    source: str | None = None

    def has(self, name: str) -> bool:
        return name in self.fields

    def columns(self) -> list[str]:
        return sorted({s.column for s in self.fields.values() if s.column is not None})

    def check_columns(self, available: list[str], input_name: str) -> None:
        """MappingError naming the first mapped column that the input does not have."""
        have = set(available)
        for name, spec in self.fields.items():
            if spec.column is not None and spec.column not in have:
                shown = ", ".join(available[:30]) + (", ..." if len(available) > 30 else "")
                raise MappingError(f"{self.path}: fields.{name}: column {spec.column!r} is not in {input_name} "
                                   f"(its columns: {shown})")


def load_mapping(path: str | Path) -> Mapping:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file: {exc.strerror or exc}") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise MappingError(f"{path}: the mapping file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from None
    return parse_mapping(doc, path)


def parse_mapping(doc: dict[str, Any], path: Path) -> Mapping:
    def bad(key: str, message: str) -> MappingError:
        return MappingError(f"{path}: {key}: {message}")

    for key in doc:
        if key not in ("input", "source", "fields"):
            raise bad(key, "unknown section; use [input], [source] and [fields]")
    inp = doc.get("input", {})
    if not isinstance(inp, dict):
        raise bad("input", "must be a table")
    for key in inp:
        if key not in ("format", "delimiter"):
            raise bad(f"input.{key}", "unknown key; use format and delimiter")
    fmt = inp.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise bad("input.format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    delimiter = inp.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter.encode()) != 1:
        raise bad("input.delimiter", "must be one single-byte character, e.g. \",\" or \";\"")
    src = doc.get("source", {})
    if not isinstance(src, dict) or any(k != "name" for k in src):
        raise bad("source", "must be a table with one key, name")
    source = src.get("name")
    if source is not None and not (isinstance(source, str) and 0 < len(source.strip()) <= 60):
        raise bad("source.name", "must be a text of 1 to 60 characters")
    fields_doc = doc.get("fields")
    if not isinstance(fields_doc, dict) or not fields_doc:
        raise bad("fields", "missing: the [fields] table says which input column feeds which field")
    fields: dict[str, FieldSpec] = {}
    for name, spec in fields_doc.items():
        key = f"fields.{name}"
        if name not in FIELDS:
            raise bad(key, f"unknown field; the fields are: {', '.join(FIELDS)}")
        if isinstance(spec, str):
            spec = {"column": spec}
        if not isinstance(spec, dict):
            raise bad(key, "give a column name (\"Column\") or a table such as { column = \"Column\" } or { value = ... }")
        for k in spec:
            if k not in _SPEC_KEYS:
                raise bad(f"{key}.{k}", "unknown key; use column, value, format or values")
        if ("column" in spec) == ("value" in spec):
            raise bad(key, "give exactly one of column (an input column) or value (the same value for every row)")
        column = spec.get("column")
        if column is not None and not (isinstance(column, str) and column):
            raise bad(f"{key}.column", "must be a non-empty column name")
        value = spec.get("value")
        if "value" in spec and not isinstance(value, (str, int, float, bool)):
            raise bad(f"{key}.value", "must be a text, number or true/false")
        fmt_ = spec.get("format")
        if fmt_ is not None:
            if name not in DATE_FIELDS:
                raise bad(f"{key}.format", f"only dates take a format ({', '.join(DATE_FIELDS)})")
            if not isinstance(fmt_, str) or "%" not in fmt_:
                raise bad(f"{key}.format", f"{fmt_!r} is not a date format such as \"%d.%m.%Y\"")
        values = spec.get("values", {})
        if not isinstance(values, dict) or not all(isinstance(v, (str, int, float, bool)) for v in values.values()):
            raise bad(f"{key}.values", "must be a table of source value = field value")
        fields[name] = FieldSpec(name, column=column, value=value, format=fmt_ if name in DATE_FIELDS else None,
                                 values={str(k): v for k, v in values.items()})
    for name in REQUIRED:
        if name not in fields:
            raise bad(f"fields.{name}", f"missing: this field is required ({FIELDS[name]})")
    has_full = "full_name" in fields
    has_parts = "surname" in fields or "given_name" in fields
    if has_full and has_parts:
        raise bad("fields.full_name", "give either full_name or surname + given_name (+ patronymic), not both")
    if not has_full and not ("surname" in fields and "given_name" in fields):
        missing = "fields.given_name" if "surname" in fields else "fields.surname" if "given_name" in fields else "fields.full_name"
        raise bad(missing, "missing: a name is required, as full_name or as surname + given_name (+ patronymic)")
    if "patronymic" in fields and has_full:
        raise bad("fields.patronymic", "a patronymic goes with surname + given_name, not with full_name")
    for name in DATE_FIELDS:
        if name in fields and fields[name].column is not None and fields[name].format is None:
            spec = fields[name]
            fields[name] = FieldSpec(name, spec.column, spec.value, DEFAULT_DATE_FORMAT, spec.values)
    return Mapping(path=path, fields=fields, input_format=fmt, delimiter=delimiter, source=source)
