"""`vigil apply -f FILE` against a real API server on loopback."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from vigil_cli.main import build_parser

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


async def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    # The subcommand as `vigil` runs it, minus main()'s logging set-up: that would point
    # structlog at pytest's captured stderr, which is closed after this test.
    args = build_parser().parse_args(["apply", *argv])
    code = await asyncio.to_thread(args.func, None, args)
    out = capsys.readouterr()
    return code, out.out, out.err


async def stored(live) -> dict[str, dict]:
    async with aiohttp.ClientSession() as s, s.get(f"{live.url}/api/v1/targets") as resp:
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
