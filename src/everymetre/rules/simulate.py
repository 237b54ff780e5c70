"""What-if for policy makers: the budget change between two rule sets, and parsing NAME=VALUE overrides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from everymetre.rules.parameters import OverrideError
from everymetre.rules.ruleset import RuleSet, _unknown_name
from everymetre.rules.vectorised import assess_frame

__all__ = ["BudgetChange", "parse_effective_from", "parse_overrides", "simulate_budget"]


@dataclass(frozen=True, slots=True)
class BudgetChange:
    """Totals in kopiykas (Python ints, exact).  ``by_group`` has one row per (oblast, payout_kind):
    claims, eligible_base, eligible_changed, base_kopiykas, changed_kopiykas, delta_kopiykas."""

    base_hash: str
    changed_hash: str
    claims: int
    base_kopiykas: int
    changed_kopiykas: int
    delta_kopiykas: int
    by_group: pl.DataFrame


def simulate_budget(claims: pl.DataFrame, base: RuleSet, changed: RuleSet) -> BudgetChange:
    """Assess every claim under ``base`` and under ``changed`` and total the difference.

    ``claims`` has the columns of ``vectorised.COLUMNS`` (oblast and payout_kind group the result).
    Sums are taken as Int128 so that no total can overflow.
    """
    a = assess_frame(claims, base)
    b = assess_frame(claims, changed)
    frame = pl.DataFrame({
        "oblast": claims.get_column("oblast").cast(pl.String),
        "payout_kind": claims.get_column("payout_kind").cast(pl.String),
        "eligible_base": a.get_column("eligible"),
        "eligible_changed": b.get_column("eligible"),
        "base": a.get_column("amount_kopiykas").cast(pl.Int128),
        "changed": b.get_column("amount_kopiykas").cast(pl.Int128),
    })
    groups = (
        frame.group_by("oblast", "payout_kind")
        .agg(
            pl.len().alias("claims"),
            pl.col("eligible_base").sum().alias("eligible_base"),
            pl.col("eligible_changed").sum().alias("eligible_changed"),
            pl.col("base").sum().alias("base_kopiykas"),
            pl.col("changed").sum().alias("changed_kopiykas"),
        )
        .with_columns((pl.col("changed_kopiykas") - pl.col("base_kopiykas")).alias("delta_kopiykas"))
        .sort("oblast", "payout_kind")
    )
    total_a = int(frame.get_column("base").sum() or 0)
    total_b = int(frame.get_column("changed").sum() or 0)
    return BudgetChange(base.hash, changed.hash, claims.height, total_a, total_b, total_b - total_a, groups)


def parse_overrides(pairs: Iterable[str], ruleset: RuleSet) -> dict[str, Any]:
    """``["certificate.vavg_per_m2=40000"]`` -> ``{"certificate.vavg_per_m2": "40000"}``, checked.

    Names must be known to ``ruleset`` (see ``RuleSet.names()``) and values must suit the parameter's
    unit (decimal UAH with at most 2 places, coefficient with at most 4, whole months, true/false,
    YYYY-MM-DD); otherwise ``OverrideError`` says what is wrong.  Values stay text: ``with_overrides``
    converts them exactly.
    """
    out: dict[str, Any] = {}
    known = ruleset.names()
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise OverrideError(f"{pair!r}: write NAME=VALUE, e.g. certificate.vavg_per_m2=40000")
        if name not in known:
            raise OverrideError(_unknown_name(name, known))
        if name in out:
            raise OverrideError(f"{name} is set twice")
        out[name] = value
    if out:
        ruleset.with_overrides(out)  # validates every value now, with a clear message
    return out


def parse_effective_from(text: str) -> date:
    """``--from`` value -> date, with a clear error."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise OverrideError(f"{text!r} is not a date YYYY-MM-DD") from None
