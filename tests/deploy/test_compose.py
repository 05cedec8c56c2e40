"""compose/compose.yaml is valid for both compose implementations and wires Vigil as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from vigil_cli.main import build_parser

from .conftest import (
    COMPOSE_FILE,
    PROMETHEUS_CONFIG,
    ROOT,
    TEST_SECRET_KEY,
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
    result = docker_compose_config(
        tmp_path, {"VIGIL_SECRET_KEY": TEST_SECRET_KEY}, *profile, "config", "-q"
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_without_a_secret_key_compose_says_where_to_set_it(
    value: str | None, tmp_path: Path
) -> None:
    result = docker_compose_config(tmp_path, {"VIGIL_SECRET_KEY": value}, "config", "-q")
    assert result.returncode != 0
    assert "set VIGIL_SECRET_KEY in compose/.env" in result.stderr, result.stderr
    assert "compose/.env.example" in result.stderr


def test_env_example_documents_every_variable_compose_reads() -> None:
    """Each ${NAME} in compose.yaml is explained in .env.example, and the one required value
    is left empty there (a copied template fails with the message above, never runs keyless)."""
    example = (COMPOSE_FILE.parent / ".env.example").read_text()
    names = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE_FILE.read_text()))
    assert {"VIGIL_SECRET_KEY", "VIGIL_API_ALLOWED_HOSTS"} <= names
    for name in names:
        assert re.search(rf"^#? ?{name}=", example, re.M), f"{name} is not in .env.example"
    assert re.search(r"^VIGIL_SECRET_KEY=$", example, re.M)
    required = re.findall(r"\$\{([A-Z_]+):\?", COMPOSE_FILE.read_text())
    assert required == ["VIGIL_SECRET_KEY"], "only the server secret has no default"


def test_the_api_creates_the_first_admin_from_a_mounted_file(compose_resolved: dict) -> None:
    api = compose_resolved["services"]["api"]
    (secret,) = api["secrets"]
    name = secret["source"] if isinstance(secret, dict) else secret
    assert api["environment"]["VIGIL_INITIAL_ADMIN_PASSWORD_FILE"] == f"/run/secrets/{name}"
    assert compose_resolved["secrets"][name]["file"].startswith(str(COMPOSE_FILE.parent))
    # Nobody but the API reads the password or the Prometheus token.
    for service, svc in compose_resolved["services"].items():
        if service not in {"api", "prometheus"}:
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


def test_api_on_localhost_8000_and_worker_with_net_raw(compose: dict) -> None:
    services = compose["services"]
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["api"]["command"][-2:] == ["--port", "8000"]
    assert services["worker"]["cap_add"] == ["NET_RAW"]
    assert not any("cap_add" in s for n, s in services.items() if n != "worker")


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
