"""Baseline A: a bare client loop (aiohttp with force_close, or a bare TCP connect) with no storage.

Runs CONCURRENCY loops against one URL or host:port, warms up, then counts completed checks and
its own CPU time over DURATION seconds and prints one JSON line.
"""

from __future__ import annotations

import asyncio

import aiohttp

from .common import count_window, parser, run_and_print


async def run(
    kind: str, address: str, concurrency: int, warmup_s: float, duration_s: float
) -> dict:
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        host, _, port = address.rpartition(":")

        async def http() -> bool:
            async with session.get(address) as resp:
                await resp.content.read(64 * 1024)
                return 200 <= resp.status < 400

        async def tcp() -> bool:
            _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
            await writer.wait_closed()
            return True

        probe = http if kind == "http" else tcp

        async def once() -> bool:
            try:
                return await asyncio.wait_for(probe(), timeout=5)
            except (TimeoutError, OSError, aiohttp.ClientError):
                return False

        return await count_window(
            once, concurrency=concurrency, warmup_s=warmup_s, duration_s=duration_s
        )


def main() -> None:
    p = parser(__doc__, ["http", "tcp"])
    p.add_argument("--address", required=True, help="URL (http) or host:port (tcp)")
    args = p.parse_args()
    run_and_print(
        run(args.kind, args.address, args.concurrency, args.warmup, args.duration), args.loop
    )


if __name__ == "__main__":
    main()
