"""Every deployment keeps the authentication promises: Prometheus sends a token to the API, the
API knows its host names, the worker's metrics are reachable, and no secret is committed."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import (
    COMPOSE_FILE,
    OVERLAYS,
    PROMETHEUS_CONFIG,
    PROMETHEUS_K8S_CONFIG,
    ROOT,
    TEST_SECRET_KEY,
    USER_FILES,
    kustomize_build,
    with_components,
)
from .test_image import instructions
from .test_kustomize import by_name, containers, objects

# Where deployment files live; everything in them that git would commit is scanned.
DEPLOY_DIRS = ["compose", "kustomize", "observability", "terraform", "Dockerfile"]
TOKEN = re.compile(r"vgl_[0-9A-Za-z]{46}")
# A key assignment in any syntax (env file, YAML, shell); Settings rejects keys under 32
# characters, so a shorter value ("...", a ${...} reference) cannot be a usable key.
KEY_ASSIGNMENT = re.compile(r"VIGIL_SECRET_KEY(?:_PREVIOUS)?[\"']?\s*[=:]\s*[\"']?([^\s\"'#]*)")
HCL_KEY_ASSIGNMENT = re.compile(r"VIGIL_SECRET_KEY(?:_PREVIOUS)?\s*=\s*\"([^\"]*)\"")
MIN_KEY = 32
# A password written out: `PASSWORD: value` (YAML, env files) or `..._PASSWORD = "value"` (HCL,
# where an unquoted value is an expression such as random_password.x.result). Only a ${...}
# reference or the placeholder "..." may follow.
YAML_PASSWORD = re.compile(r"PASSWORD[\"']?\s*[=:]\s*[\"']?([^\s\"'#,}]+)")
HCL_PASSWORD = re.compile(r"PASSWORD\w*\s*=\s*\"([^\"]*)\"")
URL_PASSWORD = re.compile(r"postgresql://[^:/\s]+:([^@\s]+)@")
POD_IP, NAMESPACE = "10.244.1.7", "vigil-test"


def committed_files() -> list[Path]:
    """The deployment files git would commit: tracked, or new and not ignored."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        [git, "ls-files", "--cached", "--others", "--exclude-standard", "--", *DEPLOY_DIRS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def kubelet_env(container: dict, values: dict[str, str]) -> dict[str, str]:
    """A container's `env` as the kubelet expands it: $(VAR) only for VAR defined above.

    `values` stands in for what the kubelet fills in: fieldRefs and configMapKeyRefs by name.
    """
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        if "value" not in entry:
            env[entry["name"]] = values.get(entry["name"], "<from a Secret>")
            continue
        refs = re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", entry["value"])
        undefined = [r for r in refs if r not in env]
        assert not undefined, f"{entry['name']} uses {undefined} before they are defined"
        env[entry["name"]] = re.sub(
            r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m.group(1)], entry["value"]
        )
    return env


def api_scrape_jobs() -> dict[str, dict]:
    """Every scrape job of the shipped Prometheus configs, by "file: job name"."""
    jobs = {}
    for path in (PROMETHEUS_CONFIG, PROMETHEUS_K8S_CONFIG):
        for job in yaml.safe_load(path.read_text())["scrape_configs"]:
            jobs[f"{path.name}: {job['job_name']}"] = job
    return jobs


# --- /metrics of the API: Prometheus authenticates everywhere -------------------------------


@pytest.mark.parametrize("job", list(api_scrape_jobs()))
def test_prometheus_sends_a_token_to_the_api_and_only_there(job: str) -> None:
    config = api_scrape_jobs()[job]
    if config["job_name"] != "vigil-api":
        assert "authorization" not in config, "only the API's /metrics takes a token"
        return
    auth = config.get("authorization")
    assert auth and auth.get("type", "Bearer") == "Bearer", f"{job}: no bearer token"
    # A file (never an inline token), read on every scrape: a new token needs no restart.
    assert auth.keys() <= {"type", "credentials_file"} and auth["credentials_file"].startswith("/")
    assert "bearer_token" not in config and "params" not in config, "tokens go in a header only"


