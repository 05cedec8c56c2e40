"""A loopback DNS responder for benchmarks: every A query gets 127.0.0.1 (TTL 0), built from bytes.

It runs as its own process so that its CPU is never counted as the worker's, and it parses
only what a reply needs (the question's end), so that one core serves far more queries than a
worker asks. Other types get NOERROR with no records. Prints {"port": N} once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct

ANSWER_A = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) + bytes([127, 0, 0, 1])


def reply(query: bytes) -> bytes | None:
    """The reply to one query, or None for something that is not one."""
    if len(query) < 17 or query[2] & 0x80:  # too short for a question, or itself a reply
        return None
    end = 12
    while end < len(query) and query[end]:
        end += query[end] + 1
    end += 5  # the root label, QTYPE, QCLASS
    if end > len(query):
        return None
    is_a = query[end - 4 : end - 2] == b"\x00\x01"
    header = query[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1 if is_a else 0, 0, 0)
    return header + query[12:end] + (ANSWER_A if is_a else b"")


class Responder(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        answer = reply(data)
        if answer is not None:
            self.transport.sendto(answer, addr)


async def serve(host: str, port: int, seconds: float) -> None:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Responder, local_addr=(host, port)
    )
    print(json.dumps({"port": transport.get_extra_info("sockname")[1]}), flush=True)
    try:
        await asyncio.sleep(seconds)  # bounded: the lab stops it sooner
    finally:
        transport.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=3600.0)
    args = p.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.host, args.port, args.max_seconds))
    except ImportError:
        asyncio.run(serve(args.host, args.port, args.max_seconds))


if __name__ == "__main__":
    main()
