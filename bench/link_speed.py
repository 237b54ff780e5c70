"""`everymetre link` end to end against the peer end to end, on the same rows, at several store sizes (the
linkage-speed target of the national-scale issue: ours no slower than the peer's at any size). Used by
bench/linkage.py (``--sizes``).

For each size N: a fresh store (SQLite in a temp dir, or ``--db`` PostgreSQL, emptied first), ``everymetre demo
--claims N --with-fraud`` (not timed here), then, each in a process of its own and timed from process start to
exit: ``everymetre link --retrain --pairs-out`` (ours: read the store, train, link, write findings, flags and
their audit events) and bench/peer_store.py (the peer: read the same rows with the same reader, Splink's
default-style model, write its pairs). Both wall time and the child's CPU time (user + system, steadier on a
shared machine) are printed, with their ratio ours / peer (target <= 1.0), and both pair F1s against the demo's
truth with their ratio (target >= 1.0), and our peak RSS (of that process alone, os.wait4). Then `everymetre link`
once more without --retrain, as a programme's next run: the saved model is reused (the data keep their shape),
its wall and CPU time and CPU ratio to the peer are printed after the row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
EVERYMETRE = [sys.executable, "-c", "from everymetre.cli.main import main; main()"]


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the child, its peak RSS KiB, stdout); exits with the child's error on failure. The
    child's own rusage (os.wait4), not RUSAGE_CHILDREN, whose maxrss is the largest of every child so far (the
    demo that built the store)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"`{' '.join(cmd[-6:])}` failed ({proc.returncode}):\n{stderr[-3000:]}{stdout[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, stdout


def _f1(pairs: pl.DataFrame, a: str, b: str, person: dict[str, int], true_pairs: int) -> tuple[float, float, float]:
    same = sum(person.get(x) is not None and person.get(x) == person.get(y)
               for x, y in zip(pairs[a], pairs[b], strict=True))
    p = same / pairs.height if pairs.height else 1.0
    r = same / true_pairs if true_pairs else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _reset(url: str) -> None:
    if url.startswith("postgresql"):
        from sqlalchemy import text

        sys.path.insert(0, str(ROOT / "src"))
        from everymetre.store.db import engine_for

        eng = engine_for(url)
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        eng.dispose()


def compare(sizes: list[int], db: str | None = None, workdir: Path | None = None, seed: int = 2022) -> list[dict[str, float]]:
    base = workdir or Path(tempfile.mkdtemp(prefix="everymetre-link-speed-"))
    rows = []
    print(f"{'claims':>9} {'records':>9}  {'ours s':>7} {'peer s':>7} {'ratio':>6}  {'ours cpu':>8} {'peer cpu':>8} {'ratio':>6}"
          f"  {'ours P / R / F1':<22} {'peer P / R / F1':<22} {'F1 ratio':>8}  {'our peak':>8}")
    for n in sizes:
        work = base / f"n{n}"
        work.mkdir(parents=True, exist_ok=True)
        url = db or f"sqlite:///{work / 'store.db'}"
        _reset(url)
        env = {**os.environ, "EVERYMETRE_DATABASE_URL": url, "EVERYMETRE_DATA_DIR": str(work / "data"),
               "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
        (work / "data" / "linkage" / "model.json").unlink(missing_ok=True)
        _timed([*EVERYMETRE, "db", "upgrade"], env)
        _timed([*EVERYMETRE, "demo", "--claims", str(n), "--with-fraud", "--seed", str(seed)], env)
        ours_wall, ours_cpu, peak, _ = _timed([*EVERYMETRE, "link", "--retrain", "--pairs-out", str(work / "ours.csv")], env)
        # again, as a programme's next run would: the saved model (the data's shape is unchanged), no training
        again_wall, again_cpu, again_peak, _ = _timed([*EVERYMETRE, "link", "--pairs-out", str(work / "again.csv")], env)
        peer_wall, peer_cpu, _, out = _timed([sys.executable, str(ROOT / "bench" / "peer_store.py"), url,
                                              str(work / "peer.csv")], env)
        phases = json.loads(out.strip().splitlines()[-1])
        truth = pl.read_parquet(work / "data" / "demo-truth.parquet")
        person = dict(zip(truth["record_id"], truth["true_person_id"], strict=True))
        true_pairs = int(truth.group_by("true_person_id").len()
                         .select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item())
        ours = _f1(pl.read_csv(work / "ours.csv", infer_schema_length=0), "record_id_l", "record_id_r", person, true_pairs)
        peer = _f1(pl.read_csv(work / "peer.csv", infer_schema_length=0), "record_id_l", "record_id_r", person, true_pairs)
        row = {"claims": n, "records": phases["rows"], "ours_s": ours_wall, "peer_s": peer_wall,
               "ratio": ours_wall / peer_wall, "ours_cpu": ours_cpu, "peer_cpu": peer_cpu, "cpu_ratio": ours_cpu / peer_cpu,
               "ours_f1": ours[2], "peer_f1": peer[2], "f1_ratio": ours[2] / peer[2] if peer[2] else float("inf"),
               "peak_mib": peak / 1024, "again_s": again_wall, "again_cpu": again_cpu,
               "again_cpu_ratio": again_cpu / peer_cpu, "again_peak_mib": again_peak / 1024}
        rows.append(row)
        print(f"{n:>9,} {phases['rows']:>9,}  {ours_wall:>7.1f} {peer_wall:>7.1f} {row['ratio']:>6.2f}  {ours_cpu:>8.1f} "
              f"{peer_cpu:>8.1f} {row['cpu_ratio']:>6.2f}  {ours[0]:.3f} / {ours[1]:.3f} / {ours[2]:.3f}  "
              f"{peer[0]:.3f} / {peer[1]:.3f} / {peer[2]:.3f}  {row['f1_ratio']:>8.3f}  {peak / 1024:>6,.0f} MiB"
              f"   (peer: import {phases['import']:.1f} s, read {phases['read']:.1f} s, model {phases['model']:.1f} s;"
              f" ours again with the saved model: {again_wall:.1f} s, CPU {again_cpu:.1f} s, CPU ratio"
              f" {row['again_cpu_ratio']:.2f}, peak {again_peak / 1024:,.0f} MiB)",
              flush=True)
    return rows
