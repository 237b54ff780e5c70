"""Many claims at once: the same rules on columns, in int64 kopiykas, exactly equal to :func:`assess`.

Input: a polars DataFrame with the columns of :data:`COLUMNS` (one row per claim; build one from
``ClaimFacts`` with :func:`facts_frame`).  Output: a DataFrame of the same height and row order with
``eligible``, ``reasons`` (bit mask, decode with ``reasons_from_mask``), ``amount_kopiykas``, ``tier``,
``spending_months``, ``interim_report_required`` and ``capped``.  Per-owner splits are not computed
here (use the one-claim path for a decision).

How it stays exact: the dates on which any parameter changes cut time into epochs; every parameter is
resolved once per epoch by the same code as the one-claim path.  The certificate's price per m² depends
only on (epoch, oblast, rooms band, year band or heritage), so it is computed for each combination by
the one-claim function ``certificate.price_per_m2`` and gathered; the rest is int64 arithmetic rounded by
``money.round_half_up_div``, with the bounds checked against overflow first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from everymetre.kernel.geography import OBLASTS
from everymetre.rules import certificate
from everymetre.rules.assess import params_needed
from everymetre.rules.model import (
    MAX_AREA_M2,
    MAX_WORKS_KOPIYKAS,
    PAYOUT_KINDS,
    PROPERTY_KINDS,
    REASON_BITS,
    ClaimFacts,
    InvalidClaim,
)
from everymetre.rules.money import AREA_SCALE, round_half_up_div
from everymetre.rules.parameters import RulesNotInForce
from everymetre.rules.ruleset import RuleSet

__all__ = ["COLUMNS", "assess_frame", "facts_frame"]

OBLAST_CODES = [o.code for o in OBLASTS]
_EPOCH0 = date(1970, 1, 1)
_I63 = 2**62  # headroom: round_half_up_div computes 2n + d

#: input columns and their polars types (area_m2 may also be String or Int; floats are refused)
COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "payout_kind": pl.String,
    "property_kind": pl.String,
    "oblast": pl.String,
    "area_m2": pl.Decimal(38, 2),
    "rooms": pl.Int64,
    "year_built": pl.Int64,
    "heritage": pl.Boolean,
    "works_total_kopiykas": pl.Int64,
    "damage_date": pl.Date,
    "assessment_date": pl.Date,
    "birth_date": pl.Date,
    "owns": pl.Boolean,
    "sanctioned": pl.Boolean,
    "convicted_109_114": pl.Boolean,
    "territory_occupied_before_2022": pl.Boolean,
    "common_parts_damaged": pl.Boolean,
    "own_street_entrance": pl.Boolean,
}
_CERT_ONLY = ("area_m2", "rooms", "year_built")


def facts_frame(facts: Sequence[ClaimFacts]) -> pl.DataFrame:
    """Columnar input for :func:`assess_frame` from ``ClaimFacts`` (co-owners are not needed for totals)."""
    data: dict[str, list[object]] = {c: [] for c in COLUMNS}
    for f in facts:
        for c in COLUMNS:
            v = getattr(f, c)
            data[c].append(str(v) if c == "area_m2" and v is not None else v)
    frame = pl.DataFrame({c: pl.Series(c, data[c], dtype=pl.String if c == "area_m2" else COLUMNS[c]) for c in COLUMNS})
    return frame.with_columns(pl.col("area_m2").cast(pl.Decimal(38, 2)))


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _column(df: pl.DataFrame, name: str) -> pl.Series:
    if name not in df.columns:
        raise InvalidClaim(name, "column is missing")
    return df.get_column(name)


def _no_nulls(s: pl.Series, name: str, where: np.ndarray | None = None) -> None:
    if s.null_count() == 0:
        return
    nulls = s.is_null().to_numpy()
    if where is not None:
        nulls = nulls & where
    if nulls.any():
        raise InvalidClaim(name, "is missing", row=_first(nulls))


def _codes(df: pl.DataFrame, name: str, allowed: list[str]) -> np.ndarray:
    s = _column(df, name)
    _no_nulls(s, name)
    if s.dtype != pl.String:
        s = s.cast(pl.String)
    bad = ~s.is_in(allowed).to_numpy()
    if bad.any():
        i = _first(bad)
        raise InvalidClaim(name, f"{s[i]!r} is not one of {', '.join(allowed)}", row=i)
    return s.cast(pl.Enum(allowed)).to_physical().to_numpy().astype(np.int64, copy=False)


def _bool(df: pl.DataFrame, name: str) -> np.ndarray:
    s = _column(df, name)
    if s.dtype != pl.Boolean:
        raise InvalidClaim(name, f"must be a Boolean column, got {s.dtype}")
    _no_nulls(s, name)
    return s.to_numpy()


def _days(df: pl.DataFrame, name: str) -> np.ndarray:
    s = _column(df, name)
    if s.dtype != pl.Date:
        raise InvalidClaim(name, f"must be a Date column, got {s.dtype}")
    _no_nulls(s, name)
    return s.to_physical().to_numpy().astype(np.int64, copy=False)


def _ints(df: pl.DataFrame, name: str, where: np.ndarray | None = None) -> np.ndarray:
    s = _column(df, name)
    if not s.dtype.is_integer():
        raise InvalidClaim(name, f"must be an integer column, got {s.dtype}")
    _no_nulls(s, name, where)
    return s.fill_null(0).cast(pl.Int64).to_numpy()


def _area_x100(df: pl.DataFrame, where: np.ndarray) -> np.ndarray:
    s = _column(df, "area_m2")
    _no_nulls(s, "area_m2", where)
    if s.dtype == pl.String:
        ok = s.str.contains(r"^\s*\d+(\.\d{0,2})?\s*$").fill_null(True).to_numpy()
        if not ok.all():
            i = _first(~ok)
            raise InvalidClaim("area_m2", f"{s[i]!r} is not an area with at most 2 decimal places", row=i)
        s = s.str.strip_chars().cast(pl.Decimal(38, 2))
    if isinstance(s.dtype, pl.Decimal):
        scale = s.dtype.scale or 0
        phys = s.fill_null(0).to_physical()  # integer x 10^scale (Int128)
        if scale > 2:
            unit = 10 ** (scale - 2)
            bad = (phys % unit != 0).to_numpy()
            if bad.any():
                i = _first(bad)
                raise InvalidClaim("area_m2", f"{s[i]} has more than 2 decimal places", row=i)
            phys = phys // unit
        elif scale < 2:
            phys = phys * 10 ** (2 - scale)
        too_big = (phys > int(MAX_AREA_M2) * AREA_SCALE).to_numpy()
        if too_big.any():
            i = _first(too_big)
            raise InvalidClaim("area_m2", f"{s[i]} must be more than 0 and at most {MAX_AREA_M2}", row=i)
        return phys.cast(pl.Int64).to_numpy()
    if s.dtype.is_integer():
        return s.fill_null(0).cast(pl.Int64).to_numpy() * AREA_SCALE
    raise InvalidClaim("area_m2", f"give areas as Decimal or String (exact), not {s.dtype}")


def _check(bad: np.ndarray, name: str, problem: str, values: np.ndarray) -> None:
    if bad.any():
        i = _first(bad)
        raise InvalidClaim(name, f"{values[i]} {problem}", row=i)


def _ymd(df: pl.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = df.get_column(name)
    return (s.dt.year().to_numpy().astype(np.int64), s.dt.month().to_numpy().astype(np.int64),
            s.dt.day().to_numpy().astype(np.int64))


def assess_frame(claims: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """Eligibility, amount and tier of every row of ``claims`` under the rules in force on its assessment date.

    Raises ``InvalidClaim`` (with the row) for an input the one-claim path would refuse, and
    ``RulesNotInForce`` if a needed parameter has no value on some row's assessment date.
    """
    n = claims.height
    kind = _codes(claims, "payout_kind", list(PAYOUT_KINDS))  # 0 repair, 1 certificate
    pkind = _codes(claims, "property_kind", list(PROPERTY_KINDS))  # 0 house, 1 apartment, 2 room
    oblast = _codes(claims, "oblast", OBLAST_CODES)
    is_cert = kind == 1
    is_repair = ~is_cert
    damage = _days(claims, "damage_date")
    assess_day = _days(claims, "assessment_date")
    _days(claims, "birth_date")
    flags = {c: _bool(claims, c) for c in ("heritage", "owns", "sanctioned", "convicted_109_114",
                                             "territory_occupied_before_2022", "common_parts_damaged",
                                             "own_street_entrance")}
    works = _ints(claims, "works_total_kopiykas")
    _check((works < 0) | (works > MAX_WORKS_KOPIYKAS), "works_total_kopiykas", f"is outside 0..{MAX_WORKS_KOPIYKAS}", works)
    area = _area_x100(claims, is_cert)
    rooms = _ints(claims, "rooms", is_cert)
    year = _ints(claims, "year_built", is_cert)
    area_null = claims.get_column("area_m2").is_null().to_numpy()
    _check(~area_null & (area <= 0), "area_m2", "must be more than 0", area)
    rooms_null = claims.get_column("rooms").is_null().to_numpy()
    _check(~rooms_null & (rooms < 1), "rooms", "must be at least 1", rooms)
    year_null = claims.get_column("year_built").is_null().to_numpy()
    _check(~year_null & ((year < 0) | (year > 9999)), "year_built", "is not a year", year)

    # ---- epochs: every date on which some parameter changes
    bps = ruleset.breakpoints()
    bp_days = np.array([(d - _EPOCH0).days for d in bps], dtype=np.int64)
    epoch = np.searchsorted(bp_days, assess_day, side="right") - 1
    if n and int(epoch.min()) < 0:
        i = _first(epoch < 0)
        ruleset.resolve(params_needed(PAYOUT_KINDS[kind[i]]), date.fromordinal(_EPOCH0.toordinal() + int(assess_day[i])))
        raise RulesNotInForce(f"row {i}: no rules in force on its assessment date")  # pragma: no cover
    E = len(bps)
    used = np.bincount(epoch * 2 + kind, minlength=2 * E).reshape(E, 2) > 0 if n else np.zeros((E, 2), bool)

    damage_from = np.zeros(E, np.int64)
    min_age = np.zeros(E, np.int64)
    cap_a = np.zeros(E, np.int64)
    months_a = np.zeros(E, np.int64)
    cap_b = np.zeros((E, 3), np.int64)
    months_b = np.zeros(E, np.int64)
    interim_b = np.zeros(E, bool)
    house_cap = np.zeros(E, np.int64)
    floor_capped = np.zeros(E, bool)
    validity = np.zeros(E, np.int64)
    floor_cost = np.zeros((E, len(OBLAST_CODES)), np.int64)
    for e, on in enumerate(bps):
        for k in (0, 1):
            if not used[e, k]:
                continue
            try:
                p = ruleset.resolve(params_needed(PAYOUT_KINDS[k]), on)
            except RulesNotInForce as exc:
                i = _first((epoch == e) & (kind == k))
                raise RulesNotInForce(f"row {i}: {exc}") from None
            damage_from[e] = (p["eligibility.damage_from"].value - _EPOCH0).days
            min_age[e] = p["eligibility.min_age_years"].value
            if k == 0:
                cap_a[e] = p["repair.tier_a_cap"].value
                months_a[e] = p["repair.tier_a_spending_months"].value
                for j, pk in enumerate(PROPERTY_KINDS):
                    cap_b[e, j] = p[f"repair.tier_b_cap_{pk}"].value
                months_b[e] = p["repair.tier_b_spending_months"].value
                interim_b[e] = p["repair.tier_b_interim_report"].value
            else:
                house_cap[e] = p["certificate.house_area_cap_m2"].scaled
                floor_capped[e] = p["certificate.floor_uses_capped_area"].value
                validity[e] = p["certificate.validity_months"].value
                table = p["certificate.floor_cost_per_m2"].value
                for j, ob in enumerate(OBLAST_CODES):
                    floor_cost[e, j] = table[ob]

    # ---- eligibility (same checks and order as eligibility.check)
    by, bm, bd = _ymd(claims, "birth_date")
    ay, am, ad = _ymd(claims, "assessment_date")
    age = ay - by - ((am < bm) | ((am == bm) & (ad < bd)))
    W = np.uint32
    mask = np.zeros(n, np.uint32)
    mask |= np.where(damage < damage_from[epoch], W(REASON_BITS["damage_before_start"]), W(0))
    mask |= np.where(damage > assess_day, W(REASON_BITS["damage_in_future"]), W(0))
    mask |= np.where(age < min_age[epoch], W(REASON_BITS["under_age"]), W(0))
    mask |= np.where(~flags["owns"], W(REASON_BITS["not_owner"]), W(0))
    mask |= np.where(flags["sanctioned"], W(REASON_BITS["sanctioned"]), W(0))
    mask |= np.where(flags["convicted_109_114"], W(REASON_BITS["convicted_109_114"]), W(0))
    mask |= np.where(flags["territory_occupied_before_2022"], W(REASON_BITS["occupied_before_start"]), W(0))
    building = is_repair & (pkind == 1) & flags["common_parts_damaged"] & ~flags["own_street_entrance"]
    mask |= np.where(building, W(REASON_BITS["building_common_parts_damaged"]), W(0))
    mask |= np.where(is_repair & (works == 0), W(REASON_BITS["no_costed_works"]), W(0))
    eligible = mask == 0

    # ---- repair
    tier_a = is_repair & (works <= cap_a[epoch])
    tier_b = is_repair & ~tier_a
    b_cap = cap_b[epoch, pkind]
    repair_amount = np.where(tier_a, works, np.minimum(works, b_cap))
    capped = tier_b & (works > b_cap) & eligible

    # ---- certificate
    amount = np.where(is_repair, repair_amount, 0)
    if is_cert.any():
        amount = np.where(is_cert, _certificate_amounts(ruleset, bps, epoch, oblast, pkind, rooms, year, area,
                                                        flags["heritage"], is_cert, used[:, 1], house_cap,
                                                        floor_capped, floor_cost), amount)
    amount = np.where(eligible, amount, 0).astype(np.int64)

    tier_code = np.where(eligible & tier_a, 1, np.where(eligible & tier_b, 2, 0)).astype(np.int8)
    months = np.where(is_cert, validity[epoch], np.where(tier_a, months_a[epoch], months_b[epoch]))
    interim = eligible & tier_b & interim_b[epoch]
    out = pl.DataFrame({
        "eligible": eligible,
        "reasons": mask,
        "amount_kopiykas": amount,
        "_tier": tier_code,
        "_months": months.astype(np.int32),
        "interim_report_required": interim,
        "capped": capped,
    })
    return out.select(
        "eligible",
        "reasons",
        "amount_kopiykas",
        pl.when(pl.col("_tier") == 1).then(pl.lit("A")).when(pl.col("_tier") == 2).then(pl.lit("B"))
        .otherwise(pl.lit(None, dtype=pl.String)).alias("tier"),
        pl.when(pl.col("eligible")).then(pl.col("_months")).otherwise(None).alias("spending_months"),
        "interim_report_required",
        "capped",
    )


def _certificate_amounts(
    rs: RuleSet, bps: tuple[date, ...], epoch: np.ndarray, oblast: np.ndarray, pkind: np.ndarray,
    rooms: np.ndarray, year: np.ndarray, area: np.ndarray, heritage: np.ndarray, is_cert: np.ndarray,
    cert_epochs: np.ndarray, house_cap: np.ndarray, floor_capped: np.ndarray, floor_cost: np.ndarray,
) -> np.ndarray:
    """C = max(P x S_eff, floor) for every row (only certificate rows are meaningful)."""
    krooms, kyear = rs.parameter("certificate.krooms"), rs.parameter("certificate.kyear")
    r_keys = np.array(sorted({k for e in krooms.history for k in e.value}), dtype=np.int64)
    y_keys = np.array(sorted({k for e in kyear.history for k in e.value}), dtype=np.int64)
    r_idx = np.searchsorted(r_keys, rooms, side="right") - 1
    y_idx = np.where(heritage, len(y_keys), np.searchsorted(y_keys, year, side="right") - 1)
    for idx, name, vals in ((r_idx, "rooms", rooms), (y_idx, "year_built", year)):
        bad = is_cert & (idx < 0)
        if bad.any():
            i = _first(bad)
            raise RulesNotInForce(f"row {i}: no Krooms/Kyear entry for {name} {vals[i]}")
    E, O, R, Y = len(bps), len(OBLAST_CODES), len(r_keys), len(y_keys) + 1
    table = np.zeros((E, O, R, Y), dtype=np.int64)
    for e in np.flatnonzero(cert_epochs):
        on = bps[e]
        for o, ob in enumerate(OBLAST_CODES):
            for r, rk in enumerate(r_keys):
                for y in range(Y):
                    heritage_band = y == Y - 1
                    price = certificate.price_per_m2(rs, on, ob, int(rk), 0 if heritage_band else int(y_keys[y]), heritage_band)
                    if price.kopiykas_per_m2 >= _I63:
                        raise OverflowError("price per m² does not fit in int64; use the one-claim path")
                    table[e, o, r, y] = price.kopiykas_per_m2
    e_, r_, y_ = np.where(is_cert, epoch, 0), np.where(is_cert, r_idx, 0), np.where(is_cert, y_idx, 0)
    P = table[e_, oblast, r_, y_]
    s_eff = np.where(pkind == 0, np.minimum(area, house_cap[e_]), area)
    s_floor = np.where(floor_capped[e_], s_eff, area)
    cost = floor_cost[e_, oblast]
    if int(P.max(initial=0)) * int(s_eff.max(initial=0)) >= _I63 or int(cost.max(initial=0)) * int(area.max(initial=0)) >= _I63:
        raise OverflowError("certificate amounts would overflow int64; use the one-claim path")
    market = round_half_up_div(P * s_eff, AREA_SCALE)
    floor = round_half_up_div(cost * s_floor, AREA_SCALE)
    return np.maximum(market, floor)
