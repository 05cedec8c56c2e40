"""`vigil dev` brings up the whole system on an embedded PostgreSQL and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil
import pytest

from .support import create_target, free_port, wait_for_checks, wait_http_ok


def _processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any(str(path) in part for part in cmdline):
            found.append(proc)
    return found


@pytest.mark.skipif(
    sys.version_info >= (3, 13), reason="pgserver has wheels for CPython 3.11 and 3.12 only"
)
async def test_dev_runs_everything_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "devdata"
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_DATABASE_URL"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vigil_cli",
            "dev",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal session
    )
    try:
        await wait_http_ok(f"http://127.0.0.1:{port}/readyz", deadline_s=60, proc=proc)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            target = await create_target(
                http,
                base,
                {
                    "name": "self",
                    "kind": "http",
                    "url": f"{base}/healthz",
                    "interval_s": 60,
                    "timeout_s": 5,
                },
            )
            items = await wait_for_checks(http, base, target["id"], deadline_s=10)
        assert items and items[0]["ok"] is True
        assert (data_dir / "pgdata" / "PG_VERSION").exists()
        assert _processes_using(data_dir), "expected the embedded postgres to run from the data dir"
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "stopped" in out
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_using(data_dir):
        time.sleep(0.2)
    assert _processes_using(data_dir) == [], "postgres survived Ctrl-C"
    children = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "vigil_cli" in " ".join(p.info["cmdline"] or [])
        and str(port) in " ".join(p.info["cmdline"] or [])
    ]
    assert children == [], "API or worker survived Ctrl-C"
