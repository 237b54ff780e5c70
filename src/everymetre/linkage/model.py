"""The Splink person-linkage model: settings, blocking, training, prediction.

Splink runs on DuckDB (in memory, or in a temporary file for big runs) and, when pyspark is installed, on
Spark with the same settings. Nothing here touches the network: the DuckDB connection is created with
extension autoloading and autoinstalling switched off.
"""

from __future__ import annotations

import json
import logging
import tempfile
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.splink_dataframe import SplinkDataFrame

from everymetre.linkage.features import FEATURE_COLUMNS
from everymetre.linkage.training import (
    CannotTrain,
    TrainingPlan,
    coverage,
    pair_count,
    plan_training,
    sanitise_model,
    training_rows,
)

__all__ = [
    "COMPARISON_FIELDS",
    "DEFAULT_M",
    "CannotTrain",
    "ModelConfig",
    "PersonModel",
    "build_settings",
    "model_for_dialect",
    "prediction_blocking_rules",
]

logger = logging.getLogger(__name__)

Backend = Literal["duckdb", "spark"]

#: Splink comparison name -> the input fields it compares (for the "agreeing fields" evidence)
COMPARISON_FIELDS: dict[str, str] = {
    "surname": "surname",
    "given_name": "given_name",
    "patronymic": "patronymic",
    "birth_date": "birth_date",
    "rnokpp": "rnokpp",
    "phone": "phone",
    "iban": "iban",
    "home": "address/registry_number",
}


@dataclass
class ModelConfig:
    """How the person model is built and run.

    threshold: match probability at or above which a scored pair is reported and linked into a cluster.
    prior_recall: the share of true matches the RNOKPP rule is assumed to find, to set the prior.
    u_max_pairs: random pairs sampled to estimate u probabilities; None (default): 100,000 when training on
        fewer than 10,000 distinct people, 300,000 below 50,000 (where Splink's fixed costs dominate and FEBRL's
        F1 is unchanged or within 0.002, still above the peer's), 500,000 above (1,000,000 took a third of the
        training's CPU at 100,000 records, for the same precision and recall on the synthetic population).
    backend: "duckdb" (default) or "spark" (needs pyspark and a ``spark_session``).
    duckdb_path: ":memory:" or ":temporary:" (a temporary file, for runs larger than memory).
    duckdb_threads: DuckDB's threads (2, the cores of the machine it was measured on).
    duckdb_memory_limit: DuckDB's memory limit, spilling to a temporary directory beyond it; None: DuckDB's
        default (80 % of the machine's memory).
    """

    threshold: float = 0.9
    prior_recall: float = 0.8
    u_max_pairs: float | None = None
    em_max_pairs: float | None = 2e6
    min_match_labels_for_training: int = 30
    seed: int = 42
    backend: Backend = "duckdb"
    duckdb_path: str = ":memory:"
    duckdb_threads: int | None = 2
    duckdb_memory_limit: str | None = "4GB"
    spark_session: Any = None
    extra_blocking_rules: list[str] = field(default_factory=list)


def _exact(col: str, label: str, tf: bool = False) -> ComparisonLevelCreator:
    return cll.ExactMatchLevel(col, term_frequency_adjustments=tf).configure(label_for_charts=label)


#: m of each non-null level (in order) before training, and for levels EM cannot see: the share of true
#: matches expected at each level (they follow the data once EM has run)
DEFAULT_M: dict[str, list[float]] = {
    "surname": [0.85, 0.05, 0.01, 0.04, 0.02, 0.01, 0.02],
    "given_name": [0.85, 0.05, 0.01, 0.04, 0.02, 0.01, 0.02],
    "patronymic": [0.9, 0.05, 0.05],
    "birth_date": [0.85, 0.03, 0.07, 0.05],
    "rnokpp": [0.9, 0.05, 0.05],
    "phone": [0.6, 0.4],
    "iban": [0.5, 0.5],
    "home": [0.3, 0.35, 0.05, 0.03, 0.05, 0.07, 0.15],
}


#: surname and given name written the other way round (a level of both name comparisons)
def _swapped() -> cll.CustomLevel:
    return cll.CustomLevel("surname_k_l = given_k_r AND given_k_l = surname_k_r",
                           label_for_charts="swapped with the other name", base_dialect_str="duckdb")