def test_the_compose_prometheus_reads_the_token_compose_mounts(compose_resolved: dict) -> None:
    (secret,) = compose_resolved["services"]["prometheus"]["secrets"]
    name = secret["source"] if isinstance(secret, dict) else secret
    job = api_scrape_jobs()["prometheus.yml: vigil-api"]
    assert job["authorization"]["credentials_file"] == f"/run/secrets/{name}"
    source = Path(compose_resolved["secrets"][name]["file"])
    assert source.parent == COMPOSE_FILE.parent / "secrets", "the file the docs tell users to make"


def test_the_servicemonitor_and_the_plain_config_use_one_token_secret(tmp_path: Path) -> None:
    docs = list(
        yaml.safe_load_all(
            kustomize_build(
                with_components(tmp_path, "prod", "prometheus-operator", namespace="vigil")
            )
        )
    )
    endpoints = {
        m["metadata"]["name"]: m["spec"]["endpoints"] for m in objects(docs, "ServiceMonitor")
    }
    (api,) = endpoints["vigil-api"]
    credentials = api["authorization"]["credentials"]
    assert api["authorization"].get("type", "Bearer") == "Bearer"
    assert "bearerTokenSecret" not in api and "params" not in api
    # Prometheus without the Operator mounts the same Secret where the Operator would.
    job = api_scrape_jobs()["kubernetes.yml: vigil-api"]
    assert job["authorization"]["credentials_file"] == (
        f"/etc/prometheus/secrets/{credentials['name']}/{credentials['key']}"
    )
    # The Secret holds a token, so kustomize never renders it: the user creates it.
    assert not [s for s in objects(docs, "Secret") if s["metadata"]["name"] == credentials["name"]]
    assert all("authorization" not in e for e in endpoints["vigil-worker"])


# --- The Host check: every deployment lists the names the API is reached by -----------------


