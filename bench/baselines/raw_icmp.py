"""Baseline for ICMP: one shared raw socket, replies matched by id and sequence, CONCURRENCY pings in flight.

Needs root or CAP_NET_RAW. Pings 127.0.0.1 only; prints one JSON line with the pings answered,
the ones lost (no reply within the timeout) and its CPU time over the measured window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import time


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo(ident: int, seq: int) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    payload = b"vigil-bench-ping"
    return struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload


async def run(host: str, concurrency: int, warmup_s: float, duration_s: float, timeout_s: float) -> dict:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setblocking(False)
    # Every raw ICMP socket gets a copy of every reply; a small buffer drops them under load.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 2**20)
    ident = os.getpid() & 0xFFFF
    waiting: dict[int, asyncio.Future] = {}

    def on_readable() -> None:
        while True:
            try:
                packet = sock.recv(2048)
            except BlockingIOError:
                return
            ihl = (packet[0] & 0x0F) * 4
            kind, _, _, pid, seq = struct.unpack("!BBHHH", packet[ihl:ihl + 8])
            if kind == 0 and pid == ident and (fut := waiting.pop(seq, None)) and not fut.done():
                fut.set_result(None)

    loop.add_reader(sock.fileno(), on_readable)
    seq = 0
    counting = False
    answered = lost = 0
    stop_at = time.monotonic() + warmup_s + duration_s

    async def pinger() -> None:
        nonlocal seq, answered, lost
        while time.monotonic() < stop_at:
            seq = (seq + 1) & 0xFFFF
            my = seq
            fut = loop.create_future()
            waiting[my] = fut
            sock.sendto(_echo(ident, my), (host, 0))
            try:
                await asyncio.wait_for(fut, timeout_s)
                ok = True
            except asyncio.TimeoutError:
                waiting.pop(my, None)
                ok = False
            if counting:
                answered += ok
                lost += not ok

    tasks = [asyncio.create_task(pinger()) for _ in range(concurrency)]
    await asyncio.sleep(warmup_s)
    counting = True
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(duration_s)
    counting = False
    cpu1, wall1 = time.process_time(), time.monotonic()
    await asyncio.gather(*tasks)
    loop.remove_reader(sock.fileno())
    sock.close()
    return {"checks": answered + lost, "errors": lost, "cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=["icmp"], default="icmp")
    parser.add_argument("--address", default="127.0.0.1", choices=["127.0.0.1"])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    coro = run(args.address, args.concurrency, args.warmup, args.duration, args.timeout)
    if args.loop == "uvloop":
        import uvloop

        result = uvloop.run(coro)
    else:
        result = asyncio.run(coro)
    print(json.dumps({**result, "loop": args.loop}), flush=True)


if __name__ == "__main__":
    main()
