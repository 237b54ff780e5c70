"""Rule parameters: dated values with legal references, loaded from YAML, identified by a content hash.

File format (one file per area, in the spirit of OpenFisca's parameter files; the file's stem is the
namespace, so ``repair.yaml`` holds ``repair.tier_a_cap``)::

    description: Repair payment for damaged housing (Resolution 381)
    tier_a_cap:
      description: Largest amount paid as a tier A repair payment
      unit: UAH                       # UAH | coefficient | m2 | integer | months | boolean | date
      values:
        2023-05-10:                   # effective from (inclusive)
          value: 200000.00
          reference: Resolution 381 ...
    kregion:
      description: ...
      unit: coefficient
      keys: oblast                    # a table: one value per oblast code (all of them) ...
      illustrative: true              # not sourced: shipped as an example, must be replaced
      note: why it is illustrative and where the real values come from
      values:
        2023-08-01:
          reference: ...
          value: {kyiv-city: 1.20, ...}

``keys: threshold`` makes a table whose integer keys are lower bounds (the entry with the largest key
not above the looked-up number applies); ``lowest_key`` says which key must be present.

Numbers are read as exact Decimals (never binary floats).  The value in force on a date is the entry
with the latest ``effective from`` date on or before it.  The rule-set hash is the SHA-256 of a
canonical JSON serialisation of the parsed files (so comments and layout do not change it; any value,
date, reference, description or flag does).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from everymetre.kernel.geography import OBLASTS
from everymetre.rules.money import COEFFICIENT_DECIMALS, decimal_to_scaled_int, format_uah

__all__ = [
    "DEFAULT_PARAMS_DIR",
    "UNITS",
    "Entry",
    "OverrideError",
    "ParamValue",
    "Parameter",
    "ParameterError",
    "ParameterFileError",
    "RulesNotInForce",
]

DEFAULT_PARAMS_DIR = Path(__file__).with_name("params")
UNITS = ("UAH", "coefficient", "m2", "integer", "months", "boolean", "date")
TABLE_KEYS = ("oblast", "threshold")
OBLAST_CODES = tuple(o.code for o in OBLASTS)
OVERRIDE_REFERENCE = "what-if override for simulation (not law)"


class ParameterError(Exception):
    """A problem with rule parameters."""


class ParameterFileError(ParameterError, ValueError):
    """A parameter file that cannot be used; the message names the file and the key."""

    def __init__(self, file: str | Path, key: str, problem: str) -> None:
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


class RulesNotInForce(ParameterError, LookupError):
    """No value of a needed parameter is in force on the date asked for."""


class OverrideError(ParameterError, ValueError):
    """An override names an unknown parameter or gives a value of the wrong kind."""


# --------------------------------------------------------------------------------------------------
# YAML reading with exact decimals


class _ExactLoader(yaml.SafeLoader):
    """SafeLoader that reads YAML floats as Decimal from their source text."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(None, None, f"{text!r} is not a decimal number", node.start_mark) from None


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


# --------------------------------------------------------------------------------------------------
# values


def _parse_value(unit: str, raw: Any, where: str) -> Any:
    """Typed value from YAML or an override.  Raises ValueError(plain message) on a bad value.

    UAH -> int kopiykas; coefficient -> Decimal (<= 4 decimals, > 0); m2 -> Decimal (<= 2 decimals, > 0);
    integer/months -> int >= 0; boolean -> bool; date -> date.
    """
    if isinstance(raw, float):
        raise ValueError(f"{where}: binary floating-point value {raw!r} not accepted; write it as a decimal")
    if unit in ("UAH", "coefficient", "m2"):
        if isinstance(raw, bool) or not isinstance(raw, (int, Decimal, str)):
            raise ValueError(f"{where}: expected a decimal number, got {raw!r}")
        try:
            d = Decimal(str(raw).strip().replace("_", ""))
        except InvalidOperation:
            raise ValueError(f"{where}: {raw!r} is not a decimal number") from None
        if not d.is_finite():
            raise ValueError(f"{where}: {raw!r} is not a finite number")
        if unit == "UAH":
            if d < 0:
                raise ValueError(f"{where}: amount {d} must not be negative")
            return decimal_to_scaled_int(d, 2, f"{where}: amount in UAH")
        if d <= 0:
            raise ValueError(f"{where}: {d} must be more than 0")
        if unit == "coefficient":
            decimal_to_scaled_int(d, COEFFICIENT_DECIMALS, f"{where}: coefficient")
        else:
            decimal_to_scaled_int(d, 2, f"{where}: area in m²")
        return d
    if unit in ("integer", "months"):
        if isinstance(raw, str):
            try:
                raw = int(raw.strip())
            except ValueError:
                raise ValueError(f"{where}: {raw!r} is not a whole number") from None
        if isinstance(raw, Decimal) and raw == raw.to_integral_value():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise ValueError(f"{where}: expected a whole number >= 0, got {raw!r}")
        return raw
    if unit == "boolean":
        if isinstance(raw, str) and raw.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
            return raw.strip().lower() in ("true", "yes", "1")
        if not isinstance(raw, bool):
            raise ValueError(f"{where}: expected true or false, got {raw!r}")
        return raw
    if unit == "date":
        if isinstance(raw, str):
            try:
                raw = date.fromisoformat(raw.strip())
            except ValueError:
                raise ValueError(f"{where}: {raw!r} is not a date YYYY-MM-DD") from None
        if not isinstance(raw, date):
            raise ValueError(f"{where}: expected a date YYYY-MM-DD, got {raw!r}")
        return raw
    raise ValueError(f"{where}: unknown unit {unit!r}")


