"""Benchmark person linkage on a synthetic population with ground truth, and on the public FEBRL sets.

    .venv/bin/python bench/linkage.py --records 100000                 # synthetic, then FEBRL 1, 2 and 4
    .venv/bin/python bench/linkage.py --records 0 --febrl febrl1       # one FEBRL set only
    .venv/bin/python bench/linkage.py --febrl none                     # synthetic only
    .venv/bin/python bench/linkage.py --records 0 --febrl none --sizes 1000,10000,100000   # ours vs the peer, end to end

Synthetic: pairwise precision, recall and F1 (of the person clusters against the true person ids, and of the
home clusters against the true homes; targets P and R >= 0.98), the time of each stage, peak memory (getrusage
maxrss) and a linear extrapolation of the time to 10,000,000 records.

FEBRL (needs the optional extra `bench`: pip install 'everymetre[bench]'): each set is imported with
`everymetre import claims` (bench/febrl/mapping.toml, and bench/febrl/mapping-rnokpp.toml with a taxpayer
number made from soc_sec_id), linked with `everymetre link --retrain --pairs-out`, and scored against the
set's truth; a Splink default-style peer model runs on the same rows (see bench/febrl.py). Prints both P/R/F1,
their F1 ratio (target >= 1.0) and whether our precision is >= 0.99, and both times end to end (each in a
process of its own: start, imports, read, model, write) with their ratio ours / peer (target <= 1.0).

Sizes (``--sizes``, see bench/link_speed.py): demo stores of N claims; `everymetre link` and the peer, each in
its own process on the same rows; wall and CPU time, their ratios, both F1s against the demo's truth.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from everymetre.linkage import ClaimLinker, ModelConfig, pairwise_scores
from everymetre.linkage.synthetic import TRUTH_COLUMNS, generate_population


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--duckdb", default=":memory:", help='":memory:" or ":temporary:"')
    parser.add_argument("--febrl", default="febrl1,febrl2,febrl4", help='FEBRL sets to run, or "none"')
    parser.add_argument("--workdir", default=None, help="folder for the FEBRL stores (default: a temp dir)")
    parser.add_argument("--sizes", default="none", help='store sizes (claims) for `everymetre link` against the peer end '
                        'to end, e.g. "1000,10000,100000", or "none"')
    parser.add_argument("--db", default=None, help="--sizes on this PostgreSQL database (emptied!) instead of SQLite")
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)
    if args.records > 0:
        synthetic(args)
    sets = [] if args.febrl == "none" else [s.strip() for s in args.febrl.split(",") if s.strip()]
    if sets:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from febrl import evaluate

        table = evaluate(sets, Path(args.workdir) if args.workdir else None)
        ok = all(r["ratio"] >= 1.0 and r["ours"].precision >= 0.99 for r in table)  # type: ignore[attr-defined, operator]
        print(f"FEBRL targets (F1 ratio >= 1.0 and precision >= 0.99 on every set and variant): {'met' if ok else 'NOT met'}")
        slow = [f"{r['set']} {r['variant']}" for r in table if r["time_ratio"] > 1.0]  # type: ignore[operator]
        print(f"FEBRL speed (ours / peer end to end <= 1.0): {'met' if not slow else 'NOT met on ' + ', '.join(slow)}")
    sizes = [] if args.sizes == "none" else [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if sizes:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from link_speed import compare

        rows = compare(sizes, args.db, Path(args.workdir) if args.workdir else None)
        ok = all(r["ratio"] <= 1.0 and r["f1_ratio"] >= 1.0 for r in rows)
        print(f"speed targets (ours / peer end to end <= 1.0 and F1 ratio >= 1.0 at every size): {'met' if ok else 'NOT met'}")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def synthetic(args: argparse.Namespace) -> None:

    t0 = time.perf_counter()
    population = generate_population(args.records, seed=args.seed)
    t_gen = time.perf_counter() - t0
    records = population.drop(*TRUTH_COLUMNS)

    linker = ClaimLinker(ModelConfig(threshold=args.threshold, duckdb_path=args.duckdb))
    t1 = time.perf_counter()
    cpu0 = _cpu()
    result = linker.run(records)
    t_link = time.perf_counter() - t1
    cpu_link = _cpu() - cpu0

    person = pairwise_scores(result.clusters["person_cluster"], population["true_person_id"])
    home = pairwise_scores(result.clusters["property_cluster"], population["true_property_id"])
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(f"records            {args.records:,}")
    print(f"generate           {t_gen:8.1f} s")
    for stage, seconds in result.timings.items():
        print(f"link.{stage:<14}{seconds:8.1f} s")
    print(f"people  precision  {person.precision:.4f}  recall {person.recall:.4f}  F1 {person.f1:.4f}"
          f"  (pairs: predicted {person.predicted_pairs:,}, true {person.true_pairs:,}, correct {person.true_positive_pairs:,})")
    print(f"homes   precision  {home.precision:.4f}  recall {home.recall:.4f}  F1 {home.f1:.4f}")
    met = min(person.precision, person.recall) >= 0.98
    print(f"synthetic targets (people P and R >= 0.98): {'met' if met else 'NOT met'}")
    print(f"scored pairs       {result.pairs.height:,}")
    counts = result.findings.group_by("kind").len().sort("kind")
    print("findings           " + ", ".join(f"{k}={n}" for k, n in counts.iter_rows()))
    print(f"peak memory        {maxrss_kib / 1024 / 1024:.2f} GiB (maxrss)")
    end_to_end = t_gen + t_link
    print(f"end to end         {end_to_end:8.1f} s  (linkage alone {t_link:.1f} s)")
    print(f"CPU                {_cpu():8.1f} s  (linkage alone {cpu_link:.1f} s: user + system of every thread; on a"
          " shared machine steadier than the wall time)")
    scale = 10_000_000 / args.records
    print(f"10,000,000 records ~{t_link * scale / 60:.0f} min linkage if linear (blocking grows faster than "
          "linearly where blocks grow with the population)")


if __name__ == "__main__":
    main()
