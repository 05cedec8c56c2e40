"""The kustomize overlays render, pass strict Kubernetes 1.32 validation and keep their promises."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from vigil_cli.main import build_parser

from .conftest import (
    K8S_VERSION,
    OVERLAYS,
    ROOT,
    RULES_FILE,
    TEST_ADMIN_PASSWORD,
    USER_FILES,
    kustomize_build,
    kustomize_copy,
    load_prometheusrule_renderer,
    run,
    tool,
    venv_tool,
    with_components,
)

WORKLOADS = {"Deployment", "StatefulSet", "Job"}
ROLES = {"vigil-api": "api", "vigil-worker": "worker", "vigil-migrate": "migrate"}


def objects(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def by_name(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in objects(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def containers(workload: dict) -> list[dict]:
    spec = workload["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def all_containers(docs: list[dict]) -> list[tuple[str, dict, dict]]:
    """(workload name, pod spec, container) for every container of every workload."""
    return [
        (w["metadata"]["name"], w["spec"]["template"]["spec"], c)
        for w in docs
        if w["kind"] in WORKLOADS
        for c in containers(w)
    ]


def vigil_workloads(docs: list[dict]) -> dict[str, dict]:
    return {
        d["metadata"]["name"]: d
        for d in docs
        if d["kind"] in WORKLOADS and d["metadata"]["name"] in ROLES
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_strict_validation(overlay: str, kustomize_dir: Path) -> None:
    manifest = kustomize_build(kustomize_dir / "overlays" / overlay)
    result = run(
        [venv_tool("kubernetes-validate"), "--strict", "-k", K8S_VERSION, "-"], stdin=manifest
    )
    assert result.returncode == 0, (
        f"{overlay} is not valid Kubernetes {K8S_VERSION}:\n{result.stdout}{result.stderr}"
    )
    assert "ERROR" not in result.stdout


def test_prometheus_operator_component_renders_on_prod(tmp_path: Path) -> None:
    """The optional component adds ServiceMonitors whose ports exist, and the alert rules."""
    docs = list(
        yaml.safe_load_all(
            kustomize_build(
                with_components(tmp_path, "prod", "prometheus-operator", namespace="vigil")
            )
        )
    )
    result = run(
        [venv_tool("kubernetes-validate"), "--strict", "--no-warn", "-k", K8S_VERSION, "-"],
        stdin=yaml.safe_dump_all(d for d in docs if "monitoring.coreos.com" not in d["apiVersion"]),
    )
    assert result.returncode == 0, result.stdout + result.stderr

    services = objects(docs, "Service")
    monitors = objects(docs, "ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} == {"vigil-api", "vigil-worker"}
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        matching = [
            s for s in services if selector.items() <= s["metadata"].get("labels", {}).items()
        ]
        # The job label is the Service name; the alert rules expect vigil-api and vigil-worker.
        assert [s["metadata"]["name"] for s in matching] == [monitor["metadata"]["name"]]
        port_names = {p["name"] for p in matching[0]["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= port_names

    rule = by_name(docs, "PrometheusRule", "vigil")
    assert rule["spec"]["groups"] == yaml.safe_load(RULES_FILE.read_text())["groups"]


def test_prometheusrule_is_generated_from_the_rules_file() -> None:
    renderer = load_prometheusrule_renderer()
    assert renderer.TARGET.read_text() == renderer.render(), (
        "kustomize/components/prometheus-operator/prometheusrule.yaml is stale: run "
        "`uv run python observability/render_prometheusrule.py`"
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_resources_and_a_locked_down_security_context(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    found = all_containers(rendered[overlay])
    assert found
    for workload, pod, c in found:
        where = f"{overlay}: {workload}/{c['name']}"
        for section in ("requests", "limits"):
            assert {"cpu", "memory"} <= c.get("resources", {}).get(section, {}).keys(), (
                f"{where}: {section}"
            )
        sc = c.get("securityContext", {})
        assert sc.get("allowPrivilegeEscalation") is False, where
        assert sc.get("readOnlyRootFilesystem") is True, where
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
        non_root = sc.get("runAsNonRoot", pod.get("securityContext", {}).get("runAsNonRoot"))
        uid = sc.get("runAsUser", pod.get("securityContext", {}).get("runAsUser"))
        assert non_root is True and uid not in (None, 0), f"{where}: not pinned to a non-root uid"
        added = sc["capabilities"].get("add", [])
        assert added == (["NET_RAW"] if workload == "vigil-worker" else []), (
            f"{where}: adds {added}"
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_long_running_containers_have_probes(overlay: str, rendered: dict[str, list[dict]]) -> None:
    docs = rendered[overlay]
    for w in docs:
        if w["kind"] in {"Deployment", "StatefulSet"}:
            for c in containers(w):
                assert "readinessProbe" in c and "livenessProbe" in c, (
                    f"{w['metadata']['name']}/{c['name']}"
                )

    api = containers(by_name(docs, "Deployment", "vigil-api"))[0]
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"name": "http", "containerPort": 8000} in api["ports"]

    # The worker's probes hit its own metrics port, which its configuration sets.
    worker = containers(by_name(docs, "Deployment", "vigil-worker"))[0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert worker[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert {"name": "metrics", "containerPort": 9100} in worker["ports"]
    config = [
        d for d in objects(docs, "ConfigMap") if d["metadata"]["name"].startswith("vigil-config")
    ]
    assert config[0]["data"]["VIGIL_WORKER_METRICS_PORT"] == "9100"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_image_and_a_real_vigil_command_per_role(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    workloads = vigil_workloads(rendered[overlay])
    assert workloads.keys() == ROLES.keys()
    images = {c["image"] for w in workloads.values() for c in containers(w)}
    assert len(images) == 1, f"{overlay}: roles use different images {images}"
    for name, w in workloads.items():
        (c,) = containers(w)
        assert c["command"][0] == "vigil", f"{name}: {c['command']}"
        args = build_parser().parse_args(c["command"][1:])
        assert args.command == ROLES[name]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_in_their_own_job(overlay: str, rendered: dict[str, list[dict]]) -> None:
    docs = rendered[overlay]
    job = by_name(docs, "Job", "vigil-migrate")
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    assert containers(job)[0]["command"] == ["vigil", "migrate"]
    # The application never migrates at start-up, not even from an init container.
    for w in objects(docs, "Deployment") + objects(docs, "StatefulSet"):
        for c in containers(w):
            assert "migrate" not in c.get("command", []) + c.get("args", []), w["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_carry_prometheus_scrape_annotations(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    docs = rendered[overlay]
    for name, port in (("vigil-api", "8000"), ("vigil-worker", "9100")):
        notes = by_name(docs, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]
        assert notes == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": port,
            "prometheus.io/path": "/metrics",
        }


def test_dev_runs_one_replica_each_with_in_cluster_postgres(
    rendered: dict[str, list[dict]],
) -> None:
    docs = rendered["dev"]
    for kind, name in (
        ("Deployment", "vigil-api"),
        ("Deployment", "vigil-worker"),
        ("StatefulSet", "vigil-postgres"),
    ):
        assert by_name(docs, kind, name)["spec"]["replicas"] == 1
    pg = by_name(docs, "StatefulSet", "vigil-postgres")
    assert containers(pg)[0]["image"].startswith("postgres:16")
    assert (
        pg["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    )
    assert by_name(docs, "Service", "vigil-postgres")["spec"]["ports"][0]["port"] == 5432

    # The generated Secret points at that Service, and every role reads it (hashed name).
    (secret,) = [
        s for s in objects(docs, "Secret") if s["metadata"]["name"].startswith("vigil-database-")
    ]
    url = base64.b64decode(secret["data"]["VIGIL_DATABASE_URL"]).decode()
    assert "@vigil-postgres:5432/" in url
    for name, w in vigil_workloads(docs).items():
        refs = [
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in containers(w)[0]["env"]
            if e["name"] == "VIGIL_DATABASE_URL"
        ]
        assert refs == [secret["metadata"]["name"]], name


def test_prod_has_no_postgres_and_reads_an_external_secret(rendered: dict[str, list[dict]]) -> None:
    docs = rendered["prod"]
    assert not objects(docs, "StatefulSet")
    assert not objects(docs, "PersistentVolumeClaim")
    assert not [d for d in docs if "postgres" in d["metadata"]["name"]]
    assert not [c for _, _, c in all_containers(docs) if c["image"].startswith("postgres")]
    # The database Secret is not rendered (it would carry a password): it is referenced by
    # its plain name and created outside kustomize.
    assert not objects(docs, "Secret")
    for name, w in vigil_workloads(docs).items():
        refs = [
            e["valueFrom"]["secretKeyRef"]
            for e in containers(w)[0]["env"]
            if e["name"] == "VIGIL_DATABASE_URL"
        ]
        assert refs == [{"name": "vigil-database", "key": "VIGIL_DATABASE_URL"}], name


def test_dev_needs_the_files_the_docs_name(tmp_path: Path) -> None:
    """Without the files a user creates, the dev overlay does not render (rather than run
    without a server secret), and kustomize's error names the file docs/deploy.md describes."""
    root = kustomize_copy(tmp_path, user_files=False)
    result = run([tool("kubectl"), "kustomize", str(root / "overlays" / "dev")])
    assert result.returncode != 0
    assert "secret-key.env" in result.stderr, result.stderr
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for rel in USER_FILES:
        assert f"kustomize/{rel}" in guide, f"docs/deploy.md does not say to create {rel}"


