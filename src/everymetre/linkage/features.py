"""Input schema of the linkage module and the derived (normalised) columns the model compares.

The input is one row per person in a claim (see :data:`INPUT_SCHEMA`). :func:`coerce_records` accepts a polars
DataFrame, a pyarrow Table or a pandas DataFrame, checks the required columns, adds missing optional ones as
nulls and casts types. :func:`derive_features` adds the comparison columns; the expensive normalisations run
once per distinct value, never per row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from everymetre.kernel.geography import resolve_oblast
from everymetre.kernel.translit import (
    consonant_key,
    match_key,
    name_key,
    normalise_apartment,
    normalise_building,
    normalise_city,
    normalise_street,
    surname_family_key,
)

__all__ = [
    "CLAIM_KINDS",
    "FEATURE_COLUMNS",
    "INPUT_SCHEMA",
    "REQUIRED_COLUMNS",
    "coerce_records",
    "derive_features",
    "parse_share",
]

CLAIM_KINDS = ("damage_report", "repair_application", "destroyed_housing_application")

#: column -> polars type of the person-in-claim input table
INPUT_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.String(),  # unique per row: source record id or claim reference
    "claim_ref": pl.String(),
    "person_key": pl.String(),  # internal person id when already known; equal keys are forced together
    "surname": pl.String(),
    "given_name": pl.String(),
    "patronymic": pl.String(),
    "birth_date": pl.Date(),
    "rnokpp": pl.String(),
    "phone": pl.String(),
    "iban": pl.String(),
    "oblast": pl.String(),
    "city": pl.String(),
    "street": pl.String(),
    "building": pl.String(),
    "apartment": pl.String(),
    "registry_number": pl.String(),
    "property_kind": pl.String(),
    "area_m2": pl.Float64(),
    "damage_date": pl.Date(),
    "claim_kind": pl.String(),
    "share": pl.String(),  # "1/2", "0.5" or a float; parsed by parse_share
    "is_redamage": pl.Boolean(),
    "previous_claim_ref": pl.String(),
}
REQUIRED_COLUMNS = ("record_id", "claim_ref", "surname", "given_name")

#: the columns handed to Splink (besides unique_id)
FEATURE_COLUMNS = (
    "surname_n", "surname_k", "given_n", "given_k", "given_c", "patronymic_k",
    "dob", "dob_swap", "dob_canon", "rnokpp_n", "phone_n", "iban_n", "registry_n",
    "oblast_n", "city_k", "street_full", "bldg_k", "addr_k", "sb_k", "name_set", "bnum_k",
)


def parse_share(value: Any) -> float | None:
    """A co-ownership share as a float: "1/2" -> 0.5, "0,5" -> 0.5, "50%" -> 0.5, 0.25 -> 0.25; None if blank
    or unreadable."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip().replace(",", ".").replace(" ", "")
    if not s:
        return None
    try:
        if s.endswith("%"):
            return float(s[:-1]) / 100
        if "/" in s:
            num, den = s.split("/", 1)
            return float(num) / float(den) if float(den) else None
        return float(s)
    except ValueError:
        return None


def coerce_records(data: Any) -> pl.DataFrame:
    """Turn the input (polars, pyarrow or pandas) into a polars DataFrame with :data:`INPUT_SCHEMA` columns
    (extra columns are kept). Raises ValueError when a required column is missing or record_id repeats."""
    if isinstance(data, pl.DataFrame):
        df = data
    elif isinstance(data, pl.LazyFrame):
        df = data.collect()
    else:
        df = pl.from_arrow(data) if hasattr(data, "schema") and hasattr(data, "num_rows") else pl.from_pandas(data)  # type: ignore[assignment]  # from_arrow of a Table is a DataFrame (asserted below)
        assert isinstance(df, pl.DataFrame)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"linkage input lacks required column(s): {', '.join(missing)}")
    casts: list[pl.Expr] = []
    for name, dtype in INPUT_SCHEMA.items():
        if name not in df.columns:
            casts.append(pl.lit(None, dtype=dtype).alias(name))
        elif name == "share":
            casts.append(pl.col(name).cast(pl.String).alias(name))
        elif df.schema[name] != dtype:
            casts.append(pl.col(name).cast(dtype, strict=False).alias(name))
    if casts:
        df = df.with_columns(casts)
    # an empty or blank string is a missing value everywhere (an empty patronymic agrees with nothing)
    text = [n for n, t in INPUT_SCHEMA.items() if t == pl.String()]
    df = df.with_columns([
        pl.when(pl.col(n).str.strip_chars() == "").then(None).otherwise(pl.col(n)).alias(n) for n in text
    ])
    if df["record_id"].null_count() or df["record_id"].n_unique() != df.height:
        raise ValueError("record_id must be present and unique on every row")
    return df


def _map_distinct(col: pl.Series, fn: Callable[[str], str | None]) -> pl.Series:
    """Apply a Python normaliser once per distinct non-null value."""
    distinct = col.drop_nulls().unique().to_list()
    mapping = {v: (fn(v) or None) for v in distinct}  # a normaliser's empty result is a missing value
    return col.replace_strict(mapping, default=None, return_dtype=pl.String)


def _digits(col: pl.Series) -> pl.Series:
    return col.cast(pl.String).str.replace_all(r"\D", "")


