"""Baseline A: a bare client loop (aiohttp with force_close, or a bare TCP connect) with no storage.

Runs CONCURRENCY loops against one URL or host:port, warms up, then counts completed checks and
its own CPU time over DURATION seconds and prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


async def _http_once(session: aiohttp.ClientSession, url: str) -> bool:
    async with session.get(url) as resp:
        await resp.content.read(64 * 1024)
        return 200 <= resp.status < 400


async def _tcp_once(host: str, port: int) -> bool:
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    await writer.wait_closed()
    return True


async def run(kind: str, address: str, concurrency: int, warmup_s: float, duration_s: float) -> dict:
    counting = False
    done = errors = 0
    stop_at = time.monotonic() + warmup_s + duration_s
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        if kind == "http":
            once = lambda: _http_once(session, address)  # noqa: E731
        else:
            host, _, port = address.rpartition(":")
            once = lambda: _tcp_once(host, int(port))  # noqa: E731

        async def loop() -> None:
            nonlocal done, errors
            while time.monotonic() < stop_at:
                try:
                    ok = await asyncio.wait_for(once(), timeout=5)
                except (OSError, aiohttp.ClientError, asyncio.TimeoutError):
                    ok = False
                if counting:
                    done += 1
                    errors += not ok

        tasks = [asyncio.create_task(loop()) for _ in range(concurrency)]
        await asyncio.sleep(warmup_s)
        counting = True
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(duration_s)
        counting = False
        cpu1, wall1 = time.process_time(), time.monotonic()
        await asyncio.gather(*tasks)
    return {"checks": done, "errors": errors, "cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=["http", "tcp"], default="http")
    parser.add_argument("--address", required=True, help="URL (http) or host:port (tcp)")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    coro = run(args.kind, args.address, args.concurrency, args.warmup, args.duration)
    if args.loop == "uvloop":
        import uvloop

        result = uvloop.run(coro)
    else:
        result = asyncio.run(coro)
    print(json.dumps({**result, "loop": args.loop}), flush=True)


if __name__ == "__main__":
    main()
