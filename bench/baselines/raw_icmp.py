"""Baseline for ICMP: one shared raw socket, replies matched by id and sequence, CONCURRENCY pings in flight.

Needs root or CAP_NET_RAW. Pings 127.0.0.1 only; prints one JSON line with the pings sent, the
ones lost (no reply within the timeout) and its CPU time over the measured window.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct

from vigil_worker.checks.icmp import checksum

from .common import count_window, parser, run_and_print


def _echo(ident: int, seq: int) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    payload = b"vigil-bench-ping"
    return struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq) + payload


async def run(
    host: str, concurrency: int, warmup_s: float, duration_s: float, timeout_s: float
) -> dict:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setblocking(False)
    # Every raw ICMP socket gets a copy of every reply; a small buffer drops them under load.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 2**20)
    ident = os.getpid() & 0xFFFF
    waiting: dict[int, asyncio.Future] = {}
    seq = 0

    def on_readable() -> None:
        while True:
            try:
                packet = sock.recv(2048)
            except BlockingIOError:
                return
            ihl = (packet[0] & 0x0F) * 4
            kind, _, _, pid, got = struct.unpack("!BBHHH", packet[ihl : ihl + 8])
            if kind == 0 and pid == ident and (fut := waiting.pop(got, None)) and not fut.done():
                fut.set_result(None)

    async def once() -> bool:
        nonlocal seq
        seq = (seq + 1) & 0xFFFF
        mine = seq
        fut = waiting[mine] = loop.create_future()
        sock.sendto(_echo(ident, mine), (host, 0))
        try:
            await asyncio.wait_for(fut, timeout_s)
            return True
        except TimeoutError:
            waiting.pop(mine, None)
            return False

    loop.add_reader(sock.fileno(), on_readable)
    try:
        return await count_window(
            once, concurrency=concurrency, warmup_s=warmup_s, duration_s=duration_s
        )
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()


def main() -> None:
    p = parser(__doc__, ["icmp"])
    p.add_argument("--address", default="127.0.0.1", choices=["127.0.0.1"])
    p.add_argument("--timeout", type=float, default=1.0)
    args = p.parse_args()
    run_and_print(
        run(args.address, args.concurrency, args.warmup, args.duration, args.timeout), args.loop
    )


if __name__ == "__main__":
    main()
