"""The rule set: every parameter with its dated history, identified by the hash of its canonical form.

Loaded from the YAML files in `params/` (see `parameters` for their format); a decision stores the hash so
`everymetre rules recheck` can recompute it under the same rules years later.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from everymetre.rules.money import KOPIYKAS_PER_UAH
from everymetre.rules.parameters import (
    DEFAULT_PARAMS_DIR,
    OBLAST_CODES,
    OVERRIDE_REFERENCE,
    Entry,
    OverrideError,
    Parameter,
    ParameterError,
    ParameterFileError,
    ParamValue,
    RulesNotInForce,
    _load_file,
    _load_parameter,
    _parse_value,
)


class RuleSet:
    """An immutable set of dated parameters, identified by :attr:`hash`."""

    __slots__ = ("_breakpoints", "_cache", "_descriptions", "_params", "hash", "source")

    def __init__(self, params: Mapping[str, Parameter], descriptions: Mapping[str, str], source: str) -> None:
        self._params: dict[str, Parameter] = dict(sorted(params.items()))
        self._descriptions: dict[str, str] = dict(sorted(descriptions.items()))
        self.source = source
        self.hash: str = hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
        self._breakpoints: tuple[date, ...] = tuple(
            sorted({e.effective_from for p in self._params.values() for e in p.history})
        )
        self._cache: dict[tuple[str, date], ParamValue] = {}

    # ---- loading and serialising

    @classmethod
    def load(cls, path: str | Path | None = None) -> RuleSet:
        """Load every ``*.yaml`` in ``path`` (a directory; default: the package's ``params/``)."""
        directory = Path(path) if path is not None else DEFAULT_PARAMS_DIR
        if not directory.is_dir():
            raise ParameterFileError(directory, "", "is not a directory of parameter files")
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise ParameterFileError(directory, "", "holds no *.yaml parameter files")
        params: dict[str, Parameter] = {}
        descriptions: dict[str, str] = {}
        for f in files:
            ns, desc, ps = _load_file(f)
            descriptions[ns] = desc
            params.update(ps)
        return cls(params, descriptions, str(directory))

    def canonical(self) -> dict[str, Any]:
        out: dict[str, Any] = {ns: {"description": d, "parameters": {}} for ns, d in self._descriptions.items()}
        for name, p in self._params.items():
            ns, pname = name.split(".", 1)
            out.setdefault(ns, {"description": "", "parameters": {}})["parameters"][pname] = p.canonical()
        return out

    def canonical_json(self) -> str:
        """The canonical serialisation the hash is taken of (store it to reload this exact rule set)."""
        return json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_canonical_json(cls, text: str, expected_hash: str | None = None) -> RuleSet:
        """Rebuild a rule set from :meth:`canonical_json` (e.g. one stored with a decision)."""
        doc = json.loads(text)
        params: dict[str, Parameter] = {}
        descriptions: dict[str, str] = {}
        where = "<canonical json>"
        for ns, body in doc.items():
            descriptions[ns] = body.get("description", "")
            for pname, p in body["parameters"].items():
                node: dict[str, Any] = {k: p[k] for k in ("description", "unit")}
                if p.get("keys"):
                    node["keys"] = p["keys"]
                if p.get("illustrative"):
                    node["illustrative"] = True
                if p.get("note"):
                    node["note"] = p["note"]
                vals: dict[date, Any] = {}
                for d, ent in p["values"].items():
                    v = ent["value"]
                    if p.get("unit") == "UAH":  # canonical UAH values are kopiykas
                        v = {k: Decimal(x) / KOPIYKAS_PER_UAH for k, x in v.items()} if isinstance(v, dict) else Decimal(v) / KOPIYKAS_PER_UAH
                    if p.get("keys") == "threshold":
                        v = {int(k): x for k, x in v.items()}
                        node["lowest_key"] = min(v)
                    vals[date.fromisoformat(d)] = {"value": v, "reference": ent["reference"]}
                node["values"] = vals
                params[f"{ns}.{pname}"] = _load_parameter(Path(where), ns, pname, node)
        rs = cls(params, descriptions, where)
        if expected_hash is not None and rs.hash != expected_hash:
            raise ParameterError(f"rule set hash {rs.hash} does not match the expected {expected_hash}")
        return rs

    # ---- looking values up

    def parameter(self, name: str) -> Parameter:
        try:
            return self._params[name]
        except KeyError:
            raise KeyError(f"unknown parameter {name!r}") from None

    @property
    def parameters(self) -> Mapping[str, Parameter]:
        return dict(self._params)

    def breakpoints(self) -> tuple[date, ...]:
        """Every date on which some parameter changes, sorted."""
        return self._breakpoints

    def value(self, name: str, on: date) -> ParamValue:
        """The value in force on ``on``. ``name`` is a parameter or a table entry ('certificate.kregion.kyiv-city').

        For a threshold table, ``name.N`` gives the value for the number N (the largest key <= N).
        """
        hit = self._cache.get((name, on))
        if hit is not None:
            return hit
        if name in self._params:
            p = self._params[name]
            e = p.entry_on(on)
            out = ParamValue(name, e.value, p.unit, e.effective_from, e.reference, p.illustrative, p.note)
        else:
            base, _, key = name.rpartition(".")
            found = self._params.get(base)
            if found is None or found.keys is None:
                raise KeyError(f"unknown parameter {name!r}")
            p = found
            e = p.entry_on(on)
            if p.keys == "oblast":
                if key not in e.value:
                    raise KeyError(f"unknown oblast {key!r} in {base}")
                k: Any = key
            else:
                try:
                    n = int(key)
                except ValueError:
                    raise KeyError(f"{base} is a threshold table: {key!r} is not a whole number") from None
                ks = [x for x in e.value if x <= n]
                if not ks:
                    raise RulesNotInForce(f"{base} has no entry for {n} (lowest key {min(e.value)})")
                k = max(ks)
            out = ParamValue(f"{base}.{k}", e.value[k], p.unit, e.effective_from, e.reference, p.illustrative, p.note)
        if len(self._cache) < 100_000:
            self._cache[(name, on)] = out
        return out

    def resolve(self, names: Iterable[str], on: date) -> dict[str, ParamValue]:
        return {n: self.value(n, on) for n in names}

    def names(self) -> list[str]:
        """Every name that :meth:`with_overrides` accepts: parameters and table entries."""
        out: list[str] = []
        for name, p in self._params.items():
            if p.keys is None:
                out.append(name)
            else:
                keys: set[Any] = set()
                for e in p.history:
                    keys.update(e.value)
                out.extend(f"{name}.{k}" for k in sorted(keys, key=str))
        return out

    def illustrative(self) -> list[str]:
        return [n for n, p in self._params.items() if p.illustrative]

    # ---- what-if

    def with_overrides(self, overrides: Mapping[str, Any], effective_from: date | None = None) -> RuleSet:
        """A new rule set with some values replaced (its hash differs).

        Without ``effective_from`` the new value replaces the value of every dated entry (the dates
        on which the parameter is in force stay the same).  With it, the new value is in force from
        that date onwards: later entries take it too, and an entry is added on that date.  Table
        entries are named ``table.key`` (``certificate.kregion.kyiv-city``, ``certificate.kyear.1960``).
        """
        if not overrides:
            raise OverrideError("no overrides given")
        params = dict(self._params.items())
        for name, raw in overrides.items():
            key: Any = None
            if name in params and params[name].keys is None:
                p = params[name]
            else:
                base, _, k = name.rpartition(".")
                p = params.get(base)  # type: ignore[assignment]
                if p is None or p.keys is None:
                    raise OverrideError(_unknown_name(name, self.names()))
                if p.keys == "oblast":
                    if k not in OBLAST_CODES:
                        raise OverrideError(f"{name}: unknown oblast {k!r}; use one of {', '.join(OBLAST_CODES)}")
                    key = k
                else:
                    try:
                        key = int(k)
                    except ValueError:
                        raise OverrideError(f"{name}: {k!r} is not a whole-number key of threshold table {base}") from None
                    if key < min(min(e.value) for e in p.history):
                        raise OverrideError(f"{name}: key {key} is below the table's lowest key")
            try:
                value = _parse_value(p.unit, raw, name)
            except ValueError as e:
                raise OverrideError(str(e)) from None
            params[p.name] = _override_param(p, key, value, effective_from)
        src = f"{self.source} + overrides {sorted(overrides)}" + (f" from {effective_from}" if effective_from else "")
        return RuleSet(params, self._descriptions, src)

    def __repr__(self) -> str:
        return f"RuleSet(hash={self.hash[:12]}..., source={self.source!r}, parameters={len(self._params)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleSet) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)


def _unknown_name(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown parameter {name!r}{hint} (known: {', '.join(known)})"


def _override_param(p: Parameter, key: Any, value: Any, effective_from: date | None) -> Parameter:
    def put(old: Any) -> Any:
        if key is None:
            return value
        new = copy.copy(old)
        new[key] = value
        return dict(sorted(new.items())) if p.keys == "threshold" else new

    ref = OVERRIDE_REFERENCE

    def was(e: Entry) -> str:  # overriding twice does not nest the references
        original = e.reference.split("; was: ", 1)[1] if e.reference.startswith(ref + "; was: ") else e.reference
        return ref if original == ref else f"{ref}; was: {original}"

    history: list[Entry] = []
    if effective_from is None:
        history = [Entry(e.effective_from, put(e.value), was(e)) for e in p.history]
    else:
        try:
            in_force: Entry | None = p.entry_on(effective_from)
        except RulesNotInForce:
            in_force = None
        if in_force is None and key is not None:
            raise OverrideError(
                f"{p.name}.{key}: the table has no value in force on {effective_from} to change; pick a later date"
            )
        for e in p.history:
            if e.effective_from < effective_from:
                history.append(e)
            elif e.effective_from > effective_from:
                history.append(Entry(e.effective_from, put(e.value), was(e)))
        base = in_force.value if in_force is not None else None
        history.append(Entry(effective_from, put(base), ref))
        history.sort(key=lambda e: e.effective_from)
    return Parameter(
        name=p.name,
        description=p.description,
        unit=p.unit,
        history=tuple(history),
        keys=p.keys,
        illustrative=p.illustrative,
        note=p.note,
        source=f"{p.source} (overridden)",
    )
