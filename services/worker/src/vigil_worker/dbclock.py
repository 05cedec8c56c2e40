"""The database's clock seen from the event loop: slots are due in database time and wait in loop time."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta


class DbClock:
    """Maps database time to loop time through the pair (loop time, clock_timestamp()) of the
    latest claim, so a worker whose wall clock is off still starts checks when they are due."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ref_loop = loop.time()
        self._ref_db: datetime | None = None

    @property
    def synced(self) -> bool:
        """True once a claim has told the database's time."""
        return self._ref_db is not None

    def sync(self, db_now: datetime) -> None:
        """The database said it is `db_now` (its clock_timestamp()) just now."""
        self._ref_loop = self._loop.time()
        self._ref_db = db_now

    def to_loop(self, at: datetime) -> float:
        """The loop time of database time `at`; before the first sync, now."""
        if self._ref_db is None:
            return self._loop.time()
        return self._ref_loop + (at - self._ref_db).total_seconds()

    def now(self) -> datetime:
        """The database's time now, as of the latest sync (which must have happened)."""
        assert self._ref_db is not None, "no claim has told the database's time yet"
        return self._ref_db + timedelta(seconds=self._loop.time() - self._ref_loop)