def _crossed() -> cll.CustomLevel:
    return cll.CustomLevel("surname_k_l = given_k_r OR given_k_l = surname_k_r",
                           label_for_charts="the same as the other record's other name", base_dialect_str="duckdb")


#: comparison -> the feature columns it reads (a comparison none of whose columns any record carries is left
#: out of a model trained on those records: it would only cost time in sampling, EM and prediction)
COMPARISON_COLUMNS: dict[str, tuple[str, ...]] = {
    "surname": ("surname_k",), "given_name": ("given_k",), "patronymic": ("patronymic_k",), "birth_date": ("dob",),
    "rnokpp": ("rnokpp_n",), "phone": ("phone_n",), "iban": ("iban_n",), "home": ("addr_k", "registry_n", "bldg_k", "city_k"),
}


#: the key of a saved model recording the shape of the data it was trained on (see :func:`data_shape`)
SHAPE_KEY = "everymetre_data_shape"


def data_shape(features: pl.DataFrame) -> dict[str, Any]:
    """What a trained model depends on in the data: the comparisons it has (fields anybody carries), whether it
    has the blocking rules for records without birth dates, and which identifying fields are on enough records
    (30 %) to train from. A saved model is reused only while this is unchanged."""
    present = coverage(features)
    return {
        "comparisons": [name for name, cols in COMPARISON_COLUMNS.items()
                        if name in ("surname", "given_name") or any(present.get(col, 1.0) > 0 for col in cols)],
        "without_birth_dates": present.get("dob", 0.0) < 0.9,
        "training_fields": [col for col in ("rnokpp_n", "dob", "addr_k") if present.get(col, 0.0) >= 0.3],
    }


def build_comparisons(present: dict[str, float] | None = None) -> list[cl.CustomComparison]:
    """The comparisons of the person model (each level named for the evidence shown to reviewers). With
    ``present`` (column -> share of records carrying it), comparisons of fields nobody carries are left out
    (the names are always kept)."""
    surname = cl.CustomComparison(
        output_column_name="surname",
        comparison_levels=[
            cll.NullLevel("surname_k"),
            _exact("surname_n", "exact", tf=True),
            _exact("surname_k", "same spelling key"),
            _swapped(),
            cll.JaroWinklerLevel("surname_k", 0.92).configure(label_for_charts="jaro-winkler >= 0.92"),
            cll.JaroWinklerLevel("surname_k", 0.8).configure(label_for_charts="jaro-winkler >= 0.80"),
            _crossed(),
            cll.ElseLevel(),
        ],
    )
    given = cl.CustomComparison(
        output_column_name="given_name",
        comparison_levels=[
            cll.NullLevel("given_k"),
            _exact("given_n", "exact", tf=True),
            _exact("given_k", "same spelling key"),
            _swapped(),
            cll.JaroWinklerLevel("given_k", 0.9).configure(label_for_charts="jaro-winkler >= 0.90"),
            _exact("given_c", "same consonants"),
            _crossed(),
            cll.ElseLevel(),
        ],
    )
    patronymic = cl.CustomComparison(
        output_column_name="patronymic",
        comparison_levels=[
            cll.NullLevel("patronymic_k"),
            _exact("patronymic_k", "same spelling key"),
            cll.JaroWinklerLevel("patronymic_k", 0.9).configure(label_for_charts="jaro-winkler >= 0.90"),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("dob"),
            _exact("dob", "exact"),
            cll.CustomLevel("dob_l = dob_swap_r", label_for_charts="day and month swapped", base_dialect_str="duckdb"),
            cll.LevenshteinLevel("dob", 1).configure(label_for_charts="one character differs"),
            cll.ElseLevel(),
        ],
    )
    rnokpp = cl.CustomComparison(
        output_column_name="rnokpp",
        comparison_levels=[
            cll.NullLevel("rnokpp_n"),
            _exact("rnokpp_n", "exact"),
            cll.LevenshteinLevel("rnokpp_n", 1).configure(label_for_charts="one digit differs"),
            cll.ElseLevel(),
        ],
    )
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[cll.NullLevel("phone_n"), _exact("phone_n", "exact"), cll.ElseLevel()],
    )
    iban = cl.CustomComparison(
        output_column_name="iban",
        comparison_levels=[cll.NullLevel("iban_n"), _exact("iban_n", "exact"), cll.ElseLevel()],
    )
    home = cl.CustomComparison(
        output_column_name="home",
        comparison_levels=[
            cll.And(cll.NullLevel("addr_k"), cll.NullLevel("registry_n")),
            _exact("registry_n", "same registry number"),
            _exact("addr_k", "same address"),
            _exact("bldg_k", "same building"),
            _exact("sb_k", "same street and building, another spelling of the place"),
            _exact("street_full", "same street"),
            _exact("city_k", "same city", tf=True),
            cll.ElseLevel(),
        ],
    )
    comparisons = [surname, given, patronymic, dob, rnokpp, phone, iban, home]
    for c, name in zip(comparisons, DEFAULT_M, strict=True):
        c.configure(m_probabilities=DEFAULT_M[name])
    if present is None:
        return comparisons
    keep = [name for name, cols in COMPARISON_COLUMNS.items()
            if name in ("surname", "given_name") or any(present.get(col, 1.0) > 0 for col in cols)]
    return [c for c, name in zip(comparisons, DEFAULT_M, strict=True) if name in keep]


