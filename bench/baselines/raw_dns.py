"""Baseline for DNS: a bare aiodns loop (one c-ares channel, CONCURRENCY queries in flight), no storage.

Asks one name server (ip:port) for NAME's A records back to back, warms up, then counts completed
queries (an answer with at least one record is a success) and its own CPU time over DURATION
seconds, and prints one JSON line.
"""

from __future__ import annotations

import asyncio

import aiodns
from aiodns.error import DNSError

from .common import count_window, parser, run_and_print


async def run(server: str, name: str, concurrency: int, warmup_s: float, duration_s: float) -> dict:
    resolver = aiodns.DNSResolver(nameservers=[server], timeout=1.0, tries=3)

    async def once() -> bool:
        try:
            result = await asyncio.wait_for(resolver.query_dns(name, "A"), timeout=5)
        except (TimeoutError, DNSError):
            return False
        return bool(result.answer)

    try:
        return await count_window(
            once, concurrency=concurrency, warmup_s=warmup_s, duration_s=duration_s
        )
    finally:
        await resolver.close()


def main() -> None:
    p = parser(__doc__, ["dns"])
    p.add_argument("--address", required=True, help="the name server, ip:port")
    p.add_argument("--name", default="bench.test")
    args = p.parse_args()
    run_and_print(
        run(args.address, args.name, args.concurrency, args.warmup, args.duration), args.loop
    )


if __name__ == "__main__":
    main()
