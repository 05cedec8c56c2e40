"""VIGIL_INITIAL_ADMIN_PASSWORD_FILE: a container's first admin, made while no user exists."""

from __future__ import annotations

import asyncio
from pathlib import Path

from vigil_core import accounts
from vigil_core.dberrors import DbFault, classify
from vigil_core.logging import get_logger
from vigil_core.settings import Settings

from ..database import Database
from ..errors import DatabaseUnavailable
from .audit import context_for

log = get_logger("vigil_api.auth")

ADMIN = "admin"
RETRY_S = 2.0


async def ensure_initial_admin(db: Database, settings: Settings) -> None:
    """Creates `admin` from the password file once the database answers, if no user exists.
    Runs beside the app: a database that is down at start is waited for."""
    path = settings.initial_admin_password_file
    if not path:
        return
    while True:
        try:
            await _create(db, Path(path))
            return
        except DatabaseUnavailable:
            pass
        except Exception as exc:
            if classify(exc) not in (DbFault.LOST, DbFault.BUSY):
                raise
        await asyncio.sleep(RETRY_S)


async def _create(db: Database, path: Path) -> None:
    pool = await db.pool()
    async with pool.acquire() as conn:
        if await accounts.user_count(conn):
            return
        try:
            password = path.read_text().strip()
        except OSError as exc:
            log.error("auth.initial_admin_unreadable", file=str(path), error=exc.strerror)
            return
        context = context_for(
            None, "local", actor="VIGIL_INITIAL_ADMIN_PASSWORD_FILE", actor_kind="system"
        )
        try:
            await accounts.create_user(conn, ADMIN, "admin", password, audit=context)
        except accounts.AccountError as exc:
            if exc.field == "name":  # another replica made it first
                return
            log.error("auth.initial_admin_refused", file=str(path), error=str(exc))
            return
    log.info("auth.initial_admin_created", user=ADMIN)
