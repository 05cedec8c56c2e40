"""`vigil apply -f FILE` as a real child process against a real API server: `${VAR}` from the
environment (secrets stored, never printed), `$${` literal, defaults, a missing variable named
with its line, and a hostile value that stays one string."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from ..support import spawn_vigil

FILE = """\
# A commented-out reference needs no variable: ${NOT_SET_ANYWHERE}
channels:
  - name: ops-hook
    kind: webhook
    config:
      url: http://127.0.0.1:9/hook
      secret: ${HOOK_SECRET}
      headers: {Authorization: "Bearer ${HOOK_TOKEN}"}
  - name: ops-slack
    kind: slack
    config: {url: "${VIGIL_TEST_SLACK_URL:-http://127.0.0.1:9/services/T0/B0/default}"}
targets:
  - name: web
    kind: http
    url: http://127.0.0.1:9/
    labels: {env: prod, template: "$${HOME}"}
routes:
  - name: prod
    match_labels: {env: prod}
    channels: [ops-hook, ops-slack]
"""
SECRET = "signing-secret-from-env-1"
TOKEN = "token-from-env-1"


@pytest.fixture(autouse=True)
async def no_channels(db, monkeypatch) -> None:
    # The module's database is emptied of targets for each test; channels and routes too here.
    await db.execute("DELETE FROM routes; DELETE FROM channels")
    for name in ("HOOK_SECRET", "HOOK_TOKEN", "SLACK_URL", "VIGIL_TEST_SLACK_URL"):
        monkeypatch.delenv(name, raising=False)


async def vigil_apply(live, path, env: dict[str, str], *flags: str) -> tuple[int, str]:
    """Run `vigil apply` as a child process; its exit code and what it printed."""
    token = live.headers["Authorization"].removeprefix("Bearer ")
    proc = spawn_vigil(
        ["apply", "-f", str(path), "--api-url", live.url, *flags], {"VIGIL_TOKEN": token, **env}
    )
    try:
        out, _ = await asyncio.to_thread(proc.communicate, timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, out


async def test_secrets_come_from_the_environment_and_are_never_printed(live, db, tmp_path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(FILE)
    code, out = await vigil_apply(live, path, {"HOOK_SECRET": SECRET, "HOOK_TOKEN": TOKEN})
    assert code == 0, out
    assert out.splitlines() == [
        "+ channel ops-hook",
        "+ channel ops-slack",
        "+ web",
        "+ route prod",
        "channels: 2 created, 0 updated, 0 deleted, 0 unchanged",
        "targets: 1 created, 0 updated, 0 deleted, 0 unchanged",
        "routes: 1 created, 0 updated, 0 deleted, 0 unchanged",
    ]
    configs = {r["name"]: r["config"] for r in await db.fetch("SELECT name, config FROM channels")}
    assert configs["ops-hook"]["secret"] == SECRET
    assert configs["ops-hook"]["headers"] == {"Authorization": f"Bearer {TOKEN}"}
    assert configs["ops-slack"] == {"url": "http://127.0.0.1:9/services/T0/B0/default"}
    labels = await db.fetchval("SELECT labels FROM targets WHERE name = 'web'")
    assert labels == {"env": "prod", "template": "${HOME}"}, "$${ is a literal ${"

    slack = "http://127.0.0.1:9/services/T0/B0/slack-from-env"
    env = {
        "HOOK_SECRET": "another-secret-from-env",
        "HOOK_TOKEN": TOKEN,
        "VIGIL_TEST_SLACK_URL": slack,
    }
    code, out = await vigil_apply(live, path, env, "--dry-run")
    assert code == 0, out
    assert out.splitlines() == [
        "~ channel ops-hook",
        "    config changed",
        "~ channel ops-slack",
        "    config changed",
        "dry run, nothing changed:",
        "channels: 0 created, 2 updated, 0 deleted, 0 unchanged",
        "targets: 0 created, 0 updated, 0 deleted, 1 unchanged",
        "routes: 0 created, 0 updated, 0 deleted, 1 unchanged",
    ]
    for secret in (SECRET, TOKEN, "another-secret", "slack-from-env", "T0/B0"):
        assert secret not in out
    assert (await db.fetchval("SELECT config FROM channels WHERE name = 'ops-hook'"))[
        "secret"
    ] == SECRET


async def test_a_variable_that_is_not_set_is_named_with_its_line(live, db, tmp_path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(
        FILE.replace(
            "${VIGIL_TEST_SLACK_URL:-http://127.0.0.1:9/services/T0/B0/default}", "${SLACK_URL}"
        )
    )
    code, out = await vigil_apply(live, path, {"HOOK_SECRET": SECRET})
    assert code == 2
    assert out.splitlines() == [
        f"vigil apply: {path}:8: ${{HOOK_TOKEN}} is not set",
        f"{path}:11: ${{SLACK_URL}} is not set",
    ]
    assert await db.fetchval("SELECT count(*) FROM channels") == 0


async def test_a_hostile_value_stays_one_string(live, db, tmp_path) -> None:
    hostile = "a: b\n- c\nsecret: 'x' \"y\" ${HOOK_TOKEN}\n  kind: slack"
    path = tmp_path / "vigil.yaml"
    path.write_text(FILE)
    code, out = await vigil_apply(live, path, {"HOOK_SECRET": hostile, "HOOK_TOKEN": TOKEN})
    assert code == 0, out
    rows = await db.fetch("SELECT name, kind, config FROM channels ORDER BY name")
    assert [(r["name"], r["kind"]) for r in rows] == [
        ("ops-hook", "webhook"),
        ("ops-slack", "slack"),
    ]
    assert rows[0]["config"]["secret"] == hostile, "replaced once, as a whole string"
    assert "a: b" not in out
