"""ICMP without raw sockets: unprivileged (SOCK_DGRAM) pings, and a clear message when neither works.

net.ipv4.ping_group_range is per network namespace, so each case runs in a child process in a
private namespace (`unshare --net`, loopback only) and the host's setting is never touched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

CHILD = r"""
import asyncio, json, socket, sys
from vigil_worker.checks.icmp import IcmpUnavailable, Pinger

async def main():
    pinger = Pinger("dgram")
    async def one():
        async with asyncio.timeout(3):
            return await pinger.ping("127.0.0.1", socket.AF_INET)
    try:
        rtts = await asyncio.gather(*(one() for _ in range(200)))
    except IcmpUnavailable as exc:
        print(json.dumps({"error": str(exc)}))
        return
    print(json.dumps({"mode": pinger.mode_of(socket.AF_INET), "ok": len(rtts)}))
    pinger.close()

asyncio.run(main())
"""


def _in_netns(group_range: str) -> dict:
    script = (
        f"ip link set lo up && echo '{group_range}' > /proc/sys/net/ipv4/ping_group_range "
        f'&& exec {sys.executable} -c "$CHILD"'
    )
    proc = subprocess.run(
        ["unshare", "--net", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env={"CHILD": CHILD, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    if proc.returncode != 0 and "unshare" in proc.stderr:
        pytest.skip(f"no private network namespace here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def _needs_unshare() -> None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare/ip not installed")


def test_unprivileged_icmp_socket_pings() -> None:
    assert _in_netns("0 2147483647") == {"mode": "dgram", "ok": 200}


def test_neither_socket_allowed_gives_a_clear_message() -> None:
    error = _in_netns("1 0")["error"]
    assert "CAP_NET_RAW" in error and "ping_group_range" in error
