"""The Dockerfile (not buildable here: no engine) copies what exists and runs as documented."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vigil_cli.main import build_parser
from vigil_core.embedded_pg import MISSING

from ..support import free_port
from .conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for op, arg in instructions():
        if op == "FROM":
            out.append([])
        if out:
            out[-1].append((op, arg))
    return out


def allowed_by_dockerignore() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in lines, ".dockerignore is an allow-list: it starts by excluding everything"
    return {line[1:].rstrip("/") for line in lines if line.startswith("!")}


def test_build_context_holds_every_copied_path() -> None:
    allowed = allowed_by_dockerignore()
    for op, arg in instructions():
        if op != "COPY" or arg.startswith("--from"):
            continue
        *sources, _dest = shlex.split(arg)
        for source in sources:
            if source == ".":
                continue
            assert (ROOT / source).exists(), f"COPY {source}: no such path"
            assert source.split("/")[0] in allowed, f"COPY {source}: excluded by .dockerignore"


def test_dependency_layer_copies_every_workspace_member_manifest() -> None:
    """`uv sync --locked` needs every member's pyproject.toml before the source is copied."""
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"][
        "members"
    ]
    copies = [arg for op, arg in instructions() if op == "COPY"]
    for member in members:
        assert f"{member}/pyproject.toml {member}/" in copies, member
    syncs = [arg for op, arg in instructions() if op == "RUN" and "uv sync" in arg]
    assert syncs and all("--locked" in s and "--no-dev" in s for s in syncs)


def test_runtime_stage_is_non_root_without_build_tools_and_runs_vigil() -> None:
    builder, runtime = stages()
    assert "uv" not in " ".join(
        arg for op, arg in runtime if op in {"RUN", "COPY"} and "--from=builder" not in arg
    )
    (user,) = [arg for op, arg in runtime if op == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root uid, so runAsNonRoot can verify it"
    copied = [arg for op, arg in runtime if op == "COPY"]
    assert any("/app/sql/migrations" in c for c in copied), "migrations must ship in the image"
    from_builder = {shlex.split(arg)[-1] for arg in copied if arg.startswith("--from=builder")}
    assert from_builder == {"/app/.venv", "/app/sql/migrations"}, (
        "the runtime takes the venv and migrations only"
    )
    (cmd,) = [json.loads(arg) for op, arg in runtime if op == "CMD"]
    assert cmd[0] == "vigil" and build_parser().parse_args(cmd[1:]).command == "api"
    # Nothing is installed or compiled in the runtime stage, and the base image's installer and
    # build tools are removed.
    runs = " ".join(arg for op, arg in runtime if op == "RUN")
    assert not re.search(r"apt-get install|pip install|uv (pip|sync)|\bgcc\b|\bmake\b", runs)
    assert re.search(r"pip uninstall --yes .*\bpip setuptools wheel\b", runs)
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(arg for op, arg in runtime if op == "ENV")))
    assert env["PYTHONDONTWRITEBYTECODE"] == "1", "the root filesystem is read-only"


def test_both_stages_build_on_one_pinned_base() -> None:
    """The venv's interpreter is the base image's, so builder and runtime must be the same
    image, and a tag written out (not an ARG) is what scanners and reviewers can see."""
    bases = [arg.split()[0] for op, arg in instructions() if op == "FROM"]
    assert len(bases) == 2 and bases[0] == bases[1], bases
    name, _, tag = bases[0].partition(":")
    assert name == "python" and re.fullmatch(r"3\.11-slim-\w+", tag.split("@")[0]), bases[0]
    assert not re.search(r"^\s*ARG\b", DOCKERFILE, re.M)


def healthcheck() -> tuple[dict[str, str], list[str]]:
    """The HEALTHCHECK's options and exec-form command."""
    (arg,) = [arg for op, arg in instructions() if op == "HEALTHCHECK"]
    options, _, command = arg.partition(" CMD ")
    return dict(o.lstrip("-").split("=") for o in options.split()), json.loads(command)


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    """A loopback /healthz answering whatever `server.RequestHandlerClass.status` says."""
    handler = type("Health", (_Health,), {"status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


CASES = {
    "the API answers": ("api", 200, 0),
    "the worker answers": ("worker", 200, 0),
    "the API fails its health": ("api", 503, 1),
    "the worker fails its health": ("worker", 503, 1),
    "nothing listens": (None, 200, 1),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_healthcheck_asks_the_roles_own_health_endpoint(
    case: str, health_server: ThreadingHTTPServer
) -> None:
    """The image's HEALTHCHECK command, run as Docker would (in the venv's python), against a
    loopback /healthz on the port of the API (VIGIL_API_PORT) or the worker's metrics."""
    role, status, expected = CASES[case]
    health_server.RequestHandlerClass.status = status
    port = str(health_server.server_address[1])
    idle = str(free_port())
    env = {
        **os.environ,
        "VIGIL_API_PORT": port if role == "api" else idle,
        "VIGIL_WORKER_METRICS_PORT": port if role == "worker" else idle,
    }
    options, command = healthcheck()
    assert command[:2] == ["python", "-c"]
    proc = subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == expected, proc.stderr
    assert {"interval", "timeout", "start-period", "retries"} <= options.keys()


def runtime_packages() -> set[str]:
    """What `uv sync --no-dev` installs from uv.lock: the root project and its dependencies, with
    their extras, under every marker (so a package needed on any platform counts)."""
    packages = {p["name"]: p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [("vigil", ())]
    while todo:
        if (key := todo.pop()) in seen:
            continue
        seen.add(key)
        name, extras = key
        optional = packages[name].get("optional-dependencies", {})
        deps = [
            *packages[name].get("dependencies", []),
            *(d for e in extras for d in optional.get(e, [])),
        ]
        todo += [(d["name"], tuple(d.get("extra", ()))) for d in deps]
    return {name for name, _ in seen}


def test_runtime_has_neither_pgserver_nor_bench() -> None:
    """The image runs api, worker and migrate: no embedded PostgreSQL, no benchmarks."""
    runtime = runtime_packages()
    assert {"vigil-core", "vigil-api", "vigil-worker", "asyncpg", "psycopg-binary"} <= runtime
    assert "pgserver" not in runtime and "pytest" not in runtime
    lock = {p["name"]: p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    dev = {d["name"] for d in lock["vigil"]["dev-dependencies"]["dev"]}
    assert "pgserver" in dev, "`uv run vigil dev` in a checkout installs pgserver (the dev group)"

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert not any(Path(p).name == "bench" for p in wheel["packages"]), (
        "bench/ is not in the vigil wheel"
    )
    assert not any(target.startswith("bench") for target in project["project"]["scripts"].values())
    assert "bench" not in allowed_by_dockerignore()


def test_vigil_dev_without_pgserver_says_how_to_get_it(tmp_path: Path) -> None:
    """In the image (no pgserver), `vigil dev` with no database URL is a one-line error, not a traceback."""
    no_pgserver = (
        "import sys; sys.modules['pgserver'] = None; "  # `import pgserver` raises ImportError
        "from vigil_cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-c", no_pgserver, "dev", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [f"vigil: {MISSING}"]
