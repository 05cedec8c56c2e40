"""Fault-suite fixtures: the zoo processes, `vigil` children whose output is kept, own clusters."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from vigil_core import embedded_pg, migrations

from ..support import free_port, spawn_vigil, wait_http_ok
from .certs import Certs, make_certs

ROOT = Path(__file__).resolve().parents[2]


# -- the zoo ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("fault-certs"))


def _zoo(role: str, certs: Certs) -> Iterator[dict[str, int]]:
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.zoo", role, str(certs.directory)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line:
            log.seek(0)
            raise AssertionError(f"zoo {role} did not start:\n{log.read().decode()}")
        yield json.loads(line)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def hostile(certs: Certs) -> Iterator[dict[str, int]]:
    """{server name: port} of zoo.HOSTILE and zoo.HOSTILE_TLS, in a process of their own."""
    yield from _zoo("hostile", certs)


@pytest.fixture(scope="session")
def healthy(certs: Certs) -> Iterator[dict[str, int]]:
    """Ports of a plain HTTP server, an HTTPS one (CA-signed), a TCP listener and the DNS server."""
    yield from _zoo("healthy", certs)


# -- vigil processes -------------------------------------------------------------------------


class Vigil:
    """A `vigil ...` child; its output is read as it comes, so a full pipe never blocks it."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = spawn_vigil(args, env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def events(self, name: str) -> list[dict]:
        """The JSON log lines whose structlog event is `name`."""
        found = []
        for line in list(self.lines):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == name:
                found.append(record)
        return found

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, wait (SIGKILL after `timeout`), and return the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        return self.proc.returncode

    async def until_http_ok(self, url: str, deadline_s: float = 20) -> None:
        try:
            await wait_http_ok(url, deadline_s)
        except AssertionError as exc:
            self._reader.join(timeout=1)
            raise AssertionError(f"{exc} (exit code {self.proc.poll()}):\n{self.output}") from None


class Worker(Vigil):
    """`vigil worker` with a metrics port of its own, trusting only the test CA."""

    def __init__(self, db_url: str, healthy: dict[str, int], certs: Certs, **env: str) -> None:
        self.port = free_port()
        super().__init__(
            ["worker"],
            {
                "VIGIL_DATABASE_URL": db_url,
                "VIGIL_LOG_FORMAT": "json",
                "VIGIL_WORKER_METRICS_HOST": "127.0.0.1",
                "VIGIL_WORKER_METRICS_PORT": str(self.port),
                "VIGIL_WORKER_LISTENER_PING_S": "1",
                "VIGIL_WORKER_GRACE_S": "5",
                "VIGIL_WORKER_DNS_SERVERS": f"127.0.0.1:{healthy['dns']}",
                "VIGIL_WORKER_DNS_TIMEOUT_S": "0.5",
                "SSL_CERT_FILE": str(certs.ca),
                **env,
            },
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.ps = psutil.Process(self.proc.pid)

    async def started(self) -> None:
        await self.until_http_ok(f"{self.base}/healthz")

    async def healthz(self) -> tuple[int, dict]:
        async with aiohttp.ClientSession() as s, s.get(f"{self.base}/healthz") as r:
            return r.status, await r.json()

    async def metric(self, name: str) -> float:
        """The sum of all samples of `name` (every label set) on /metrics."""
        async with aiohttp.ClientSession() as s, s.get(f"{self.base}/metrics") as r:
            text = await r.text()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name
        )

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20


class Api(Vigil):
    def __init__(self, db_url: str) -> None:
        port = free_port()
        super().__init__(
            ["api", "--port", str(port)], {"VIGIL_DATABASE_URL": db_url, "VIGIL_LOG_FORMAT": "json"}
        )
        self.base = f"http://127.0.0.1:{port}"


# -- a PostgreSQL cluster the test may stop ------------------------------------------------


class OwnPostgres:
    """A migrated pgserver cluster of the test's own, stopped and started at the same socket,
    so that restarting it cannot disturb the session cluster the other tests share."""

    def __init__(self, root: Path) -> None:
        self.pgdata = root / "pgdata"
        self.url = embedded_pg.start(self.pgdata)
        self.socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]
        migrations.apply(self.url)

    def _pg_ctl(self, *args: str) -> None:
        import pgserver

        pgserver.pg_ctl(
            ["-w", *args],
            pgdata=self.pgdata,
            user="pgserver" if os.geteuid() == 0 else None,
            timeout=30,
        )

    async def stop(self) -> None:
        await asyncio.to_thread(self._pg_ctl, "-m", "fast", "stop")

    async def start(self) -> None:
        await asyncio.to_thread(
            self._pg_ctl,
            "-o",
            '-h ""',
            "-o",
            f"-k {self.socket_dir}",
            "-l",
            str(self.pgdata / "log"),
            "start",
        )


@pytest.fixture
def own_pg() -> Iterator[OwnPostgres]:
    pytest.importorskip("pgserver")
    # A private temp dir (as in tests/conftest.py): a concurrent pytest run may prune
    # pytest's own basetemp under a running cluster.
    root = Path(tempfile.mkdtemp(prefix="vigil-test-faults-"))
    try:
        server = OwnPostgres(root)
        try:
            yield server
        finally:
            embedded_pg.stop(server.pgdata)
    finally:
        shutil.rmtree(root, ignore_errors=True)