def test_compose_lists_the_names_browsers_and_prometheus_use(compose_resolved: dict) -> None:
    env = compose_resolved["services"]["api"]["environment"]
    hosts = set(env["VIGIL_API_ALLOWED_HOSTS"].split(","))
    prometheus = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    (target,) = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "vigil-api")[
        "static_configs"
    ][0]["targets"]
    published = compose_resolved["services"]["api"]["ports"][0]
    published_ip = published["host_ip"] if isinstance(published, dict) else published.split(":")[0]
    assert {"localhost", published_ip, target.rpartition(":")[0]} <= hosts
    assert "*" not in hosts


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_lists_the_pod_ip_the_service_and_the_ingress_host(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    docs = rendered[overlay]
    (api,) = containers(by_name(docs, "Deployment", "vigil-api"))
    refs = {
        e["name"]: e["valueFrom"]
        for e in api["env"]
        if "valueFrom" in e
        and ("fieldRef" in e["valueFrom"] or "configMapKeyRef" in e["valueFrom"])
    }
    assert refs["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert refs["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    ingress_ref = refs["INGRESS_HOST"]["configMapKeyRef"]
    (hosts_map,) = [
        d for d in objects(docs, "ConfigMap") if d["metadata"]["name"] == ingress_ref["name"]
    ]
    ingress_host = hosts_map["data"][ingress_ref["key"]]

    env = kubelet_env(
        api, {"POD_IP": POD_IP, "POD_NAMESPACE": NAMESPACE, "INGRESS_HOST": ingress_host}
    )
    hosts = {h for h in env["VIGIL_API_ALLOWED_HOSTS"].split(",") if h}
    # Pods by IP (annotation scrapes and ServiceMonitors), the Service from other pods,
    # `kubectl port-forward` from a laptop.
    (service,) = [
        s
        for s in objects(docs, "Service")
        if s["spec"].get("selector", {}).items()
        <= by_name(docs, "Deployment", "vigil-api")["spec"]["template"]["metadata"][
            "labels"
        ].items()
    ]
    name = service["metadata"]["name"]
    assert {POD_IP, name, f"{name}.{NAMESPACE}.svc", "localhost", "127.0.0.1"} <= hosts
    assert "*" not in hosts
    if overlay == "prod":
        assert ingress_host and ingress_host in hosts, "prod must name its public host"


# --- The worker's metrics: loopback by default, all interfaces in containers ----------------


def test_containers_bind_the_worker_metrics_to_every_interface(
    compose_resolved: dict, rendered: dict[str, list[dict]]
) -> None:
    worker = compose_resolved["services"]["worker"]["environment"]
    assert worker["VIGIL_WORKER_METRICS_HOST"] == "0.0.0.0"
    for overlay in OVERLAYS:
        docs = rendered[overlay]
        (c,) = containers(by_name(docs, "Deployment", "vigil-worker"))
        (source,) = [e["configMapRef"]["name"] for e in c["envFrom"]]
        data = next(
            d["data"] for d in objects(docs, "ConfigMap") if d["metadata"]["name"] == source
        )
        assert data["VIGIL_WORKER_METRICS_HOST"] == "0.0.0.0", overlay
    image_env = " ".join(arg for op, arg in instructions() if op == "ENV")
    assert "VIGIL_WORKER_METRICS_HOST=0.0.0.0" in image_env.split()


# --- Secrets: only the API gets the server secret, and nobody commits one ------------------


def test_only_the_api_gets_the_server_secret(
    compose_resolved: dict, rendered: dict[str, list[dict]]
) -> None:
    services = compose_resolved["services"]
    assert services["api"]["environment"]["VIGIL_SECRET_KEY"] == TEST_SECRET_KEY
    for name in ("migrate", "worker"):
        assert "VIGIL_SECRET_KEY" not in services[name]["environment"], name
    for overlay in OVERLAYS:
        for w in objects(rendered[overlay], "Deployment") + objects(rendered[overlay], "Job"):
            names = {e["name"] for c in containers(w) for e in c.get("env", [])}
            wanted = w["metadata"]["name"] == "vigil-api"
            assert ("VIGIL_SECRET_KEY" in names) is wanted, f"{overlay}: {w['metadata']['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_takes_every_credential_from_a_secret(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    for w in objects(rendered[overlay], "Deployment") + objects(rendered[overlay], "Job"):
        for c in containers(w):
            for e in c.get("env", []):
                if re.search(r"SECRET|PASSWORD|TOKEN", e["name"]) and not e["name"].endswith(
                    "_FILE"
                ):
                    assert "secretKeyRef" in e.get("valueFrom", {}), (
                        f"{overlay}: {w['metadata']['name']} sets {e['name']} in the manifest"
                    )


def test_the_dev_secrets_come_from_the_files_the_user_creates(
    rendered: dict[str, list[dict]],
) -> None:
    """The dev overlay's server secret is the test's throwaway file (conftest.USER_FILES), so it
    cannot come from anything committed."""
    docs = rendered["dev"]
    (api,) = containers(by_name(docs, "Deployment", "vigil-api"))
    ref = next(e for e in api["env"] if e["name"] == "VIGIL_SECRET_KEY")["valueFrom"]
    secret = by_name(docs, "Secret", ref["secretKeyRef"]["name"])
    assert base64.b64decode(secret["data"]["VIGIL_SECRET_KEY"]).decode() == TEST_SECRET_KEY


def test_no_secret_key_token_or_password_is_committed() -> None:
    files = committed_files()
    assert any(f.name == "compose.yaml" for f in files)
    for path in files:
        text = path.read_text(errors="replace")
        where = path.relative_to(ROOT)
        assert not TOKEN.search(text), f"{where} holds an API token"
        hcl = path.suffix == ".tf"
        for value in (HCL_KEY_ASSIGNMENT if hcl else KEY_ASSIGNMENT).findall(text):
            assert len(value) < MIN_KEY or value.startswith("${"), (
                f"{where} sets a server secret; it belongs in compose/.env or a Secret"
            )
        passwords = (HCL_PASSWORD if hcl else YAML_PASSWORD).findall(text)
        for value in passwords:
            assert value.startswith("${") or value == "...", (
                f"{where} commits the password {value!r}"
            )
        for value in URL_PASSWORD.findall(text):
            assert value.startswith("${") or value == "...", f"{where}: a URL's password {value!r}"


def test_the_files_users_create_are_ignored_by_git(compose_resolved: dict) -> None:
    committed_files()  # skips outside a git checkout
    paths = [
        "compose/.env",
        *(
            Path(s["file"]).relative_to(ROOT).as_posix()
            for s in compose_resolved["secrets"].values()
        ),
        *(f"kustomize/{rel}" for rel in USER_FILES),
    ]
    names = {Path(p).name for p in paths}
    assert {".env", "grafana-admin-password", "prometheus-token", "postgres.env"} <= names
    for path in paths:
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert result.returncode == 0, f"{path} holds a secret, but git would commit it"
