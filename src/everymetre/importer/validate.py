"""Vectorised validation of imported rows with polars: the intake rules of `everymetre.claims.schemas`,
written as column expressions so a million rows check in about a second.

Per-row Python runs only over *distinct* values where no expression can do it (oblast names, shares, name
transliteration, and the message for an IBAN that failed its vectorised checksum).

`validate()` returns the good rows, normalised to the store's columns (``v_*``), and the problems as one row
per failing field: row number, source record id, field, reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from everymetre.claims.lifecycle import WAR_START, ClaimKind, damage_date_problem
from everymetre.claims.values import parse_share
from everymetre.importer.mapping import FIELDS, Mapping
from everymetre.importer.readers import ROW
from everymetre.kernel.geography import resolve_oblast
from everymetre.kernel.iban import _COUNTRY_LENGTHS, IBANError, validate_iban
from everymetre.kernel.identifiers import RNOKPP_WEIGHTS
from everymetre.kernel.text import BIDI, CONTROL, LINE_PATTERN, LINES_PATTERN
from everymetre.kernel.translit import translit_uk

REJECT_SCHEMA = pl.Schema({"row": pl.Int64, "source_record_id": pl.String, "field": pl.String, "reason": pl.String})
PROPERTY_KINDS = ("house", "apartment", "room")
CLAIM_KINDS = tuple(k.value for k in ClaimKind)
_TRUE = ("1", "true", "t", "yes", "y", "так", "т", "x", "+")
_FALSE = ("0", "false", "f", "no", "n", "ні", "н", "-")
_MAX_LEN = {"source_record_id": 120, "full_name": 200, "full_name_latin": 200, "hromada": 200, "street": 200,
            "building": 20, "apartment": 20, "registry_number": 40, "description": 5000, "previous": 120}


MULTILINE_FIELDS = frozenset({"description"})


@dataclass
class Validated:
    good: pl.DataFrame  # ROW, v_* columns
    rejects: pl.DataFrame  # REJECT_SCHEMA
    total: int


def _raw(mapping: Mapping, name: str, df: pl.DataFrame) -> pl.Expr:
    """The field's input as an expression: the column (or the constant), with `values` translation applied."""
    spec = mapping.fields[name]
    if spec.column is None:
        expr = pl.lit(spec.value)
        dtype = pl.Boolean if isinstance(spec.value, bool) else pl.String
        expr = expr.cast(dtype) if dtype is pl.Boolean else expr.cast(pl.String)
    else:
        expr = pl.col(spec.column)
        if spec.values:
            expr = expr.cast(pl.String).str.strip_chars()
            expr = expr.replace(list(spec.values), [str(v) for v in spec.values.values()])
    return expr


def _text(expr: pl.Expr) -> pl.Expr:
    """Stripped text; empty -> null."""
    e = expr.cast(pl.String).str.strip_chars()
    return pl.when(e.str.len_chars() > 0).then(e)


def _is_dtype(df: pl.DataFrame, mapping: Mapping, name: str, kinds: tuple) -> bool:
    spec = mapping.fields[name]
    return spec.column is not None and not spec.values and isinstance(df.schema[spec.column], kinds)