#: street and building in one oblast (the city may be misspelt), with the first letter of either name: alone,
#: the street + building rule made 15.9 M of 20.4 M candidate pairs at 1,000,000 records (everyone in a block
#: of flats); a person's two records keep at least one initial
SAME_HOME_AND_INITIAL = (
    "l.sb_k = r.sb_k and l.oblast_n = r.oblast_n and "
    "(substr(l.surname_k, 1, 1) = substr(r.surname_k, 1, 1) or substr(l.given_k, 1, 1) = substr(r.given_k, 1, 1))"
)


def prediction_blocking_rules(extra: list[str] | None = None,
                              present: dict[str, float] | None = None) -> list[BlockingRuleCreator | str]:
    """Blocking rules: pairs are only scored when at least one of these holds. ``present`` (column -> share of
    records carrying it) adds rules for records without a birth date or taxpayer number.

    Largest first (pair counts at 200,000 synthetic records in the comments): Splink scores each rule's pairs
    less those of the rules before it, so a rule's conditions are re-checked on the pairs of every later rule;
    the big rules first keep those checks on the small ones. Rules whose pairs another rule already covers
    (given name + birth date + city, inside given name + birth date; surname + given name + patronymic + city
    and surname + given name + city, inside the two names in either order + city) are left out."""
    no_dob = present is not None and present.get("dob", 0.0) < 0.9
    rules: list[BlockingRuleCreator | str] = [
        CustomRule(SAME_HOME_AND_INITIAL, sql_dialect="duckdb"),  # 285,000
        block_on("name_set", "city_k"),          # 101,000
    ]
    if no_dob:
        # without a birth date on everyone, the same surname on one street is worth scoring
        rules.append(block_on("surname_k", "street_full"))
    rules += [
        block_on("registry_n"),                  # 79,000
        block_on("given_k", "dob_canon"),        # 41,000
        block_on("dob_canon", "bnum_k"),         # 33,000
        block_on("surname_k", "dob_canon"),      # 22,000
        block_on("addr_k", "given_c"),           # 20,000
        block_on("name_set", "dob_canon"),       # 16,000
        block_on("phone_n"),                     # 14,000
        block_on("iban_n"),                      # 13,000
        block_on("rnokpp_n"),                    # 13,000
    ]
    rules.extend(extra or [])
    return rules


def build_settings(config: ModelConfig | None = None, present: dict[str, float] | None = None) -> SettingsCreator:
    """The Splink settings of the person model (dedupe of one table, ``unique_id`` = row number)."""
    config = config or ModelConfig()
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=build_comparisons(present),  # type: ignore[arg-type]
        blocking_rules_to_generate_predictions=prediction_blocking_rules(config.extra_blocking_rules, present),  # type: ignore[arg-type]
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        probability_two_random_records_match=1e-5,
        max_iterations=20,
    )


