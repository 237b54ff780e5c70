"""Benchmark `everymetre link` end to end on a store holding N demo claims with injected fraud patterns.

    .venv/bin/python bench/link_store.py --claims 100000                  # a fresh SQLite file in a temp dir
    .venv/bin/python bench/link_store.py --claims 100000 --db postgresql+psycopg://postgres@127.0.0.1:5432/bench

Steps: `everymetre db upgrade`, `everymetre demo --claims N --with-fraud` (timed), then `everymetre link
--pairs-out ...` twice as subprocesses (the first trains and saves the model, the second loads it; both
timed end to end, peak memory of the child from getrusage), and scores the result against the ground truth in
DATA_DIR/demo-truth.parquet: pair precision and recall of the person pairs written to the CSV, and for each
injected pattern the share of its records named by a current finding.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(EVERYMETRE + args, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"`everymetre {' '.join(args)}` failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
    return took, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file in a temp dir)")
    parser.add_argument("--workdir", default=None, help="folder for the data dir and CSVs (default: temp)")
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="everymetre-bench-link-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.db or f"sqlite:///{work / 'bench.db'}"
    env = {**os.environ, "EVERYMETRE_DATABASE_URL": url, "EVERYMETRE_DATA_DIR": str(work / "data"),
           "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    (work / "data" / "linkage" / "model.json").unlink(missing_ok=True)
    print(f"store {url}; work dir {work}")
    run(["db", "upgrade"], env)
    took, _ = run(["demo", "--claims", str(args.claims), "--with-fraud", "--seed", str(args.seed)], env)
    print(f"demo --with-fraud: {args.claims:,} claims in {took:.1f} s ({args.claims / took:,.0f} claims/s)")

    pairs_csv = work / "pairs.csv"
    for label, extra in (("link (train + save model)", ["--retrain"]), ("link (saved model)", [])):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        took, out = run(["link", "--pairs-out", str(pairs_csv), *extra], env)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"{label}: {took:.1f} s end to end; peak RSS {max(peak, before) / 1024:,.0f} MB")
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
