"""The peer of bench/link_speed.py, end to end in a process of its own: read the claims' person records from the
store (the same reader `everymetre link` uses), run Splink's default-style model on them (its comparison
library's NameComparison on surname and given name, DateOfBirthComparison, ExactMatch on taxpayer number, city,
street and building; prior from a deterministic rule, u by random sampling, m by EM on two blocking rules;
pairs at match probability >= 0.9) and write the pairs (record ids) to a CSV.

    python bench/peer_store.py DATABASE_URL pairs.csv     # prints one line of JSON: rows, pairs, seconds by phase
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import splink.comparison_library as cl  # noqa: E402
from splink import DuckDBAPI, Linker, SettingsCreator, block_on  # noqa: E402

from everymetre.linkage.extract import extract_records  # noqa: E402
from everymetre.store.db import engine_for  # noqa: E402


def main() -> None:
    url, out = sys.argv[1], Path(sys.argv[2])
    logging.getLogger("splink").setLevel(logging.ERROR)
    t_import = time.perf_counter() - T0
    t = time.perf_counter()
    recs = extract_records(engine_for(url))
    df = recs.select(
        "record_id", "surname", "given_name",
        pl.col("birth_date").cast(pl.String), pl.col("rnokpp").cast(pl.String), "city", "street", "building",
    ).with_row_index("unique_id")
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only", unique_id_column_name="unique_id", retain_matching_columns=False,
        comparisons=[cl.NameComparison("given_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("birth_date", input_is_string=True, datetime_format="%Y-%m-%d"),
                     cl.ExactMatch("rnokpp"), cl.ExactMatch("city"), cl.ExactMatch("street"), cl.ExactMatch("building")],
        blocking_rules_to_generate_predictions=[block_on("given_name", "surname"), block_on("surname", "birth_date"),
                                                block_on("given_name", "birth_date"), block_on("street", "building"),
                                                block_on("rnokpp")])
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    linker = Linker(DuckDBAPI(connection=con).register(df.to_arrow()), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match([block_on("given_name", "surname", "birth_date")],
                                                                  recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    pred = linker.inference.predict(threshold_match_probability=0.9)
    pairs = con.sql(f"select unique_id_l, unique_id_r from {pred.physical_name}").pl()
    t_model = time.perf_counter() - t
    t = time.perf_counter()
    ids = df["record_id"]
    pl.DataFrame({"record_id_l": ids.gather(pairs["unique_id_l"]), "record_id_r": ids.gather(pairs["unique_id_r"])}).write_csv(out)
    t_write = time.perf_counter() - t
    print(json.dumps({"rows": df.height, "pairs": pairs.height, "import": round(t_import, 3), "read": round(t_read, 3),
                      "model": round(t_model, 3), "write": round(t_write, 3)}))


if __name__ == "__main__":
    main()
