"""Every routed request passes here before its handler: the Host check (DNS rebinding), JSON
only for unsafe requests (CSRF by form or text/plain), credentials, the scope the route needs,
and for cookie-authenticated unsafe requests the CSRF token and a same-origin request.

Routes say what they need with `opt={"access": ...}` on the handler or its controller:
`public`, `read`, `write`, `admin`, `health` (public, and exempt from the Host check: kubelet
probes send the pod's IP) or `metrics` (public when VIGIL_METRICS_PUBLIC, else read). Without
one, GET and HEAD need read and everything else write. Refusals are answered here, as problem
documents, so the metrics middleware outside counts them with their real status.
"""

from __future__ import annotations

import hmac
from typing import Any, cast
from urllib.parse import urlsplit

import msgspec
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from vigil_core.dberrors import DbFault, classify
from vigil_core.logging import get_logger
from vigil_core.settings import Settings

from ..database import AUDIT_CONTEXT, Database
from ..errors import PROBLEM_JSON, RETRY_AFTER_S, DatabaseUnavailable, Problem
from .audit import client_address, context_for
from .credentials import Authenticator, Refusal
from .hosts import HostPolicy
from .principal import PRINCIPAL_KEY, Principal
from .sessions import session_secret

log = get_logger("vigil_api.auth")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACCESS_LEVELS = frozenset({"public", "health", "metrics", "read", "write", "admin"})
CSRF_HEADER = b"x-csrf-token"
_ENCODER = msgspec.json.Encoder()


def required_access(opt: dict[str, Any], method: str, metrics_public: bool) -> str:
    """What a route needs for a method: its opt["access"], or read/write by method."""
    access = opt.get("access")
    if access is None:
        if method == "OPTIONS":
            return "public"
        return "read" if method in SAFE_METHODS else "write"
    if access not in ACCESS_LEVELS:
        raise ValueError(f"unknown access {access!r} on a route")
    if access == "metrics":
        return "public" if metrics_public else "read"
    return str(access)


class AuthMiddleware:
    def __init__(self, settings: Settings, db: Database, authenticator: Authenticator) -> None:
        self.hosts = HostPolicy(settings.allowed_hosts())
        self.metrics_public = settings.metrics_public
        self.db = db
        self.authenticator = authenticator

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            http = cast(HTTPScope, scope)
            refusal = await self._check(http)
            if refusal is not None:
                await refusal.send(send)
                return
            principal = http.get(PRINCIPAL_KEY)
            if not isinstance(principal, Principal) or http["method"] in SAFE_METHODS:
                await app(scope, receive, send)
                return
            # Every row this write changes is audited under its principal (0014's triggers).
            via = http["route_handler"].opt.get("audit_via")
            context = context_for(principal, client_address(http), via=via)
            token = AUDIT_CONTEXT.set(context)
            try:
                await app(scope, receive, send)
            finally:
                AUDIT_CONTEXT.reset(token)

        return guarded

    async def _check(self, scope: Any) -> Answer | None:
        method: str = scope["method"]
        handler = scope["route_handler"]
        access = required_access(handler.opt, method, self.metrics_public)
        headers = wanted_headers(scope)
        if access != "health" and not self.hosts.allows(headers.get(b"host")):
            return Answer(
                400,
                "Host not allowed",
                "the Host header names a host this API does not serve; add it to "
                "VIGIL_API_ALLOWED_HOSTS if it is yours",
            )
        unsafe = method not in SAFE_METHODS
        if unsafe and not handler.opt.get("any_body") and not _json_or_empty(headers):
            return Answer(
                415,
                "Unsupported media type",
                "send the request body as JSON with Content-Type: application/json",
            )
        if access in ("public", "health"):
            return None
        principal, by_cookie, answer = await self._authenticate(scope, headers)
        if answer is not None:
            return answer
        assert principal is not None
        if not principal.allows(access):
            return Answer(
                403,
                "Forbidden",
                f"this needs the `{access}` scope; the {principal.kind} {principal.name!r} has "
                f"`{principal.scope}`",
            )
        if by_cookie and unsafe and (answer := _cross_site(scope, headers, principal)):
            return answer
        scope[PRINCIPAL_KEY] = principal
        return None

    async def _authenticate(
        self, scope: Any, headers: dict[bytes, bytes]
    ) -> tuple[Principal | None, bool, Answer | None]:
        authorization = headers.get(b"authorization")
        try:
            if authorization is not None:
                scheme, _, credentials = authorization.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not credentials.strip():
                    return None, False, _unauthorized("use Authorization: Bearer <token>")
                return await self._token(credentials.strip()), False, None
            secret = session_secret(headers.get(b"cookie"))
            if secret is not None:
                return await self._session(secret), True, None
        except Refusal as exc:
            return None, False, _unauthorized(str(exc))
        except Unreachable as exc:
            if (known := self.authenticator.stale(exc.secret)) is not None:
                return known, exc.by_cookie, None
            return None, False, _unavailable()
        return (
            None,
            False,
            _unauthorized(
                "this needs credentials: an `Authorization: Bearer <token>` header (make one "
                "with `vigil token create`) or a session from logging in"
            ),
        )

    async def _token(self, token: str) -> Principal:
        if (hit := self.authenticator.cached(token)) is not None:
            return hit
        try:
            return await self.authenticator.token(await self.db.pool(), token)
        except Exception as exc:
            if _unreachable(exc):
                raise Unreachable(token, by_cookie=False) from exc
            raise

    async def _session(self, secret: str) -> Principal:
        if (hit := self.authenticator.cached(secret)) is not None:
            return hit
        try:
            return await self.authenticator.session(await self.db.pool(), secret)
        except Exception as exc:
            if _unreachable(exc):
                raise Unreachable(secret, by_cookie=True) from exc
            raise


