"""The command line: --help everywhere, one-line errors with non-zero exits, users and demo data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from everymetre.cli.main import app

EVERYMETRE = str(Path(sys.executable).with_name("everymetre"))


def run(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([EVERYMETRE, *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.mark.parametrize("args", [[], ["db"], ["users"], ["audit"], ["rules"], ["demo"], ["serve"], ["compute"],
                                  ["users", "add"], ["audit", "verify"], ["rules", "simulate"]])
def test_every_command_has_help(args):
    r = CliRunner().invoke(app, [*args, "--help"])
    assert r.exit_code == 0 and "Usage" in r.output


def test_users_add_errors_are_one_line(engine, users):
    r = CliRunner().invoke(app, ["users", "add", "x@test.org", "--role", "wizard", "--password-stdin"], input="long enough pw\n")
    assert r.exit_code == 2 and "unknown role 'wizard'" in r.output and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(app, ["users", "add", "x@test.org", "--role", "officer", "--password-stdin"], input="long enough pw\n")
    assert r.exit_code == 2 and "at least one oblast" in r.output
    r = CliRunner().invoke(app, ["users", "add", "x@test.org", "--role", "officer", "--oblast", "Atlantis", "--password-stdin"],
                           input="long enough pw\n")
    assert r.exit_code == 2 and "unknown oblast 'Atlantis'" in r.output
    r = CliRunner().invoke(app, ["users", "add", "x@test.org", "--role", "officer", "--oblast", "Харківська"])
    assert r.exit_code == 2 and "--password-stdin" in r.output
    r = CliRunner().invoke(app, ["users", "add", "officer@test.org", "--role", "officer", "--oblast", "kharkivska",
                                 "--password-stdin"], input="long enough pw\n")
    assert r.exit_code == 2 and "already exists" in r.output
    r = CliRunner().invoke(app, ["users", "add", "new.inspector@test.org", "--role", "inspector", "--oblast", "Kharkiv",
                                 "--oblast", "kyivska", "--password-stdin"], input="long enough pw\n")
    assert r.exit_code == 0 and "kharkivska, kyivska" in r.output


def test_bad_database_url_and_missing_schema(tmp_path):
    r = run("audit", "verify", env={"EVERYMETRE_DATABASE_URL": "nonsense://"})
    assert r.returncode == 2 and "EVERYMETRE_DATABASE_URL" in r.stderr
    r = run("audit", "verify", env={"EVERYMETRE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert r.returncode == 2 and "everymetre db upgrade" in r.stderr
    r = run("audit", "verify", env={"EVERYMETRE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert r.returncode == 2 and "cannot open the database" in r.stderr


def test_fresh_database_upgrade_demo_verify(tmp_path):
    env = {"EVERYMETRE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "EVERYMETRE_DATA_DIR": str(tmp_path / "data")}
    assert run("db", "upgrade", env=env).returncode == 0
    r = run("demo", "--claims", "300", env=env)
    assert r.returncode == 0 and "wrote 300 claims" in r.stdout and "citizen@demo.everymetre.org" in r.stdout
    r = run("demo", "--claims", "300", "--if-empty", env=env)
    assert r.returncode == 0 and "not loaded" in r.stdout and "officer@demo.everymetre.org" in r.stdout
    r = run("audit", "verify", env=env)
    # 300 claims + 10 demo accounts + the payment batch, bank statement, certificates and ledger they made
    chains = int(r.stdout.split("intact: ", 1)[1].split(" chains", 1)[0].replace(",", "")) if "intact: " in r.stdout else 0
    assert r.returncode == 0 and chains > 310, r.stdout
