"""Fixtures for the deployment tests: repository paths, tool binaries and rendered overlays."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "kustomize"
TERRAFORM = ROOT / "terraform"
COMPOSE_FILE = ROOT / "compose" / "compose.yaml"
# The checks checkov may fail, each with its reason (tests/deploy/test_checkov.py).
CHECKOV_CONFIG = ROOT / ".checkov.yaml"
OBSERVABILITY = ROOT / "observability"
PROMETHEUS_DIR = OBSERVABILITY / "prometheus"
RULES_FILE = PROMETHEUS_DIR / "rules" / "vigil.rules.yml"
RULES_TEST_FILE = PROMETHEUS_DIR / "tests" / "vigil.rules.test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
# Prometheus without the Operator in Kubernetes (annotation discovery).
PROMETHEUS_K8S_CONFIG = PROMETHEUS_DIR / "kubernetes.yml"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "vigil.json"

# The Kubernetes version the manifests must validate against (kubernetes-validate -k).
K8S_VERSION = "1.32.0"

# Python tools that run in environments of their own (`uv tool run`), never in the project's:
# checkov pins aiodns<4 and the worker needs aiodns>=4, so it cannot be a dev dependency, and the
# HCL readers go the same way. Pinned, so that a new release cannot change what the tests see.
CHECKOV = "checkov==3.3.30"
PYTHON_HCL2 = "python-hcl2==8.1.4"
TFPARSE = "tfparse==0.6.22"


def tool(name: str) -> str:
    """Path of a system tool (kubectl, promtool, docker-compose, prometheus), or skip the test."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (CI installs it; see .ci/run and TOOLING.md)")
    return path


def uv_tool(requirement: str, *command: str) -> list[str]:
    """`command` run from `requirement` in uv's cached tool environment (installed on first use)."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (.ci/run installs it)")
    return [uv, "tool", "run", "--quiet", "--from", requirement, *command]


def venv_tool(name: str) -> str:
    """A console script of the dev dependency group, from this interpreter's environment."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} missing from the venv: run `uv sync` (it is in the dev group)"
    return str(path)


def run(
    cmd: list[str],
    *,
    stdin: str | None = None,
    cwd: Path = ROOT,
    env: dict[str, str | None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """A tool's run; `env` replaces variables of this process's environment (None: removes)."""
    environ = {**os.environ, "NO_COLOR": "1"}
    for key, value in (env or {}).items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return subprocess.run(
        cmd,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=environ,
    )


def docker_compose_config(
    tmp_path: Path, env: dict[str, str | None], *args: str
) -> subprocess.CompletedProcess:
    """`docker-compose config` with `env` as the only source of ${...} values: an empty
    --env-file stands in for compose/.env, so a developer's own .env cannot change the result."""
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    names = (
        "VIGIL_SECRET_KEY",
        "VIGIL_SECRET_KEY_PREVIOUS",
        "VIGIL_API_ALLOWED_HOSTS",
        "POSTGRES_PASSWORD",
    )
    return run(
        [tool("docker-compose"), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
        env={**dict.fromkeys(names), **env},
    )


@pytest.fixture(scope="session")
def compose_resolved(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """compose.yaml as docker-compose resolves it (${...} filled in) with only the required values
    set, as compose/.env.example asks."""
    result = docker_compose_config(
        tmp_path_factory.mktemp("compose"),
        COMPOSE_REQUIRED,
        "--profile",
        "observability",
        "config",
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def kustomize_build(path: Path) -> str:
    """`kubectl kustomize PATH`, failing the test with kustomize's own message."""
    result = run([tool("kubectl"), "kustomize", str(path)])
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return result.stdout


# The files the dev overlay's secretGenerators read. docs/deploy.md tells users to create them
# and git ignores them, so the tests write throwaway ones into a copy of the tree.
TEST_SECRET_KEY = "test-only-secret-key-0123456789abcdefghijkl"
TEST_ADMIN_PASSWORD = "test-only admin password"
TEST_POSTGRES_PASSWORD = "test-only-postgres-password"
USER_FILES = {
    "overlays/dev/secret-key.env": f"VIGIL_SECRET_KEY={TEST_SECRET_KEY}\n",
    "overlays/dev/postgres.env": f"POSTGRES_PASSWORD={TEST_POSTGRES_PASSWORD}\n",
    "overlays/dev/initial-admin-password": TEST_ADMIN_PASSWORD,
}
# The values compose/.env must hold (compose/.env.example).
COMPOSE_REQUIRED = {
    "VIGIL_SECRET_KEY": TEST_SECRET_KEY,
    "POSTGRES_PASSWORD": TEST_POSTGRES_PASSWORD,
}


def kustomize_copy(dest: Path, *, user_files: bool = True) -> Path:
    """kustomize/ copied to `dest`, with the user-created files (or, if not, without any)."""
    root = dest / "kustomize"
    shutil.copytree(KUSTOMIZE, root)
    for rel, text in USER_FILES.items():
        path = root / rel
        path.unlink(missing_ok=True)  # a developer's own file, if any
        if user_files:
            path.write_text(text)
    return root


@pytest.fixture(scope="session")
def kustomize_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of kustomize/ as a user has it after following docs/deploy.md."""
    return kustomize_copy(tmp_path_factory.mktemp("tree"))


def with_components(
    tmp_path: Path, overlay: str, *components: str, namespace: str, root: Path = KUSTOMIZE
) -> Path:
    """A throwaway kustomization: an overlay plus optional components, as a user would add them.

    Kustomize refuses absolute paths, hence the relative ones.
    """
    rel = Path(os.path.relpath(root, tmp_path))
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
def rendered(kustomize_dir: Path) -> dict[str, list[dict]]:
    """Every overlay rendered once: name -> list of Kubernetes objects."""
    return {
        name: list(yaml.safe_load_all(kustomize_build(kustomize_dir / "overlays" / name)))
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


def write_tfvars(path: Path, values: dict) -> Path:
    """A .tfvars file (HCL's literals are JSON's, for the values used here)."""
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    return path


def prod_inputs(prod: list[dict]) -> dict:
    """The module's inputs that make it describe the prod overlay: its pinned image and ingress
    host, read from the rendered overlay, and an external database (which prod expects)."""
    images = {
        c["image"]
        for d in prod
        if d["kind"] in {"Deployment", "Job"}
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    (image,) = images
    (hosts,) = [
        d["data"]["ingress-host"]
        for d in prod
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("vigil-api-hosts")
    ]
    return {
        "image": image,
        "ingress_host": hosts,
        "database_url": "postgresql://vigil@db.example:5432/vigil?sslmode=require",
    }


@pytest.fixture(scope="session")
def prod_tfvars(tmp_path_factory: pytest.TempPathFactory, rendered: dict[str, list[dict]]) -> Path:
    return write_tfvars(
        tmp_path_factory.mktemp("tfvars") / "prod.tfvars", prod_inputs(rendered["prod"])
    )
