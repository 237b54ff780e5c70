"""Benchmark `everymetre link` end to end on a store holding N claims: demo claims with injected fraud patterns,
or (``--source import``, quicker to build at 1,000,000) the synthetic linkage population imported as claims.

    .venv/bin/python bench/link_store.py --claims 100000                  # a fresh SQLite file in a temp dir
    .venv/bin/python bench/link_store.py --claims 100000 --db postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/link_store.py --claims 1000000 --source import --workdir /tmp/link1m   # builds the store
    .venv/bin/python bench/link_store.py --claims 1000000 --source import --workdir /tmp/link1m --reuse  # links only

Steps: `everymetre db upgrade`, then the store: `everymetre demo --claims N --with-fraud`, or for ``--source
import`` the population of everymetre.linkage.synthetic (N person records with duplicates, typos, transliterations
and injected patterns; its ground truth kept) written to a Parquet file and loaded with `everymetre import claims`
(one claim per record; IBANs left out: the synthetic ones carry no valid check digits) — either timed. With
``--reuse`` an existing store in the work dir (or ``--db``) is linked as it is (its findings of earlier runs are
emptied first, with the review flags they set, so that the first run writes them as a first run would).
Then `everymetre link --pairs-out ...` twice as subprocesses (the first trains and saves the model, the second
loads it), each timed end to end: wall time, the child's CPU (user + system, os.wait4) and peak RSS, and the
load average; and the result scored against the ground truth (DATA_DIR/demo-truth.parquet): pair precision and
recall of the person pairs written to the CSV, and for each injected pattern the share of its records named by
a current finding. Targets at 1,000,000 claims: under 3 minutes and 8 GiB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/ holds a queue.py that would shadow the standard library's queue module (which polars needs)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import polars as pl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EVERYMETRE = [sys.executable, "-c", "from everymetre.cli.main import main; main()"]


MAPPING = """[input]
format = "parquet"

[source]
name = "synthetic"