def validate(df: pl.DataFrame, mapping: Mapping, today: date) -> Validated:
    m = mapping
    has = m.has
    # stage 1: every field's normalised value (v_*) and, where a check needs it, its stripped text (t_*);
    # stage 2 checks those columns, so no expression is computed twice
    vals: dict[str, pl.Expr] = {}
    errs: dict[str, list[pl.Expr]] = {}

    def v(name: str) -> pl.Expr:
        return pl.col(f"v_{name}")

    def t(name: str) -> pl.Expr:
        return pl.col(f"t_{name}")

    def err(field: str, cond: pl.Expr, message: str | pl.Expr) -> None:
        msg = pl.lit(message) if isinstance(message, str) else message
        errs.setdefault(field, []).append(pl.when(cond).then(msg))

    def missing(field: str, value: pl.Expr) -> None:
        err(field, value.is_null(), "missing (this field is required)")

    def too_long(field: str) -> None:
        n = _MAX_LEN[field]
        err(field, v(field).str.len_chars() > n, f"longer than {n} characters")

    def spaces(e: pl.Expr) -> pl.Expr:
        return e.str.replace_all(r"\s{2,}", " ")

    # --- text hygiene, first (its message wins): no control or text-direction override characters in any field
    for name, spec in m.fields.items():
        if spec.column is not None:
            pattern = LINES_PATTERN if name in MULTILINE_FIELDS else LINE_PATTERN
            vals[f"t_bad_{name}"] = _raw(m, name, df).cast(pl.String).str.contains(pattern).fill_null(False)
            bad = pl.col(f"t_bad_{name}")
            control = _raw(m, name, df).cast(pl.String).str.contains(r"[\x{202A}-\x{202E}\x{2066}-\x{2069}]")
            err(name, bad, pl.when(pl.col(f"t_bidi_{name}")).then(pl.lit(BIDI)).otherwise(pl.lit(CONTROL)))
            vals[f"t_bidi_{name}"] = control.fill_null(False)
    # --- the record id
    vals["v_source_record_id"] = _text(_raw(m, "source_record_id", df))
    missing("source_record_id", v("source_record_id"))
    too_long("source_record_id")
    err("source_record_id", v("source_record_id").str.contains(r"[\x00-\x1f]"), "contains control characters")
    # --- names
    if has("full_name"):
        name_field = "full_name"
        vals["v_full_name"] = spaces(_text(_raw(m, "full_name", df)))
        missing("full_name", v("full_name"))
    else:
        name_field = "surname"
        vals["t_surname"] = spaces(_text(_raw(m, "surname", df)))
        vals["t_given_name"] = spaces(_text(_raw(m, "given_name", df)))
        parts = [t("surname"), t("given_name")]
        if has("patronymic"):
            vals["t_patronymic"] = spaces(_text(_raw(m, "patronymic", df)))
            parts.append(t("patronymic"))
        missing("surname", t("surname"))
        missing("given_name", t("given_name"))
    if has("full_name_latin"):
        vals["v_full_name_latin"] = _text(_raw(m, "full_name_latin", df))
        too_long("full_name_latin")
    # --- dates
    date_fields = ["damage_date"] + (["birth_date"] if has("birth_date") else [])
    for f in date_fields:
        spec = m.fields[f]
        raw = _raw(m, f, df)
        if _is_dtype(df, m, f, (pl.Date,)):
            vals[f"v_{f}"], vals[f"t_{f}"] = raw, pl.lit(None, dtype=pl.String)
        elif _is_dtype(df, m, f, (pl.Datetime,)):
            vals[f"v_{f}"], vals[f"t_{f}"] = raw.dt.date(), pl.lit(None, dtype=pl.String)
        else:
            vals[f"t_{f}"] = _text(raw)
            vals[f"v_{f}"] = _text(raw).str.strptime(pl.Date, spec.format or "%Y-%m-%d", strict=False, exact=True)
        err(f, t(f).is_not_null() & v(f).is_null(), f"not a date in the format {spec.format}")
    if has("birth_date"):
        err("birth_date", (v("birth_date") < date(1900, 1, 1)) | (v("birth_date") > today),
            "the birth date must be between 1900 and today")
    err("damage_date", v("damage_date").is_null() & t("damage_date").is_null(), "missing (this field is required)")
    err("damage_date", v("damage_date") < WAR_START, damage_date_problem(WAR_START - timedelta(days=1), today) or "")
    err("damage_date", v("damage_date") > today, damage_date_problem(today + timedelta(days=1), today) or "")
    # --- taxpayer number: 10 digits and the weighted check digit
    if has("rnokpp"):
        raw = _raw(m, "rnokpp", df)
        if _is_dtype(df, m, "rnokpp", (pl.Int64, pl.Int32, pl.UInt64, pl.UInt32)):
            raw = raw.cast(pl.String).str.zfill(10)
        vals["v_rnokpp"] = _text(raw).str.replace_all(" ", "", literal=True)
        rn = v("rnokpp")
        ten = rn.str.contains(r"^\d{10}$")
        err("rnokpp", rn.is_not_null() & ~ten, "the taxpayer number (RNOKPP) must be exactly 10 digits")
        digit = [rn.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(10)]
        total = pl.sum_horizontal([d * w for d, w in zip(digit, RNOKPP_WEIGHTS, strict=False)])
        err("rnokpp", ten & (total % 11 % 10 != digit[9]),
            "the taxpayer number (RNOKPP) has a wrong check digit: please check it for a typo")
    # --- contacts
    if has("phone"):
        vals["t_phone"] = _text(_raw(m, "phone", df))
        vals["v_phone"] = _text(_raw(m, "phone", df)).str.replace_all(r"[ ()\-]", "")
        err("phone", t("phone").is_not_null() & ~v("phone").str.contains(r"^\+?\d{7,19}$"),
            "not a phone number (7 to 19 digits, may start with +)")
    if has("iban"):
        vals["v_iban"] = _text(_raw(m, "iban", df)).str.replace_all(r"[\s\-]", "").str.to_uppercase()
    # --- property
    vals["v_oblast_raw"] = _text(_raw(m, "oblast", df))
    vals["v_property_kind"] = _text(_raw(m, "property_kind", df)).str.to_lowercase()
    missing("oblast", v("oblast_raw"))
    missing("property_kind", v("property_kind"))
    kind_ok = v("property_kind").is_in(PROPERTY_KINDS)
    err("property_kind", v("property_kind").is_not_null() & ~kind_ok,
        pl.format("unknown property kind '{}': use house, apartment or room (or translate the source's words "
                  "with values = {{...}} in the mapping)", v("property_kind")))
    for f in ("hromada", "street", "building", "apartment", "registry_number", "description"):
        if has(f):
            vals[f"v_{f}"] = _text(_raw(m, f, df))
            too_long(f)
    if has("apartment"):
        err("apartment", v("property_kind").is_in(("apartment", "room")) & v("apartment").is_null(),
            "an apartment or room needs its apartment number")
    area_raw = _raw(m, "total_area_m2", df)
    if _is_dtype(df, m, "total_area_m2", (pl.Float64, pl.Float32)):
        area_raw = area_raw.round(2)
    vals["t_total_area_m2"] = _text(area_raw).str.replace(",", ".", literal=True)
    area_ok = t("total_area_m2").str.contains(r"^\d{1,5}(\.\d{1,2})?$")
    vals["v_total_area_m2"] = _text(area_raw).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    missing("total_area_m2", t("total_area_m2"))
    err("total_area_m2", t("total_area_m2").is_not_null() & ~area_ok, "not an area in m² (a number with at most 2 decimals)")
    err("total_area_m2", area_ok & ((v("total_area_m2") <= 0) | (v("total_area_m2") > 10000)),
        "the area must be more than 0 and at most 10000 m²")
    # --- the claim
    if has("claim_kind"):
        vals["v_claim_kind"] = _text(_raw(m, "claim_kind", df)).str.to_lowercase()
        ck = v("claim_kind")
        err("claim_kind", ck.is_null(), "missing (give the claim kind, or leave the field out for damage_report)")
        err("claim_kind", ck.is_not_null() & ~ck.is_in(CLAIM_KINDS),
            pl.format("unknown claim kind '{}': use {}", ck, pl.lit(", ".join(CLAIM_KINDS))))
    else:
        vals["v_claim_kind"] = pl.lit("damage_report")
    if has("is_redamage"):
        spec = m.fields["is_redamage"]
        if _is_dtype(df, m, "is_redamage", (pl.Boolean,)) or (spec.column is None and isinstance(spec.value, bool)):
            vals["v_is_redamage"] = _raw(m, "is_redamage", df).cast(pl.Boolean).fill_null(False)
        else:
            vals["t_is_redamage"] = _text(_raw(m, "is_redamage", df)).str.to_lowercase()
            vals["v_is_redamage"] = _text(_raw(m, "is_redamage", df)).str.to_lowercase().is_in(_TRUE).fill_null(False)
            rt = t("is_redamage")
            err("is_redamage", rt.is_not_null() & ~rt.is_in(_TRUE + _FALSE), pl.format("'{}' is not yes or no", rt))
    else:
        vals["v_is_redamage"] = pl.lit(False)
    if has("previous"):
        vals["v_previous"] = _text(_raw(m, "previous", df))
        too_long("previous")
    if has("share"):
        vals["v_share_raw"] = _text(_raw(m, "share", df))

    stage1 = df.select(pl.col(ROW), *[e.alias(k) for k, e in vals.items()])
    if not has("full_name"):
        full = pl.concat_str(parts, separator=" ", ignore_nulls=True)
        stage1 = stage1.with_columns(v_full_name=pl.when(t("surname").is_not_null() & t("given_name").is_not_null()).then(full))
    err(name_field, v("full_name").str.len_chars() > 200, "the full name is longer than 200 characters")
    out = stage1.with_columns(*[pl.coalesce(es).alias(f"e_{k}") for k, es in errs.items()])
    out = out.drop([c for c in out.columns if c.startswith("t_")])

    # --- per distinct value: oblast names, shares, IBANs that failed the vectorised checksum
    obl_map: dict[str, str | None] = {}
    obl_err: dict[str, str] = {}
    for name in out["v_oblast_raw"].drop_nulls().unique().to_list():
        try:
            obl_map[name] = resolve_oblast(name)
        except KeyError:
            obl_map[name] = None
            obl_err[name] = f"unknown oblast {name!r}: give an oblast code, or its Ukrainian or English name"
    out = out.with_columns(
        v_oblast=pl.col("v_oblast_raw").replace_strict(obl_map, default=None, return_dtype=pl.String),
        e_oblast=pl.coalesce(pl.col("e_oblast"), pl.col("v_oblast_raw").replace_strict(obl_err, default=None, return_dtype=pl.String)),
    )
    if has("share"):
        num: dict[str, int] = {}
        den: dict[str, int] = {}
        serr: dict[str, str] = {}
        for s in out["v_share_raw"].drop_nulls().unique().to_list():
            try:
                share = parse_share(s)
                num[s], den[s] = share.numerator, share.denominator
            except ValueError as exc:
                serr[s] = str(exc)
        out = out.with_columns(
            v_share_num=pl.col("v_share_raw").replace_strict(num, default=None, return_dtype=pl.Int64).fill_null(1),
            v_share_den=pl.col("v_share_raw").replace_strict(den, default=None, return_dtype=pl.Int64).fill_null(1),
            e_share=pl.col("v_share_raw").replace_strict(serr, default=None, return_dtype=pl.String),
        )
    if has("iban"):
        out = out.with_columns(e_iban=_iban_errors(out))
    # the same record id twice in the file: the later rows are rejected
    first_row = pl.col(ROW).min().over("v_source_record_id")
    out = out.with_columns(e_source_record_id=pl.coalesce(
        pl.col("e_source_record_id"),
        pl.when(pl.col("v_source_record_id").is_not_null() & (pl.col(ROW) != first_row))
        .then(pl.format("the same source record id is already at row {} of this file", first_row))))

    ecols = [c for c in out.columns if c.startswith("e_")]
    bad_any = pl.any_horizontal([pl.col(c).is_not_null() for c in ecols])
    good = out.filter(~bad_any).drop(ecols)
    bad_rows = out.filter(bad_any)
    rejects = _rejects(bad_rows, ecols, df, m)
    if not m.has("full_name_latin"):
        good = good.with_columns(v_full_name_latin=_translit(good["v_full_name"]))
    return Validated(good=good, rejects=rejects, total=df.height)