def _translate_condition(sql: str, source: str, target: str) -> str:
    """A comparison-level condition written in Splink dialect ``source`` rewritten for ``target`` with sqlglot
    (string-similarity functions renamed to the target's function names)."""
    import sqlglot
    from splink.internals.dialects import SplinkDialect
    from sqlglot import exp

    src, dst = SplinkDialect.from_string(source), SplinkDialect.from_string(target)
    tree = sqlglot.parse_one(sql, read=src.sqlglot_dialect)

    # functions sqlglot does not know (e.g. Spark's jaro_winkler UDF) are parsed as anonymous calls
    by_name = {
        src.jaro_winkler_function_name.lower(): dst.jaro_winkler_function_name,
        src.levenshtein_function_name.lower(): dst.levenshtein_function_name,
        src.damerau_levenshtein_function_name.lower(): dst.damerau_levenshtein_function_name,
    }

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.JarowinklerSimilarity):
            return exp.func(dst.jaro_winkler_function_name, node.this, node.expression)  # type: ignore[return-value]  # sqlglot: exp.func builds a Func, an Expression
        if isinstance(node, exp.Levenshtein):
            return exp.func(dst.levenshtein_function_name, node.this, node.expression)  # type: ignore[return-value]  # sqlglot: exp.func builds a Func, an Expression
        if isinstance(node, exp.Anonymous) and str(node.name).lower() in by_name:
            return exp.Anonymous(this=by_name[str(node.name).lower()], expressions=node.expressions)
        return node

    return tree.transform(rename).sql(dialect=dst.sqlglot_dialect)


def model_for_dialect(model: dict[str, Any], dialect: str, config: ModelConfig | None = None) -> dict[str, Any]:
    """A saved model (Splink settings dict with trained m and u) made usable on another SQL dialect.

    Splink stores each comparison level's condition as SQL of the dialect the model was built on and, when a
    settings dict is loaded, reads those conditions as SQL of the *linker's* dialect (it drops the settings'
    ``sql_dialect``). DuckDB quotes identifiers with double quotes, which Spark SQL reads as string literals:
    a DuckDB-built model run on Spark compares the constants ``'surname_k_l'`` and ``'surname_k_r'`` and puts
    every pair in the same level. So the conditions are rewritten for ``dialect``: a condition our own
    comparisons generate for the model's dialect is replaced by what they generate for ``dialect``; any
    other condition is translated with sqlglot. Trained parameters, blocking rules (Splink translates those
    itself: each carries its own dialect) and everything else are kept.
    """
    source = model.get("sql_dialect") or "duckdb"
    if source == dialect:
        return model
    out = deepcopy(model)
    settings = build_settings(config)
    native_src = settings.create_settings_dict(source)["comparisons"]
    native_dst = settings.create_settings_dict(dialect)["comparisons"]
    same_sql: dict[tuple[str, str], str] = {}
    for c_src, c_dst in zip(native_src, native_dst, strict=False):
        for l_src, l_dst in zip(c_src["comparison_levels"], c_dst["comparison_levels"], strict=False):
            same_sql[(c_src["output_column_name"], l_src["sql_condition"])] = l_dst["sql_condition"]
    for comparison in out["comparisons"]:
        name = comparison["output_column_name"]
        for level in comparison["comparison_levels"]:
            sql = level["sql_condition"]
            if sql.strip().upper() == "ELSE":
                continue
            level["sql_condition"] = same_sql.get((name, sql)) or _translate_condition(sql, source, dialect)
    out["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": rule, "sql_dialect": source} if isinstance(rule, str) else rule
        for rule in out.get("blocking_rules_to_generate_predictions", [])
    ]
    out["sql_dialect"] = dialect
    return out


def _duckdb_api(config: ModelConfig) -> Any:
    from splink import DuckDBAPI

    if config.duckdb_path == ":memory:":
        api = DuckDBAPI(connection=duckdb.connect(
            ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}))
    else:
        api = DuckDBAPI(connection=config.duckdb_path)
    con = api.duckdb_con
    con.execute(f"SET threads = {int(config.duckdb_threads or 2)}")
    con.execute("SET enable_progress_bar = false")  # its bars on stderr are noise in `everymetre link`
    if config.duckdb_memory_limit:
        # bounded, spilling to a temporary directory beyond it (the 8 GiB target of a 1,000,000-claim run);
        # DuckDB removes its spill files when the connection closes
        spill = Path(tempfile.gettempdir()) / "everymetre-duckdb-spill"
        spill.mkdir(exist_ok=True)
        con.execute(f"SET memory_limit = '{config.duckdb_memory_limit}'")
        con.execute(f"SET temp_directory = '{spill}'")
    return api


