"""Linkage input from the store: one row per person in a claim, straight from SQL into polars (PostgreSQL:
``COPY ... TO STDOUT`` as CSV; SQLite: cursor ``fetchmany``), never ORM objects; and the reviewers' stored
decisions, following records by ownership id.

Record ids ("as given at import"): an imported claim's ``source_record_id`` for its first owner and
``<source_record_id>#<k>`` for its k-th; when one source record id occurs in two sources it is prefixed with
``<source>:``. A claim filed in everymetre gives ``<claim reference>#<k>``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from everymetre.claims.models import Claim
from everymetre.linkage.common import CHUNK, LinkageError, chunks
from everymetre.linkage.models import LinkageReviewDecision

__all__ = ["extract_records", "records_for_claims", "stored_decisions"]

_COLUMNS: dict[str, pl.DataType] = {
    "ownership_id": pl.Int64(), "claim_id": pl.Int64(), "ref_year": pl.Int64(), "source": pl.String(),
    "source_record_id": pl.String(), "claim_kind": pl.String(), "claim_oblast": pl.String(),
    "damage_date": pl.String(), "is_redamage": pl.Int64(), "previous_claim_id": pl.Int64(), "person_id": pl.Int64(),
    "share_numerator": pl.Int64(), "share_denominator": pl.Int64(), "full_name": pl.String(),
    "birth_date": pl.String(), "rnokpp": pl.String(), "phone": pl.String(), "iban": pl.String(),
    "property_kind": pl.String(), "oblast": pl.String(), "city": pl.String(), "street": pl.String(),
    "building": pl.String(), "apartment": pl.String(), "registry_number": pl.String(), "area_m2": pl.Float64(),
}
_SELECT = """
SELECT o.id AS ownership_id, c.id AS claim_id, c.ref_year AS ref_year, c.source AS source,
       c.source_record_id AS source_record_id, c.kind AS claim_kind, c.oblast AS claim_oblast,
       CAST(c.damage_date AS VARCHAR(10)) AS damage_date,
       CASE WHEN c.is_redamage THEN 1 ELSE 0 END AS is_redamage, c.previous_claim_id AS previous_claim_id,
       o.person_id AS person_id, o.share_numerator AS share_numerator, o.share_denominator AS share_denominator,
       p.full_name AS full_name, CAST(p.birth_date AS VARCHAR(10)) AS birth_date, p.rnokpp AS rnokpp,
       p.phone AS phone, p.iban AS iban, h.kind AS property_kind, h.oblast AS oblast, h.hromada AS city,
       h.street AS street, h.building AS building, h.apartment AS apartment, h.registry_number AS registry_number,
       CAST(h.total_area_m2 AS FLOAT) AS area_m2
