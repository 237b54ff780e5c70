"""Training that adapts to what the records carry.

A register's export may hold taxpayer numbers (RNOKPP) for everyone, for a few, or for nobody; birth dates or
not; full addresses or a city alone. The person model is trained from whatever is populated enough:

* **the prior** (the probability that two random records are one person) from deterministic rules — the same
  RNOKPP when taxpayer numbers are present enough, else the same name and birth date, else the same name and
  address — each rule checked for pairs before it is used;
* **u** by random sampling, always;
* **m** by expectation maximisation on blocking rules chosen the same way, each checked for enough pairs and
  run on its own (one that cannot converge is skipped, not fatal); levels EM cannot see keep the defaults of
  :mod:`.model`;
* the trained values are then made safe for prediction: every m and u in (0, 1), each comparison's levels
  summing to one, the prior in a sane range.

Training runs on the distinct people (records of one internal person key, or with identical compared values,
are the same row to the model): exact copies tell EM nothing and drive it to a prior of 1.

:func:`plan_training` raises :class:`CannotTrain` with one line naming what is missing when no model can be
trained at all (fewer than two people, or nothing beyond names to tell two people of one name apart).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import polars as pl

__all__ = ["CannotTrain", "TrainingPlan", "coverage", "covering", "pair_count", "plan_training", "sanitise_model", "training_rows"]

logger = logging.getLogger(__name__)

#: a field is "present enough" to train on when at least this share of the records carry it
MIN_COVERAGE = 0.3
#: an EM blocking rule is used only when it gives at least this many pairs (fewer cannot separate m from u)
MIN_EM_PAIRS = 30
#: a deterministic rule counts for the prior only when it gives at least one pair
COVERAGE_FIELDS = ("rnokpp_n", "dob", "surname_k", "given_k", "patronymic_k", "addr_k", "bldg_k", "city_k",
                   "phone_n", "iban_n", "registry_n")


class CannotTrain(ValueError):
    """No person model can be trained on these records; the message says what is missing (one line)."""


@dataclass
class TrainingPlan:
    """What the person model is trained from (column tuples; each a rule "these columns are all equal")."""

    coverage: dict[str, float]
    prior_rules: list[tuple[str, ...]]
    prior_recall: float
    em_rules: list[tuple[str, ...]]
    basis: str  # "rnokpp" | "name+birth date" | "name+address" | "none": what the prior was estimated from
    rows: int
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        rules = "; ".join("+".join(r) for r in self.em_rules) or "none (default m)"
        return f"prior from {self.basis}, EM on {rules}, {self.rows:,} distinct people"


def coverage(features: pl.DataFrame) -> dict[str, float]:
    """column -> share of rows where it is not null."""
    if features.height == 0:
        return dict.fromkeys(COVERAGE_FIELDS, 0.0)
    cols = [c for c in COVERAGE_FIELDS if c in features.columns]
    row = features.select([(1 - pl.col(c).is_null().mean()).alias(c) for c in cols]).row(0, named=True)
    return {c: float(row[c] or 0.0) for c in cols}


def pair_count(features: pl.DataFrame, keys: tuple[str, ...]) -> int:
    """How many pairs of rows agree on every column of ``keys`` (nulls never agree)."""
    df = features.select(keys).drop_nulls()
    if df.height < 2:
        return 0
    sizes = df.group_by(list(keys)).len()["len"]
    return int((sizes * (sizes - 1) // 2).sum())


def training_rows(features: pl.DataFrame, person_key: pl.Series | None, columns: tuple[str, ...]) -> pl.DataFrame:
    """The rows the model trains on: one per internal person key, and one per set of identical compared values."""
    df = features
    if person_key is not None and person_key.null_count() < person_key.len():
        keyed = df.with_columns(person_key.alias("__pk"))
        df = pl.concat([
            keyed.filter(pl.col("__pk").is_null()),
            keyed.filter(pl.col("__pk").is_not_null()).unique("__pk", keep="first", maintain_order=True),
        ]).sort("unique_id").drop("__pk")
    return df.unique(list(columns), keep="first", maintain_order=True)


def plan_training(rows: pl.DataFrame, prior_recall: float = 0.8) -> TrainingPlan:
    """Choose the prior's deterministic rules and EM's blocking rules from what ``rows`` carry."""
    cov = coverage(rows)
    if rows.height < 2:
        raise CannotTrain(f"cannot train the person model: {rows.height} distinct person(s) in the store, at least "
                          "2 are needed")
    if cov.get("surname_k", 0) < MIN_COVERAGE or cov.get("given_k", 0) < MIN_COVERAGE:
        raise CannotTrain("cannot train the person model: fewer than 30% of the records carry a surname and a given "
                          "name")
    has = {k: cov.get(k, 0.0) >= MIN_COVERAGE for k in COVERAGE_FIELDS}
    if not (has["rnokpp_n"] or has["dob"] or has["addr_k"] or has["bldg_k"]):
        raise CannotTrain("cannot train the person model: fewer than 30% of the records carry a taxpayer number "
                          "(RNOKPP), a birth date or a full address, so two people of one name cannot be told apart")
    candidates: list[tuple[str, tuple[str, ...], float]] = []
    if has["rnokpp_n"]:
        candidates.append(("rnokpp", ("rnokpp_n",), prior_recall))
    if has["dob"]:
        candidates.append(("name+birth date", ("surname_k", "given_k", "dob"), 0.6))
    if has["addr_k"] or has["bldg_k"]:
        candidates.append(("name+address", ("surname_k", "given_k", "addr_k" if has["addr_k"] else "bldg_k"), 0.5))
    notes: list[str] = []
    prior_rules: list[tuple[str, ...]] = []
    basis, recall = "none", prior_recall
    for name, keys, rec in candidates:
        n = pair_count(rows, keys)
        if n == 0:
            notes.append(f"no two records agree on {'+'.join(keys)}")
            continue
        if not prior_rules:
            basis, recall = name, rec
        prior_rules.append(keys)
        if name == "rnokpp":
            break  # a taxpayer number is the rule; the others would only add its typos' twins
    em_candidates: list[tuple[str, ...]] = []
    if has["rnokpp_n"]:
        em_candidates.append(("rnokpp_n",))
    if has["dob"]:
        em_candidates += [("surname_k", "dob"), ("given_k", "dob")]
    if has["addr_k"]:
        em_candidates.append(("addr_k",))
    elif has["bldg_k"]:
        em_candidates.append(("bldg_k",))
    if has["phone_n"]:
        em_candidates.append(("phone_n",))
    em_rules: list[tuple[str, ...]] = []
    for keys in em_candidates:
        n = pair_count(rows, keys)
        if n >= MIN_EM_PAIRS:
            em_rules.append(keys)
        else:
            notes.append(f"EM on {'+'.join(keys)} skipped: {n} pairs")
    return TrainingPlan(coverage=cov, prior_rules=prior_rules, prior_recall=recall, em_rules=covering(em_rules),
                        basis=basis, rows=rows.height, notes=notes)


def covering(rules: list[tuple[str, ...]], most: int = 3) -> list[tuple[str, ...]]:
    """The first of ``rules`` (in order, at most ``most``) until every column they block on is left free by one
    of them: EM cannot estimate m of a comparison on pairs blocked on its own column, and each session costs a
    pass over its pairs; a session more would only average m of comparisons others already estimated."""
    blocked = {c for rule in rules for c in rule}
    chosen: list[tuple[str, ...]] = []
    free: set[str] = set()
    for rule in rules[:most]:
        if blocked <= free:
            break
        chosen.append(rule)
        free |= blocked - set(rule)
    return chosen


def _is_number(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def sanitise_model(model: dict[str, Any], defaults: dict[str, list[float]], *, u_floor: float,
                   m_floor: float = 1e-5, prior: float | None = None) -> dict[str, Any]:
    """A trained Splink settings dict made safe to predict with: missing, unobserved or underflowed m fall back to
    the defaults (``defaults[comparison] = [m of each non-null level]``); u not seen in the random sample get
    ``u_floor``; every value is clamped into (0, 1) and each comparison's m and u renormalised to sum to one."""
    out = dict(model)
    if prior is not None:
        out["probability_two_random_records_match"] = prior
    p = out.get("probability_two_random_records_match")
    if not _is_number(p) or not 1e-12 <= float(p) <= 0.5:
        out["probability_two_random_records_match"] = min(max(float(p) if _is_number(p) else 1e-6, 1e-12), 0.5)
    comparisons = []
    for comparison in out["comparisons"]:
        comparison = dict(comparison)
        levels = [dict(level) for level in comparison["comparison_levels"]]
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        default_m = defaults.get(comparison["output_column_name"], [1.0 / max(len(non_null), 1)] * len(non_null))
        for lv, dm in zip(non_null, default_m, strict=True):
            m, u = lv.get("m_probability"), lv.get("u_probability")
            lv["m_probability"] = max(float(m), m_floor) if _is_number(m) and float(m) > 1e-300 else max(dm, m_floor)
            lv["u_probability"] = max(float(u), u_floor) if _is_number(u) and float(u) > 1e-300 else u_floor
        for key in ("m_probability", "u_probability"):
            total = sum(lv[key] for lv in non_null)
            for lv in non_null:
                lv[key] = min(lv[key] / total, 1 - 1e-9)
        comparison["comparison_levels"] = levels
        comparisons.append(comparison)
    out["comparisons"] = comparisons
    return out
