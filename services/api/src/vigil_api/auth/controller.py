"""HTTP handlers for /api/v1/auth: log in (a session cookie), log out, and who am I."""

from __future__ import annotations

import asyncio

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from vigil_core import accounts, passwords
from vigil_core.db import Conn
from vigil_core.logging import get_logger
from vigil_core.settings import Settings

from ..body import StrictBody
from ..database import PoolDep
from ..errors import problem, responses
from . import ratelimit
from .audit import audit_context, client_address, context_for
from .credentials import Authenticator, Q
from .middleware import same_origin, wanted_headers
from .principal import principal_of
from .schemas import LoggedInUser, Login, LoginAnswer, Me
from .sessions import (
    CLEARED_COOKIES,
    cookie_is_secure,
    end_session,
    set_session_cookie,
    start_session,
)

log = get_logger("vigil_api.auth")

WRONG = "wrong username or password"


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        operation_id="login",
        summary="Log in",
        status_code=HTTP_200_OK,
        opt={"access": "public"},
        dto=StrictBody.of(Login),
        return_dto=None,
        responses=responses(400, 401, 403, 429, 503),
    )
    async def login(self, request: Request, data: JSONBody[Login], pool: PoolDep) -> Response:
        """Check a user's password and start a session: the answer sets the session cookie
        and carries the CSRF token that unsafe requests made with the cookie must send as
        `X-CSRF-Token`. Rate-limited per user and per address (429 with Retry-After)."""
        headers = wanted_headers(request.scope)
        if (b"origin" in headers or b"sec-fetch-site" in headers) and not same_origin(headers):
            return problem(403, "Cross-site request", "log in from this site's own login page")
        settings: Settings = request.app.state.settings
        authenticator: Authenticator = request.app.state.authenticator
        address = client_address(request.scope)
        async with pool.acquire() as conn:
            if blocked := await ratelimit.blocked(conn, data.username, address):
                log.warning("auth.login_limited", user=data.username, address=address)
                return problem(
                    429,
                    "Too many requests",
                    f"{blocked.reason}; try again in {blocked.retry_after_s} s",
                    headers={"Retry-After": str(blocked.retry_after_s)},
                )
            user = await conn.fetchrow(Q["login_user"], data.username)
        stored = user["password_hash"] if user else passwords.dummy_hash()
        # argon2 takes tens of milliseconds of CPU: off the event loop.
        ok = await asyncio.to_thread(passwords.verify_password, stored, data.password)
        async with pool.acquire() as conn, conn.transaction():
            if not ok or user is None:
                await ratelimit.failed(conn, data.username, address)
                await _audit(conn, context_for(None, address, actor=data.username), "login_failed")
                log.warning("auth.login_failed", user=data.username, address=address)
                return problem(401, "Unauthorized", WRONG)
            await ratelimit.succeeded(conn, data.username)
            if passwords.needs_rehash(stored):
                await conn.execute(
                    Q["rehash_password"], user["id"], passwords.hash_password(data.password)
                )
            secret, session_id = await start_session(
                conn,
                authenticator.keyring,
                user_id=user["id"],
                max_age_s=settings.session_max_age_s,
                address=address,
                user_agent=request.headers.get("user-agent"),
            )
            await conn.execute(Q["user_logged_in"], user["id"])
            context = context_for(None, address, actor=user["name"], actor_kind="user")
            await _audit(conn, context, "login", session_id)
        log.info("auth.login", user=user["name"], address=address)
        secure = cookie_is_secure(settings, request.scope)
        answer = LoginAnswer(
            user=LoggedInUser(name=user["name"], role=user["role"]),
            csrf_token=authenticator.keyring.sign("csrf", secret.encode()),
        )
        response = Response(answer, headers={"cache-control": "no-store"})
        set_session_cookie(response, secret, secure=secure, max_age_s=settings.session_max_age_s)
        return response

    @post(
        "/logout",
        operation_id="logout",
        summary="Log out",
        status_code=HTTP_204_NO_CONTENT,
        opt={"access": "read"},
        response_cookies=CLEARED_COOKIES,
        responses=responses(401, 403, 503),
    )
    async def logout(self, request: Request, pool: PoolDep) -> None:
        """End this session (the cookie stops working everywhere at once). With a bearer
        token there is no session: nothing happens."""
        principal = principal_of(request)
        if principal.session_id is not None:
            async with pool.acquire() as conn, conn.transaction():
                await end_session(conn, principal.session_id)
                await _audit(conn, audit_context(request), "logout", principal.session_id)
            request.app.state.authenticator.clear()
            log.info("auth.logout", user=principal.name)

    @get("/me", operation_id="whoAmI", summary="Who am I", responses=responses(401, 503))
    async def me(self, request: Request) -> Me:
        """The user or token behind the request's credentials, its scope, and (for a session)
        the CSRF token to send as `X-CSRF-Token`."""
        principal = principal_of(request)
        return Me(
            kind=principal.kind,
            name=principal.name,
            scope=principal.scope,
            scopes=accounts.implied(principal.scope),
            role=principal.role,
            csrf_token=principal.csrf_token,
        )


async def _audit(conn: Conn, context: str, action: str, session_id: int | None = None) -> None:
    """An explicit audit row: logging in and out changes no audited table."""
    await conn.execute(
        Q["audit"],
        context,
        action,
        "session",
        str(session_id) if session_id is not None else None,
        None,
        None,
    )
