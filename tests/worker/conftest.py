"""Worker fixtures: an in-process worker on the test's database, loopback HTTP/TCP servers."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from vigil_core.settings import Settings, load_settings
from vigil_worker.main import Worker, serve
from vigil_worker.metrics import WorkerMetrics

from ..support import free_port

BIG_BODY = 1 << 30  # 1 GiB, streamed in chunks and never held


def worker_settings(db_url: str, **overrides: object) -> Settings:
    """Settings for a test worker: no metrics port, quick listener ping, short grace."""
    values: dict[str, object] = dict(
        database_url=db_url,
        worker_metrics_port=0,
        worker_listener_ping_s=1.0,
        worker_grace_s=5.0,
        worker_poll_interval_s=5.0,
    )
    values.update(overrides)
    return load_settings({}, **values)


@asynccontextmanager
async def running_worker(settings: Settings, **kw: object) -> AsyncIterator[Worker]:
    """serve() as a task of this loop; stopped (gracefully) on exit."""
    stop = asyncio.Event()
    started: asyncio.Future = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            settings,
            stop,
            started=started,
            metrics=kw.pop("metrics", None) or WorkerMetrics(),
            **kw,
        )
    )
    done, _ = await asyncio.wait([started, task], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what went wrong
    assert started in done, "worker did not start within 20 s"
    try:
        yield started.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def wait_for(
    predicate: Callable[[], Awaitable[object] | object],
    timeout: float = 10.0,
    what: str = "condition",
    every: float = 0.02,
) -> object:
    """Poll a predicate (plain or async) until it returns something truthy."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what} not reached within {timeout}s (last: {value!r})")
        await asyncio.sleep(every)


async def add_target(
    db,
    name: str,
    kind: str,
    address: str,
    *,
    interval_s: float = 1.0,
    timeout_s: float = 0.5,
    settings: dict | None = None,
    failure_threshold: int = 1,
    success_threshold: int = 1,
) -> int:
    return await db.fetchval(
        """INSERT INTO targets (name, kind, address, interval_s, timeout_s, settings,
                                failure_threshold, success_threshold)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
        name,
        kind,
        address,
        interval_s,
        timeout_s,
        settings or {},
        failure_threshold,
        success_threshold,
    )


# -- loopback servers ----------------------------------------------------------------------


@dataclass
class Servers:
    http: str  # http://127.0.0.1:PORT
    https: str  # https://127.0.0.1:PORT (self-signed)
    hang: str  # http://127.0.0.1:PORT that accepts and never answers
    listening: str  # 127.0.0.1:PORT of a TCP listener
    refused: str  # 127.0.0.1:PORT where nothing listens
    cert_not_after: dt.datetime


async def _big(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Length": str(BIG_BODY)})
    await resp.prepare(request)
    chunk = b"x" * 65536
    sent = 0
    try:
        while sent < BIG_BODY:
            await resp.write(chunk)
            sent += len(chunk)
    except (ConnectionResetError, asyncio.CancelledError):
        pass  # the check stopped reading, as it should
    return resp


def _app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="hello from vigil tests")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("delay", "0.3")))
        return web.Response(text="slow hello")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def once(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def echo_method(request: web.Request) -> web.Response:
        return web.json_response(
            {"method": request.method, "x_vigil": request.headers.get("X-Vigil")}
        )

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/slow", slow)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/loop", loop)
    app.router.add_get("/once", once)
    app.router.add_get("/big", _big)
    app.router.add_route("*", "/echo", echo_method)
    return app


def _self_signed(directory: Path) -> tuple[Path, Path, dt.datetime]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "42",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    end = subprocess.run(
        ["openssl", "x509", "-enddate", "-noout", "-in", str(cert)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    not_after = dt.datetime.strptime(end.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
    return cert, key, not_after.replace(tzinfo=dt.UTC)


@pytest.fixture(scope="session")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Servers]:
    app = _app()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    http_site = web.TCPSite(runner, "127.0.0.1", 0)
    await http_site.start()
    cert, key, not_after = _self_signed(tmp_path_factory.mktemp("tls"))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    https_site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await https_site.start()

    held: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, then say nothing

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    hang_srv = await asyncio.start_server(hang, "127.0.0.1", 0)
    tcp_srv = await asyncio.start_server(accept, "127.0.0.1", 0)

    def port_of(site: web.TCPSite) -> int:
        return site._server.sockets[0].getsockname()[1]

    yield Servers(
        http=f"http://127.0.0.1:{port_of(http_site)}",
        https=f"https://127.0.0.1:{port_of(https_site)}",
        hang=f"http://127.0.0.1:{hang_srv.sockets[0].getsockname()[1]}",
        listening=f"127.0.0.1:{tcp_srv.sockets[0].getsockname()[1]}",
        refused=f"127.0.0.1:{free_port()}",
        cert_not_after=not_after,
    )
    for w in held:
        w.close()
    for srv in (hang_srv, tcp_srv):
        srv.close()
    await runner.cleanup()
