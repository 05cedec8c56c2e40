"""`vigil apply -f FILE` against a real API server on loopback, with the API token from
VIGIL_TOKEN or --token-file: missing or mistyped ones stop it before any request, refused ones
say why and what to do."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from vigil_cli.main import build_parser
from vigil_core.tokens import generate

# Nothing listens there: a command that got that far would say "cannot reach the API".
NOWHERE = "http://127.0.0.1:9"
NO_TOKEN = (
    "vigil apply: no API token: set VIGIL_TOKEN or pass --token-file;"
    " `vigil token create --name ci --scope write` makes one\n"
)

TARGETS_YAML = """\
targets:
  - name: web
    kind: http
    url: http://127.0.0.1:9/health
    interval_s: 30
    expected_status: [200, "3xx"]
    labels: {env: prod}
  - name: db
    kind: tcp
    host: 127.0.0.1
    port: 5432
"""


@pytest.fixture(autouse=True)
def write_token(monkeypatch, tokens) -> str:
    """What CI sets: a `write` token in VIGIL_TOKEN."""
    monkeypatch.setenv("VIGIL_TOKEN", tokens["write"])
    return tokens["write"]


async def run_cli(capsys, *argv: str, command: str = "apply") -> tuple[int, str, str]:
    # The subcommand as `vigil` runs it, minus main()'s logging set-up: that would point
    # structlog at pytest's captured stderr, which is closed after this test.
    args = build_parser().parse_args([command, *argv])
    code = await asyncio.to_thread(args.func, None, args)
    out = capsys.readouterr()
    return code, out.out, out.err


async def stored(live) -> dict[str, dict]:
    async with (
        aiohttp.ClientSession(headers=live.headers) as s,
        s.get(f"{live.url}/api/v1/targets") as resp,
    ):
        assert resp.status == 200, await resp.text()
        return {t["name"]: t for t in (await resp.json())["items"]}


async def test_cli_applies_yaml_then_shows_a_dry_run_diff(live, tmp_path, capsys) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS_YAML)
    code, out, err = await run_cli(capsys, "-f", str(path), "--api-url", live.url)
    assert code == 0, err
    assert out.splitlines() == ["+ db", "+ web", "2 created, 0 updated, 0 deleted, 0 unchanged"]
    targets = await stored(live)
    assert targets["web"]["expected_status"] == [200, "3xx"] and targets["db"]["port"] == 5432

    path.write_text(
        TARGETS_YAML.replace("interval_s: 30", "interval_s: 10").split("  - name: db")[0]
    )
    code, out, _ = await run_cli(
        capsys, "-f", str(path), "--api-url", live.url, "--prune", "--dry-run"
    )
    assert code == 0
    assert out.splitlines() == [
        "~ web",
        "    interval_s: 30.0 -> 10.0",
        "    timeout_s: 10.0 -> 5.0",
        "- db",
        "dry run, nothing changed: 0 created, 1 updated, 1 deleted, 0 unchanged",
    ]
    assert (await stored(live))["web"]["interval_s"] == 30

    code, out, _ = await run_cli(capsys, "-f", str(path), "--api-url", live.url, "--prune")
    assert code == 0 and out.splitlines()[-1] == "0 created, 1 updated, 1 deleted, 0 unchanged"
    assert list(await stored(live)) == ["web"]


async def test_cli_reads_json_and_reports_field_errors(live, tmp_path, capsys) -> None:
    path = tmp_path / "targets.json"
    path.write_text(json.dumps([{"name": "gw", "kind": "icmp", "host": "::1", "interval_s": 0}]))
    code, out, err = await run_cli(capsys, "-f", str(path), "--api-url", live.url)
    assert code == 1 and out == ""
    assert "400" in err and "targets[0].interval_s:" in err


async def test_cli_explains_bad_files_and_unreachable_api(live, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: [unclosed")
    code, _, err = await run_cli(capsys, "-f", str(bad), "--api-url", live.url)
    assert code == 1 and "not valid YAML" in err
    bad.write_text("name: just-one-target")
    code, _, err = await run_cli(capsys, "-f", str(bad), "--api-url", live.url)
    assert code == 1 and "must hold `targets:`" in err
    code, _, err = await run_cli(capsys, "-f", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read" in err
    bad.write_text(TARGETS_YAML)
    code, _, err = await run_cli(capsys, "-f", str(bad), "--api-url", "http://127.0.0.1:9")
    assert code == 1 and "cannot reach the API" in err


async def test_without_a_token_it_says_how_to_get_one_before_any_request(
    live, tmp_path, capsys, monkeypatch
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS_YAML)
    monkeypatch.delenv("VIGIL_TOKEN")
    assert await run_cli(capsys, "-f", str(path), "--api-url", NOWHERE) == (2, "", NO_TOKEN)
    monkeypatch.setenv("VIGIL_TOKEN", "  ")
    assert await run_cli(capsys, "-f", str(path), "--api-url", NOWHERE) == (2, "", NO_TOKEN)


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param(lambda t: t[:-1], id="truncated"),
        pytest.param(lambda t: t[:20] + ("A" if t[20] != "A" else "B") + t[21:], id="typo"),
        pytest.param(lambda t: "Bearer " + t, id="with-bearer"),
        pytest.param(lambda t: t.replace("vgl_", "vgi_"), id="prefix"),
    ],
)
async def test_a_mistyped_token_is_refused_here_by_its_checksum(
    live, tmp_path, capsys, monkeypatch, write_token, mistake
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS_YAML)
    wrong = mistake(write_token)
    monkeypatch.setenv("VIGIL_TOKEN", wrong)
    code, out, err = await run_cli(capsys, "-f", str(path), "--api-url", NOWHERE)
    assert (code, out) == (2, "")
    assert err.startswith("vigil apply: the token in VIGIL_TOKEN fails the typo check")
    assert f"this one has {len(wrong)}" in err and "cannot reach" not in err
    assert wrong not in err  # never printed


async def test_a_token_file_is_read_and_wins_over_the_environment(
    live, tmp_path, capsys, monkeypatch, write_token
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS_YAML)
    token_file = tmp_path / "token"
    token_file.write_text(write_token + "\n")  # as `vigil token create ... > token` leaves it
    monkeypatch.setenv("VIGIL_TOKEN", "not-a-token")
    args = ["-f", str(path), "--api-url", live.url, "--token-file", str(token_file)]
    code, out, err = await run_cli(capsys, *args)
    assert code == 0, err
    assert out.splitlines()[-1] == "2 created, 0 updated, 0 deleted, 0 unchanged"

    token_file.write_text("")
    code, _, err = await run_cli(capsys, *args)
    assert code == 2 and f"--token-file {token_file} is empty" in err
    code, _, err = await run_cli(capsys, *args[:-1], str(tmp_path / "missing"))
    assert code == 2 and "cannot read --token-file" in err and "No such file" in err


async def test_a_token_the_api_refuses_gets_its_reason_and_what_to_do(
    live, tmp_path, capsys, monkeypatch, tokens
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS_YAML)

    monkeypatch.setenv("VIGIL_TOKEN", generate())  # well formed, but no Vigil made it
    code, out, err = await run_cli(capsys, "-f", str(path), "--api-url", live.url)
    assert (code, out) == (2, "")
    assert err.startswith("vigil apply: the API did not accept the token (401)")
    assert "`vigil token list` shows its state" in err and "vigil token create" in err

    monkeypatch.setenv("VIGIL_TOKEN", tokens["read"])  # apply needs `write`
    code, out, err = await run_cli(capsys, "-f", str(path), "--api-url", live.url)
    assert (code, out) == (2, "")
    assert err.startswith("vigil apply: the token may not do this (403): ")
    assert "`write`" in err and "--scope" in err
    assert await stored(live) == {}


GATUS = """\
endpoints:
  - name: api
    url: "http://127.0.0.1:9/health"
    conditions: ["[STATUS] == 200"]
"""


async def test_import_apply_sends_the_token_too(
    live, tmp_path, capsys, monkeypatch, write_token
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(GATUS)
    out_file = tmp_path / "vigil.yaml"
    args = ["gatus", str(config), "--apply", "--api-url", NOWHERE, "-o", str(out_file)]
    monkeypatch.delenv("VIGIL_TOKEN")
    code, out, err = await run_cli(capsys, *args, command="import")
    assert (code, out) == (2, "")
    assert "vigil import gatus: no API token: set VIGIL_TOKEN or pass --token-file" in err
    assert not out_file.exists()  # stopped before writing anything

    token_file = tmp_path / "token"
    token_file.write_text(write_token)
    args[4] = live.url
    code, out, err = await run_cli(capsys, *args, "--token-file", str(token_file), command="import")
    assert code == 0, err
    assert "+ api" in out and list(await stored(live)) == ["api"]
