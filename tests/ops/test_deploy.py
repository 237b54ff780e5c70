"""The committed deployment files: systemd units checked by `systemd-analyze verify` (when the machine has it),
with the install prefix pointed at this checkout's `everymetre` so the check can find the command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ops.test_checks import EVERYMETRE

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
PREFIX = "/opt/everymetre/.venv/bin/everymetre"


def test_the_units_run_serve_and_worker_in_production():
    assert {u.name for u in UNITS} == {"everymetre.service", "everymetre-worker.service"}
    text = {u.name: u.read_text() for u in UNITS}
    assert f"ExecStart={PREFIX} serve " in text["everymetre.service"]
    assert f"ExecStart={PREFIX} worker" in text["everymetre-worker.service"]
    for body in text.values():
        assert "EnvironmentFile=/etc/everymetre/everymetre.env" in body and "User=everymetre" in body
        assert "RestartPreventExitStatus=78" in body  # a production refusal is not retried in a loop
    env = (ROOT / "deploy" / "everymetre.env.example").read_text()
    assert "EVERYMETRE_ENV=production" in env and "EVERYMETRE_PUBLIC_URL=https://" in env


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here: the "
                    "unit files were not verified (install systemd to check them)")
def test_systemd_analyze_verifies_the_units(tmp_path):
    copies = []
    for unit in UNITS:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(PREFIX, EVERYMETRE))
        copies.append(str(copy))
    r = subprocess.run(["systemd-analyze", "verify", *copies], capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), r.stdout + r.stderr
