"""Link people and homes across all claims and produce findings for review.

Typical use::

    from everymetre.linkage import ClaimLinker, ModelConfig, ReviewDecision

    linker = ClaimLinker(ModelConfig(threshold=0.9))
    result = linker.run(records, decisions=[ReviewDecision("R1", "R7", "not_a_match")])
    linker.save_model("person-model.json")      # later: ClaimLinker.load_model("person-model.json")
    result.pairs_to_csv("pairs.csv")
    result.findings                               # polars DataFrame, FINDINGS_SCHEMA

People are linked by the trained Splink model (pairs at or above the threshold, then connected components);
homes by normalised address key or registry object number (connected components over both). Reviewer
decisions override the model: a not-a-match removes the pair, a match adds it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from everymetre.linkage.features import coerce_records, derive_features
from everymetre.linkage.findings import compute_findings
from everymetre.linkage.graph import connected_components
from everymetre.linkage.model import SHAPE_KEY, ModelConfig, PersonModel, data_shape

__all__ = ["CLUSTERS_SCHEMA", "PAIRS_SCHEMA", "ClaimLinker", "LinkageResult", "ReviewDecision"]

Decision = Literal["match", "not_a_match"]

PAIRS_SCHEMA: dict[str, pl.DataType] = {
    "record_id_l": pl.String(),
    "record_id_r": pl.String(),
    "claim_ref_l": pl.String(),
    "claim_ref_r": pl.String(),
    "match_probability": pl.Float64(),
    "match_weight": pl.Float64(),
    "agreeing_fields": pl.List(pl.String()),
    "evidence": pl.String(),  # "surname: exact; birth_date: day and month swapped; ..."
    "source": pl.String(),  # "model" | "reviewer" | "person_key"
}
CLUSTERS_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.String(),
    "claim_ref": pl.String(),
    "person_cluster": pl.String(),  # record_id of the cluster's first record (in input order)
    "property_cluster": pl.String(),  # likewise, for the home
}


@dataclass(frozen=True)
class ReviewDecision:
    """A reviewer's decision on a pair of records (order does not matter)."""

    record_id_a: str
    record_id_b: str
    decision: Decision

    def __post_init__(self) -> None:
        if self.decision not in ("match", "not_a_match"):
            raise ValueError(f"decision must be 'match' or 'not_a_match', not {self.decision!r}")


def _decisions_frame(decisions: Iterable[ReviewDecision] | pl.DataFrame | None) -> pl.DataFrame:
    """Decisions as (a, b, decision) with a < b; the last decision on a pair wins."""
    schema = {"a": pl.String, "b": pl.String, "decision": pl.String}
    if decisions is None:
        return pl.DataFrame(schema=schema)
    if isinstance(decisions, pl.DataFrame):
        df = decisions.select(
            pl.col("record_id_a").cast(pl.String).alias("x"),
            pl.col("record_id_b").cast(pl.String).alias("y"),
            pl.col("decision").cast(pl.String),
        )
    else:
        rows = [(d.record_id_a, d.record_id_b, d.decision) for d in decisions]
        df = pl.DataFrame(rows, schema={"x": pl.String, "y": pl.String, "decision": pl.String}, orient="row")
    bad = df.filter(~pl.col("decision").is_in(["match", "not_a_match"]))
    if bad.height:
        raise ValueError(f"unknown decision(s): {bad['decision'].unique().to_list()}")
    return (
        df.select(
            pl.min_horizontal("x", "y").alias("a"), pl.max_horizontal("x", "y").alias("b"), "decision"
        )
        .unique(["a", "b"], keep="last", maintain_order=True)
    )


@dataclass
class LinkageResult:
    """The outcome of one linkage run."""

    clusters: pl.DataFrame  # CLUSTERS_SCHEMA, one row per input record, input order
    pairs: pl.DataFrame  # PAIRS_SCHEMA, person pairs at or above the threshold (after reviewer decisions)
    findings: pl.DataFrame  # findings.FINDINGS_SCHEMA
    threshold: float
    timings: dict[str, float] = field(default_factory=dict)
    trained: bool = False  # the person model was trained in this run (else a loaded one was used)

    def pairs_to_csv(self, path: str | Path) -> int:
        """Write every scored person pair at or above the threshold: both record ids and claim refs, match
        probability and weight, agreeing fields (";"-separated), evidence and source. Returns the row count."""
        out = self.pairs.with_columns(pl.col("agreeing_fields").list.join(";"))
        out.write_csv(path)
        return out.height

    def findings_to_csv(self, path: str | Path) -> int:
        """Write the findings with list columns joined by ";"."""
        list_cols = [c for c, t in self.findings.schema.items() if isinstance(t, pl.List)]
        out = self.findings.with_columns([pl.col(c).list.join(";") for c in list_cols])
        out.write_csv(path, quote_style="non_numeric")
        return out.height