FROM ownerships o
JOIN claims c ON c.id = o.claim_id
JOIN persons p ON p.id = o.person_id
JOIN properties h ON h.id = c.property_id
"""




def _raw_frame(conn: Connection, where: str = "", params: dict[str, Any] | None = None,
               batch: int = 100_000) -> pl.DataFrame:
    """Rows of _SELECT (+ `where`, with ":name" list parameters) as a polars frame of _COLUMNS."""
    sql = _SELECT + where
    pg = conn.dialect.name == "postgresql"
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if pg and not params:
        buf = io.BytesIO()
        with dbapi.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:  # type: ignore[attr-defined]  # psycopg cursors are context managers (DBAPICursor is the generic protocol)
            for block in copy:
                buf.write(block)
        if buf.tell() == 0:
            return pl.DataFrame(schema=_COLUMNS)
        buf.seek(0)
        return pl.read_csv(buf, schema=_COLUMNS)
    values: list[Any] = []
    for key, value in (params or {}).items():  # expand :key into one placeholder per item
        items = list(value) if isinstance(value, (list, tuple, set)) else [value]
        sql = sql.replace(f":{key}", ",".join(["%s" if pg else "?"] * len(items)))
        values.extend(items)
    cur = dbapi.cursor()
    frames = []
    try:
        cur.execute(sql, values)
        while rows := cur.fetchmany(batch):
            frames.append(pl.DataFrame(rows, schema=_COLUMNS, orient="row"))
    finally:
        cur.close()
    if not frames:
        return pl.DataFrame(schema=_COLUMNS)
    return pl.concat(frames, rechunk=True)


def _colliding_srids(engine_or_conn: Engine | Connection | Session, srids: Iterable[str] | None = None) -> set[str]:
    """Source record ids given by two or more sources."""
    stmt = (select(Claim.source_record_id).where(Claim.source_record_id.is_not(None))
            .group_by(Claim.source_record_id).having(func.count(func.distinct(Claim.source)) > 1))
    if srids is not None:
        wanted = sorted(set(srids))
        if not wanted:
            return set()
        out: set[str] = set()
        for i in range(0, len(wanted), CHUNK):
            out |= set(scalars(engine_or_conn, stmt.where(Claim.source_record_id.in_(wanted[i:i + CHUNK]))))
        return out
    return set(scalars(engine_or_conn, stmt))


def scalars(bind: Engine | Connection | Session, stmt: Any) -> list[Any]:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return list(conn.execute(stmt).scalars())
    return list(bind.execute(stmt).scalars())


def _to_records(raw: pl.DataFrame, colliding: set[str]) -> pl.DataFrame:
    """Raw rows -> linkage input columns (features.INPUT_SCHEMA) plus ownership_id, claim_id, source,
    source_record_id, claim_oblast, display_id (as given at import, else the claim reference)."""
    df = raw.sort("claim_id", "ownership_id").with_columns(
        owner_index=pl.int_range(1, pl.len() + 1).over("claim_id"),
        claim_ref=pl.lit("EM-") + pl.col("ref_year").cast(pl.String).str.zfill(4) + pl.lit("-")
        + pl.col("claim_id").cast(pl.String).str.zfill(7),
    )
    srid = pl.col("source_record_id")
    given = pl.when(srid.is_in(list(colliding)) if colliding else pl.lit(False)).then(
        pl.col("source").fill_null("") + pl.lit(":") + srid).otherwise(srid)
    df = df.with_columns(display_id=pl.when(srid.is_not_null()).then(given).otherwise(pl.col("claim_ref")))
    df = df.with_columns(
        record_id=pl.when(srid.is_not_null() & (pl.col("owner_index") == 1)).then(pl.col("display_id"))
        .otherwise(pl.col("display_id") + pl.lit("#") + pl.col("owner_index").cast(pl.String)),
    )
    dup = df.filter(pl.col("record_id").is_duplicated())
    if dup.height:  # an imported id that looks like a reference or a "#k" spelling: make it unique by source
        df = df.with_columns(record_id=pl.when(pl.col("record_id").is_duplicated())
                             .then(pl.col("source").fill_null("store") + pl.lit(":") + pl.col("record_id"))
                             .otherwise(pl.col("record_id")))
        if df["record_id"].is_duplicated().any():
            bad = df.filter(pl.col("record_id").is_duplicated())["record_id"].head(3).to_list()
            raise LinkageError(f"record ids are not unique even with their source: {bad}")
    refs = df.select(pl.col("claim_id").alias("previous_claim_id"), pl.col("claim_ref").alias("previous_claim_ref")).unique()
    name = pl.col("full_name").str.replace_all(r"\s+", " ").str.strip_chars().str.split(" ")
    df = df.join(refs, on="previous_claim_id", how="left").with_columns(
        surname=name.list.get(0, null_on_oob=True),
        given_name=name.list.get(1, null_on_oob=True),
        patronymic=pl.when(name.list.len() > 2).then(name.list.slice(2).list.join(" ")),
        person_key=pl.col("person_id").cast(pl.String),
        birth_date=pl.col("birth_date").str.to_date(strict=False),
        damage_date=pl.col("damage_date").str.to_date(strict=False),
        is_redamage=pl.col("is_redamage").cast(pl.Boolean),
        share=pl.col("share_numerator").cast(pl.String) + pl.lit("/") + pl.col("share_denominator").cast(pl.String),
    )
    return df.select(
        "record_id", "claim_ref", "person_key", "surname", "given_name", "patronymic", "birth_date", "rnokpp", "phone",
        "iban", "oblast", "city", "street", "building", "apartment", "registry_number", "property_kind", "area_m2",
        "damage_date", "claim_kind", "share", "is_redamage", "previous_claim_ref",
        "ownership_id", "claim_id", "source", "source_record_id", "claim_oblast", "display_id", "owner_index",
    )


def extract_records(engine: Engine) -> pl.DataFrame:
    """Every person in every claim, one row each, as linkage input (see module doc for record ids)."""
    with engine.connect() as conn:
        raw = _raw_frame(conn)
        colliding = _colliding_srids(conn)
    return _to_records(raw, colliding)


def records_for_claims(session: Session, claim_ids: list[int]) -> pl.DataFrame:
    conn = session.connection()
    raw_parts = [_raw_frame(conn, " WHERE c.id IN (:ids)", {"ids": part}) for part in chunks(sorted(set(claim_ids)))]
    raw = pl.concat(raw_parts) if raw_parts else pl.DataFrame(schema=_COLUMNS)
    srids = raw["source_record_id"].drop_nulls().to_list()
    return _to_records(raw, _colliding_srids(session, srids))


# ------------------------------------------------------------------------------------------ decisions


def stored_decisions(engine: Engine, records: pl.DataFrame) -> pl.DataFrame:
    """Stored decisions as (record_id_a, record_id_b, decision), following records by ownership id."""
    with engine.connect() as conn:
        rows = conn.execute(select(LinkageReviewDecision.record_id_a, LinkageReviewDecision.record_id_b,
                                   LinkageReviewDecision.ownership_id_a, LinkageReviewDecision.ownership_id_b,
                                   LinkageReviewDecision.decision).order_by(LinkageReviewDecision.decided_at,
                                                                            LinkageReviewDecision.id)).all()
    schema = {"record_id_a": pl.String, "record_id_b": pl.String, "ownership_id_a": pl.Int64,
              "ownership_id_b": pl.Int64, "decision": pl.String}
    dec = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    if dec.height == 0:
        return dec.select("record_id_a", "record_id_b", "decision")
    by_own = records.select(pl.col("ownership_id"), pl.col("record_id").alias("current"))
    for side in ("a", "b"):
        dec = dec.join(by_own.rename({"ownership_id": f"ownership_id_{side}", "current": f"cur_{side}"}),
                       on=f"ownership_id_{side}", how="left").with_columns(
            pl.coalesce(f"cur_{side}", f"record_id_{side}").alias(f"record_id_{side}"))
    return dec.select("record_id_a", "record_id_b", "decision")
