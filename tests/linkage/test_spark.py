"""The same settings on Splink's Spark backend (skipped when pyspark is not installed)."""

from __future__ import annotations

import importlib.util
import logging

import polars as pl
import pytest

from everymetre.linkage import ClaimLinker, ModelConfig, pairwise_scores
from everymetre.linkage.synthetic import TRUTH_COLUMNS, generate_population

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None,
    reason="pyspark is not installed (optional extra 'everymetre[spark]')",
)


def test_duckdb_model_conditions_are_rewritten_for_spark() -> None:
    """A DuckDB-built model quotes columns with double quotes, which Spark SQL reads as string literals."""
    from everymetre.linkage.model import build_settings, model_for_dialect

    model = build_settings().create_settings_dict("duckdb")
    model["comparisons"][0]["comparison_levels"].insert(
        -1, {"sql_condition": 'jaro_winkler_similarity("surname_n_l", "surname_n_r") >= 0.7', "label_for_charts": "x"}
    )
    spark_model = model_for_dialect(model, "spark")
    conditions = [lvl["sql_condition"] for c in spark_model["comparisons"] for lvl in c["comparison_levels"]]
    assert not any('"' in sql for sql in conditions)
    assert "jaro_winkler(`surname_k_l`, `surname_k_r`) >= 0.92" in conditions
    assert "JARO_WINKLER(`surname_n_l`, `surname_n_r`) >= 0.7" in conditions  # not native: sqlglot-translated
    assert model_for_dialect(model, "duckdb") is model
    back = model_for_dialect(spark_model, "duckdb")
    assert [lvl["sql_condition"] for c in back["comparisons"] for lvl in c["comparison_levels"]][:5] == [
        lvl["sql_condition"] for lvl in model["comparisons"][0]["comparison_levels"]
    ][:5]


def test_spark_backend_matches_duckdb() -> None:
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    logging.getLogger("splink").setLevel(logging.ERROR)
    # Splink's string-similarity UDFs ship as a jar inside the splink package (nothing is downloaded)
    spark = (SparkSession.builder.master("local[2]").appName("everymetre-linkage-test")
             .config("spark.jars", similarity_jar_location()).getOrCreate())
    try:
        population = generate_population(2000, seed=5)
        records = population.drop(*TRUTH_COLUMNS)
        duck = ClaimLinker(ModelConfig(u_max_pairs=5e5))
        duck_result = duck.run(records)
        spark_linker = ClaimLinker(ModelConfig(backend="spark", spark_session=spark), model=duck.model)
        spark_result = spark_linker.run(records, train=False)
        scores = pairwise_scores(spark_result.clusters["person_cluster"], population["true_person_id"])
        assert scores.precision >= 0.95 and scores.recall >= 0.95
        # the same model scores the same pairs with the same weights on both backends
        key = ["record_id_l", "record_id_r"]
        duck_pairs = duck_result.pairs.sort(key)
        spark_pairs = spark_result.pairs.sort(key)
        assert duck_pairs.height > 100
        assert spark_pairs.select(key).equals(duck_pairs.select(key))
        assert (spark_pairs["match_weight"] - duck_pairs["match_weight"]).abs().max() < 1e-6
        assert spark_pairs["evidence"].to_list() == duck_pairs["evidence"].to_list()
        assert isinstance(spark_result.findings, pl.DataFrame)
    finally:
        spark.stop()