class Unreachable(Exception):
    """The database could not be asked about a credential."""

    def __init__(self, secret: str, *, by_cookie: bool) -> None:
        self.secret, self.by_cookie = secret, by_cookie


def _unreachable(exc: Exception) -> bool:
    return isinstance(exc, DatabaseUnavailable) or classify(exc) in (DbFault.LOST, DbFault.BUSY)


def wanted_headers(scope: Any) -> dict[bytes, bytes]:
    wanted = {}
    for name, value in scope["headers"]:
        if name in _WANTED:
            wanted[name] = value
    return wanted


_WANTED = frozenset(
    {
        b"host",
        b"authorization",
        b"cookie",
        b"content-type",
        b"content-length",
        b"transfer-encoding",
        b"origin",
        b"sec-fetch-site",
        CSRF_HEADER,
    }
)


def _json_or_empty(headers: dict[bytes, bytes]) -> bool:
    """The body is JSON, or there is none (a bare POST: pause, logout), whatever its type says."""
    length = headers.get(b"content-length", b"").strip()
    if length == b"0" or (not length and b"transfer-encoding" not in headers):
        return True
    content_type = headers.get(b"content-type")
    if content_type is None:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


def _cross_site(scope: Any, headers: dict[bytes, bytes], principal: Principal) -> Answer | None:
    """A cookie-authenticated unsafe request must come from our own pages: the session's CSRF
    token in a header, and the browser saying it is same-origin."""
    token = headers.get(CSRF_HEADER, b"").decode("latin-1")
    if not token or not any(hmac.compare_digest(token, ok) for ok in principal.csrf_accepted):
        return Answer(
            403,
            "CSRF token missing or wrong",
            "a request made with the session cookie must send the X-CSRF-Token header from "
            "GET /api/v1/auth/me",
        )
    if not same_origin(headers):
        return Answer(
            403,
            "Cross-site request",
            "a request made with the session cookie must come from this site's own pages",
        )
    return None


def same_origin(headers: dict[bytes, bytes]) -> bool:
    """Sec-Fetch-Site says same-origin, or the Origin names this Host."""
    site = headers.get(b"sec-fetch-site")
    if site is not None:
        return site == b"same-origin"
    origin = headers.get(b"origin")
    host = headers.get(b"host")
    if origin is None or host is None or origin == b"null":
        return False
    return urlsplit(origin.decode("latin-1")).netloc.lower() == host.decode("latin-1").lower()


class Answer:
    """A refusal as a problem document."""

    __slots__ = ("status", "body", "headers")

    def __init__(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = _ENCODER.encode(Problem(title=title, status=status, detail=detail))
        self.headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(self.body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
        ]

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


def _unauthorized(detail: str) -> Answer:
    return Answer(401, "Unauthorized", detail, {"WWW-Authenticate": 'Bearer realm="vigil"'})


def _unavailable() -> Answer:
    return Answer(
        503,
        "Database unavailable",
        "the database cannot be reached to check the credentials; try again shortly",
        {"Retry-After": str(RETRY_AFTER_S)},
    )
