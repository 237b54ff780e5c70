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
        assert abs(spark_result.pairs.height - duck_result.pairs.height) <= max(3, duck_result.pairs.height // 50)
        assert isinstance(spark_result.findings, pl.DataFrame)
    finally:
        spark.stop()
