"""Linkage on the store: extract person-in-claim records, link them, keep findings, flag claims for review.

* :func:`extract_records` — one row per person in a claim, straight from SQL into polars (PostgreSQL:
  ``COPY ... TO STDOUT`` as CSV; SQLite: cursor ``fetchmany``), never ORM objects.
* :func:`run_linkage` — the whole run: extract, load reviewers' decisions, link (model from
  ``DATA_DIR/linkage/model.json``, trained and saved when missing or on ``retrain``), upsert findings by
  fingerprint, set / clear ``Claim.review_flag`` ("linkage:<kind>") for findings at or above the flag score,
  audit all of it.
* :func:`do_review` — a reviewer's match / not-a-match on a finding (or on one pair of records): stored,
  audited, applied at once to the finding's status and its claims' flags, and used by every later run.
* :func:`list_findings`, :func:`finding_detail` — what the API and the reviewers' page show.

Record ids ("as given at import"): an imported claim's ``source_record_id`` for its first owner and
``<source_record_id>#<k>`` for its k-th; when one source record id occurs in two sources it is prefixed with
``<source>:``. A claim filed in everymetre gives ``<claim reference>#<k>``.

Besides the core's finding kinds, the service adds ``duplicate_claim``: one person (cluster) filing two or
more claims of the same kind for the same home (cluster), neither a linked re-damage claim of the other.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from everymetre.audit.chain import GENESIS, canonical_json, event_hash
from everymetre.kernel.errors import Forbidden, NotFound, ValidationFailed
from everymetre.kernel.identifiers import mask
from everymetre.claims.lifecycle import STAFF_ROLES, Role
from everymetre.linkage.findings import FINDINGS_SCHEMA
from everymetre.linkage.models import (
    DECISIONS,
    LinkageFinding,
    LinkageFindingClaim,
    LinkageReviewDecision,
    LinkageRun,
)
from everymetre.audit.record import claim_chain, record
from everymetre.store.tx import atomic
from everymetre.accounts.actions import Principal
from everymetre.audit.models import AuditChain, AuditEvent
from everymetre.claims.models import Claim
from everymetre.store.types import utcnow

__all__ = [
    "FLAG_PREFIX",
    "PERSON_KINDS",
    "REVIEWER_ROLES",
    "LinkageError",
    "LinkReport",
    "default_flag_score",
    "model_path",
    "extract_records",
    "run_linkage",
    "do_review",
    "list_findings",
    "finding_detail",
    "latest_run",
    "write_pairs_csv",
]

logger = logging.getLogger(__name__)

FLAG_PREFIX = "linkage:"
#: kinds whose finding says "these records are one person": a review decides the person pairs as well
PERSON_KINDS = frozenset({"person_multiple_destroyed_claims", "duplicate_claim"})
REVIEWER_ROLES = frozenset({Role.OFFICER, Role.COMMISSION})
MAX_PAIRS_PER_FINDING = 50
_CHUNK = 1000  # ids per IN (...) list

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


class LinkageError(Exception):
    """The run could not be carried out; the message says why and what to do."""


def default_flag_score() -> float:
    raw = os.environ.get("EVERYMETRE_LINKAGE_FLAG_SCORE", "")
    try:
        return float(raw) if raw else 0.6
    except ValueError:
        raise LinkageError(f"EVERYMETRE_LINKAGE_FLAG_SCORE={raw!r} is not a number such as 0.6") from None


def model_path(data_dir: Path) -> Path:
    return Path(data_dir) / "linkage" / "model.json"


# ------------------------------------------------------------------------------------------ extraction


def _raw_frame(conn: Connection, where: str = "", params: dict[str, Any] | None = None,
               batch: int = 100_000) -> pl.DataFrame:
    """Rows of _SELECT (+ `where`, with ":name" list parameters) as a polars frame of _COLUMNS."""
    sql = _SELECT + where
    pg = conn.dialect.name == "postgresql"
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if pg and not params:
        buf = io.BytesIO()
        with dbapi.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
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
        for i in range(0, len(wanted), _CHUNK):
            out |= set(_scalars(engine_or_conn, stmt.where(Claim.source_record_id.in_(wanted[i:i + _CHUNK]))))
        return out
    return set(_scalars(engine_or_conn, stmt))


def _scalars(bind: Engine | Connection | Session, stmt: Any) -> list[Any]:
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


def _records_for_claims(session: Session, claim_ids: list[int]) -> pl.DataFrame:
    conn = session.connection()
    raw_parts = [_raw_frame(conn, " WHERE c.id IN (:ids)", {"ids": part}) for part in _chunks(sorted(set(claim_ids)))]
    raw = pl.concat(raw_parts) if raw_parts else pl.DataFrame(schema=_COLUMNS)
    srids = raw["source_record_id"].drop_nulls().to_list()
    return _to_records(raw, _colliding_srids(session, srids))


# ------------------------------------------------------------------------------------------ decisions


def _decisions(engine: Engine, records: pl.DataFrame) -> pl.DataFrame:
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


# ------------------------------------------------------------------------------------------ the run


@dataclass
class LinkReport:
    run_id: int
    records: int
    claims: int
    pairs: int
    decisions: int
    by_kind: dict[str, int]
    new_findings: int
    current_findings: int
    flagged: int
    cleared: int
    flagged_claims: int
    model_path: Path
    trained: bool
    threshold: float
    flag_score: float
    timings: dict[str, float] = field(default_factory=dict)
    pairs_frame: pl.DataFrame | None = None  # pairs with display ids (for --pairs-out)
    findings_frame: pl.DataFrame | None = None


def _duplicate_claims(clusters: pl.DataFrame, recs: pl.DataFrame, link_fields: pl.DataFrame) -> pl.DataFrame:
    """duplicate_claim findings: one person, one home, the same kind of claim, filed twice or more."""
    c = clusters.join(recs.select("record_id", "claim_kind", "damage_date", "previous_claim_ref"), on="record_id")
    # a linked re-damage claim (its previous claim is one of the same person's claims on the home) is no duplicate
    earlier = c.select(pl.col("claim_ref").alias("previous_claim_ref"), "person_cluster", "property_cluster").unique()
    c = c.join(earlier, on=["previous_claim_ref", "person_cluster", "property_cluster"], how="anti")
    g = (
        c.group_by("person_cluster", "property_cluster", "claim_kind")
        .agg(record_ids=pl.col("record_id").sort(), claim_refs=pl.col("claim_ref").unique().sort(),
             dates=pl.col("damage_date").drop_nulls().unique().sort())
        .filter(pl.col("claim_refs").list.len() >= 2)
        .join(link_fields, on="person_cluster", how="left")
        .with_columns(
            score=pl.when(pl.col("dates").list.len() <= 1).then(0.75).otherwise(0.55),
            person_clusters=pl.concat_list(pl.col("person_cluster")),
            claims=pl.col("claim_refs").list.len(),
            damage_dates=pl.col("dates").cast(pl.List(pl.String)),
            same_person_by=pl.col("linked_by"),
        )
    )
    if g.height == 0:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    return g.with_columns(
        kind=pl.lit("duplicate_claim"),
        finding_id=pl.lit("duplicate_claim:") + pl.col("record_ids").list.first(),
        evidence=pl.struct("claim_kind", "claims", "damage_dates", "same_person_by").struct.json_encode(),
    ).select(list(FINDINGS_SCHEMA)).cast(FINDINGS_SCHEMA)  # type: ignore[arg-type]


def _finding_pairs(findings: pl.DataFrame, pairs: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """finding_id -> the scored person pairs among its records (at most MAX_PAIRS_PER_FINDING)."""
    if findings.height == 0 or pairs.height == 0:
        return {}
    rec = findings.select("finding_id", "record_ids").explode("record_ids").rename({"record_ids": "rid"})
    p = (
        pairs.join(rec.rename({"rid": "record_id_l"}), on="record_id_l")
        .join(rec.rename({"rid": "record_id_r"}), on=["record_id_r", "finding_id"])
        .sort("match_probability", descending=True)
        .group_by("finding_id")
        .head(MAX_PAIRS_PER_FINDING)
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in p.iter_rows(named=True):
        out.setdefault(r["finding_id"], []).append({
            "a": r["record_id_l"], "b": r["record_id_r"], "probability": round(r["match_probability"], 6),
            "agreeing": list(r["agreeing_fields"] or []), "evidence": r["evidence"], "source": r["source"]})
    return out


def fingerprint(kind: str, record_ids: Iterable[str]) -> str:
    return hashlib.sha256((kind + "|" + "\x1f".join(sorted(record_ids))).encode()).hexdigest()


def run_linkage(engine: Engine, data_dir: Path, *, threshold: float | None = None, flag_score: float | None = None,
                retrain: bool = False, on_phase: Callable[[str, float | None], None] | None = None) -> LinkReport:
    """Link every claim in the store; see the module doc. `on_phase(name, None)` is called when a phase starts
    and `on_phase(name, seconds)` when it ends."""
    from everymetre.linkage import ClaimLinker, ModelConfig

    flag_score = default_flag_score() if flag_score is None else flag_score
    config = ModelConfig() if threshold is None else ModelConfig(threshold=threshold)
    threshold = config.threshold
    timings: dict[str, float] = {}
    phase_t = [0.0]

    def begin(name: str) -> None:
        phase_t[0] = time.perf_counter()
        if on_phase:
            on_phase(name, None)

    def end(name: str) -> None:
        timings[name] = round(time.perf_counter() - phase_t[0], 3)
        if on_phase:
            on_phase(name, timings[name])

    t_all = time.perf_counter()
    path = model_path(data_dir)
    with engine.begin() as conn:
        run_id = conn.execute(insert(LinkageRun).values(
            started_at=utcnow(), status="running", threshold=threshold, flag_score=flag_score, trained=False,
            records=0, claims=0, pairs=0, decisions_applied=0, model_path=str(path)).returning(LinkageRun.id)).scalar_one()
    try:
        begin("extract")
        records = extract_records(engine)
        end("extract")
        if records.height == 0:
            raise LinkageError("the store has no claims with owners: nothing to link (load some with "
                               "`everymetre demo` or `everymetre import claims`)")
        begin("decisions")
        decisions = _decisions(engine, records)
        end("decisions")

        trained = retrain or not path.exists()
        if trained:
            linker = ClaimLinker(config)
        else:
            try:
                linker = ClaimLinker.load_model(path, config)
            except (OSError, ValueError) as exc:
                raise LinkageError(f"cannot read the linkage model {path}: {exc}; run with --retrain") from None
        phase = "train and link" if trained else "link"
        begin(phase)
        linker_input = records.select(
            "record_id", "claim_ref", "person_key", "surname", "given_name", "patronymic", "birth_date", "rnokpp",
            "phone", "iban", "oblast", "city", "street", "building", "apartment", "registry_number", "property_kind",
            "area_m2", "damage_date", "claim_kind", "share", "is_redamage", "previous_claim_ref")
        try:
            result = linker.run(linker_input, decisions if decisions.height else None, train=trained)
        except LinkageError:
            raise
        except Exception as exc:  # noqa: BLE001 - Splink's errors are long; say which step and what to try
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LinkageError(f"the person model failed on {records.height:,} records: {msg}"
                               + ("" if trained else " (try --retrain)")) from exc
        if trained:
            path.parent.mkdir(parents=True, exist_ok=True)
            linker.save_model(path)
        model_hash = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
        for k, v in result.timings.items():
            timings[f"link.{k}"] = round(v, 3)
        end(phase)

        begin("findings")
        link_fields = (
            result.pairs.join(result.clusters.select("record_id", "person_cluster"), left_on="record_id_l", right_on="record_id")
            .group_by("person_cluster")
            .agg(linked_by=pl.col("agreeing_fields").list.explode(keep_nulls=False, empty_as_null=False).unique().sort())
        )
        dups = _duplicate_claims(result.clusters, records, link_fields)
        findings = pl.concat([result.findings, dups]).sort(["score", "kind", "finding_id"], descending=[True, False, False])
        counts = _write_findings(engine, run_id, findings, result.pairs, records, flag_score)
        end("findings")

        pairs = _pairs_with_ids(result.pairs, records)
        timings["total"] = round(time.perf_counter() - t_all, 3)
        by_kind = dict(findings.group_by("kind").len().sort("kind").iter_rows())
        with engine.begin() as conn:
            conn.execute(update(LinkageRun).where(LinkageRun.id == run_id).values(
                finished_at=utcnow(), status="finished", model_hash=model_hash, trained=trained, records=records.height,
                claims=records["claim_id"].n_unique(), pairs=result.pairs.height, decisions_applied=decisions.height,
                counts={"by_kind": by_kind, **counts}, timings=timings))
        return LinkReport(run_id=run_id, records=records.height, claims=records["claim_id"].n_unique(),
                          pairs=result.pairs.height, decisions=decisions.height, by_kind=by_kind,
                          new_findings=counts["new"], current_findings=findings.height, flagged=counts["flagged"],
                          cleared=counts["cleared"], flagged_claims=counts["flagged_claims"], model_path=path,
                          trained=trained, threshold=threshold, flag_score=flag_score, timings=timings,
                          pairs_frame=pairs, findings_frame=findings)
    except BaseException as exc:
        with engine.begin() as conn:
            conn.execute(update(LinkageRun).where(LinkageRun.id == run_id).values(
                finished_at=utcnow(), status="failed", error=str(exc)[:2000] or type(exc).__name__, timings=timings))
        raise


def _pairs_with_ids(pairs: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    ids = records.select("record_id", "display_id", "source", "claim_ref")
    out = pairs
    for side in ("l", "r"):
        out = out.join(ids.select(pl.col("record_id").alias(f"record_id_{side}"),
                                  pl.col("display_id").alias(f"source_record_id_{side}"),
                                  pl.col("source").alias(f"source_{side}")), on=f"record_id_{side}", how="left")
    return out.select(
        "record_id_l", "record_id_r", "source_l", "source_record_id_l", "claim_ref_l", "source_r", "source_record_id_r",
        "claim_ref_r", "match_probability", "match_weight", "agreeing_fields", "evidence", "source",
    ).sort("match_probability", "record_id_l", "record_id_r", descending=[True, False, False])


def write_pairs_csv(pairs: pl.DataFrame, path: str | Path) -> int:
    """Every scored person pair at or above the threshold with both records' source record ids (as given at
    import, or the claim reference), the match probability and the agreeing fields (";"-separated)."""
    out = pairs.with_columns(pl.col("agreeing_fields").list.join(";"))
    out.write_csv(path)
    return out.height


# ------------------------------------------------------------------------------------------ writing


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _append_events(conn: Connection, events: dict[str, list[tuple[str, dict[str, Any], int | None]]],
                   claim_ids: dict[str, int | None], at: datetime) -> None:
    """Append events to many chains at once (heads locked on PostgreSQL), created on first use."""
    if not events:
        return
    chains = sorted(events)
    heads: dict[str, tuple[int, str]] = {}
    for part in _chunks(chains):
        stmt = select(AuditChain.chain, AuditChain.last_seq, AuditChain.last_hash).where(AuditChain.chain.in_(part))
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        heads.update({r.chain: (r.last_seq, r.last_hash) for r in conn.execute(stmt)})
    rows, new_heads, moved = [], [], []
    for chain in chains:
        seq, prev = heads.get(chain, (0, GENESIS))
        for action, payload, actor in events[chain]:
            seq += 1
            text = canonical_json(payload)
            h = event_hash(prev, chain, seq, at, actor, action, text)
            rows.append(dict(chain=chain, seq=seq, claim_id=claim_ids.get(chain), actor_id=actor, action=action, at=at,
                             payload=text, prev_hash=prev, hash=h))
            prev = h
        (moved if chain in heads else new_heads).append(dict(b_chain=chain, chain=chain, last_seq=seq, last_hash=prev))
    conn.execute(insert(AuditEvent), rows)
    if new_heads:
        conn.execute(insert(AuditChain), [{k: v for k, v in r.items() if k != "b_chain"} for r in new_heads])
    if moved:
        t = AuditChain.__table__
        conn.execute(t.update().where(t.c.chain == bindparam("b_chain")).values(last_seq=bindparam("last_seq"),
                                                                                 last_hash=bindparam("last_hash")),
                     [{"b_chain": r["b_chain"], "last_seq": r["last_seq"], "last_hash": r["last_hash"]} for r in moved])


def _write_findings(engine: Engine, run_id: int, findings: pl.DataFrame, pairs: pl.DataFrame, records: pl.DataFrame,
                    flag_score: float) -> dict[str, int]:
    now = utcnow()
    claim_of = dict(zip(records["claim_ref"], records["claim_id"], strict=True))
    oblast_of = dict(zip(records["claim_id"], records["claim_oblast"], strict=True))
    linking = _finding_pairs(findings, pairs)
    wanted: dict[str, dict[str, Any]] = {}
    for f in findings.iter_rows(named=True):
        fp = fingerprint(f["kind"], f["record_ids"])
        evidence = json.loads(f["evidence"]) if f["evidence"] else {}
        evidence = {**evidence, "person_clusters": f["person_clusters"], "property_cluster": f["property_cluster"],
                    "pairs": linking.get(f["finding_id"], [])}
        claim_ids = sorted({claim_of[r] for r in f["claim_refs"] if r in claim_of})
        wanted[fp] = dict(fingerprint=fp, kind=f["kind"], score=float(f["score"]), claim_ids=claim_ids,
                          claim_refs=list(f["claim_refs"]), record_ids=list(f["record_ids"]), evidence=evidence)
    with engine.begin() as conn:
        existing: dict[str, tuple[int, float, Any]] = {}
        for part in _chunks(list(wanted), 5000):
            for r in conn.execute(select(LinkageFinding.fingerprint, LinkageFinding.id, LinkageFinding.score,
                                         LinkageFinding.evidence).where(LinkageFinding.fingerprint.in_(part))):
                existing[r.fingerprint] = (r.id, r.score, r.evidence)
        new = [dict(**w, status="open", first_run_id=run_id, last_run_id=run_id, created_at=now, updated_at=now)
               for fp, w in wanted.items() if fp not in existing]
        new_ids: list[tuple[int, dict[str, Any]]] = []
        for part in _chunks(new, 2000):
            res = conn.execute(insert(LinkageFinding).returning(LinkageFinding.id, sort_by_parameter_order=True), part)
            new_ids.extend(zip(res.scalars().all(), part, strict=True))
        seen_ids = [existing[fp][0] for fp in wanted if fp in existing]
        for part in _chunks(seen_ids):
            conn.execute(update(LinkageFinding).where(LinkageFinding.id.in_(part)).values(last_run_id=run_id))
        changed = [dict(b_id=existing[fp][0], score=w["score"], evidence=w["evidence"], updated_at=now)
                   for fp, w in wanted.items() if fp in existing
                   and (abs(existing[fp][1] - w["score"]) > 1e-9 or existing[fp][2] != w["evidence"])]
        if changed:
            t = LinkageFinding.__table__
            conn.execute(t.update().where(t.c.id == bindparam("b_id")).values(
                score=bindparam("score"), evidence=bindparam("evidence"), updated_at=bindparam("updated_at")), changed)
        links = [dict(finding_id=fid, claim_id=cid, oblast=oblast_of.get(cid, "")) for fid, w in new_ids
                 for cid in w["claim_ids"]]
        for part in _chunks(links, 5000):
            conn.execute(insert(LinkageFindingClaim), part)
        events: dict[str, list[tuple[str, dict[str, Any], int | None]]] = {}
        for fid, w in new_ids:
            events[f"finding:{fid}"] = [("finding.opened", {"kind": w["kind"], "score": w["score"], "run_id": run_id,
                                                            "claims": w["claim_refs"], "records": w["record_ids"]}, None)]
        flags = _reflag(conn, run_id, flag_score, events, now)
        _append_events(conn, events, flags.pop("_claim_ids"), now)  # type: ignore[arg-type]
    return {"new": len(new_ids), "seen_again": len(seen_ids), "rescored": len(changed), **flags}


def _reflag(conn: Connection, run_id: int, flag_score: float,
            events: dict[str, list[tuple[str, dict[str, Any], int | None]]], now: datetime,
            only_claims: list[int] | None = None, actor: int | None = None, reason: str = "linkage run") -> dict[str, Any]:
    """Set "linkage:<kind>" on claims in a current, not dismissed finding scoring >= flag_score (the highest
    scoring kind wins); clear linkage flags no finding supports any more. Other flags are left alone."""
    f, fc = LinkageFinding, LinkageFindingClaim
    stmt = (select(fc.claim_id, f.kind, f.score, f.id).join(f, f.id == fc.finding_id)
            .where(f.last_run_id == run_id, f.status != "dismissed", f.score >= flag_score))
    flag_rows = []
    for part in ([only_claims] if only_claims is None else list(_chunks(only_claims))):
        s = stmt if part is None else stmt.where(fc.claim_id.in_(part))
        flag_rows.extend(conn.execute(s).all())
    desired: dict[int, tuple[float, str, list[int]]] = {}
    for claim_id, kind, score, fid in flag_rows:
        best = desired.get(claim_id)
        ids = (best[2] if best else []) + [fid]
        if best is None or (score, kind) > (best[0], best[1][len(FLAG_PREFIX):]):
            desired[claim_id] = (score, FLAG_PREFIX + kind, ids)
        else:
            desired[claim_id] = (best[0], best[1], ids)
    current: dict[int, str | None] = {}
    cstmt = select(Claim.id, Claim.review_flag)
    if only_claims is None:
        current.update(conn.execute(cstmt.where(Claim.review_flag.like(FLAG_PREFIX + "%"))).all())
        for part in _chunks(sorted(set(desired) - set(current))):
            current.update(conn.execute(cstmt.where(Claim.id.in_(part))).all())
    else:
        for part in _chunks(sorted(set(only_claims))):
            current.update(conn.execute(cstmt.where(Claim.id.in_(part))).all())
    changes = []
    for claim_id, flag in current.items():
        want = desired.get(claim_id)
        if flag is not None and not flag.startswith(FLAG_PREFIX):
            continue  # another check's flag (e.g. possible_duplicate) already holds the claim
        new_flag = want[1] if want else None
        if new_flag != flag:
            changes.append((claim_id, flag, new_flag, want[2] if want else []))
    if changes:
        t = Claim.__table__
        conn.execute(t.update().where(t.c.id == bindparam("b_id")).values(review_flag=bindparam("flag")),
                     [{"b_id": cid, "flag": new} for cid, _, new, _ in changes])
    claim_ids: dict[str, int | None] = {}
    for cid, old, new, fids in changes:
        chain = claim_chain(cid)
        claim_ids[chain] = cid
        events.setdefault(chain, []).append(("claim.review_flag", {"before": old, "after": new, "findings": sorted(fids),
                                                                   "run_id": run_id, "reason": reason}, actor))
    return {"flagged": sum(1 for c in changes if c[2] is not None), "cleared": sum(1 for c in changes if c[2] is None),
            "flagged_claims": len([c for c, f in current.items() if c in desired and (f is None or f.startswith(FLAG_PREFIX))]),
            "_claim_ids": claim_ids}


# ------------------------------------------------------------------------------------------ reading


def latest_run(session: Session | Connection) -> LinkageRun | None:
    stmt = select(LinkageRun).where(LinkageRun.status == "finished").order_by(LinkageRun.id.desc()).limit(1)
    if isinstance(session, Session):
        return session.scalar(stmt)
    return None


def _require_staff(principal: Principal) -> None:
    if principal.role not in STAFF_ROLES:
        raise NotFound("No such finding that you can see.")


def _visible(principal: Principal):  # noqa: ANN202
    """Condition: the finding names a claim in the principal's oblasts (national roles see all)."""
    if principal.all_oblasts:
        return None
    fc = LinkageFindingClaim
    return select(fc.finding_id).where(fc.finding_id == LinkageFinding.id,
                                       fc.oblast.in_(sorted(principal.oblasts))).exists()