class ClaimLinker:
    """Links people and homes across claims; trains or loads a Splink person model."""

    def __init__(self, config: ModelConfig | None = None, model: dict[str, Any] | None = None):
        self.config = config or ModelConfig()
        self._model: dict[str, Any] | None = model
        self._bound: tuple[int, PersonModel] | None = None  # (id of features frame, model bound to it)

    # --- model persistence ------------------------------------------------------------------------------
    @classmethod
    def load_model(cls, path: str | Path, config: ModelConfig | None = None) -> ClaimLinker:
        """A linker with a model saved by :meth:`save_model` (a Splink settings JSON with trained m and u)."""
        return cls(config, model=json.loads(Path(path).read_text(encoding="utf-8")))

    def save_model(self, path: str | Path) -> None:
        if self._model is None:
            raise RuntimeError("no trained model to save: call fit() or run() first")
        Path(path).write_text(json.dumps(self._model, indent=2, ensure_ascii=False), encoding="utf-8")

    @property
    def model(self) -> dict[str, Any] | None:
        return self._model

    # --- training ---------------------------------------------------------------------------------------
    def fit(self, records: Any, decisions: Iterable[ReviewDecision] | pl.DataFrame | None = None) -> ClaimLinker:
        """Train the person model on ``records``; reviewer-confirmed matches are used as labels (m
        probabilities) when there are enough of them."""
        df = coerce_records(records)
        features = derive_features(df)
        self._train(df, features, _decisions_frame(decisions))
        return self

    def _train(self, df: pl.DataFrame, features: pl.DataFrame, decisions: pl.DataFrame) -> PersonModel:
        pm = PersonModel(features, self.config, person_key=df["person_key"])
        labels = self._uid_pairs(df, decisions.filter(pl.col("decision") == "match").select("a", "b"))
        pm.train(labels.rename({"uid_a": "unique_id_l", "uid_b": "unique_id_r"}))
        self._model = {**pm.model_dict(), SHAPE_KEY: data_shape(features)}
        self._bound = (id(features), pm)
        return pm

    @staticmethod
    def _uid_pairs(df: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
        ids = df.select(pl.col("record_id"), pl.int_range(pl.len(), dtype=pl.Int64).alias("uid"))
        out = (
            decisions.join(ids.rename({"record_id": "a", "uid": "uid_a"}), on="a", how="inner")
            .join(ids.rename({"record_id": "b", "uid": "uid_b"}), on="b", how="inner")
            .select(
                pl.min_horizontal("uid_a", "uid_b").alias("uid_a"),
                pl.max_horizontal("uid_a", "uid_b").alias("uid_b"),
                *(["decision"] if "decision" in decisions.columns else []),
            )
        )
        return out

    # --- the run ----------------------------------------------------------------------------------------
    def run(
        self,
        records: Any,
        decisions: Iterable[ReviewDecision] | pl.DataFrame | None = None,
        *,
        train: bool | None = None,
    ) -> LinkageResult:
        """Link ``records`` (see features.INPUT_SCHEMA) and compute findings.

        ``train``: True retrains on these records, False requires a loaded/trained model, None (default)
        trains when there is no model yet or when the data's shape (:func:`.model.data_shape`: the fields
        records carry) is not the one the model was trained on; ``result.trained`` says whether it did.
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        df = coerce_records(records)
        features = derive_features(df)
        dec = _decisions_frame(decisions)
        timings["prepare"] = time.perf_counter() - t0

        t = time.perf_counter()
        saved_shape = (self._model or {}).get(SHAPE_KEY)
        if train is None and saved_shape is not None and saved_shape != data_shape(features):
            train = True  # another shape of data: the saved model lacks (or has) comparisons and rules for it
        trained = bool(train or (train is None and self._model is None))
        if trained:
            pm = self._train(df, features, dec)
        elif self._model is None:
            raise RuntimeError("no model: pass train=True or load one")
        else:
            pm = PersonModel(features, self.config, model=self._model)
        timings["train"] = time.perf_counter() - t

        t = time.perf_counter()
        raw = pm.predict(self.config.threshold)
        timings["predict"] = time.perf_counter() - t

        t = time.perf_counter()
        pairs_uid = self._evidence(raw, pm)
        pairs_uid = self._apply_decisions(df, pairs_uid, dec)
        pairs_uid = self._add_person_key_links(df, pairs_uid)
        n = df.height
        person = connected_components(n, pairs_uid["unique_id_l"].to_numpy(), pairs_uid["unique_id_r"].to_numpy())
        prop = self._property_components(features)
        rid = df["record_id"]
        clusters = pl.DataFrame(
            {
                "record_id": rid,
                "claim_ref": df["claim_ref"],
                "person_cluster": rid.gather(person),
                "property_cluster": rid.gather(prop),
            }
        )
        pairs = self._pairs_frame(df, pairs_uid)
        timings["cluster"] = time.perf_counter() - t

        t = time.perf_counter()
        find_input = pl.concat(
            [
                clusters.select("record_id", "claim_ref", "person_cluster", "property_cluster"),
                df.select("claim_kind", "is_redamage", "previous_claim_ref", "damage_date", "property_kind"),
                features.select("surname_f", "share_f", "iban_n", "given_k", "patronymic_k", "phone_n"),
            ],
            how="horizontal",
        )
        link_fields = (
            pairs.join(clusters.select("record_id", "person_cluster"), left_on="record_id_l", right_on="record_id")
            .group_by("person_cluster")
            .agg(linked_by=pl.col("agreeing_fields").list.explode(keep_nulls=False, empty_as_null=False).unique().sort())
        )
        findings = compute_findings(find_input, link_fields)
        timings["findings"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        return LinkageResult(clusters=clusters, pairs=pairs, findings=findings, threshold=self.config.threshold,
                             timings=timings, trained=trained)

    # --- helpers ----------------------------------------------------------------------------------------
    @staticmethod
    def _evidence(raw: pl.DataFrame, pm: PersonModel) -> pl.DataFrame:
        """unique_id_l/r, match_probability, match_weight, agreeing_fields, evidence, source."""
        labels = pm.level_labels()
        agree_exprs: list[pl.Expr] = []
        text_exprs: list[pl.Expr] = []
        for name, levels in labels.items():
            mw = pl.col(f"mw_{name}")
            agree: pl.Expr = pl.lit(None, dtype=pl.String)
            text: pl.Expr = pl.lit(None, dtype=pl.String)
            # most specific level last in the chain so that it wins when two levels share a weight
            for weight, label, is_agreement in reversed(levels):
                hit = (mw - weight).abs() < 1e-6
                if is_agreement and abs(weight) > 1e-6:  # a level weighing nothing is no evidence (nor a null)
                    agree = pl.when(hit).then(pl.lit(name)).otherwise(agree)
                    text = pl.when(hit).then(pl.lit(f"{name}: {label}")).otherwise(text)
                else:
                    agree = pl.when(hit).then(pl.lit(None, dtype=pl.String)).otherwise(agree)
                    text = pl.when(hit).then(pl.lit(None, dtype=pl.String)).otherwise(text)
            agree_exprs.append(agree)
            text_exprs.append(text)
        if raw.height == 0:
            return pl.DataFrame(
                schema={"unique_id_l": pl.Int64, "unique_id_r": pl.Int64, "match_probability": pl.Float64,
                        "match_weight": pl.Float64, "agreeing_fields": pl.List(pl.String), "evidence": pl.String,
                        "source": pl.String}
            )
        return raw.select(
            pl.col("unique_id_l").cast(pl.Int64),
            pl.col("unique_id_r").cast(pl.Int64),
            pl.col("match_probability").cast(pl.Float64),
            pl.col("match_weight").cast(pl.Float64),
            pl.concat_list(agree_exprs).list.drop_nulls().alias("agreeing_fields"),
            pl.concat_str(text_exprs, separator="; ", ignore_nulls=True).alias("evidence"),
            pl.lit("model").alias("source"),
        )

    def _apply_decisions(self, df: pl.DataFrame, pairs: pl.DataFrame, dec: pl.DataFrame) -> pl.DataFrame:
        if dec.height == 0:
            return pairs
        uid = self._uid_pairs(df, dec)
        # keyed on (uid_a, uid_b) with uid_a < uid_b, like Splink's unique_id_l < unique_id_r
        pairs = pairs.with_columns(
            pl.min_horizontal("unique_id_l", "unique_id_r").alias("unique_id_l"),
            pl.max_horizontal("unique_id_l", "unique_id_r").alias("unique_id_r"),
        )
        decided = uid.rename({"uid_a": "unique_id_l", "uid_b": "unique_id_r"})
        kept = pairs.join(decided.select("unique_id_l", "unique_id_r"), on=["unique_id_l", "unique_id_r"], how="anti")
        forced = decided.filter(pl.col("decision") == "match").select(
            "unique_id_l", "unique_id_r",
            pl.lit(1.0).alias("match_probability"),
            pl.lit(None, dtype=pl.Float64).alias("match_weight"),
        )
        # keep the model's evidence for forced pairs it had scored
        forced = forced.join(
            pairs.select("unique_id_l", "unique_id_r", "agreeing_fields", "evidence"),
            on=["unique_id_l", "unique_id_r"], how="left",
        ).with_columns(
            pl.col("agreeing_fields").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.concat_str([pl.lit("reviewer: match"), pl.col("evidence")], separator="; ", ignore_nulls=True).alias("evidence"),
            pl.lit("reviewer").alias("source"),
        )
        return pl.concat([kept, forced.select(kept.columns)], how="vertical_relaxed")

    @staticmethod
    def _add_person_key_links(df: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
        """Records carrying the same internal person_key are one person: link each to the key's first record."""
        keyed = df.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("uid"), "person_key").filter(
            pl.col("person_key").is_not_null()
        )
        if keyed.height == 0:
            return pairs
        links = (
            keyed.with_columns(first=pl.col("uid").min().over("person_key"))
            .filter(pl.col("uid") != pl.col("first"))
            .select(
                pl.col("first").alias("unique_id_l"),
                pl.col("uid").alias("unique_id_r"),
                pl.lit(1.0).alias("match_probability"),
                pl.lit(None, dtype=pl.Float64).alias("match_weight"),
                pl.lit(["person_key"], dtype=pl.List(pl.String)).alias("agreeing_fields"),
                pl.lit("same internal person key").alias("evidence"),
                pl.lit("person_key").alias("source"),
            )
        )
        links = links.join(pairs.select("unique_id_l", "unique_id_r"), on=["unique_id_l", "unique_id_r"], how="anti")
        return pl.concat([pairs, links.select(pairs.columns)], how="vertical_relaxed")

    @staticmethod
    def _property_components(features: pl.DataFrame) -> np.ndarray:
        """Homes: records with the same normalised address or the same registry object number."""
        edges: list[pl.DataFrame] = []
        for key in ("addr_k", "registry_n"):
            e = (
                features.select("unique_id", key)
                .filter(pl.col(key).is_not_null())
                .with_columns(first=pl.col("unique_id").min().over(key))
                .filter(pl.col("unique_id") != pl.col("first"))
                .select("first", "unique_id")
            )
            edges.append(e)
        all_edges = pl.concat(edges)
        return connected_components(
            features.height, all_edges["first"].to_numpy(), all_edges["unique_id"].to_numpy()
        )

    @staticmethod
    def _pairs_frame(df: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
        ids = df.select("record_id", "claim_ref")
        return (
            pairs.with_columns(
                record_id_l=ids["record_id"].gather(pairs["unique_id_l"]),
                record_id_r=ids["record_id"].gather(pairs["unique_id_r"]),
                claim_ref_l=ids["claim_ref"].gather(pairs["unique_id_l"]),
                claim_ref_r=ids["claim_ref"].gather(pairs["unique_id_r"]),
            )
            .select(list(PAIRS_SCHEMA))
            .sort("match_probability", "record_id_l", "record_id_r", descending=[True, False, False])
        )
