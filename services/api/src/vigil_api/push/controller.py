"""HTTP handlers for push targets: the open ping URL /api/v1/push/{token} and token rotation.

A ping carries no credentials but its token (64 hex characters, 244 random bits), found by
the unique index of push_tokens: an unknown token is one index probe and the same 404 as any
other. Over the per-token rate limit a ping is a 429 before it reaches the database.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import PathParameter, QueryParameter

from vigil_core.db import load_queries
from vigil_core.logging import get_logger
from vigil_core.settings import Settings

from ..database import PoolDep
from ..errors import InvalidInput, NotFound, problem, responses
from ..params import TargetId
from .limiter import RateLimiter

Q = load_queries(__package__)
log = get_logger("vigil_api.push")

# A cron job pings once a period; 60 a minute with bursts of 10 leaves room for retries and
# manual tests, and keeps a runaway loop from turning into thousands of results a minute.
RATE_PER_MINUTE = 60
BURST = 10
MAX_MESSAGE = 500
MAX_DURATION_MS = 604_800_000.0  # 7 days; push_pings_duration_valid
_NUMBER = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
_LIMITER_KEY = "push_limiter"


class PingAnswer(msgspec.Struct, kw_only=True):
    """What a ping did: `recorded` is false for a paused target (answered, not stored)."""

    status: Literal["up", "down"]
    recorded: bool


class PushUrl(msgspec.Struct, kw_only=True):
    push_url: str


class RateLimited(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"retry after {retry_after_s:.1f}s")
        self.retry_after_s = retry_after_s


class UnknownToken(Exception):
    """No push target has this token (which is never echoed or logged: it is the credential)."""


def on_rate_limited(request: Request, exc: RateLimited) -> Response:
    return problem(
        429,
        "Too many requests",
        f"this push URL takes at most {RATE_PER_MINUTE} pings a minute; retry later",
        headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))},
    )


def on_unknown_token(request: Request, exc: UnknownToken) -> Response:
    return problem(404, "Not found", "no push target has this URL")


class Ping(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    message: str | None
    duration_ms: float | None


def push_url(request: Request, token: str) -> str:
    """The target's push URL: under VIGIL_PUBLIC_URL when it is set, else this request's base."""
    settings = request.app.state.get("settings")
    base = settings.public_url if isinstance(settings, Settings) and settings.public_url else None
    root = (base or str(request.base_url)).rstrip("/")
    return f"{root}/api/v1/push/{token}"


def parse_ping(status: str | None, msg: str | None, duration_ms: str | None) -> Ping:
    """The ping's query parameters, checked; InvalidInput names the bad one."""
    if status not in (None, "up", "down"):
        raise InvalidInput.one("status", "must be up or down")
    if msg is not None:
        if len(msg) > MAX_MESSAGE:
            raise InvalidInput.one("msg", f"must be at most {MAX_MESSAGE} characters")
        if "\x00" in msg or not _utf8(msg):
            raise InvalidInput.one("msg", "must be UTF-8 text without NUL characters")
    duration: float | None = None
    if duration_ms is not None:
        if not _NUMBER.match(duration_ms) or float(duration_ms) > MAX_DURATION_MS:
            raise InvalidInput.one(
                "duration_ms", f"must be a number of milliseconds from 0 to {MAX_DURATION_MS:.0f}"
            )
        duration = float(duration_ms)
    return Ping(ok=status != "down", message=msg or None, duration_ms=duration)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from undecodable percent-escapes
        return False
    return True


def _limiter(request: Request) -> RateLimiter:
    """This app's limiter, made on first use (one per process, in the app's state)."""
    limiter = request.app.state.get(_LIMITER_KEY)
    if limiter is None:
        limiter = RateLimiter(RATE_PER_MINUTE / 60.0, BURST)
        request.app.state[_LIMITER_KEY] = limiter
    assert isinstance(limiter, RateLimiter)
    return limiter


Status = Annotated[
    str | None, QueryParameter(description="`up` (the default) or `down`: the job failed")
]
Message = Annotated[
    str | None,
    QueryParameter(description="What happened, shown with the result (at most 500 characters)"),
]
DurationMs = Annotated[
    str | None,
    QueryParameter(description="How long the job took, in milliseconds (stored as the latency)"),
]
Token = Annotated[str, PathParameter(description="The push target's secret token")]
PING_RESPONSES = responses(400, 404, 429, 503)


class PushController(Controller):
    path = "/api/v1"
    tags = ["push"]
    exception_handlers = {RateLimited: on_rate_limited, UnknownToken: on_unknown_token}

    @get(
        "/push/{token:str}",
        opt={"access": "public"},
        operation_id="pushPing",
        summary="Record a heartbeat (GET)",
        responses=PING_RESPONSES,
    )
    async def ping_get(
        self,
        request: Request,
        pool: PoolDep,
        token: Token,
        status: Status = None,
        msg: Message = None,
        duration_ms: DurationMs = None,
    ) -> PingAnswer:
        """Record a ping of the push target whose secret URL this is; no other credentials.
        A successful ping (`status=up`, the default) restarts its period; `status=down` records
        a failure at once. Rate-limited per token (429 with Retry-After)."""
        return await _ping(request, pool, token, parse_ping(status, msg, duration_ms))

    @post(
        "/push/{token:str}",
        # The secret URL is the credential, and curl -d sends a form body: any body is fine.
        opt={"access": "public", "any_body": True},
        operation_id="pushPingPost",
        summary="Record a heartbeat (POST)",
        status_code=200,
        responses=PING_RESPONSES,
    )
    async def ping_post(
        self,
        request: Request,
        pool: PoolDep,
        token: Token,
        status: Status = None,
        msg: Message = None,
        duration_ms: DurationMs = None,
    ) -> PingAnswer:
        """The same as the GET; any request body is ignored."""
        return await _ping(request, pool, token, parse_ping(status, msg, duration_ms))

    @post(
        "/targets/{target_id:int}/push-token",
        operation_id="rotatePushToken",
        summary="Give a push target a new secret URL",
        status_code=200,
        tags=["targets"],
        responses=responses(400, 404, 503),
    )
    async def rotate(self, request: Request, pool: PoolDep, target_id: TargetId) -> PushUrl:
        """A new push URL for the target; the old one stops working at once (404)."""
        async with pool.acquire() as conn:
            token = await conn.fetchval(Q["rotate_token"], target_id)
            if token is None:
                kind = await conn.fetchval(Q["target_kind"], target_id)
                if kind is None:
                    raise NotFound("target", target_id)
                raise NotFound("push target", target_id)
        log.info("push.token_rotated", target_id=target_id)
        return PushUrl(push_url=push_url(request, token))


async def _ping(request: Request, pool: PoolDep, token: str, ping: Ping) -> PingAnswer:
    wait = _limiter(request).take(token[:128])
    if wait > 0:
        raise RateLimited(wait)
    row = await pool.fetchrow(Q["record_ping"], token, ping.ok, ping.message, ping.duration_ms)
    if row is None:
        raise UnknownToken()
    return PingAnswer(status="up" if ping.ok else "down", recorded=row["recorded"])
