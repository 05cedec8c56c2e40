"""`vigil dev` brings up the whole system on an embedded PostgreSQL, with what a first check needs
(an admin, its password printed once, an admin token in a 0600 file), and Ctrl-C leaves nothing
behind."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
import pytest

from .support import bearer, create_target, free_port, wait_for_checks, wait_http_ok

pytestmark = [
    pytest.mark.skipif(
        sys.version_info >= (3, 13), reason="pgserver has wheels for CPython 3.11 and 3.12 only"
    ),
    pytest.mark.timeout(300),  # three starts of an embedded PostgreSQL
]

CURL_HINT = re.compile(r'curl -H "Authorization: Bearer \$\(cat (?P<path>[^)]+)\)" (?P<base>\S+)')


def _processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any(str(path) in part for part in cmdline):
            found.append(proc)
    return found


@dataclass
class Output:
    """What a running process prints, line by line, read by a thread so the test can wait
    for a line while the process runs."""

    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.lines.append("")  # EOF
            self.changed.notify_all()

    def wait_for(self, pattern: re.Pattern[str], deadline_s: float = 90) -> re.Match[str]:
        end = time.monotonic() + deadline_s
        with self.changed:
            while True:
                for line in self.lines:
                    if m := pattern.search(line):
                        return m
                left = end - time.monotonic()
                if left <= 0 or self.lines[-1:] == [""]:
                    raise AssertionError(f"no line matching {pattern.pattern!r}:\n{self.text}")
                self.changed.wait(left)

    def wait_closed(self, deadline_s: float = 10) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.lines[-1:] == [""], deadline_s), self.text

    @property
    def text(self) -> str:
        return "".join(self.lines)


@dataclass
class Dev:
    proc: subprocess.Popen
    out: Output
    base: str
    metrics_port: int
    cwd: Path


@contextmanager
def vigil_dev(data_dir: Path, port: int, cwd: Path) -> Iterator[Dev]:
    """`vigil dev` as a newcomer runs it (no database URL, no key, no token set), stopped by
    Ctrl-C at the end; asserts it stopped cleanly."""
    drop = {
        "VIGIL_DATABASE_URL",
        "VIGIL_SECRET_KEY",
        "VIGIL_SECRET_KEY_FILE",
        "VIGIL_TOKEN",
        "VIGIL_INITIAL_ADMIN_PASSWORD_FILE",
        "VIGIL_WORKER_METRICS_HOST",
    }
    metrics_port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["VIGIL_WORKER_METRICS_PORT"] = str(metrics_port)
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
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal session
    )
    out = Output(proc)
    try:
        yield Dev(proc, out, f"http://127.0.0.1:{port}", metrics_port, cwd)
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    out.wait_closed()
    assert proc.returncode == 0, out.text
    assert "stopped" in out.text


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _start(dev: Dev) -> str:
    """Waits for the API and the curl hint; returns the token the hint's file holds."""
    await wait_http_ok(f"{dev.base}/readyz", deadline_s=60, proc=dev.proc)
    hint = dev.out.wait_for(CURL_HINT)
    assert hint["base"] == f"{dev.base}/api/v1/targets"
    return (dev.cwd / hint["path"]).read_text().strip()


async def _status(base: str, token: str) -> int:
    async with aiohttp.ClientSession(headers=bearer(token)) as http:
        async with http.get(f"{base}/api/v1/targets") as resp:
            return resp.status


async def test_dev_makes_an_admin_and_a_token_runs_everything_and_ctrl_c_stops_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    # Relative, as in the README (`.vigil` in the checkout): the hint's `cat` path works from there.
    data_dir = Path(".vigil")
    root = tmp_path / data_dir
    with vigil_dev(data_dir, port, cwd=tmp_path) as dev:
        token = await _start(dev)
        base = dev.base
        assert "username: admin" in dev.out.text
        password = dev.out.wait_for(re.compile(r"^\s+password: (\S+)$"))[1]
        assert _mode(root / "secret-key") == 0o600 and _mode(root / "admin-token") == 0o600
        assert len((root / "secret-key").read_text().strip()) >= 32

        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            login = {"username": "admin", "password": password}
            async with browser.post(f"{base}/api/v1/auth/login", json=login) as resp:
                assert resp.status == 200, await resp.text()
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(f"{base}/api/v1/targets") as resp:
                assert resp.status == 401

        # The README's first check, with the token from the file.
        async with aiohttp.ClientSession(headers=bearer(token)) as http:
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

        # The worker's metrics listen on loopback only.
        listening = [
            c
            for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == dev.metrics_port
        ]
        assert [c.laddr.ip for c in listening] == ["127.0.0.1"], listening
        assert (root / "pgdata" / "PG_VERSION").exists()
        assert _processes_using(root.resolve()), "expected postgres to run from the data dir"

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_using(root.resolve()):
        time.sleep(0.2)
    assert _processes_using(root.resolve()) == [], "postgres survived Ctrl-C"
    children = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "vigil_cli" in " ".join(p.info["cmdline"] or [])
        and str(port) in " ".join(p.info["cmdline"] or [])
    ]
    assert children == [], "API or worker survived Ctrl-C"

    # A second start: no new password, the same key and token, which still work.
    key = (root / "secret-key").read_text()
    with vigil_dev(data_dir, port, cwd=tmp_path) as dev:
        assert await _start(dev) == token
        assert await _status(dev.base, token) == 200
        assert "password:" not in dev.out.text and password not in dev.out.text
        assert (root / "secret-key").read_text() == key

        # Revoked (with the database URL it prints for `vigil token`), the token stops working.
        url = dev.out.wait_for(re.compile(r"VIGIL_DATABASE_URL='([^']+)'"))[1]
        revoke = subprocess.run(
            [sys.executable, "-m", "vigil_cli", "token", "revoke", "vigil-dev"],
            env={**os.environ, "VIGIL_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert revoke.returncode == 0, revoke.stderr
        end = time.monotonic() + 10
        while await _status(dev.base, token) != 401:
            assert time.monotonic() < end, "the revoked token still works"
            await asyncio.sleep(0.05)

    # A third start replaces the revoked token with a working one (still 0600).
    with vigil_dev(data_dir, port, cwd=tmp_path) as dev:
        new = await _start(dev)
        assert new != token
        assert await _status(dev.base, new) == 200 and await _status(dev.base, token) == 401
        assert _mode(root / "admin-token") == 0o600
        assert "password:" not in dev.out.text