def _iban_errors(out: pl.DataFrame) -> pl.Expr:
    """Vectorised ISO 13616 check (mod 97 over the digits, 7 at a time); the message comes from
    `validate_iban` for the (few) values that fail it."""
    s = pl.col("v_iban")
    distinct = out.select(s.drop_nulls().unique())
    # rearranged: BBAN, then the country letters as numbers (A=10 .. Z=35), then the check digits; leading
    # zeros do not change the remainder, so pad to 42 digits and fold 7 at a time (fits in an int64)
    country_num = pl.concat_str([_letter_value(s.str.slice(0, 1)), _letter_value(s.str.slice(1, 1))])
    d = distinct.with_columns(
        digits=pl.concat_str([s.str.slice(4), country_num, s.str.slice(2, 2)]).str.zfill(42),
        length=s.str.slice(0, 2).replace_strict(_COUNTRY_LENGTHS, default=None, return_dtype=pl.Int64))
    rem = pl.lit(0, dtype=pl.Int64)
    for i in range(0, 42, 7):
        rem = (rem * 10_000_000 + pl.col("digits").str.slice(i, 7).cast(pl.Int64, strict=False)) % 97
    ok = (s.str.contains(r"^[A-Z]{2}[0-9]{2}[0-9]{1,30}$") & (rem == 1) & ~s.str.slice(2, 2).is_in(("00", "01", "99"))
          & (pl.col("length").is_null() | (pl.col("length") == s.str.len_chars())))
    failing = d.filter(~ok.fill_null(False))["v_iban"].to_list()
    msgs: dict[str, str] = {}
    for value in failing:  # letters in the account number (e.g. GB), or a real error: the domain rule decides
        try:
            validate_iban(value)
        except IBANError as exc:
            msgs[value] = str(exc)
    return pl.when(s.is_in(list(msgs))).then(s.replace_strict(msgs, default=None, return_dtype=pl.String))


