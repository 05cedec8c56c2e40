"""End to end as compose runs it: `vigil migrate`, `vigil api` and `vigil worker` as real
processes, scraped by a real Prometheus with the shipped config (and its token file) and alert
rules."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from ..support import bearer, free_port, mint_token, spawn_vigil, stop_process, wait_http_ok
from .conftest import COMPOSE_FILE, PROMETHEUS_CONFIG, RULES_FILE, tool
from .test_observability import ALERTS

SCRAPE_S = 1
# Prometheus shows its first samples only ~5.5 s after start (fixed discovery delay).
DEADLINE_S = 45

# Series that must exist once one HTTP check has run and been flushed, API requests have been
# served and Prometheus has scraped both. Families the rules and dashboard query as histograms
# are asked for by their _bucket series, so a type mismatch fails here.
EXPECTED_SERIES = [
    'vigil_target_up{name="e2e self"}',
    'vigil_target_latency_seconds{name="e2e self"}',
    'vigil_worker_checks_total{kind="http",outcome="ok"}',
    'vigil_worker_check_duration_seconds_bucket{kind="http"}',
    "vigil_worker_schedule_lag_seconds_bucket",
    "vigil_worker_flush_batch_size_bucket",
    "vigil_worker_flush_duration_seconds_bucket",
    "vigil_worker_result_buffer_depth",
    "vigil_worker_results_dropped_total",
    "vigil_http_requests_total",
    "vigil_http_request_duration_seconds_bucket",
    "vigil_db_pool_connections",
]


def prometheus_config(tmp_path: Path, api_port: int, worker_port: int, token_file: Path) -> Path:
    """The compose Prometheus config with loopback targets, a 1 s scrape interval, and the API's
    token read from `token_file` instead of compose's /run/secrets mount."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"].update(scrape_interval=f"{SCRAPE_S}s", evaluation_interval=f"{SCRAPE_S}s")
    config["rule_files"] = [str(RULES_FILE)]
    ports = {"vigil-api": api_port, "vigil-worker": worker_port}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
        if job["job_name"] == "vigil-api":
            assert job["authorization"]["credentials_file"].startswith("/run/secrets/")
            job["authorization"]["credentials_file"] = str(token_file)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def compose_api_env() -> dict[str, str]:
    """The API's allowed hosts as compose sets them by default (`${NAME:-default}`)."""
    env = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["api"]["environment"]
    (default,) = re.fullmatch(
        r"\$\{VIGIL_API_ALLOWED_HOSTS:-(.*)\}", env["VIGIL_API_ALLOWED_HOSTS"]
    ).groups()
    return {"VIGIL_API_ALLOWED_HOSTS": default}


async def query(session: aiohttp.ClientSession, base: str, promql: str) -> list[dict]:
    async with session.get(f"{base}/api/v1/query", params={"query": promql}) as resp:
        body = await resp.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


async def test_prometheus_scrapes_api_and_worker_started_like_compose(
    empty_db: str, tmp_path: Path
) -> None:
    prometheus = tool("prometheus")
    env = {"VIGIL_DATABASE_URL": empty_db, "VIGIL_LOG_LEVEL": "warning"}
    api_port, worker_port, prom_port = free_port(), free_port(), free_port()
    procs: list[tuple[str, subprocess.Popen]] = []
    prom_log = tmp_path / "prometheus.log"
    try:
        # 1. the one-shot migrate, exactly as the compose service runs it
        migrate = spawn_vigil(["migrate"], env)
        assert migrate.wait(timeout=60) == 0, stop_process(migrate)

        # 2. the API and the worker (with its metrics port), and the tokens compose's user makes
        # with `vigil token create`: one to create a target, Prometheus's `read` one in a file
        write_token = await mint_token(empty_db, "write")
        token_file = tmp_path / "prometheus-token"
        token_file.write_text(await mint_token(empty_db, "read", name="prometheus") + "\n")
        api = spawn_vigil(
            ["api", "--host", "127.0.0.1", "--port", str(api_port)], {**env, **compose_api_env()}
        )
        procs.append(("api", api))
        worker = spawn_vigil(["worker", "--metrics-port", str(worker_port)], env)
        procs.append(("worker", worker))
        api_url = f"http://127.0.0.1:{api_port}"
        await wait_http_ok(f"{api_url}/readyz", proc=api)
        await wait_http_ok(f"http://127.0.0.1:{worker_port}/healthz", proc=worker)
        async with aiohttp.ClientSession() as session:
            # Without the token, the scrape below could not succeed.
            async with session.get(f"{api_url}/metrics") as resp:
                assert resp.status == 401, await resp.text()

        # 3. Prometheus with the shipped config and rules
        with prom_log.open("w") as log:
            prom = subprocess.Popen(
                [
                    prometheus,
                    "--config.file="
                    + str(prometheus_config(tmp_path, api_port, worker_port, token_file)),
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(("prometheus", prom))

        async with aiohttp.ClientSession() as session:
            # something for the worker to check: the API's own liveness endpoint
            async with session.post(
                f"{api_url}/api/v1/targets",
                headers=bearer(write_token),
                json={
                    "name": "e2e self",
                    "kind": "http",
                    "url": f"{api_url}/healthz",
                    "interval_s": 5,
                    "timeout_s": 2,
                },
            ) as resp:
                assert resp.status == 201, await resp.text()

            base = f"http://127.0.0.1:{prom_port}"
            await wait_http_ok(f"{base}/-/ready", proc=prom)
            missing = EXPECTED_SERIES
            end = time.monotonic() + DEADLINE_S
            while missing and time.monotonic() < end:
                missing = [s for s in EXPECTED_SERIES if not await query(session, base, s)]
                if missing:
                    await asyncio.sleep(0.5)
            assert not missing, f"Prometheus has no series for {missing}"

            for job in ("vigil-api", "vigil-worker"):
                (up,) = await query(session, base, f'up{{job="{job}"}}')
                assert up["value"][1] == "1", job
            (target_up,) = await query(session, base, 'vigil_target_up{name="e2e self"}')
            assert target_up["metric"]["kind"] == "http"
            (checks,) = await query(session, base, 'sum(vigil_worker_checks_total{kind="http"})')
            assert float(checks["value"][1]) >= 1

            # The alert rules are loaded; once both jobs are scraped no worker alert is active
            # (the next evaluation after the first scrape clears `absent`, hence the poll).
            end = time.monotonic() + 15
            while True:
                async with session.get(f"{base}/api/v1/rules", params={"type": "alert"}) as resp:
                    groups = (await resp.json())["data"]["groups"]
                states = {r["name"]: r["state"] for g in groups for r in g["rules"]}
                quiet = (
                    states.get("VigilWorkerDown") == states.get("VigilResultsDropped") == "inactive"
                )
                if quiet or time.monotonic() > end:
                    break
                await asyncio.sleep(0.5)
            assert states.keys() == ALERTS
            assert quiet, states
    finally:
        outputs = {name: stop_process(p) for name, p in reversed(procs)}
        if prom_log.exists():
            outputs["prometheus"] = prom_log.read_text()[-3000:]
        print("\n".join(f"--- {name}\n{out[-3000:]}" for name, out in outputs.items()))
