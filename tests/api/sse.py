"""A small Server-Sent Events reader over aiohttp for the tests."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import aiohttp


@dataclass
class SSEMessage:
    event: str | None
    data: str | None
    comment: str | None

    def json(self) -> dict:
        return json.loads(self.data or "null")


class SSEStream:
    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self._session: aiohttp.ClientSession | None = None
        self._resp: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> SSEStream:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None)
        )
        self._resp = await self._session.get(
            self.url, headers={"accept": "text/event-stream", **self.headers}
        )
        assert self._resp.status == 200, await self._resp.text()
        assert self._resp.headers["content-type"].startswith("text/event-stream")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._resp.close()
        await self._session.close()

    async def next(self, timeout: float = 5.0) -> SSEMessage:
        """The next message (event or comment); TimeoutError if none comes in time."""
        event = data = comment = None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self._resp.content.readline()
                if not raw:
                    raise EOFError("stream closed")
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if event is not None or data is not None or comment is not None:
                        return SSEMessage(event, data, comment)
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "":
                    comment = value
                elif field == "event":
                    event = value
                elif field == "data":
                    data = value if data is None else f"{data}\n{value}"

    async def next_event(self, name: str, timeout: float = 5.0) -> SSEMessage:
        """Skip comments and other events until `name` arrives."""
        end = time.monotonic() + timeout
        while True:
            msg = await self.next(max(0.01, end - time.monotonic()))
            if msg.event == name:
                return msg
