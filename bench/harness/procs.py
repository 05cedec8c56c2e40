"""Child processes (vigil, nginx, blackbox_exporter, baselines) with log files and CPU/RSS accounting."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil

from tests.support import wait_http_ok

# The server secret of every Vigil process a bench run starts (its tokens are minted under it by
# Lab.token); a throwaway key for throwaway databases.
BENCH_SECRET_KEY = "vigil-bench-secret-key-0123456789abcdef"
# What a `vigil` child, or a bench module serving Vigil's own app, runs with besides its own settings.
VIGIL_ENV = {
    "VIGIL_LOG_LEVEL": "warning",
    "VIGIL_LOG_FORMAT": "json",
    "VIGIL_SECRET_KEY": BENCH_SECRET_KEY,
}


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.proc.pid)

    def rss_bytes(self) -> int:
        total = 0
        for p in _tree(self.proc.pid):
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (the graceful path: a worker flushes its buffer), then SIGKILL after `timeout`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process and its children so far (0 for no pid): the live
    ones' own, and the exited ones' their parents reaped (`children_*`), so that a child exiting
    inside a window (a Postgres backend, an autovacuum worker) does not take its time with it."""
    total = 0.0
    for p in _tree(pid) if pid else []:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def busy_cpu_seconds() -> float:
    """CPU time all cores of the machine spent busy so far (user, nice, system, irq, softirq;
    guest time is inside user, steal is another VM's)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def spawn(name: str, argv: list[str], workdir: Path, env: Mapping[str, str] | None = None) -> Child:
    """Start a child whose output goes to WORKDIR/NAME.log (never a pipe nobody reads)."""
    log_path = workdir / f"{name}.log"
    log = log_path.open("ab")
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=workdir,
    )
    log.close()
    return Child(name, proc, log_path)


def spawn_vigil(name: str, args: list[str], workdir: Path, env: Mapping[str, str]) -> Child:
    """`vigil ARGS` as its own process, as compose or Kubernetes would run it."""
    return spawn(name, [sys.executable, "-m", "vigil_cli", *args], workdir, {**VIGIL_ENV, **env})


def spawn_python(
    name: str, module: str, args: list[str], workdir: Path, env: Mapping[str, str] | None = None
) -> Child:
    return spawn(name, [sys.executable, "-m", module, *args], workdir, env)


async def wait_port(
    port: int, child: Child, deadline_s: float = 20.0, host: str = "127.0.0.1"
) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        child.check_alive()
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(
        f"{child.name} did not listen on {host}:{port} within {deadline_s}s:\n{child.tail()}"
    )


async def wait_http(url: str, child: Child, deadline_s: float = 30.0) -> None:
    """Poll `url` until it answers 200; on failure the child's log tail says why."""
    try:
        await wait_http_ok(url, deadline_s, proc=child.proc)
    except AssertionError as exc:
        raise RuntimeError(f"{child.name}: {exc}\n{child.tail()}") from None


def raise_fd_limit(wanted: int = 65536) -> None:
    """Fresh connections at high concurrency need many descriptors; children inherit the limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def wait_worker_ready(port: int, child: Child, deadline_s: float = 60.0) -> None:
    """Poll a worker's /healthz until it answers 200 with its LISTEN connection up."""
    end = time.monotonic() + deadline_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < end:
            child.check_alive()
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    body = await resp.json(content_type=None)
                    if resp.status == 200 and body.get("listener_connected", True):
                        return
            except (aiohttp.ClientError, ValueError):
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{child.name} was not ready within {deadline_s}s:\n{child.tail()}")
