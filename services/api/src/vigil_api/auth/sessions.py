"""Browser sessions: the cookie that carries one, and making and ending them.

The cookie holds 256 random bits; the database keeps only their keyed hash. It is HttpOnly (no
script reads it), SameSite=Lax (other sites' subrequests do not carry it) and, over https,
Secure with the `__Host-` prefix (no other subdomain or path can set or shadow it).
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from typing import Any

from litestar import Response
from litestar.datastructures import Cookie

from vigil_core.db import Conn
from vigil_core.settings import Settings
from vigil_core.tokens import Keyring

from .credentials import Q

COOKIE = "vigil_session"
SECURE_COOKIE = "__Host-vigil_session"


def session_secret(cookie_header: bytes | None) -> str | None:
    """The session cookie's value from a Cookie header, if there is one."""
    if not cookie_header or b"vigil_session=" not in cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header.decode("latin-1"))
    except Exception:  # a malformed Cookie header carries no session
        return None
    for name in (SECURE_COOKIE, COOKIE):
        if name in jar and jar[name].value:
            return jar[name].value
    return None


def cookie_is_secure(settings: Settings, scope: Any) -> bool:
    if settings.session_cookie_secure == "auto":
        return scope.get("scheme") == "https"
    return settings.session_cookie_secure == "true"


def set_session_cookie(response: Response, secret: str, *, secure: bool, max_age_s: float) -> None:
    response.set_cookie(
        SECURE_COOKIE if secure else COOKIE,
        secret,
        max_age=int(max_age_s),
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


# What logging out sends: both cookie names, emptied and expired.
CLEARED_COOKIES = [
    Cookie(key=COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax"),
    Cookie(
        key=SECURE_COOKIE, value="", max_age=0, path="/", secure=True, httponly=True, samesite="lax"
    ),
]


async def start_session(
    conn: Conn,
    keyring: Keyring,
    *,
    user_id: int,
    max_age_s: float,
    address: str | None,
    user_agent: str | None,
) -> tuple[str, int]:
    """A new session for the user: (the cookie's secret, the session id)."""
    secret = secrets.token_urlsafe(32)
    session_id = await conn.fetchval(
        Q["insert_session"],
        keyring.hash(secret),
        user_id,
        max_age_s,
        address,
        (user_agent or "")[:300] or None,
    )
    return secret, session_id


async def end_session(conn: Conn, session_id: int) -> None:
    await conn.execute(Q["revoke_session"], session_id)