def list_findings(session: Session, principal: Principal, *, status: str | None = None, kind: str | None = None,
                  current_only: bool = True, limit: int = 50, offset: int = 0) -> tuple[list[LinkageFinding], int]:
    """Findings this staff member may see, most suspicious first, and how many there are in all."""
    if principal.role not in STAFF_ROLES:
        raise Forbidden("Linkage findings are for staff.")
    stmt = select(LinkageFinding)
    cond = _visible(principal)
    if cond is not None:
        stmt = stmt.where(cond)
    if status:
        stmt = stmt.where(LinkageFinding.status == status)
    if kind:
        stmt = stmt.where(LinkageFinding.kind == kind)
    if current_only:
        run = latest_run(session)
        if run is None:
            return [], 0
        stmt = stmt.where(LinkageFinding.last_run_id == run.id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(LinkageFinding.score.desc(), LinkageFinding.id).limit(limit).offset(offset)))
    return rows, total


def get_finding(session: Session, principal: Principal, finding_id: int) -> LinkageFinding:
    _require_staff(principal)
    stmt = select(LinkageFinding).where(LinkageFinding.id == finding_id)
    cond = _visible(principal)
    if cond is not None:
        stmt = stmt.where(cond)
    finding = session.scalar(stmt)
    if finding is None:
        raise NotFound(f"No finding {finding_id} that you can see.")
    return finding


