"""Write infra/k8s/base/prometheusrule.yaml from infra/prometheus/ledger-rules.yml.

The rules are kept once (promtool tests them there); the Prometheus Operator needs them
wrapped in a PrometheusRule. tests/deploy/test_manifests.py fails if the two differ.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "infra" / "prometheus" / "ledger-rules.yml"
TARGET = ROOT / "infra" / "k8s" / "base" / "prometheusrule.yaml"


def prometheus_rule() -> dict[str, object]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "ledger-rules"},
        "spec": {"groups": groups},
    }


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line PromQL stays readable as a literal block, as in the source file.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def main() -> None:
    header = (
        "# GENERATED from infra/prometheus/ledger-rules.yml by scripts/sync_prometheus_rule.py;\n"
        "# edit the rules there and re-run it (a test keeps the two equal).\n"
    )
    body = yaml.dump(
        prometheus_rule(), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True
    )
    TARGET.write_text(header + body)


if __name__ == "__main__":
    main()
