"""Fixtures for the deployment tests: repository paths, tool binaries and rendered overlays."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "kustomize"
COMPOSE_FILE = ROOT / "compose" / "compose.yaml"
OBSERVABILITY = ROOT / "observability"
PROMETHEUS_DIR = OBSERVABILITY / "prometheus"
RULES_FILE = PROMETHEUS_DIR / "rules" / "vigil.rules.yml"
RULES_TEST_FILE = PROMETHEUS_DIR / "tests" / "vigil.rules.test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "vigil.json"

# The Kubernetes version the manifests must validate against (kubernetes-validate -k).
K8S_VERSION = "1.32.0"


def tool(name: str) -> str:
    """Path of a system tool (kubectl, promtool, docker-compose, prometheus), or skip the test."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (CI installs it; see .ci/run and TOOLING.md)")
    return path


def venv_tool(name: str) -> str:
    """A console script of the dev dependency group, from this interpreter's environment."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} missing from the venv: run `uv sync` (it is in the dev group)"
    return str(path)


def run(
    cmd: list[str], *, stdin: str | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def kustomize_build(path: Path) -> str:
    """`kubectl kustomize PATH`, failing the test with kustomize's own message."""
    result = run([tool("kubectl"), "kustomize", str(path)])
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return result.stdout


def with_components(tmp_path: Path, overlay: str, *components: str, namespace: str) -> Path:
    """A throwaway kustomization: an overlay plus optional components, as a user would add them.

    Kustomize refuses absolute paths, hence the relative ones.
    """
    rel = Path(os.path.relpath(KUSTOMIZE, tmp_path))
    doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "resources": [str(rel / "overlays" / overlay)],
        "components": [str(rel / "components" / c) for c in components],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


OVERLAYS = ["dev", "prod"]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """Every overlay rendered once: name -> list of Kubernetes objects."""
    return {
        name: list(yaml.safe_load_all(kustomize_build(KUSTOMIZE / "overlays" / name)))
        for name in OVERLAYS
    }


def load_prometheusrule_renderer():
    """observability/render_prometheusrule.py as a module (it is a script, not a package)."""
    import importlib.util

    path = OBSERVABILITY / "render_prometheusrule.py"
    spec = importlib.util.spec_from_file_location("render_prometheusrule", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