def secret_env(container: dict) -> dict[str, dict]:
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def test_prod_reads_the_server_secret_from_a_secret_it_does_not_render(
    rendered: dict[str, list[dict]],
) -> None:
    (api,) = containers(by_name(rendered["prod"], "Deployment", "vigil-api"))
    refs = secret_env(api)
    assert refs["VIGIL_SECRET_KEY"] == {"name": "vigil-secret-key", "key": "VIGIL_SECRET_KEY"}
    # The old key during a rotation: added to the same Secret, absent otherwise.
    assert refs["VIGIL_SECRET_KEY_PREVIOUS"] == {
        "name": "vigil-secret-key",
        "key": "VIGIL_SECRET_KEY_PREVIOUS",
        "optional": True,
    }
    assert not refs["VIGIL_SECRET_KEY"].get("optional"), "the API must not start without a key"


def test_dev_creates_the_first_admin_from_the_users_password_file(
    rendered: dict[str, list[dict]],
) -> None:
    docs = rendered["dev"]
    deployment = by_name(docs, "Deployment", "vigil-api")
    (api,) = containers(deployment)
    path = next(e["value"] for e in api["env"] if e["name"] == "VIGIL_INITIAL_ADMIN_PASSWORD_FILE")
    (mount,) = [m for m in api["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    assert mount["readOnly"] is True
    (volume,) = [
        v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]
    ]
    (item,) = [
        i for i in volume["secret"]["items"] if i["path"] == path[len(mount["mountPath"]) + 1 :]
    ]
    secret = by_name(docs, "Secret", volume["secret"]["secretName"])
    assert base64.b64decode(secret["data"][item["key"]]).decode() == TEST_ADMIN_PASSWORD
    # prod creates its first user with `vigil user create` (or adds the component itself).
    (prod_api,) = containers(by_name(rendered["prod"], "Deployment", "vigil-api"))
    assert "VIGIL_INITIAL_ADMIN_PASSWORD_FILE" not in {e["name"] for e in prod_api["env"]}


def test_prod_marks_session_cookies_secure_behind_its_tls_ingress(
    rendered: dict[str, list[dict]],
) -> None:
    def config(overlay: str) -> dict[str, str]:
        (found,) = [
            d
            for d in objects(rendered[overlay], "ConfigMap")
            if d["metadata"]["name"].startswith("vigil-config")
        ]
        return found["data"]

    assert config("prod")["VIGIL_SESSION_COOKIE_SECURE"] == "true"
    # dev is reached over plain http (port-forward): "auto" leaves the cookie usable there.
    assert "VIGIL_SESSION_COOKIE_SECURE" not in config("dev")


def test_prod_pins_the_image(rendered: dict[str, list[dict]]) -> None:
    for _, _, c in all_containers(rendered["prod"]):
        image = c["image"]
        name, _, tag = image.rpartition(":")
        assert "@sha256:" in image or (name and tag not in {"", "latest", "dev"}), image


def test_prod_scales_the_api_and_runs_two_workers(rendered: dict[str, list[dict]]) -> None:
    docs = rendered["prod"]
    hpa = by_name(docs, "HorizontalPodAutoscaler", "vigil-api")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "vigil-api",
    }
    assert (
        hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    )
    # The HPA alone owns the API's replica count.
    assert "replicas" not in by_name(docs, "Deployment", "vigil-api")["spec"]
    assert by_name(docs, "Deployment", "vigil-worker")["spec"]["replicas"] == 2

    api_labels = by_name(docs, "Deployment", "vigil-api")["spec"]["template"]["metadata"]["labels"]
    pdbs = [
        p
        for p in objects(docs, "PodDisruptionBudget")
        if p["spec"]["selector"]["matchLabels"].items() <= api_labels.items()
    ]
    assert pdbs and pdbs[0]["spec"]["minAvailable"] >= 1


