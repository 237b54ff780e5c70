"""docs/alerts.yml: valid rules (promtool when Debian's `prometheus` package is installed), whose expressions
name only metrics a real scrape exports, with unit tests that fire them (docs/alerts.test.yml)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from everymetre.ops import metrics
from tests.ops.test_metrics import ops_client, samples, scrape  # noqa: F401  (the fixture)

DOCS = Path(__file__).resolve().parents[2] / "docs"
PROMETHEUS_OWN = {"up"}
WANTED = {"EverymetreOutboxStuck", "EverymetreOverdueClaimsGrowing", "EverymetreHigh5xxRate", "EverymetreJobFailed"}


def rules() -> list[dict]:
    doc = yaml.safe_load((DOCS / "alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_every_rule_is_complete_and_the_asked_alerts_exist():
    found = rules()
    assert {r["alert"] for r in found} >= WANTED
    for r in found:
        assert r["expr"].strip() and r["labels"]["severity"] in ("page", "ticket") and r["annotations"]["summary"]


def test_every_expression_names_exported_metrics(ops_client, auth):  # noqa: F811
    from tests.ops.helpers import claim_life

    claim_life(ops_client, auth)
    metrics.job_finished("claims-sweep", ok=False, seconds=1)
    metrics.job_finished("claims-sweep", ok=True, seconds=1)
    metrics.notification_sent("email")
    metrics.notification_failed("email")
    metrics.set_outbox(1, 1)
    exported = {name for name, _ in scrape(ops_client)}
    for r in rules():
        names = set(re.findall(r"\b[a-z_][a-z0-9_]*(?=\s*(?:\{|\[|\)|>|<|==|-|/|\s|$))", r["expr"]))
        metric_names = {n for n in names if n.startswith("everymetre_")} | (names & PROMETHEUS_OWN)
        assert metric_names, r["alert"]
        missing = {n for n in metric_names if n.startswith("everymetre_")} - exported
        assert not missing, f"{r['alert']} uses {missing}, which /metrics does not export"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian: apt-get install "
                    "prometheus); the rules are still parsed and their metrics checked above")
def test_promtool_checks_and_unit_tests_pass():
    check = subprocess.run(["promtool", "check", "rules", str(DOCS / "alerts.yml")], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(["promtool", "test", "rules", str(DOCS / "alerts.test.yml")], capture_output=True, text=True, check=False)
    assert unit.returncode == 0 and "SUCCESS" in unit.stdout, unit.stdout + unit.stderr
