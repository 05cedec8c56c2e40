"""Test helpers: database URLs, free ports, `vigil` child processes and loopback servers."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from vigil_core import accounts
from vigil_core.db import connect
from vigil_core.tokens import Keyring

# The server secret of every API the tests run (in process, or `vigil` children).
TEST_SECRET_KEY = "vigil-test-secret-key-0123456789abcdef"
TEST_KEYRING = Keyring(TEST_SECRET_KEY.encode())


def database_url_for(server_url: str, database: str) -> str:
    """The same server and credentials as `server_url`, another database."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + database))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_vigil(args: list[str], env: Mapping[str, str]) -> subprocess.Popen:
    """Run `vigil ARGS` as a real child process, as compose or Kubernetes would."""
    return subprocess.Popen(
        [sys.executable, "-m", "vigil_cli", *args],
        env={**os.environ, "VIGIL_SECRET_KEY": TEST_SECRET_KEY, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> str:
    """SIGTERM, wait, and return what it printed (for failure messages)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


async def mint_token(
    db_url: str,
    scope: str = "admin",
    *,
    name: str | None = None,
    expires_at: object = None,
    user_id: int | None = None,
) -> str:
    """A new API token in the database at `db_url`, as `vigil token create` makes one."""
    conn = await connect(db_url)
    try:
        token, _ = await accounts.create_token(
            conn,
            TEST_KEYRING,
            name=name or f"test-{scope}-{os.urandom(4).hex()}",
            scope=scope,
            expires_at=expires_at,  # type: ignore[arg-type]
            created_by="tests",
            created_by_user_id=user_id,
        )
    finally:
        await conn.close()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def wait_http_ok(
    url: str, deadline_s: float = 20, proc: subprocess.Popen | None = None
) -> None:
    """Poll `url` until it answers 200, or fail with what the process printed."""
    end = time.monotonic() + deadline_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < end:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"process exited early:\n{stop_process(proc)}")
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not answer 200 within {deadline_s}s")


async def create_target(http: aiohttp.ClientSession, base: str, body: dict) -> dict:
    """POST a target through the API and return it; fails the test on anything but 201."""
    async with http.post(f"{base}/api/v1/targets", json=body) as resp:
        assert resp.status == 201, await resp.text()
        return await resp.json()


async def wait_for_checks(
    http: aiohttp.ClientSession, base: str, target_id: int, deadline_s: float
) -> list[dict]:
    """Poll GET .../checks until a result shows up or the deadline passes; returns the items."""
    end = time.monotonic() + deadline_s
    while True:
        async with http.get(f"{base}/api/v1/targets/{target_id}/checks") as resp:
            assert resp.status == 200, await resp.text()
            items = (await resp.json())["items"]
        if items or time.monotonic() >= end:
            return items
