"""The kustomize overlays render, pass strict Kubernetes 1.32 validation and keep their promises."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from vigil_cli.main import build_parser
from vigil_core.settings import load_settings

from .conftest import (
    K8S_VERSION,
    KUSTOMIZE,
    OVERLAYS,
    ROOT,
    RULES_FILE,
    TEST_ADMIN_PASSWORD,
    TEST_POSTGRES_PASSWORD,
    USER_FILES,
    kustomize_build,
    kustomize_copy,
    load_prometheusrule_renderer,
    run,
    tool,
    venv_tool,
    with_components,
)
from .network_policy import Pod, connects
from .pod_security import restricted_violations

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
        # Not even NET_RAW for the worker: a non-root process would not get it, and the
        # namespace's "restricted" admission would refuse the pod.
        assert not sc["capabilities"].get("add"), f"{where}: adds {sc['capabilities']['add']}"


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


def test_dev_postgres_password_is_the_users_file_and_no_url_carries_one(
    rendered: dict[str, list[dict]],
) -> None:
    """The server and Vigil's roles share the password from kustomize/overlays/dev/postgres.env
    (the test's throwaway one here): the server as a file, the roles as PGPASSWORD."""
    docs = rendered["dev"]
    pg = by_name(docs, "StatefulSet", "vigil-postgres")
    (server,) = containers(pg)
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert "POSTGRES_PASSWORD" not in env and "envFrom" not in server
    (mount,) = [
        m
        for m in server["volumeMounts"]
        if env["POSTGRES_PASSWORD_FILE"].startswith(m["mountPath"])
    ]
    (volume,) = [v for v in pg["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    (item,) = volume["secret"]["items"]
    assert env["POSTGRES_PASSWORD_FILE"] == f"{mount['mountPath']}/{item['path']}"
    secret = by_name(docs, "Secret", volume["secret"]["secretName"])
    assert base64.b64decode(secret["data"][item["key"]]).decode() == TEST_POSTGRES_PASSWORD

    for name, w in vigil_workloads(docs).items():
        (c,) = containers(w)
        assert secret_env(c)["PGPASSWORD"] == {
            "name": secret["metadata"]["name"],
            "key": item["key"],
        }, name
    (database,) = [
        s for s in objects(docs, "Secret") if s["metadata"]["name"].startswith("vigil-database-")
    ]
    url = base64.b64decode(database["data"]["VIGIL_DATABASE_URL"]).decode()
    assert url == "postgresql://vigil@vigil-postgres:5432/vigil", "no password in the URL"


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


@pytest.mark.parametrize("missing", USER_FILES, ids=[Path(f).name for f in USER_FILES])
def test_dev_needs_the_files_the_docs_name(missing: str, tmp_path: Path) -> None:
    """Without one of the files a user creates, the dev overlay does not render (rather than run
    without a server secret or with a default password), and kustomize's error names that file,
    which docs/deploy.md and the overlay's header say how to create."""
    root = kustomize_copy(tmp_path)
    (root / missing).unlink()
    result = run([tool("kubectl"), "kustomize", str(root / "overlays" / "dev")])
    assert result.returncode != 0
    assert Path(missing).name in result.stderr, result.stderr
    assert f"kustomize/{missing}" in (ROOT / "docs" / "deploy.md").read_text()
    assert f"kustomize/{missing}" in (KUSTOMIZE / "overlays/dev/kustomization.yaml").read_text()


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


# --- NetworkPolicies, evaluated (network_policy.py) for who may talk to whom --------------

INGRESS_CONTROLLER = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
KUBE_DNS = Pod("kube-system", {"k8s-app": "kube-dns"})
OUTSIDERS = {
    "a pod in another namespace": Pod("default", {"app": "curl"}),
    "prometheus in the wrong namespace": Pod("default", PROMETHEUS.labels),
    "the ingress controller's namespace, another pod": Pod("ingress-nginx", {"app": "curl"}),
}


def pod_of(docs: list[dict], name: str) -> Pod:
    """The pod a workload of the rendered overlay runs, in the overlay's namespace."""
    (w,) = [d for d in docs if d["kind"] in WORKLOADS and d["metadata"]["name"] == name]
    return Pod(w["metadata"]["namespace"], w["spec"]["template"]["metadata"]["labels"])


def stranger(docs: list[dict]) -> Pod:
    """Another app's pod in Vigil's own namespace."""
    return Pod(pod_of(docs, "vigil-api").namespace, {"app": "curl"})


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_ingress_controller_and_prometheus_reach_the_api(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    docs = rendered[overlay]
    api = pod_of(docs, "vigil-api")
    assert connects(docs, INGRESS_CONTROLLER, api, 8000)
    assert connects(docs, PROMETHEUS, api, 8000)
    for who in [*OUTSIDERS.values(), stranger(docs), pod_of(docs, "vigil-worker")]:
        assert not connects(docs, who, api, 8000), who
    assert not connects(docs, INGRESS_CONTROLLER, api, 9100)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_prometheus_reaches_the_worker(overlay: str, rendered: dict[str, list[dict]]) -> None:
    docs = rendered[overlay]
    worker = pod_of(docs, "vigil-worker")
    assert connects(docs, PROMETHEUS, worker, 9100)
    for who in [*OUTSIDERS.values(), INGRESS_CONTROLLER, stranger(docs), pod_of(docs, "vigil-api")]:
        assert not connects(docs, who, worker, 9100), who
    assert not connects(docs, PROMETHEUS, worker, 8000)


# Where checks go: the internet (v4 and v6), a private network; and the cloud metadata
# endpoints (AWS, GCP and Azure's 169.254.169.254, AWS's IPv6 one), which stay out of reach.
TARGETS = {"1.1.1.1": True, "2606:4700::1111": True, "10.20.30.40": True}
METADATA = ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "fe80::1"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_worker_reaches_any_target_but_the_cloud_metadata(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    docs = rendered[overlay]
    worker = pod_of(docs, "vigil-worker")
    for address in TARGETS:
        for port in (80, 443, 25):
            assert connects(docs, worker, address, port), (address, port)
        assert connects(docs, worker, address, 53, "UDP")
    for address in METADATA:
        assert not connects(docs, worker, address, 80), address
    assert connects(docs, worker, KUBE_DNS, 53, "UDP")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_and_the_migrate_job_reach_only_postgres_and_dns(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    docs = rendered[overlay]
    for role in ("vigil-api", "vigil-migrate"):
        pod = pod_of(docs, role)
        assert connects(docs, pod, "10.0.5.5", 5432), "an external database"
        assert connects(docs, pod, KUBE_DNS, 53, "UDP") and connects(docs, pod, KUBE_DNS, 53)
        for address in ("1.1.1.1", "169.254.169.254", "10.0.5.5"):
            assert not connects(docs, pod, address, 443), (role, address)
        assert not connects(docs, pod, pod_of(docs, "vigil-worker"), 9100)


def test_in_dev_only_vigils_roles_reach_postgres_and_postgres_reaches_nothing(
    rendered: dict[str, list[dict]],
) -> None:
    docs = rendered["dev"]
    postgres = pod_of(docs, "vigil-postgres")
    for role in ROLES:
        assert connects(docs, pod_of(docs, role), postgres, 5432), role
    for who in [*OUTSIDERS.values(), stranger(docs), INGRESS_CONTROLLER, PROMETHEUS]:
        assert not connects(docs, who, postgres, 5432), who
    for destination in (KUBE_DNS, pod_of(docs, "vigil-api"), "1.1.1.1"):
        assert not connects(docs, postgres, destination, 53, "UDP")
        assert not connects(docs, postgres, destination, 8000)


def test_the_network_parameters_set_who_may_connect(tmp_path: Path) -> None:
    """The ingress controller and Prometheus come from the overlay's `vigil-network` ConfigMap,
    which kustomize reads but does not deploy."""
    root = kustomize_copy(tmp_path)
    params = root / "overlays" / "prod" / "network.yaml"
    doc = yaml.safe_load(params.read_text())
    assert doc["metadata"]["annotations"] == {"config.kubernetes.io/local-config": "true"}
    doc["data"] = {
        "ingress-namespace": "traefik",
        "ingress-name": "traefik",
        "prometheus-namespace": "observability",
        "prometheus-name": "vmagent",
    }
    params.write_text(yaml.safe_dump(doc))
    docs = list(yaml.safe_load_all(kustomize_build(root / "overlays" / "prod")))
    assert not [d for d in docs if d["metadata"]["name"] == "vigil-network"]
    api, worker = pod_of(docs, "vigil-api"), pod_of(docs, "vigil-worker")
    traefik = Pod("traefik", {"app.kubernetes.io/name": "traefik"})
    vmagent = Pod("observability", {"app.kubernetes.io/name": "vmagent"})
    assert connects(docs, traefik, api, 8000) and connects(docs, vmagent, api, 8000)
    assert connects(docs, vmagent, worker, 9100)
    assert not connects(docs, INGRESS_CONTROLLER, api, 8000)
    assert not connects(docs, PROMETHEUS, worker, 9100)


# --- Pod Security Admission and shutdown ------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_namespace_enforces_restricted_and_every_pod_meets_it(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    docs = rendered[overlay]
    (namespace,) = objects(docs, "Namespace")
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", mode
    workloads = [d for d in docs if d["kind"] in WORKLOADS]
    assert len(workloads) == (4 if overlay == "dev" else 3)
    for w in workloads:
        assert w["metadata"]["namespace"] == namespace["metadata"]["name"]
        violations = restricted_violations(w["spec"]["template"]["spec"])
        assert not violations, f"{w['metadata']['name']}: {violations}"


def test_the_restricted_check_rejects_what_the_standard_forbids() -> None:
    """The evaluator above is not a rubber stamp: NET_RAW, root, a missing seccomp profile and
    an unsafe sysctl each fail it."""
    ok = {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
            "sysctls": [{"name": "net.ipv4.ping_group_range", "value": "0 2147483647"}],
        },
        "containers": [
            {
                "name": "c",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    assert restricted_violations(ok) == []
    bad = [
        ("containers", 0, "securityContext", "capabilities", "add", ["NET_RAW"]),
        ("securityContext", "runAsUser", 0),
        ("securityContext", "seccompProfile", {"type": "Unconfined"}),
        ("securityContext", "sysctls", [{"name": "net.core.somaxconn", "value": "1024"}]),
        ("volumes", [{"name": "h", "hostPath": {"path": "/"}}]),
        ("hostNetwork", True),
    ]
    for *path, value in bad:
        pod = yaml.safe_load(yaml.safe_dump(ok))
        node = pod
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert restricted_violations(pod), path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_worker_gets_longer_than_its_own_shutdown_grace(
    overlay: str, rendered: dict[str, list[dict]]
) -> None:
    """SIGKILL comes terminationGracePeriodSeconds after SIGTERM; the worker needs its grace
    (VIGIL_WORKER_GRACE_S) to finish checks and flush results, and a margin to exit."""
    docs = rendered[overlay]
    worker = by_name(docs, "Deployment", "vigil-worker")
    (c,) = containers(worker)
    config = {
        k: v
        for d in objects(docs, "ConfigMap")
        if d["metadata"]["name"] in {e["configMapRef"]["name"] for e in c["envFrom"]}
        for k, v in d["data"].items()
    }
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    grace = load_settings({**config, **{k: v for k, v in env.items() if v}}).worker_grace_s
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= grace + 5
