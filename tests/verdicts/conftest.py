"""Verdict fixtures: the loopback servers, one blackbox_exporter per session and Vigil's check context."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from vigil_core.settings import Settings
from vigil_worker import checks
from vigil_worker.checks import CheckContext

from ..support import free_port, wait_http_ok
from .cases import BODY_CAP, CASES, blackbox_module
from .servers import Loopback, loopback_servers

BLACKBOX = os.environ.get("VIGIL_TEST_BLACKBOX", "/usr/bin/prometheus-blackbox-exporter")


@pytest.fixture(scope="session")
def verdict_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="vigil-verdicts-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
async def loopback(verdict_dir: Path) -> AsyncIterator[Loopback]:
    async with loopback_servers(verdict_dir) as servers:
        yield servers


@dataclass
class Blackbox:
    base: str
    http: aiohttp.ClientSession

    async def _get(self, module: str, target: str, **extra: str) -> str:
        params = {"module": module, "target": target, **extra}
        async with self.http.get(f"{self.base}/probe", params=params) as resp:
            text = await resp.text()
            assert resp.status == 200, text
            return text

    async def probe(self, module: str, target: str) -> bool:
        """probe_success of one probe of `target` with `module`."""
        text = await self._get(module, target)
        for family in text_string_to_metric_families(text):
            if family.name == "probe_success":
                return family.samples[0].value == 1
        raise AssertionError(f"no probe_success in blackbox's answer:\n{text}")

    async def debug(self, module: str, target: str) -> str:
        """blackbox's own log of a second probe, for failure messages."""
        return await self._get(module, target, debug="true")


@pytest.fixture(scope="session")
async def blackbox(loopback: Loopback, verdict_dir: Path) -> AsyncIterator[Blackbox]:
    """Debian's prometheus-blackbox-exporter on 127.0.0.1 with one module per case."""
    if not os.access(BLACKBOX, os.X_OK):
        pytest.skip(
            f"{BLACKBOX} is not installed (apt-get install prometheus-blackbox-exporter; "
            ".ci/run does it)"
        )
    modules = {
        c.id: blackbox_module(c, c.address.format_map(loopback.urls), str(loopback.ca_file))
        for c in CASES
    }
    config = verdict_dir / "blackbox.yml"
    config.write_text(json.dumps({"modules": modules}, indent=1))  # JSON is YAML
    port = free_port()
    log_path = verdict_dir / "blackbox.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [BLACKBOX, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            await wait_http_ok(f"{base}/-/healthy", deadline_s=20, proc=proc)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log_path.read_text()}") from None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            yield Blackbox(base=base, http=http)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@asynccontextmanager
async def vigil_context() -> AsyncIterator[CheckContext]:
    """The checks' context started as serve() starts it; the one place to adapt if that changes."""
    async with checks.running(Settings(worker_http_body_cap_bytes=BODY_CAP)) as ctx:
        yield ctx


@pytest.fixture(scope="session")
async def vigil() -> AsyncIterator[CheckContext]:
    """One context for the session, as one worker shares it across all its checks."""
    async with vigil_context() as ctx:
        yield ctx
