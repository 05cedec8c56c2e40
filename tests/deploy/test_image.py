"""The Dockerfile (not buildable here: no engine) copies what exists and runs as documented."""

from __future__ import annotations

import json
import re
import shlex
import tomllib

from vigil_cli.main import build_parser

from .conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


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
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    copies = [arg for op, arg in instructions() if op == "COPY"]
    for member in members:
        assert f"{member}/pyproject.toml {member}/" in copies, member
    syncs = [arg for op, arg in instructions() if op == "RUN" and "uv sync" in arg]
    assert syncs and all("--locked" in s and "--no-dev" in s for s in syncs)


def test_runtime_stage_is_non_root_without_build_tools_and_runs_vigil() -> None:
    builder, runtime = stages()
    assert "uv" not in " ".join(arg for op, arg in runtime if op in {"RUN", "COPY"} and "--from=builder" not in arg)
    (user,) = [arg for op, arg in runtime if op == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root uid, so runAsNonRoot can verify it"
    copied = [arg for op, arg in runtime if op == "COPY"]
    assert any("/app/sql/migrations" in c for c in copied), "migrations must ship in the image"
    (cmd,) = [json.loads(arg) for op, arg in runtime if op == "CMD"]
    assert cmd[0] == "vigil" and build_parser().parse_args(cmd[1:]).command == "api"
