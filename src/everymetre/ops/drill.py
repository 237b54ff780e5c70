"""The restore drill: back up a PostgreSQL store and its evidence folder, restore both into a fresh database and
folder, and prove the copy is whole.

Steps (each printed as it passes):
1. an audit checkpoint of the live store (every chain's head and one digest), taken before the dump;
2. `pg_dump --format=custom` of the store, and a tar of the evidence folder;
3. `pg_restore` into a new database (a sibling name on the same server unless a URL is given), the tar into
   a new folder;
4. on the restored copy, as an operator would: `everymetre audit verify --checkpoint`, `everymetre ledger
   check`, `everymetre rules recheck`, and the SHA-256 and size of every evidence file the store names;
5. the restored database is dropped (unless kept).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from everymetre.store.db import normalise_url


class DrillFailed(Exception):
    """A step of the drill failed; the message says which and why."""


@dataclass
class DrillReport:
    steps: list[str] = field(default_factory=list)
    evidence_files: int = 0
    target_url: str = ""


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for pg_dump/pg_restore, with the password passed in the environment (not argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def sibling_url(source: str, name: str) -> str:
    return make_url(normalise_url(source)).set(database=name).render_as_string(hide_password=False)


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise DrillFailed(f"{what}: exit {done.returncode}: {lines[-1] if lines else 'no output'}")
    return done.stdout.strip()


def _admin(source: URL) -> Engine:
    return create_engine(source, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def create_database(source_url: str, target_url: str) -> None:
    target = make_url(target_url)
    admin = _admin(make_url(normalise_url(source_url)))
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).first()
            if exists:
                raise DrillFailed(f"the restore target database {target.database!r} already exists: a drill restores "
                                  "into a fresh one (drop it, or name another with --target-db)")
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def drop_database(source_url: str, target_url: str) -> None:
    name = make_url(target_url).database
    admin = _admin(make_url(normalise_url(source_url)))
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def backup(source_url: str, evidence_dir: Path, work: Path) -> tuple[Path, Path, Path]:
    """Checkpoint, dump and evidence tar of the live store, into `work`. Returns their paths."""
    from everymetre.audit.verify import checkpoint
    from everymetre.store.db import engine_for, session_factory

    work.mkdir(parents=True, exist_ok=True)
    cp_file, dump_file, tar_file = work / "checkpoint.json", work / "store.dump", work / "evidence.tar"
    with session_factory(engine_for(source_url))() as session:
        cp_file.write_text(json.dumps(checkpoint(session)))
    uri, env = _libpq(make_url(normalise_url(source_url)))
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-acl", f"--file={dump_file}", f"--dbname={uri}"],
         env, "pg_dump")
    with tarfile.open(tar_file, "w") as tar:
        if evidence_dir.is_dir():
            tar.add(evidence_dir, arcname="evidence")
    return cp_file, dump_file, tar_file


def restore(target_url: str, dump_file: Path, tar_file: Path, target_data_dir: Path) -> None:
    """Into a database already created (empty) and a folder that is empty or absent."""
    uri, env = _libpq(make_url(target_url))
    _run(["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", f"--dbname={uri}", str(dump_file)],
         env, "pg_restore")
    if target_data_dir.exists() and any(target_data_dir.iterdir()):
        raise DrillFailed(f"the restore target folder {target_data_dir} is not empty: a drill restores into a fresh one")
    target_data_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_file) as tar:
        tar.extractall(target_data_dir, filter="data")


def verify_evidence(target_url: str, evidence_dir: Path) -> int:
    """Every evidence file the restored store names is in the restored folder with its SHA-256 and size."""
    from everymetre.claims.models import Evidence

    eng = create_engine(target_url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(select(Evidence.sha256, Evidence.size_bytes).distinct()).all()
    finally:
        eng.dispose()
    for sha, size in rows:
        path = evidence_dir / sha[:2] / sha[2:4] / sha
        if not path.is_file():
            raise DrillFailed(f"evidence {sha} is named by the store but missing from the restored folder")
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha or path.stat().st_size != size:
            raise DrillFailed(f"evidence {sha}: the restored file's SHA-256 or size differs")
    return len(rows)


def _check_env(url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "EVERYMETRE_DATABASE_URL": url, "EVERYMETRE_DATA_DIR": str(data_dir),
            "EVERYMETRE_ENV": "development", "COLUMNS": "500"}


def prove(target_url: str, target_data_dir: Path, checkpoint_file: Path,
          source: tuple[str, Path] | None = None) -> list[str]:
    """Run the operator's own checks on the restored copy, as separate processes on its settings. When one
    fails and `source` (url, data dir) is given, the same check is run on the live store, to say whether the
    restore lost something or the live store fails it too."""
    lines = []
    for argv in (["audit", "verify", "--checkpoint", str(checkpoint_file)], ["ledger", "check"], ["rules", "recheck"]):
        what = "everymetre " + " ".join(argv[:2])
        command = [sys.executable, "-m", "everymetre", *argv]
        try:
            said = _run(command, _check_env(target_url, target_data_dir), what)
        except DrillFailed as exc:
            if source is not None:
                try:
                    _run(command, _check_env(*source), what)
                except DrillFailed:
                    raise DrillFailed(f"{exc} (the live store fails it too: fix the store, not the backup)") from None
            raise
        lines.append(f"{what}: {' '.join(said.split()) or 'ok'}")
    return lines


def restore_drill(source_url: str, evidence_dir: Path, work: Path, target_url: str | None = None,
                  keep: bool = False, say: Callable[[str], None] = print) -> DrillReport:
    source = make_url(normalise_url(source_url))
    if source.get_backend_name() != "postgresql":
        raise DrillFailed(f"the restore drill needs a PostgreSQL store; this one is {source.get_backend_name()}")
    target_url = normalise_url(target_url or sibling_url(source_url, f"{source.database}_restore_drill"))
    if make_url(target_url).database == source.database and make_url(target_url).host == source.host:
        raise DrillFailed("the restore target is the store itself: name another database")
    report = DrillReport(target_url=make_url(target_url).render_as_string(hide_password=True))
    target_data_dir = work / "restored-data"

    def step(line: str) -> None:
        report.steps.append(line)
        say(line)

    cp_file, dump_file, tar_file = backup(source_url, evidence_dir, work)
    cp = json.loads(cp_file.read_text())
    step(f"checkpoint of {cp['chains']:,} chains taken before the dump; digest {cp['digest'][:16]}…")
    step(f"dumped the store ({dump_file.stat().st_size:,} bytes) and the evidence folder ({tar_file.stat().st_size:,} bytes)")
    create_database(source_url, target_url)  # refuses a database that exists: never dropped below
    try:
        restore(target_url, dump_file, tar_file, target_data_dir)
        step(f"restored into {report.target_url} and {target_data_dir}")
        for line in prove(target_url, target_data_dir, cp_file, source=(source_url, evidence_dir.parent)):
            step(line)
        report.evidence_files = verify_evidence(target_url, target_data_dir / "evidence")
        step(f"evidence: {report.evidence_files:,} file(s), every SHA-256 and size as the store records")
    finally:
        if not keep:
            drop_database(source_url, target_url)
            shutil.rmtree(target_data_dir, ignore_errors=True)
    return report
