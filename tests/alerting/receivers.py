"""Real loopback receivers for alert tests: an HTTP server that records every request and answers
as the test scripts it (a status, Retry-After, a body, or hanging), so senders and the dispatcher
meet real failures. Use it inside a running event loop:

    async with Receiver() as rx:
        rx.script(500, 500, 200)          # the next three answers, then the default (200)
        ... point a channel at rx.url("/hook") ...
        reqs = await rx.wait_for(3)       # awaits the third request, no fixed sleeps
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

HANG = "hang"  # script entry: accept the request and never answer


@dataclass
class Answer:
    status: int = 200
    body: str | bytes = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    answered: int | None  # the status it got (None: hung)

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An aiohttp server on 127.0.0.1 (a free port) that records requests in order."""

    def __init__(self, default: Answer | None = None) -> None:
        self.default = default or Answer()
        self.requests: list[Request] = []
        self._script: deque[Answer | str] = deque()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._hung: list[asyncio.Future[None]] = []
        self.port = 0

    def script(self, *answers: int | Answer | str) -> None:
        """Queue the next answers: a status (int), an Answer, or HANG."""
        for a in answers:
            self._script.append(Answer(status=a) if isinstance(a, int) else a)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        answer = self._script.popleft() if self._script else self.default
        rec = Request(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
            answered=None if answer == HANG else answer.status,  # type: ignore[union-attr]
        )
        async with self._changed:
            self.requests.append(rec)
            self._changed.notify_all()
        if answer == HANG:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._hung.append(fut)
            await fut  # cancelled when the client gives up or the server stops
            return web.Response(status=500)
        assert isinstance(answer, Answer)
        return web.Response(
            status=answer.status,
            body=answer.body if isinstance(answer.body, bytes) else answer.body.encode(),
            headers=answer.headers,
            content_type=answer.content_type,
        )

    async def wait_for(self, count: int, timeout: float = 30.0) -> list[Request]:
        """The first `count` requests, once that many have arrived (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.requests) >= count)
        return self.requests[:count]

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for fut in self._hung:
            if not fut.done():
                fut.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
