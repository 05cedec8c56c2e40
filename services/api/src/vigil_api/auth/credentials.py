"""Turns a bearer token or a session cookie into a Principal, with a short cache.

A hit costs a dict lookup: no hash, no database. A miss reads the database once and refreshes
`last_used_at` / `last_seen_at`, so those are as fresh as the cache's lifetime. Every replica
drops its cache when PostgreSQL says a credential was revoked or a user changed (NOTIFY
`vigil_auth`, heard by the events hub), and entries are re-read after CACHE_TTL_S in any case,
which bounds how long a revocation can go unheard while the LISTEN connection is away.

While the database cannot be reached, a credential checked before keeps working (within its own
expiry): nothing can be revoked meanwhile, and Prometheus can still scrape /metrics during an
outage, when it matters most.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from vigil_core import accounts, tokens
from vigil_core.db import load_queries
from vigil_core.dberrors import DbFault, classify
from vigil_core.tokens import Keyring

from .principal import Principal

Q = load_queries(__package__)

CACHE_TTL_S = 30.0
CACHE_MAX = 10_000


class Refusal(Exception):
    """The credentials are not good; the message says why (for the 401's detail)."""


class Authenticator:
    def __init__(self, keyring: Keyring, *, idle_timeout_s: float) -> None:
        self.keyring = keyring
        self.idle_timeout_s = idle_timeout_s
        # secret -> (principal, re-read after); the principal's valid_until still holds.
        self._cache: dict[str, tuple[Principal, float]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def cached(self, secret: str) -> Principal | None:
        """The principal, if it was checked within CACHE_TTL_S."""
        entry = self._cache.get(secret)
        if entry is None:
            return None
        principal, fresh_until = entry
        if time.time() >= fresh_until:
            return None
        return principal

    def stale(self, secret: str) -> Principal | None:
        """The principal checked last time, if it has not expired since (the database is away)."""
        entry = self._cache.get(secret)
        if entry is None or time.time() >= entry[0].valid_until:
            return None
        return entry[0]

    def _keep(self, secret: str, principal: Principal) -> Principal:
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[secret] = (principal, time.time() + CACHE_TTL_S)
        return principal

    async def token(self, pool: asyncpg.Pool, token: str) -> Principal:
        if (hit := self.cached(token)) is not None:
            return hit
        if not tokens.well_formed(token):
            raise Refusal(
                "the bearer token is malformed (a Vigil token is vgl_ and 46 characters, and its"
                " checksum does not match): check it was copied whole"
            )
        async with pool.acquire() as conn:
            row = await accounts.find_token(conn, self.keyring, token)
            principal = _token_principal(row)
            await conn.execute(Q["token_used"], principal.token_id, self.keyring.hash(token))
        return self._keep(token, principal)

    async def session(self, pool: asyncpg.Pool, secret: str) -> Principal:
        if (hit := self.cached(secret)) is not None:
            return hit
        candidates = self.keyring.candidates(secret)
        async with pool.acquire() as conn:
            row = await conn.fetchrow(Q["find_session"], candidates)
            principal = self._session_principal(row, secret)
            await conn.execute(Q["session_seen"], principal.session_id, candidates[0])
        return self._keep(secret, principal)

    async def still_valid(self, pool: asyncpg.Pool, principal: Principal) -> bool:
        """The principal's token or session has not been revoked or expired since it was
        checked (for a long-lived request: the event stream). Unknown while the database is
        away: then it stays valid, as nothing can be revoked meanwhile."""
        if time.time() >= principal.valid_until:
            return False
        query, ident = (
            (Q["token_still_valid"], principal.token_id)
            if principal.token_id is not None
            else (Q["session_still_valid"], principal.session_id)
        )
        try:
            return bool(await pool.fetchval(query, ident))
        except Exception as exc:
            if classify(exc) in (DbFault.LOST, DbFault.BUSY):
                return True
            raise

    def _session_principal(self, row: Any, secret: str) -> Principal:
        if row is None:
            raise Refusal("the session is unknown; log in again")
        if row["revoked_at"] is not None:
            raise Refusal("the session has ended (logged out); log in again")
        now = row["now"]
        if row["expires_at"] <= now:
            raise Refusal("the session has expired; log in again")
        if (now - row["last_seen_at"]).total_seconds() >= self.idle_timeout_s:
            raise Refusal("the session was idle too long; log in again")
        until = min(row["expires_at"].timestamp(), time.time() + self.idle_timeout_s)
        csrf = self.keyring.signatures("csrf", secret.encode())
        return Principal(
            kind="user",
            name=row["name"],
            scope=accounts.ROLE_SCOPE[row["role"]],
            user_id=row["user_id"],
            role=row["role"],
            session_id=row["id"],
            csrf_token=csrf[0],
            csrf_accepted=csrf,
            valid_until=until,
        )


def _token_principal(row: Any) -> Principal:
    if row is None:
        raise Refusal("the token is unknown (never issued, or its user was deleted)")
    if row["revoked_at"] is not None:
        raise Refusal(f"the token {row['name']!r} was revoked")
    expires = row["expires_at"]
    if expires is not None and expires.timestamp() <= time.time():
        raise Refusal(f"the token {row['name']!r} expired at {expires.isoformat()}")
    if row["creator_gone"]:
        raise Refusal(f"the token {row['name']!r} belonged to a user who no longer exists")
    scope = row["scope"]
    if row["creator_role"] is not None:
        # Never more than its maker has now: a demoted user's tokens are demoted too.
        scope = accounts.least(scope, accounts.ROLE_SCOPE[row["creator_role"]])
    return Principal(
        kind="token",
        name=row["name"],
        scope=scope,
        user_id=row["created_by_user_id"],
        token_id=row["id"],
        valid_until=expires.timestamp() if expires is not None else float("inf"),
    )