[fields]
source_record_id = "record_id"
surname = "surname"
given_name = "given_name"
patronymic = "patronymic"
birth_date = { column = "birth_date", format = "%Y-%m-%d" }
rnokpp = "rnokpp"
phone = "phone"
share = "share"
oblast = "oblast"
hromada = "city"
street = "street"
building = "building"
apartment = "apartment"
registry_number = "registry_number"
property_kind = "property_kind"
total_area_m2 = "area_m2"
damage_date = { column = "damage_date", format = "%Y-%m-%d" }
claim_kind = "claim_kind"
is_redamage = "is_redamage"
"""


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall s, the child's CPU s, its peak RSS KiB, stdout); exits with the child's error on failure."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(EVERYMETRE + args, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"`everymetre {' '.join(args)}` failed ({code}):\n{stderr[-3000:]}{stdout[-2000:]}")
    return took, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, stdout


def import_population(n: int, seed: int, work: Path, env: dict[str, str]) -> float:
    """The synthetic population as N imported claims (truth in DATA_DIR/demo-truth.parquet); returns the import's
    wall time (generating the file is not timed)."""
    sys.path.insert(0, str(ROOT / "src"))
    from everymetre.linkage.synthetic import generate_population

    pop = generate_population(n, seed=seed)
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    pop.select("record_id", "true_person_id", "injected").write_parquet(data / "demo-truth.parquet")
    pop.drop("true_person_id", "true_property_id", "injected", "iban", "person_key", "claim_ref", "previous_claim_ref").with_columns(
        pl.col("birth_date").cast(pl.String), pl.col("damage_date").cast(pl.String), pl.col("area_m2").cast(pl.String),
        pl.col("is_redamage").cast(pl.String)).write_parquet(work / "population.parquet")
    (work / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    took, _, _, _ = run(["import", "claims", str(work / "population.parquet"), "--mapping", str(work / "mapping.toml"),
                         "--rejects", str(work / "rejects.csv"), *(["--defer-indexes"] if "postgresql" in env["EVERYMETRE_DATABASE_URL"] else [])], env)
    return took


def forget_findings(url: str) -> None:
    """Empty the linkage findings and their review flags, so that the next run writes them as a first run would."""
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import text

    from everymetre.store.db import engine_for

    with engine_for(url).begin() as conn:
        conn.execute(text("DELETE FROM linkage_finding_claims"))
        conn.execute(text("DELETE FROM linkage_findings"))
        conn.execute(text("UPDATE claims SET review_flag = NULL WHERE review_flag LIKE 'linkage:%'"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file in a temp dir)")
    parser.add_argument("--workdir", default=None, help="folder for the data dir and CSVs (default: temp)")
    parser.add_argument("--source", choices=["demo", "import"], default="demo",
                        help="demo claims with fraud patterns (default), or the synthetic population imported")
    parser.add_argument("--reuse", action="store_true", help="link the store already in --workdir / --db")
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="everymetre-bench-link-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.db or f"sqlite:///{work / 'bench.db'}"
    env = {**os.environ, "EVERYMETRE_DATABASE_URL": url, "EVERYMETRE_DATA_DIR": str(work / "data"),
           "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    (work / "data" / "linkage" / "model.json").unlink(missing_ok=True)
    print(f"store {url}; work dir {work}")
    if args.reuse:
        forget_findings(url)
    else:
        run(["db", "upgrade"], env)
        if args.source == "import":
            took = import_population(args.claims, args.seed, work, env)
            print(f"import claims: {args.claims:,} synthetic records in {took:.1f} s ({args.claims / took:,.0f} claims/s)")
        else:
            took, _, _, _ = run(["demo", "--claims", str(args.claims), "--with-fraud", "--seed", str(args.seed)], env)
            print(f"demo --with-fraud: {args.claims:,} claims in {took:.1f} s ({args.claims / took:,.0f} claims/s)")

    pairs_csv = work / "pairs.csv"
    for label, extra in (("link (train + save model)", ["--retrain"]), ("link (saved model)", [])):
        took, cpu, peak, out = run(["link", "--pairs-out", str(pairs_csv), *extra], env)
        load = os.getloadavg()
        print(f"{label}: {took:.1f} s end to end, CPU {cpu:.1f} s (user + system), peak RSS {peak / 1024:,.0f} MiB; "
              f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        for line in out.splitlines():
            if line.startswith(("timings:", "findings:")):
                print("   ", line.strip())

    truth = pl.read_parquet(work / "data" / "demo-truth.parquet")
    person = dict(zip(truth["record_id"], truth["true_person_id"], strict=True))
    pairs = pl.read_csv(pairs_csv, infer_schema_length=0)
    same = sum(person.get(a) == person.get(b) and person.get(a) is not None
               for a, b in zip(pairs["source_record_id_l"], pairs["source_record_id_r"], strict=True))
    true_pairs = int(truth.group_by("true_person_id").len().select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item())
    print(f"person pairs written: {pairs.height:,}; precision {same / max(pairs.height, 1):.4f}; "
          f"pair recall {same / max(true_pairs, 1):.4f} of {true_pairs:,} true same-person pairs")

    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import select

    from everymetre.linkage.models import LinkageFinding, LinkageRun
    from everymetre.store.db import engine_for

    eng = engine_for(url)
    with eng.connect() as conn:
        run_id = conn.execute(select(LinkageRun.id).where(LinkageRun.status == "finished").order_by(LinkageRun.id.desc())).scalars().first()
        named: set[str] = set()
        for (ids,) in conn.execute(select(LinkageFinding.record_ids).where(LinkageFinding.last_run_id == run_id)):
            named.update(ids)
    print("injected pattern: records named by a current finding")
    for kind, group in sorted(truth.filter(pl.col("injected").is_not_null()).group_by("injected"), key=lambda kv: kv[0][0]):
        hit = sum(r in named for r in group["record_id"])
        print(f"  {kind[0]:<16} {hit:>6,} / {group.height:>6,}  ({hit / group.height:.1%})")
    clean = truth.filter(pl.col("injected").is_null())
    print(f"  {'(not injected)':<16} {sum(r in named for r in clean['record_id']):>6,} / {clean.height:>6,}")


if __name__ == "__main__":
    main()
