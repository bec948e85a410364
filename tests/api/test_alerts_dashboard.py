"""Alert rules and the dashboard: valid, unit-tested, and only about metrics we expose."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import IN_CI

INFRA = Path(__file__).resolve().parents[2] / "infra"
RULES = INFRA / "prometheus" / "ledger-rules.yml"
DASHBOARD = INFRA / "grafana" / "ledger-dashboard.json"
METRIC = re.compile(r"\bledger_[a-z_]+\b")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if IN_CI:
            pytest.fail("promtool is required under CI=true (scripts/test.sh installs it)")
        pytest.skip("promtool not installed (Debian package prometheus)")
    return found


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, cwd=RULES.parent, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_rules_are_valid_and_their_unit_tests_pass() -> None:
    promtool = _promtool()
    assert "SUCCESS: 9 rules found" in _run(promtool, "check", "rules", RULES.name)
    assert "SUCCESS" in _run(promtool, "test", "rules", "ledger-rules-test.yml")


def _exposed(client: TestClient, headers: Any) -> set[str]:
    client.post("/v1/donors", json={"code": "qh", "name": "Q"}, headers=headers())
    families = text_string_to_metric_families(client.get("/metrics").text)
    return {f.name for f in families}


def _known(name: str, exposed: set[str]) -> bool:
    stems = [name] + [name.removesuffix(s) for s in ("_total", "_bucket", "_sum", "_count")]
    return any(stem in exposed for stem in stems)


def test_dashboard_and_rules_use_only_exposed_metrics(client: TestClient, headers: Any) -> None:
    exposed = _exposed(client, headers)
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    used = {m for e in exprs for m in METRIC.findall(e)}
    used |= set(METRIC.findall(RULES.read_text()))
    assert used, "the dashboard should query ledger metrics"
    unknown = sorted(m for m in used if not _known(m, exposed))
    assert unknown == []
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for topic in (
        "donor",
        "region",
        "programme",
        "latency",
        "lag",
        "errors",
        "four eyes",
        "auth refusals",
    ):
        assert topic in titles
