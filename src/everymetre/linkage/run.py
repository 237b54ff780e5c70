"""The whole linkage run over the store: extract, load reviewers' decisions, link (model from
``DATA_DIR/linkage/model.json``, trained and saved when missing or on ``retrain``), upsert findings by
fingerprint, set / clear ``Claim.review_flag`` ("linkage:<kind>") for findings at or above the flag score,
audit all of it.

Besides the core's finding kinds, the run adds ``duplicate_claim``: one person (cluster) filing two or more
claims of the same kind for the same home (cluster), neither a linked re-damage claim of the other.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import SQLAlchemyError

from everymetre.linkage.common import LinkageError, model_path
from everymetre.linkage.extract import extract_records, stored_decisions
from everymetre.linkage.findings import FINDINGS_SCHEMA
from everymetre.linkage.models import LinkageRun
from everymetre.linkage.training import CannotTrain
from everymetre.linkage.writing import write_findings
from everymetre.store.types import utcnow

__all__ = ["LinkReport", "default_flag_score", "run_linkage", "write_pairs_csv"]


def default_flag_score() -> float:
    """EVERYMETRE_LINKAGE_FLAG_SCORE (config.Settings.linkage_flag_score), default 0.6."""
    from everymetre.config import get_settings

    return get_settings().linkage_flag_score


def programme_scores(engine: Engine) -> tuple[float, float]:
    """The match threshold and the flag score this programme uses now (its stored settings, else the
    deployment's defaults), as probabilities."""
    from sqlalchemy.orm import Session

    from everymetre.programme.settings import effective

    with Session(engine) as session:
        values = effective(session)
    return values["linkage_match_percent"] / 100, values["linkage_flag_percent"] / 100


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


def duplicate_claims(clusters: pl.DataFrame, recs: pl.DataFrame, link_fields: pl.DataFrame) -> pl.DataFrame:
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


def run_linkage(engine: Engine, data_dir: Path, *, threshold: float | None = None, flag_score: float | None = None,
                retrain: bool = False, on_phase: Callable[[str, float | None], None] | None = None) -> LinkReport:
    """Link every claim in the store; see the module doc. `on_phase(name, None)` is called when a phase starts
    and `on_phase(name, seconds)` when it ends."""
    from everymetre.linkage import ClaimLinker, ModelConfig

    if threshold is None or flag_score is None:
        programme_threshold, programme_flag = programme_scores(engine)
        threshold = programme_threshold if threshold is None else threshold
        flag_score = programme_flag if flag_score is None else flag_score
    config = ModelConfig(threshold=threshold)
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
        with _one_line("reading the claims from the store"):
            records = extract_records(engine)
        end("extract")
        if records.height == 0:
            raise LinkageError("the store has no claims with owners: nothing to link (load some with "
                               "`everymetre demo` or `everymetre import claims`)")
        begin("decisions")
        decisions = stored_decisions(engine, records)
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
            # a saved model is used while the data keep the shape it was trained on, else trained again
            result = linker.run(linker_input, decisions if decisions.height else None, train=True if trained else None)
            trained = result.trained
        except LinkageError:
            raise
        except CannotTrain as exc:
            raise LinkageError(f"{exc} ({records.height:,} records in {records['claim_id'].n_unique():,} claims)") from None
        except Exception as exc:
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
        dups = duplicate_claims(result.clusters, records, link_fields)
        findings = pl.concat([result.findings, dups]).sort(["score", "kind", "finding_id"], descending=[True, False, False])
        with _one_line(f"writing {findings.height:,} findings and their review flags"):
            counts = write_findings(engine, run_id, findings, result.pairs, records, flag_score)
        end("findings")

        pairs = pairs_with_ids(result.pairs, records)
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
        try:
            with engine.begin() as conn:
                conn.execute(update(LinkageRun).where(LinkageRun.id == run_id).values(
                    finished_at=utcnow(), status="failed", error=str(exc)[:2000] or type(exc).__name__, timings=timings))
        except SQLAlchemyError:
            pass  # the store cannot take the note either: the run's own error is the one to report
        raise


@contextmanager
def _one_line(what: str) -> Iterator[None]:
    """A database or memory error of a phase as one LinkageError line (the CLI prints it and exits non-zero),
    not a stack of SQL; the phase's transaction has rolled back."""
    try:
        yield
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        msg = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:300]
        raise LinkageError(f"{what} failed: {msg}") from exc
    except MemoryError:
        raise LinkageError(f"{what} failed: out of memory") from None


def pairs_with_ids(pairs: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
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
