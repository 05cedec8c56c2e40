"""compose/compose.yaml is valid for both compose implementations and wires Vigil as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from vigil_cli.main import build_parser
from vigil_core.settings import load_settings

from .conftest import (
    COMPOSE_FILE,
    COMPOSE_REQUIRED,
    PROMETHEUS_CONFIG,
    ROOT,
    TEST_POSTGRES_PASSWORD,
    docker_compose_config,
    run,
    venv_tool,
)

ROLES = {"migrate": "migrate", "api": "api", "worker": "worker"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_valid_against_the_compose_spec_schema() -> None:
    result = run(
        [
            venv_tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "profile", [[], ["--profile", "observability"]], ids=["default", "observability"]
)
def test_accepted_by_docker_compose_v1(profile: list[str], tmp_path: Path) -> None:
    result = docker_compose_config(tmp_path, COMPOSE_REQUIRED, *profile, "config", "-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
@pytest.mark.parametrize("name", COMPOSE_REQUIRED)
def test_without_a_required_value_compose_says_where_to_set_it(
    name: str, value: str | None, tmp_path: Path
) -> None:
    """No server secret and no database password have defaults: compose refuses to start."""
    result = docker_compose_config(tmp_path, {**COMPOSE_REQUIRED, name: value}, "config", "-q")
    assert result.returncode != 0
    assert f"set {name} in compose/.env" in result.stderr, result.stderr
    assert "compose/.env.example" in result.stderr


def test_env_example_documents_every_variable_compose_reads() -> None:
    """Each ${NAME} in compose.yaml is explained in .env.example, and the required values are
    left empty there (a copied template fails with the message above, never runs keyless or with
    a guessable password)."""
    example = (COMPOSE_FILE.parent / ".env.example").read_text()
    names = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE_FILE.read_text()))
    assert {"VIGIL_SECRET_KEY", "VIGIL_API_ALLOWED_HOSTS", "POSTGRES_PASSWORD"} <= names
    for name in names:
        assert re.search(rf"^#? ?{name}=", example, re.M), f"{name} is not in .env.example"
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE_FILE.read_text()))
    assert required == set(COMPOSE_REQUIRED), "only the secrets have no default"
    for name in required:
        assert re.search(rf"^{name}=$", example, re.M), f"{name} has a value in .env.example"


def test_the_api_creates_the_first_admin_from_a_mounted_file(compose_resolved: dict) -> None:
    api = compose_resolved["services"]["api"]
    (secret,) = api["secrets"]
    name = secret["source"] if isinstance(secret, dict) else secret
    assert api["environment"]["VIGIL_INITIAL_ADMIN_PASSWORD_FILE"] == f"/run/secrets/{name}"
    assert compose_resolved["secrets"][name]["file"].startswith(str(COMPOSE_FILE.parent))
    # Nobody but the API reads the password or the Prometheus token.
    for service, svc in compose_resolved["services"].items():
        if service not in {"api", "prometheus", "grafana"}:
            assert not svc.get("secrets"), service


def test_observability_profile_adds_prometheus_and_grafana_only(compose: dict) -> None:
    # (docker-compose 1.29's `config --services` ignores profiles, so read the file.)
    profiles = {name: svc.get("profiles") for name, svc in compose["services"].items()}
    assert {n for n, p in profiles.items() if p} == {"prometheus", "grafana"}
    assert profiles["prometheus"] == profiles["grafana"] == ["observability"]


@pytest.mark.parametrize("service", ROLES)
def test_each_role_runs_a_real_vigil_command_from_the_one_image(
    service: str, compose: dict
) -> None:
    svc = compose["services"][service]
    assert svc["image"] == "vigil:dev" and svc["build"]["context"] == ".."
    assert (COMPOSE_FILE.parent / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
    command = svc["command"]
    assert command[0] == "vigil", command
    assert build_parser().parse_args(command[1:]).command == ROLES[service]


def test_start_order_postgres_then_migrate_then_api_and_worker(compose: dict) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    # A one-shot: restarting it would re-run it forever.
    assert services["migrate"]["restart"] == "no"


def test_postgres_is_pinned_healthchecked_and_persistent(compose: dict) -> None:
    pg = compose["services"]["postgres"]
    assert re.fullmatch(r"postgres:\d+(\.\d+)?", pg["image"]), pg["image"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    volume = pg["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "the data volume must be a named volume"


def test_api_on_localhost_8000_and_no_vigil_service_keeps_a_capability(compose: dict) -> None:
    services = compose["services"]
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["api"]["command"][-2:] == ["--port", "8000"]
    # ICMP goes through unprivileged sockets (the sysctl), as in Kubernetes; NET_RAW would give
    # the non-root worker nothing.
    assert not any("cap_add" in s for s in services.values())
    for name in ROLES:
        svc = services[name]
        assert svc["cap_drop"] == ["ALL"] and svc["read_only"] is True, name
        assert svc["security_opt"] == ["no-new-privileges:true"], name
    assert services["worker"]["sysctls"] == {"net.ipv4.ping_group_range": "0 2147483647"}


def test_no_password_is_a_default(compose_resolved: dict) -> None:
    """PostgreSQL's password is compose/.env's POSTGRES_PASSWORD (the test's here), which Vigil's
    roles get as PGPASSWORD, never in a URL; Grafana's admin password is a file you create."""
    services = compose_resolved["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == TEST_POSTGRES_PASSWORD
    for name in ROLES:
        env = services[name]["environment"]
        assert env["PGPASSWORD"] == TEST_POSTGRES_PASSWORD, name
        assert env["VIGIL_DATABASE_URL"] == "postgresql://vigil@postgres:5432/vigil", name
    grafana = services["grafana"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana["environment"]
    (secret,) = grafana["secrets"]
    name = secret["source"] if isinstance(secret, dict) else secret
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == f"/run/secrets/{name}"
    source = Path(compose_resolved["secrets"][name]["file"])
    assert source.parent == COMPOSE_FILE.parent / "secrets", "a file the user creates"


def seconds(duration: str) -> float:
    """A compose duration (1m30s, 45s, 500ms) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_the_worker_gets_longer_than_its_own_shutdown_grace(compose_resolved: dict) -> None:
    """compose sends SIGKILL stop_grace_period after SIGTERM (10 s by default); the worker needs
    its grace (VIGIL_WORKER_GRACE_S) to finish checks and flush results, and a margin to exit."""
    worker = compose_resolved["services"]["worker"]
    grace = load_settings(worker["environment"]).worker_grace_s
    assert seconds(worker["stop_grace_period"]) >= grace + 5


def test_api_and_worker_have_healthchecks_on_the_ports_they_serve(compose: dict) -> None:
    services = compose["services"]
    api_port = services["api"]["command"][services["api"]["command"].index("--port") + 1]
    worker_port = services["worker"]["environment"]["VIGIL_WORKER_METRICS_PORT"]
    expected = {
        "api": f"http://127.0.0.1:{api_port}/readyz",
        "worker": f"http://127.0.0.1:{worker_port}/healthz",
    }
    for name, url in expected.items():
        check = services[name]["healthcheck"]
        assert check["test"][0] == "CMD" and f"'{url}'" in check["test"][-1], name
        assert seconds(check["timeout"]) < seconds(check["interval"]), name


def test_every_long_running_service_has_resource_limits(compose: dict) -> None:
    for name, svc in compose["services"].items():
        limits = svc.get("deploy", {}).get("resources", {}).get("limits", {})
        assert {"cpus", "memory"} <= limits.keys(), f"{name} has no CPU and memory limits"
    for name in ROLES:
        assert compose["services"][name]["pids_limit"] > 0, name


def test_prometheus_scrapes_the_ports_the_services_listen_on(compose: dict) -> None:
    """The compose Prometheus config names the services and ports compose actually runs."""
    services = compose["services"]
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    api_port = services["api"]["command"][services["api"]["command"].index("--port") + 1]
    worker_port = services["worker"]["environment"]["VIGIL_WORKER_METRICS_PORT"]
    assert targets == {"vigil-api": [f"api:{api_port}"], "vigil-worker": [f"worker:{worker_port}"]}


def test_observability_mounts_exist_and_match_the_configs(compose: dict) -> None:
    services = compose["services"]
    mounts = {}
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                assert (COMPOSE_FILE.parent / source).is_dir(), f"{name}: {source} does not exist"
                mounts[target] = (COMPOSE_FILE.parent / source).resolve()
    config_flag = next(
        a for a in services["prometheus"]["command"] if a.startswith("--config.file=")
    )
    config_path = config_flag.split("=", 1)[1]
    mount = next(t for t in mounts if config_path.startswith(t + "/"))
    assert mounts[mount] / config_path[len(mount) + 1 :] == PROMETHEUS_CONFIG

    # Grafana's dashboard provider reads the directory compose mounts the dashboard into.
    provider = yaml.safe_load(
        (ROOT / "observability/grafana/provisioning/dashboards/vigil.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] in mounts
    assert (
        mounts["/etc/grafana/provisioning"]
        == (ROOT / "observability/grafana/provisioning").resolve()
    )
