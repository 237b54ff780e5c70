"""End-to-end person linkage on a small synthetic population: quality, reviewer decisions, model
persistence, the pairs CSV, and findings for injected patterns."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import polars as pl
import pytest

from everymetre.linkage import (
    CLUSTERS_SCHEMA,
    PAIRS_SCHEMA,
    ClaimLinker,
    LinkageResult,
    ModelConfig,
    ReviewDecision,
    pairwise_scores,
)
from everymetre.linkage.synthetic import TRUTH_COLUMNS, generate_population

N = 4000


@pytest.fixture(scope="module")
def population() -> pl.DataFrame:
    logging.getLogger("splink").setLevel(logging.ERROR)
    return generate_population(N, seed=11)


@pytest.fixture(scope="module")
def records(population: pl.DataFrame) -> pl.DataFrame:
    return population.drop(*TRUTH_COLUMNS)


@pytest.fixture(scope="module")
def trained(records: pl.DataFrame) -> tuple[ClaimLinker, LinkageResult]:
    linker = ClaimLinker(ModelConfig(u_max_pairs=1e6))
    return linker, linker.run(records)


def test_generator_makes_ground_truth_and_collisions(population: pl.DataFrame) -> None:
    assert population.height == N and population["record_id"].n_unique() == N
    assert set(TRUTH_COLUMNS) <= set(population.columns)
    injected = set(population["injected"].drop_nulls().unique())
    assert {"duplicate", "multi_destroyed", "repeat_linked", "repeat_unlinked", "foreign_home", "shared_iban",
            "share_inflated"} <= injected
    # different people with the same name exist, as in a real population
    same_name = population.group_by("surname", "given_name").agg(pl.col("true_person_id").n_unique().alias("n"))
    assert same_name["n"].max() > 1


def test_precision_and_recall_on_synthetic_population(population: pl.DataFrame,
                                                      trained: tuple[ClaimLinker, LinkageResult]) -> None:
    _, result = trained
    people = pairwise_scores(result.clusters["person_cluster"], population["true_person_id"])
    assert people.true_pairs > 200
    assert people.precision >= 0.97, people
    assert people.recall >= 0.97, people
    homes = pairwise_scores(result.clusters["property_cluster"], population["true_property_id"])
    assert homes.recall >= 0.97 and homes.precision >= 0.9, homes


def test_output_schemas(trained: tuple[ClaimLinker, LinkageResult], records: pl.DataFrame) -> None:
    _, result = trained
    assert dict(result.pairs.schema) == PAIRS_SCHEMA
    assert dict(result.clusters.schema) == CLUSTERS_SCHEMA
    assert result.clusters["record_id"].to_list() == records["record_id"].to_list()
    assert (result.pairs["match_probability"] >= result.threshold).all()
    assert set(result.pairs["source"].unique()) == {"model"}


def test_spelling_variants_are_linked(population: pl.DataFrame, trained: tuple[ClaimLinker, LinkageResult]) -> None:
    _, result = trained
    joined = population.select("record_id", "true_person_id", "surname").join(result.clusters, on="record_id")
    latin = joined.filter(pl.col("surname").str.contains(r"^[A-Za-z]"))
    assert latin.height > 20
    # a Latin-spelled record shares its person cluster with a record of the same true person
    per_person = joined.group_by("true_person_id").agg(pl.col("person_cluster").n_unique().alias("clusters"))
    split = latin.join(per_person, on="true_person_id").filter(pl.col("clusters") > 1)
    assert split.height <= latin.height * 0.05


def test_injected_patterns_become_findings(population: pl.DataFrame, trained: tuple[ClaimLinker, LinkageResult]) -> None:
    _, result = trained
    flagged = result.findings.explode("record_ids").select("kind", pl.col("record_ids").alias("record_id"))
    injected = population.select("record_id", "injected").filter(pl.col("injected").is_not_null())
    hits = injected.join(flagged, on="record_id")
    expectations = {
        "multi_destroyed": "person_multiple_destroyed_claims",
        "foreign_home": "home_claimed_by_unrelated",
        "shared_iban": "iban_shared_by_unrelated",
        "share_inflated": "shares_do_not_add_up",
        "repeat_unlinked": "repeat_damage_unlinked",
    }
    for pattern, kind in expectations.items():
        wanted = injected.filter(pl.col("injected") == pattern)["record_id"]
        found = hits.filter((pl.col("injected") == pattern) & (pl.col("kind") == kind))["record_id"].n_unique()
        assert found >= 0.8 * wanted.len(), (pattern, found, wanted.len())


def test_not_a_match_suppresses_and_match_forces(records: pl.DataFrame,
                                                 trained: tuple[ClaimLinker, LinkageResult]) -> None:
    linker, result = trained
    pair = result.pairs.filter(pl.col("source") == "model").row(0, named=True)
    a, b = pair["record_id_l"], pair["record_id_r"]
    clusters = result.clusters
    lonely = clusters.group_by("person_cluster").len().filter(pl.col("len") == 1)["person_cluster"]
    x, y = lonely[0], lonely[1]  # two records the model did not link to anything
    decisions = [ReviewDecision(b, a, "not_a_match"), ReviewDecision(x, y, "match")]
    again = linker.run(records, decisions=decisions, train=False)
    keys = set(zip(again.pairs["record_id_l"], again.pairs["record_id_r"], strict=False))
    assert (a, b) not in keys and (b, a) not in keys
    forced = again.pairs.filter(pl.col("source") == "reviewer").row(0, named=True)
    assert {forced["record_id_l"], forced["record_id_r"]} == {x, y} and forced["match_probability"] == 1.0
    c = dict(zip(again.clusters["record_id"], again.clusters["person_cluster"], strict=False))
    assert c[x] == c[y]
    if not any(a in k or b in k for k in keys):  # no other path joins them
        assert c[a] != c[b]


def test_decisions_reject_unknown_values() -> None:
    with pytest.raises(ValueError):
        ReviewDecision("a", "b", "maybe")  # type: ignore[arg-type]


def test_model_save_load_round_trip(tmp_path: Path, records: pl.DataFrame,
                                    trained: tuple[ClaimLinker, LinkageResult]) -> None:
    linker, result = trained
    path = tmp_path / "person-model.json"
    linker.save_model(path)
    loaded = ClaimLinker.load_model(path, ModelConfig())
    assert loaded.model is not None and loaded.model["comparisons"] == linker.model["comparisons"]
    again = loaded.run(records, train=False)
    cols = ["record_id_l", "record_id_r", "match_probability"]
    left = result.pairs.select(cols).sort("record_id_l", "record_id_r")
    right = again.pairs.select(cols).sort("record_id_l", "record_id_r")
    assert left["record_id_l"].to_list() == right["record_id_l"].to_list()
    assert (left["match_probability"] - right["match_probability"]).abs().max() < 1e-9


def test_saved_model_is_reused_while_the_data_keep_their_shape(tmp_path: Path, records: pl.DataFrame,
                                                              trained: tuple[ClaimLinker, LinkageResult]) -> None:
    linker, _ = trained
    path = tmp_path / "person-model.json"
    linker.save_model(path)
    same = ClaimLinker.load_model(path, ModelConfig()).run(records.head(2000))
    assert not same.trained  # the same fields on the records: the saved model is used
    # an import without taxpayer numbers: the saved model's RNOKPP comparison and prior do not fit, train again
    other = ClaimLinker.load_model(path, ModelConfig())
    result = other.run(records.head(2000).with_columns(pl.lit(None, pl.String).alias("rnokpp")))
    assert result.trained
    assert other.model is not None and "rnokpp" not in [c["output_column_name"] for c in other.model["comparisons"]]
    # never without being asked when training is ruled out
    assert not ClaimLinker.load_model(path, ModelConfig()).run(
        records.head(500).with_columns(pl.lit(None, pl.String).alias("rnokpp")), train=False).trained


def test_untrained_linker_refuses_to_predict_without_training(records: pl.DataFrame) -> None:
    with pytest.raises(RuntimeError):
        ClaimLinker().run(records.head(50), train=False)


def test_pairs_csv(tmp_path: Path, trained: tuple[ClaimLinker, LinkageResult]) -> None:
    _, result = trained
    path = tmp_path / "pairs.csv"
    written = result.pairs_to_csv(path)
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert written == len(rows) == result.pairs.height > 0
    assert list(rows[0]) == list(PAIRS_SCHEMA)
    first = result.pairs.row(0, named=True)
    assert rows[0]["record_id_l"] == first["record_id_l"] and rows[0]["record_id_r"] == first["record_id_r"]
    assert abs(float(rows[0]["match_probability"]) - first["match_probability"]) < 1e-9
    assert rows[0]["agreeing_fields"] == ";".join(first["agreeing_fields"])
    assert all(float(r["match_probability"]) >= result.threshold for r in rows)
    assert any("birth_date" in r["agreeing_fields"].split(";") for r in rows)


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="required"):
        ClaimLinker().run(pl.DataFrame({"record_id": ["a"]}))
    dup = pl.DataFrame({"record_id": ["a", "a"], "claim_ref": ["1", "2"], "surname": ["x", "y"], "given_name": ["x", "y"]})
    with pytest.raises(ValueError, match="unique"):
        ClaimLinker().run(dup)


def test_arrow_input_is_accepted(records: pl.DataFrame) -> None:
    from everymetre.linkage import coerce_records

    assert coerce_records(records.head(10).to_arrow()).height == 10
