"""The HTTP check's memory under hostile bodies: 1,000 concurrent checks with a keyword rule
against an endless body and an endless gzip bomb, served from another process.

The server runs in a child process (`python -m tests.worker.test_http_memory`), so the RSS
measured here is the checks' alone: what the body cap, the rolling keyword search and the
bounded decoding hold at once.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import gzip
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from vigil_worker.checks import CheckContext, run_check

from .test_checks import ctx, target  # noqa: F401  (ctx is a fixture)

CONCURRENCY = 1000
LIMIT_MB = 300  # the bound issue 12 sets for the worker's RSS at this concurrency
ROOT = Path(__file__).resolve().parents[2]


# -- the server (child process) ---------------------------------------------------------------


async def _serve() -> None:
    blocks = {
        b"/endless": (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"x" * 65536),
        # members of 16 MiB of zeros (16 KiB each on the wire), one after another for ever
        b"/bomb": (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n",
            gzip.compress(b"\0" * (16 << 20), compresslevel=9),
        ),
    }

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            first, block = blocks[head.split(b" ", 2)[1]]
            writer.write(first)
            for _ in range(1 << 16):  # bounded: 4 GiB of endless body, 1 TiB of bomb
                writer.write(block)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, KeyError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Serve until the test closes our stdin (or is gone).
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


@pytest.fixture(scope="module")
def far_server() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.worker.test_http_memory"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the measurement --------------------------------------------------------------------------


class PeakRss:
    """Samples this process's RSS from a thread (the event loop is busy with the checks)."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        return self._proc.memory_info().rss

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _release_freed_memory() -> None:
    """Hand memory freed by earlier tests back to the OS, so each case starts from a baseline
    of what is live (glibc keeps freed heap pages, which would hide one case's growth)."""
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)


# (id, path, settings)
CASES = [
    ("endless-keyword", "/endless", {"keyword": "needle"}),
    ("endless-keyword-absent", "/endless", {"keyword_absent": "needle"}),
    ("gzip-bomb-keyword", "/bomb", {"keyword": "needle"}),
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("path, settings", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_rss_stays_bounded_at_1000_concurrent(
    far_server: str, ctx: CheckContext, path, settings
) -> None:
    targets = [target("http", far_server + path, 60, **settings) for _ in range(CONCURRENCY)]
    await asyncio.gather(*(run_check(t, ctx) for t in targets[:20]))  # warm up the code paths
    _release_freed_memory()
    started = time.perf_counter()
    with PeakRss() as rss:
        baseline = rss.now()
        outcomes = await asyncio.gather(*(run_check(t, ctx) for t in targets))
    growth_mb = (rss.peak - baseline) / 1e6
    elapsed = time.perf_counter() - started
    verdicts = Counter((o.error_class, o.status_code) for o in outcomes)
    print(
        f"\n{path} {settings}: RSS {baseline / 1e6:.0f} MB -> peak {rss.peak / 1e6:.0f} MB "
        f"(+{growth_mb:.0f} MB) for {CONCURRENCY} checks in {elapsed:.1f} s; {dict(verdicts)}"
    )
    assert verdicts == {("body_too_large", 200): CONCURRENCY}, verdicts
    assert growth_mb < LIMIT_MB / 2, f"RSS grew by {growth_mb:.0f} MB"


if __name__ == "__main__":
    asyncio.run(_serve())