# --- NetworkPolicy semantics, evaluated the way the API server's model defines them ---------


def _selects(selector: dict, labels: dict) -> bool:
    """A label selector; the empty selector selects everything."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    ops = {
        "In": lambda v, vs: v in vs,
        "NotIn": lambda v, vs: v not in vs,
        "Exists": lambda v, vs: v is not None,
        "DoesNotExist": lambda v, vs: v is None,
    }
    return all(
        ops[e["operator"]](labels.get(e["key"]), e.get("values", []))
        for e in selector.get("matchExpressions", [])
    )


def _policies(docs: list[dict], labels: dict, direction: str) -> list[dict]:
    return [
        p
        for p in objects(docs, "NetworkPolicy")
        if direction in p["spec"].get("policyTypes", ["Ingress"])
        and _selects(p["spec"]["podSelector"], labels)
    ]


def _port_allowed(rule: dict, port: int) -> bool:
    return not rule.get("ports") or any(
        p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in rule["ports"]
    )


def _peer_allowed(rule: dict, policy_ns: str, peer_ns: dict, peer_pod: dict) -> bool:
    """Whether one ingress rule admits a pod (its labels) from a namespace (its labels)."""
    if not rule.get("from"):
        return True  # no `from`: every peer
    for peer in rule["from"]:
        if "ipBlock" in peer:
            return True
        if "namespaceSelector" in peer:
            ns_ok = _selects(peer["namespaceSelector"], peer_ns)
        else:  # a bare podSelector means pods of the policy's own namespace
            ns_ok = peer_ns.get("kubernetes.io/metadata.name") == policy_ns
        if ns_ok and _selects(peer.get("podSelector", {}), peer_pod):
            return True
    return False


def ingress_allowed(
    docs: list[dict], labels: dict, port: int, peer_ns: dict, peer_pod: dict
) -> bool:
    policies = _policies(docs, labels, "Ingress")
    if not policies:
        return True
    return any(
        _port_allowed(r, port) and _peer_allowed(r, p["metadata"]["namespace"], peer_ns, peer_pod)
        for p in policies
        for r in p["spec"].get("ingress", [])
    )


def egress_allowed(docs: list[dict], labels: dict, port: int) -> bool:
    policies = _policies(docs, labels, "Egress")
    if not policies:
        return True
    return any(_port_allowed(r, port) for p in policies for r in p["spec"].get("egress", []))


PROMETHEUS_NS = {"kubernetes.io/metadata.name": "monitoring"}
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}
SAME_NS = {"kubernetes.io/metadata.name": "vigil"}
PEERS = {
    "prometheus": (PROMETHEUS_NS, PROMETHEUS_POD),
    "api pod": (SAME_NS, {"app.kubernetes.io/name": "vigil", "app.kubernetes.io/component": "api"}),
    "other namespace": ({"kubernetes.io/metadata.name": "default"}, {"app": "curl"}),
    "prometheus in the wrong namespace": (
        {"kubernetes.io/metadata.name": "default"},
        PROMETHEUS_POD,
    ),
}


@pytest.mark.parametrize("peer", PEERS, ids=list(PEERS))
def test_prod_lets_only_prometheus_reach_the_worker(
    peer: str, rendered: dict[str, list[dict]]
) -> None:
    docs = rendered["prod"]
    worker = by_name(docs, "Deployment", "vigil-worker")["spec"]["template"]["metadata"]["labels"]
    ns, pod = PEERS[peer]
    expected = peer == "prometheus"
    assert ingress_allowed(docs, worker, 9100, ns, pod) is expected
    assert ingress_allowed(docs, worker, 8000, ns, pod) is False


@pytest.mark.parametrize("role", ["vigil-api", "vigil-worker", "vigil-migrate"])
def test_prod_lets_every_role_reach_postgres(role: str, rendered: dict[str, list[dict]]) -> None:
    docs = rendered["prod"]
    labels = vigil_workloads(docs)[role]["spec"]["template"]["metadata"]["labels"]
    assert egress_allowed(docs, labels, 5432)


def test_prod_api_reaches_nothing_but_postgres_and_dns(rendered: dict[str, list[dict]]) -> None:
    docs = rendered["prod"]
    labels = by_name(docs, "Deployment", "vigil-api")["spec"]["template"]["metadata"]["labels"]
    assert egress_allowed(docs, labels, 53)
    assert not egress_allowed(docs, labels, 443)
    assert ingress_allowed(docs, labels, 8000, *PEERS["other namespace"])