def _spark_api(config: ModelConfig) -> Any:
    try:
        from splink import SparkAPI  # noqa: F401  (raises ImportError when pyspark is missing)
    except ImportError as err:
        raise RuntimeError("the Spark backend needs pyspark: pip install 'everymetre[spark]'") from err
    from splink import SparkAPI as _SparkAPI

    if config.spark_session is None:
        raise ValueError("ModelConfig.spark_session is required for the Spark backend")
    context = config.spark_session.sparkContext
    if context.getCheckpointDir() is None:  # Splink breaks query lineage under the checkpoint directory
        context.setCheckpointDir(tempfile.mkdtemp(prefix="everymetre-spark-"))
    return _SparkAPI(spark_session=config.spark_session)


class PersonModel:
    """A trained (or loaded) Splink person model bound to one input table."""

    def __init__(self, features: pl.DataFrame, config: ModelConfig, model: dict[str, Any] | None = None,
                 person_key: pl.Series | None = None):
        self.config = config
        self.features = features
        self.person_key = person_key
        if config.backend == "duckdb":
            self.db_api = _duckdb_api(config)
        else:
            self.db_api = _spark_api(config)
        self.input = self._register(features.select("unique_id", *FEATURE_COLUMNS))
        self.plan: TrainingPlan | None = None
        self.linker: Linker | None = None
        if model is not None:
            model = {k: v for k, v in model.items() if k != SHAPE_KEY}
            settings = model_for_dialect(model, self.db_api.sql_dialect.sql_dialect_str, config)
            self.linker = Linker(self.input, settings, log_level=logging.WARNING)
        self.trained = model is not None

    def _register(self, frame: pl.DataFrame, db_api: Any = None) -> Any:
        db_api = db_api or self.db_api
        if self.config.backend == "duckdb":
            return db_api.register(frame.to_arrow())
        return db_api.register(self.config.spark_session.createDataFrame(frame.to_pandas()))

    # --- training -------------------------------------------------------------------------------------
    def train(self, match_labels: pl.DataFrame | None = None) -> TrainingPlan:
        """Train on what the records carry (see :mod:`.training`): the prior from deterministic rules checked
        for pairs, u by random sampling, m by EM on the blocking rules that have enough pairs; then, when there
        are at least ``min_match_labels_for_training`` reviewer-confirmed matches (``unique_id_l``,
        ``unique_id_r``), m from them. Raises :class:`CannotTrain` when nothing can be trained."""
        rows = training_rows(self.features, self.person_key, FEATURE_COLUMNS)
        plan = plan_training(rows, self.config.prior_recall)
        present = coverage(self.features)
        settings = build_settings(self.config, present)
        # a database of its own: Splink caches term-frequency tables by name per database, and those of the
        # training rows must not stand in for those of the whole table at prediction
        train_api = _duckdb_api(self.config) if self.config.backend == "duckdb" else _spark_api(self.config)
        table = self._register(rows.select("unique_id", *FEATURE_COLUMNS), train_api)
        # our own settings on our own feature columns (tests cover both): Splink's validation of them costs a
        # fixed ~0.1 s of CPU per run, a tenth of the training of a small store
        linker = Linker(table, settings, log_level=logging.WARNING, validate_settings=False)
        training = linker.training
        prior: float | None = None
        if plan.prior_rules:
            try:
                training.estimate_probability_two_random_records_match(
                    [block_on(*keys) for keys in plan.prior_rules], recall=plan.prior_recall)
            except Exception as exc:
                logger.info("prior by Splink failed (%s); counting the pairs of the first rule instead", exc)
                prior = None
            p = linker._settings_obj._probability_two_random_records_match
            if not (isinstance(p, float) and 0 < p < 0.5):
                total = rows.height * (rows.height - 1) / 2
                prior = max(pair_count(rows, plan.prior_rules[0]) / total / plan.prior_recall, 1e-12)
        else:
            # nobody agrees on any deterministic rule: expect about one duplicate person in fifty
            prior = min(max(0.02 / rows.height, 1e-9), 1e-3)
        if prior is not None:
            linker._settings_obj._probability_two_random_records_match = prior
        n_pairs = rows.height * (rows.height - 1) / 2
        u_max = self.config.u_max_pairs or (1e5 if rows.height < 10_000 else 3e5 if rows.height < 50_000 else 5e5)
        u_pairs = min(u_max, n_pairs)
        training.estimate_u_using_random_sampling(max_pairs=max(u_pairs, 1), seed=self.config.seed,
                                                 min_count_per_level=None, num_chunks=1)
        for keys in plan.em_rules:
            try:
                training.estimate_parameters_using_expectation_maximisation(
                    block_on(*keys), max_pairs=self.config.em_max_pairs, estimate_without_term_frequencies=True)
            except Exception as exc:
                plan.notes.append(f"EM on {'+'.join(keys)} failed: {str(exc).strip().splitlines()[-1][:200]}")
                logger.info("EM on %s failed: %s", keys, exc)
        if match_labels is not None and match_labels.height >= self.config.min_match_labels_for_training:
            # labels name rows of the whole table: train m from them on a linker over all rows
            full = Linker(self.input, linker.misc.save_model_to_json(), log_level=logging.WARNING, validate_settings=False)
            labels = match_labels.select(
                pl.lit("__splink__input_table_0").alias("source_dataset_l"),
                "unique_id_l",
                pl.lit("__splink__input_table_0").alias("source_dataset_r"),
                "unique_id_r",
            )
            try:
                full.training.estimate_m_from_pairwise_labels(self._register(labels))
                linker = full
            except Exception as exc:
                plan.notes.append(f"m from reviewers' labels failed: {str(exc).strip().splitlines()[-1][:200]}")
        model = sanitise_model(linker.misc.save_model_to_json(), DEFAULT_M, u_floor=min(1e-4, 0.5 / max(u_pairs, 1)))
        # the settings were validated by the training linker on the same columns
        self.linker = Linker(self.input, model, log_level=logging.WARNING, validate_settings=False)
        self.plan = plan
        self.trained = True
        logger.info("person model: %s; %s", plan.describe(), "; ".join(plan.notes))
        return plan

    def model_dict(self) -> dict[str, Any]:
        assert self.linker is not None
        return self.linker.misc.save_model_to_json()

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.model_dict(), indent=2), encoding="utf-8")

    # --- prediction -----------------------------------------------------------------------------------
    def predict(self, threshold: float) -> pl.DataFrame:
        """Scored pairs at or above ``threshold``: unique_id_l, unique_id_r, match_weight, match_probability
        and one ``mw_<comparison>`` column per comparison (the match weight of the level that applied)."""
        if not self.trained or self.linker is None:
            raise RuntimeError("train or load the model before predicting")
        sdf = self.linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
        return self._to_polars(sdf)

    def _to_polars(self, sdf: SplinkDataFrame) -> pl.DataFrame:
        if self.config.backend == "duckdb":
            con: duckdb.DuckDBPyConnection = self.db_api.duckdb_con
            out = con.sql(f"select * from {sdf.physical_name}").pl()
        else:
            out = pl.from_pandas(sdf.as_pandas_dataframe())
        sdf.drop_table_from_database_and_remove_from_cache()
        return out

    def level_labels(self) -> dict[str, list[tuple[float, str, bool]]]:
        """comparison name -> [(match weight of the level, label, whether the level is an agreement)], most
        specific level first. Splink 5 outputs one ``mw_<comparison>`` column per comparison (not the level
        index), so the level of a scored pair is recovered from its weight."""
        out: dict[str, list[tuple[float, str, bool]]] = {}
        assert self.linker is not None
        for comparison in self.linker._settings_obj.comparisons:
            levels = [
                (float(level._match_weight), str(level.label_for_charts), not level._is_else_level)
                for level in comparison.comparison_levels
                if not level.is_null_level
            ]
            out[comparison.output_column_name] = levels
        return out
