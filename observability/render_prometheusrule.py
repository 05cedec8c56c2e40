"""Writes kustomize/components/prometheus-operator/prometheusrule.yaml from the alert rules.

observability/prometheus/rules/vigil.rules.yml is the one source of the alert rules. Kustomize
cannot read files outside a kustomization's own directory, so the Prometheus Operator
component carries a generated copy; tests/deploy fails when the copy is stale. After
editing the rules, run:

    uv run python observability/render_prometheusrule.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "observability" / "prometheus" / "rules" / "vigil.rules.yml"
TARGET = ROOT / "kustomize" / "components" / "prometheus-operator" / "prometheusrule.yaml"

HEADER = """\
# GENERATED from observability/prometheus/rules/vigil.rules.yml by
# observability/render_prometheusrule.py; edit the rules there and re-run it.
"""


def render() -> str:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "vigil", "labels": {"app.kubernetes.io/name": "vigil"}},
        "spec": {"groups": groups},
    }
    return HEADER + yaml.safe_dump(rule, sort_keys=False, width=100)


def main() -> int:
    TARGET.write_text(render())
    print(f"wrote {TARGET.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