def _canon_scalar(v: Any) -> Any:
    if isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    if isinstance(v, date):
        return v.isoformat()
    raise TypeError(f"cannot serialise {v!r}")


def display_value(unit: str, v: Any) -> str:
    """Human text of a parameter value (UAH as 'UAH 36,422.33')."""
    if unit == "UAH":
        return format_uah(v)
    if unit in ("coefficient", "m2"):  # from the value alone (1.2 and 1.20 display alike), at least 2 places
        d = v.normalize()
        if int(d.as_tuple().exponent) > -2:
            d = d.quantize(Decimal("0.01"))
        return f"{d:f} m²" if unit == "m2" else f"{d:f}"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


# --------------------------------------------------------------------------------------------------
# model


@dataclass(frozen=True, slots=True)
class Entry:
    """One dated value of a parameter: in force from ``effective_from`` until the next entry."""

    effective_from: date
    value: Any  # typed scalar, or dict key -> typed scalar for a table
    reference: str


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    description: str
    unit: str
    history: tuple[Entry, ...]  # sorted by effective_from, dates unique
    keys: str | None = None  # None (scalar), "oblast" or "threshold"
    illustrative: bool = False
    note: str | None = None
    source: str = ""
    _dates: tuple[date, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_dates", tuple(e.effective_from for e in self.history))

    def entry_on(self, on: date) -> Entry:
        i = bisect.bisect_right(self._dates, on) - 1
        if i < 0:
            first = self._dates[0].isoformat() if self._dates else "never"
            raise RulesNotInForce(
                f"no value of {self.name} is in force on {on.isoformat()} (first value from {first}; {self.source})"
            )
        return self.history[i]

    def canonical(self) -> dict[str, Any]:
        def cv(v: Any) -> Any:
            if isinstance(v, dict):
                return {str(k): _canon_scalar(x) for k, x in v.items()}
            return _canon_scalar(v)

        return {
            "description": self.description,
            "unit": self.unit,
            "keys": self.keys,
            "illustrative": self.illustrative,
            "note": self.note,
            "values": {e.effective_from.isoformat(): {"value": cv(e.value), "reference": e.reference} for e in self.history},
        }


@dataclass(frozen=True, slots=True)
class ParamValue:
    """The value of a parameter (or one table entry) in force on a date, with where it comes from."""

    name: str
    value: Any
    unit: str
    effective_from: date
    reference: str
    illustrative: bool
    note: str | None

    @property
    def display(self) -> str:
        return display_value(self.unit, self.value)

    @property
    def scaled(self) -> int:
        """Coefficient x 10^4 (or area x 100, or the kopiykas) as an int, for integer arithmetic."""
        if self.unit == "coefficient":
            return decimal_to_scaled_int(self.value, COEFFICIENT_DECIMALS, self.name)
        if self.unit == "m2":
            return decimal_to_scaled_int(self.value, 2, self.name)
        if isinstance(self.value, int):
            return self.value
        raise TypeError(f"{self.name} has no integer scaling")


# --------------------------------------------------------------------------------------------------
# loading


def _threshold_key(k: Any, file: Path, where: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ParameterFileError(file, where, f"table key {k!r} must be a whole number >= 0")
    return k


def _load_parameter(file: Path, ns: str, pname: str, node: Any) -> Parameter:
    where = pname
    if not isinstance(node, dict):
        raise ParameterFileError(file, where, "a parameter must be a mapping with description, unit and values")
    known = {"description", "unit", "values", "keys", "lowest_key", "illustrative", "note"}
    extra = sorted(set(map(str, node)) - known)
    if extra:
        raise ParameterFileError(file, f"{where}.{extra[0]}", f"unknown field; allowed: {', '.join(sorted(known))}")
    for req in ("description", "unit", "values"):
        if req not in node:
            raise ParameterFileError(file, f"{where}.{req}", "missing")
    description = node["description"]
    if not isinstance(description, str) or not description.strip():
        raise ParameterFileError(file, f"{where}.description", "must be a non-empty text")
    unit = node["unit"]
    if unit not in UNITS:
        raise ParameterFileError(file, f"{where}.unit", f"{unit!r} is not one of {', '.join(UNITS)}")
    keys = node.get("keys")
    if keys is not None and keys not in TABLE_KEYS:
        raise ParameterFileError(file, f"{where}.keys", f"{keys!r} is not one of {', '.join(TABLE_KEYS)}")
    illustrative = node.get("illustrative", False)
    if not isinstance(illustrative, bool):
        raise ParameterFileError(file, f"{where}.illustrative", "must be true or false")
    note = node.get("note")
    if note is not None and (not isinstance(note, str) or not note.strip()):
        raise ParameterFileError(file, f"{where}.note", "must be a non-empty text")
    if illustrative and note is None:
        raise ParameterFileError(file, f"{where}.note", "an illustrative parameter needs a note saying why and what replaces it")
    lowest_key = node.get("lowest_key")
    if keys == "threshold":
        lowest_key = _threshold_key(lowest_key, file, f"{where}.lowest_key") if lowest_key is not None else None
        if lowest_key is None:
            raise ParameterFileError(file, f"{where}.lowest_key", "a threshold table must say its lowest key")
    elif lowest_key is not None:
        raise ParameterFileError(file, f"{where}.lowest_key", "only threshold tables have a lowest key")
    values = node["values"]
    if not isinstance(values, dict) or not values:
        raise ParameterFileError(file, f"{where}.values", "must be a non-empty mapping of date: {value, reference}")
    history: list[Entry] = []
    for d, ent in values.items():
        ew = f"{where}.values.{d}"
        if not isinstance(d, date):
            raise ParameterFileError(file, ew, "the key must be an effective date YYYY-MM-DD")
        if not isinstance(ent, dict) or "value" not in ent or "reference" not in ent:
            raise ParameterFileError(file, ew, "each dated entry needs 'value' and 'reference'")
        extra = sorted(set(map(str, ent)) - {"value", "reference"})
        if extra:
            raise ParameterFileError(file, f"{ew}.{extra[0]}", "unknown field; allowed: value, reference")
        ref = ent["reference"]
        if not isinstance(ref, str) or not ref.strip():
            raise ParameterFileError(file, f"{ew}.reference", "a legal reference (non-empty text) is required")
        raw = ent["value"]
        if keys is None:
            try:
                value: Any = _parse_value(unit, raw, "value")
            except ValueError as e:
                raise ParameterFileError(file, f"{ew}.value", str(e).removeprefix("value: ")) from None
        else:
            if not isinstance(raw, dict) or not raw:
                raise ParameterFileError(file, f"{ew}.value", f"a {keys} table must be a mapping of key: value")
            value = {}
            for k, v in raw.items():
                kw = f"{ew}.value.{k}"
                if keys == "oblast":
                    if k not in OBLAST_CODES:
                        raise ParameterFileError(file, kw, f"unknown oblast code; use one of {', '.join(OBLAST_CODES)}")
                else:
                    k = _threshold_key(k, file, kw)
                try:
                    value[k] = _parse_value(unit, v, "value")
                except ValueError as e:
                    raise ParameterFileError(file, kw, str(e).removeprefix("value: ")) from None
            if keys == "oblast":
                missing = [c for c in OBLAST_CODES if c not in value]
                if missing:
                    raise ParameterFileError(file, f"{ew}.value", f"oblast(s) missing: {', '.join(missing)}")
                value = {c: value[c] for c in OBLAST_CODES}
            else:
                if lowest_key not in value:
                    raise ParameterFileError(file, f"{ew}.value", f"threshold table must have the lowest key {lowest_key}")
                if min(value) < lowest_key:
                    raise ParameterFileError(file, f"{ew}.value", f"key {min(value)} is below the lowest key {lowest_key}")
                value = dict(sorted(value.items()))
        history.append(Entry(d, value, ref.strip()))
    history.sort(key=lambda e: e.effective_from)
    return Parameter(
        name=f"{ns}.{pname}",
        description=description.strip(),
        unit=unit,
        history=tuple(history),
        keys=keys,
        illustrative=illustrative,
        note=note.strip() if note else None,
        source=str(file),
    )


def _load_file(file: Path) -> tuple[str, str, dict[str, Parameter]]:
    ns = file.stem
    if not ns.isidentifier():
        raise ParameterFileError(file, "", f"file name {file.name!r} must be an identifier (it is the namespace)")
    try:
        doc = yaml.load(file.read_text(encoding="utf-8"), Loader=_ExactLoader)
    except yaml.YAMLError as e:
        raise ParameterFileError(file, "", f"not valid YAML: {e}") from None
    except OSError as e:
        raise ParameterFileError(file, "", f"cannot be read: {e}") from None
    if not isinstance(doc, dict):
        raise ParameterFileError(file, "", "must be a mapping of parameter names")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise ParameterFileError(file, "description", "must be a text")
    params: dict[str, Parameter] = {}
    for pname, node in doc.items():
        if pname == "description":
            continue
        if not isinstance(pname, str) or not pname.isidentifier():
            raise ParameterFileError(file, str(pname), "a parameter name must be an identifier")
        params[f"{ns}.{pname}"] = _load_parameter(file, ns, pname, node)
    if not params:
        raise ParameterFileError(file, "", "defines no parameters")
    return ns, description, params