#: the fields shown side by side, and which comparison's agreement highlights each
COMPARE_FIELDS: tuple[tuple[str, str], ...] = (
    ("surname", "surname"), ("given_name", "given_name"), ("patronymic", "patronymic"), ("birth_date", "birth_date"),
    ("rnokpp", "rnokpp"), ("phone", "phone"), ("iban", "iban"), ("oblast", "home"), ("city", "home"),
    ("street", "home"), ("building", "home"), ("apartment", "home"), ("registry_number", "home"),
    ("property_kind", ""), ("area_m2", ""), ("share", ""), ("claim_kind", ""), ("damage_date", ""),
    ("is_redamage", ""), ("previous_claim_ref", ""),
)


def finding_detail(session: Session, principal: Principal, finding_id: int) -> dict[str, Any]:
    """Everything the reviewers' page needs: the finding, its records side by side (with each record's agreeing
    fields, to highlight), the linking pairs, and whether this principal may review it."""
    finding = get_finding(session, principal, finding_id)
    recs = _records_for_claims(session, [int(c) for c in finding.claim_ids])
    recs = recs.filter(pl.col("record_id").is_in(finding.record_ids)) if finding.record_ids else recs
    states = dict(session.execute(select(Claim.id, Claim.state).where(Claim.id.in_([int(c) for c in finding.claim_ids]))).all())
    flags = dict(session.execute(select(Claim.id, Claim.review_flag).where(Claim.id.in_([int(c) for c in finding.claim_ids]))).all())
    pairs = list(finding.evidence.get("pairs", []))
    agreeing: dict[str, set[str]] = {}
    for p in pairs:
        for side in ("a", "b"):
            agreeing.setdefault(p[side], set()).update(p.get("agreeing", []))
    order = {r: i for i, r in enumerate(finding.record_ids)}
    records = []
    for r in sorted(recs.iter_rows(named=True), key=lambda r: order.get(r["record_id"], 10**9)):
        in_scope = principal.all_oblasts or r["claim_oblast"] in principal.oblasts
        values: dict[str, Any] = {}
        for name, _ in COMPARE_FIELDS:
            v = r[name]
            if name == "rnokpp":
                v = mask(v)
            elif name in ("phone", "iban") and not in_scope:
                v = mask(v, 3)
            values[name] = None if v is None else str(v)
        records.append({"record_id": r["record_id"], "source_record_id": r["display_id"], "source": r["source"],
                        "claim_ref": r["claim_ref"], "claim_id": r["claim_id"], "claim_state": states.get(r["claim_id"]),
                        "review_flag": flags.get(r["claim_id"]), "oblast": r["claim_oblast"], "in_scope": in_scope,
                        "values": values, "agreeing": sorted(agreeing.get(r["record_id"], set()))})
    reviewers = {}
    if finding.reviewed_by_id:
        from everymetre.accounts.models import User

        u = session.get(User, finding.reviewed_by_id)
        reviewers[finding.reviewed_by_id] = (u.full_name or u.email) if u else str(finding.reviewed_by_id)
    return {
        "finding": finding, "id": finding.id, "kind": finding.kind, "score": finding.score, "status": finding.status,
        "claim_refs": list(finding.claim_refs), "record_ids": list(finding.record_ids),
        "evidence": {k: v for k, v in finding.evidence.items() if k != "pairs"}, "pairs": pairs, "records": records,
        "fields": [{"name": n, "compares": c} for n, c in COMPARE_FIELDS],
        "can_review": principal.role in REVIEWER_ROLES, "person_kind": finding.kind in PERSON_KINDS,
        "reviewed_by": reviewers.get(finding.reviewed_by_id) if finding.reviewed_by_id else None,
        "reviewed_at": finding.reviewed_at, "review_note": finding.review_note,
    }