def _letter_value(ch: pl.Expr) -> pl.Expr:
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    return ch.replace_strict(letters, [str(ord(c) - 55) for c in letters], default="", return_dtype=pl.String)


def _translit(names: pl.Series) -> pl.Series:
    """Official transliteration, word by word over the distinct words (the rules never look across a space)."""
    words = names.str.split(" ")
    distinct = words.explode().drop_nulls().unique().to_list()
    table = {w: translit_uk(w) for w in distinct}
    return words.list.eval(pl.element().replace_strict(table, default=None, return_dtype=pl.String)).list.join(" ")


def _rejects(bad: pl.DataFrame, ecols: list[str], df: pl.DataFrame, m: Mapping) -> pl.DataFrame:
    if bad.height == 0:
        return pl.DataFrame(schema=REJECT_SCHEMA)
    order = {f: i for i, f in enumerate(FIELDS)}
    # the record id as it was in the file (even when it is what failed)
    spec = m.fields["source_record_id"]
    raw_id = (df.select(pl.col(ROW), pl.col(spec.column).cast(pl.String).alias("source_record_id"))
              if spec.column is not None else df.select(pl.col(ROW), pl.lit(str(spec.value)).alias("source_record_id")))
    long = (bad.select(pl.col(ROW), *ecols)
            .unpivot(index=ROW, on=ecols, variable_name="field", value_name="reason")
            .filter(pl.col("reason").is_not_null())
            .with_columns(pl.col("field").str.strip_prefix("e_"))
            .with_columns(_order=pl.col("field").replace_strict(order, default=len(order), return_dtype=pl.Int64))
            .join(raw_id, on=ROW, how="left")
            .sort(ROW, "_order")
            .select(pl.col(ROW).alias("row"), "source_record_id", "field", "reason"))
    return long.cast(REJECT_SCHEMA)


def reject_rows(rows: list[int], srids: list[str | None], field: str, reasons: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"row": rows, "source_record_id": srids, "field": [field] * len(rows), "reason": reasons},
                        schema=REJECT_SCHEMA)