def _keep(values: pl.Series, condition: pl.Series) -> pl.Series:
    """values where condition holds, else null."""
    return pl.select(pl.when(condition).then(values)).to_series()


def _oblast_code(value: str) -> str | None:
    try:
        return resolve_oblast(value)
    except KeyError:
        return match_key(value)


def _street_key(value: str) -> str | None:
    return normalise_street(value)[1]


def derive_features(records: pl.DataFrame) -> pl.DataFrame:
    """Return ``unique_id`` (row number, int64) and the :data:`FEATURE_COLUMNS`, plus ``surname_f`` (family
    key used by the findings) and ``share_f`` (parsed share). Row order follows ``records``."""
    df = records
    # identifiers are mostly distinct values: normalised in polars with the same rules as domain.translit's
    # normalise_rnokpp / normalise_phone / normalise_iban / normalise_registry_number
    rnokpp = _digits(df["rnokpp"])
    phone = _digits(df["phone"])
    iban = df["iban"].cast(pl.String).str.replace_all(r"[\s-]", "").str.to_uppercase()
    registry = _digits(df["registry_number"]).str.strip_chars_start("0")
    cols: dict[str, pl.Series] = {
        "unique_id": pl.Series("unique_id", range(df.height), dtype=pl.Int64),
        "surname_n": _map_distinct(df["surname"], name_key),
        "surname_k": _map_distinct(df["surname"], match_key),
        "surname_f": _map_distinct(df["surname"], surname_family_key),
        "given_n": _map_distinct(df["given_name"], name_key),
        "given_k": _map_distinct(df["given_name"], match_key),
        "given_c": _map_distinct(df["given_name"], consonant_key),
        "patronymic_k": _map_distinct(df["patronymic"], match_key),
        # identifiers are mostly distinct: normalised in polars, the same rules as domain.translit's
        # normalise_rnokpp / normalise_phone / normalise_iban / normalise_registry_number
        "rnokpp_n": _keep(rnokpp, rnokpp.str.len_chars() == 10),
        "phone_n": _keep("+380" + phone.str.slice(-9), phone.str.len_chars() >= 9),
        "iban_n": _keep(iban, iban.str.len_chars() > 0),
        "registry_n": _keep(registry, registry.str.len_chars() > 0),
        "oblast_n": _map_distinct(df["oblast"], _oblast_code),
        "city_k": _map_distinct(df["city"], normalise_city),
        "street_k": _map_distinct(df["street"], _street_key),
        "building_n": _map_distinct(df["building"], normalise_building),
        "apartment_n": _map_distinct(df["apartment"], normalise_apartment),
        "share_f": _map_distinct(df["share"], lambda s: str(parse_share(s)) if parse_share(s) is not None else None),
    }
    out = pl.DataFrame(cols).with_columns(
        pl.col("share_f").cast(pl.Float64),
        dob=df["birth_date"].dt.to_string("%Y-%m-%d"),
        # the date with day and month swapped, when that is a valid different date
        dob_swap=pl.when(
            (df["birth_date"].dt.day() <= 12) & (df["birth_date"].dt.day() != df["birth_date"].dt.month())
        ).then(
            df["birth_date"].dt.year().cast(pl.String)
            + "-" + df["birth_date"].dt.day().cast(pl.String).str.zfill(2)
            + "-" + df["birth_date"].dt.month().cast(pl.String).str.zfill(2)
        ),
        # the same for a date and its swapped twin: year + the smaller and the larger of day and month
        dob_canon=pl.when(df["birth_date"].dt.day() <= 12).then(
            df["birth_date"].dt.year().cast(pl.String)
            + "-" + pl.min_horizontal(df["birth_date"].dt.day(), df["birth_date"].dt.month()).cast(pl.String).str.zfill(2)
            + "-" + pl.max_horizontal(df["birth_date"].dt.day(), df["birth_date"].dt.month()).cast(pl.String).str.zfill(2)
        ).otherwise(df["birth_date"].dt.to_string("%Y-%m-%d")),
    )
    out = out.with_columns(
        street_full=pl.when(pl.col("street_k").is_not_null()).then(
            pl.concat_str([pl.col("city_k").fill_null(""), pl.col("street_k")], separator="|")
        ),
    ).with_columns(
        bldg_k=pl.when(pl.col("building_n").is_not_null()).then(
            pl.concat_str([pl.col("street_full"), pl.col("building_n")], separator="|")
        ),
    ).with_columns(
        addr_k=pl.when(pl.col("bldg_k").is_not_null()).then(
            pl.concat_str([pl.col("bldg_k"), pl.col("apartment_n").fill_null("")], separator="|")
        ),
    )
    out = out.with_columns(
        # street and building without the city: one typo in a town's name must not hide the same home
        sb_k=pl.when(pl.col("street_k").is_not_null() & pl.col("building_n").is_not_null()).then(
            pl.concat_str([pl.col("street_k"), pl.col("building_n")], separator="|")
        ),
        # the two names in either order: a surname written in the given-name field and the other way round
        name_set=pl.when(pl.col("surname_k").is_not_null() & pl.col("given_k").is_not_null()).then(
            pl.concat_str([pl.min_horizontal("surname_k", "given_k"), pl.max_horizontal("surname_k", "given_k")],
                          separator="|")
        ),
    )
    return out.rename({"building_n": "bnum_k"}).drop("street_k", "apartment_n")