# ------------------------------------------------------------------------------------------ review


def _ownership_ids(session: Session, record_ids: Iterable[str], claim_ids: list[int] | None = None) -> dict[str, int]:
    """record id -> ownership id, for the given records (looked up through their claims)."""
    wanted = set(record_ids)
    if claim_ids is None:
        claim_ids = _claims_of_records(session, wanted)
    if not claim_ids:
        return {}
    recs = _records_for_claims(session, claim_ids)
    return {r: o for r, o in zip(recs["record_id"], recs["ownership_id"], strict=True) if r in wanted}


def _claims_of_records(session: Session, record_ids: set[str]) -> list[int]:
    """Candidate claims for record ids: references (EM-YYYY-NNNNNNN#k) and source record ids (with or without
    a "source:" prefix or a "#k" suffix)."""
    from everymetre.kernel.identifiers import parse_claim_reference

    ids: set[int] = set()
    srids: set[str] = set()
    for rid in record_ids:
        base = rid.rsplit("#", 1)[0] if "#" in rid else rid
        parsed = parse_claim_reference(base)
        if parsed:
            ids.add(parsed[1])
        srids.update({rid, base, rid.split(":", 1)[-1], base.split(":", 1)[-1]})
    if srids:
        for part in _chunks(sorted(srids)):
            ids.update(session.scalars(select(Claim.id).where(Claim.source_record_id.in_(part))))
    return sorted(ids)


def do_review(session: Session, principal: Principal, decision: str, *, finding_id: int | None = None,
              pair: tuple[str, str] | None = None, note: str = "") -> dict[str, Any]:
    """Record a reviewer's decision. On a finding: "match" confirms it, "not_a_match" dismisses it; for
    person findings (one person's several claims) the decision is also stored for every linking pair of
    records, so the next run follows it. On a pair: the decision for those two records alone. Flags of the
    claims concerned are recomputed at once (a dismissed finding no longer holds its claims). Audited."""
    if decision not in DECISIONS:
        raise ValidationFailed(f"decision must be 'match' or 'not_a_match', not {decision!r}", field="decision")
    if principal.role not in REVIEWER_ROLES:
        raise Forbidden("Only an officer or a commission member can review linkage findings.")
    if (finding_id is None) == (pair is None):
        raise ValidationFailed("Give either a finding or a pair of records.", field="finding_id")
    note = (note or "").strip()
    now = utcnow()
    with atomic(session):
        finding = None
        if finding_id is not None:
            finding = get_finding(session, principal, finding_id)
            claim_ids = [int(c) for c in finding.claim_ids]
            pairs = [(p["a"], p["b"]) for p in finding.evidence.get("pairs", [])] if finding.kind in PERSON_KINDS else []
        else:
            assert pair is not None
            a, b = (str(pair[0]).strip(), str(pair[1]).strip())
            if not a or not b or a == b:
                raise ValidationFailed("A pair needs two different record ids.", field="pair")
            claim_ids = _claims_of_records(session, {a, b})
            own = _ownership_ids(session, {a, b}, claim_ids)
            if a not in own or b not in own:
                raise NotFound(f"No records {a!r} and {b!r} that you can see.")
            visible = set(session.scalars(select(Claim.id).where(Claim.id.in_(claim_ids), *(
                [] if principal.all_oblasts else [Claim.oblast.in_(sorted(principal.oblasts))]))))
            if not visible:
                raise NotFound(f"No records {a!r} and {b!r} that you can see.")
            pairs = [(a, b)]
        own_ids = _ownership_ids(session, {r for p in pairs for r in p}, claim_ids) if pairs else {}
        stored = []
        for x, y in pairs:
            a, b = min(x, y), max(x, y)
            row = session.scalar(select(LinkageReviewDecision).where(LinkageReviewDecision.record_id_a == a,
                                                                     LinkageReviewDecision.record_id_b == b))
            before = row.decision if row else None
            if row is None:
                row = LinkageReviewDecision(record_id_a=a, record_id_b=b)
                session.add(row)
            row.ownership_id_a, row.ownership_id_b = own_ids.get(a), own_ids.get(b)
            row.decision, row.decided_by_id, row.decided_at, row.note = decision, principal.user_id, now, note
            row.finding_id = finding.id if finding else None
            stored.append({"a": a, "b": b, "before": before, "after": decision})
        session.flush()
        result: dict[str, Any] = {"decision": decision, "pairs": stored}
        if finding is not None:
            before = finding.status
            finding.status = "confirmed" if decision == "match" else "dismissed"
            finding.reviewed_by_id, finding.reviewed_at, finding.review_note = principal.user_id, now, note
            finding.updated_at = now
            session.flush()
            record(session, f"finding:{finding.id}", "finding.reviewed", principal.user_id,
                   {"decision": decision, "before": before, "after": finding.status, "note": note, "pairs": stored}, at=now)
            result.update(finding_id=finding.id, status=finding.status)
        else:
            row_id = session.scalar(select(LinkageReviewDecision.id).where(
                LinkageReviewDecision.record_id_a == stored[0]["a"], LinkageReviewDecision.record_id_b == stored[0]["b"]))
            record(session, f"linkage_decision:{row_id}", "linkage.pair_reviewed", principal.user_id,
                   {"decision": decision, "note": note, **stored[0]}, at=now)
        run = latest_run(session)
        if run is not None and finding is not None:
            events: dict[str, list[tuple[str, dict[str, Any], int | None]]] = {}
            conn = session.connection()
            flags = _reflag(conn, run.id, run.flag_score, events, now, only_claims=claim_ids, actor=principal.user_id,
                            reason=f"finding {finding.id} reviewed: {decision}")
            _append_events(conn, events, flags.pop("_claim_ids"), now)
            result.update(flagged=flags["flagged"], cleared=flags["cleared"])
    return result
