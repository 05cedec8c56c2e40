"""The offline continuation: while Postgres is unreachable, the targets whose latest slot this
worker claimed are checked on, on the same grid, and their schedule moves past them after.

Only a lost connection, confirmed by a fresh connect attempt that fails too, counts as
unreachable: a slow or busy database (a timeout, a deadlock, too many connections) stays in
charge of the slots, otherwise this worker would check slots that another worker claims from
it meanwhile. The writer skips an offline result whose slot another worker stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from vigil_core.db import load_queries
from vigil_core.dberrors import DbFault, classify
from vigil_core.logging import get_logger

from .checks import ClaimedTarget
from .dbclock import DbClock
from .slots import SlotTable

Q = load_queries(__package__)
log = get_logger("vigil_worker.offline")


@dataclass(slots=True)
class Grid:
    """The last slot this worker claimed for a target; the grid it continues on when offline."""

    target: ClaimedTarget[Any]
    next_due: datetime


class OfflineContinuation:
    """The known grids, and the offline mode: entered on a confirmed outage, left at reconnect."""

    def __init__(
        self, pool: asyncpg.Pool, clock: DbClock, *, dsn: str | None, probe_timeout_s: float
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._dsn = dsn  # for the fresh connect that confirms an outage; None trusts the error
        self._probe_timeout_s = probe_timeout_s
        self._grids: dict[int, Grid] = {}
        self._since: datetime | None = None  # database time the outage began
        self._ran: set[int] = set()  # targets checked offline since then

    @property
    def active(self) -> bool:
        return self._since is not None

    # -- the grids -----------------------------------------------------------------------

    def remember(self, target: ClaimedTarget[Any]) -> None:
        """`target`'s slot is this worker's: offline, its grid goes on from the next slot.
        Not a push target's: its slots mean "no ping came", which only the database can tell
        (the pings wait there while it is away), so offline it would record false misses."""
        if target.kind == "push":
            return
        self._grids[target.id] = Grid(target, target.due_at + timedelta(seconds=target.interval_s))

    def known_ids(self, among: Iterable[int] | None = None) -> list[int]:
        """The targets with a known grid (of `among`, when given)."""
        if among is None:
            return list(self._grids)
        return [i for i in among if i in self._grids]

    def forget_reanchored(self, target_ids: Iterable[int], anchors: Mapping[int, datetime]) -> None:
        """Forget the grids of these targets that are not their schedule's any more."""
        for target_id in target_ids:
            grid = self._grids.get(target_id)
            if grid is not None and anchors.get(target_id) != grid.target.anchor_at:
                del self._grids[target_id]

    # -- entering and leaving ------------------------------------------------------------

    async def connection_lost(self, exc: BaseException) -> bool:
        """True only when Postgres is unreachable: the error says the connection is gone and a
        fresh connection cannot be made either (a pool connection can die alone)."""
        if classify(exc) is not DbFault.LOST:
            return False
        if self._dsn is None or self.active:
            return True
        try:
            conn = await asyncpg.connect(self._dsn, timeout=self._probe_timeout_s)
        except Exception as probe_exc:  # noqa: BLE001 - classified right below
            return classify(probe_exc) is DbFault.LOST
        try:
            await asyncio.wait_for(conn.close(), timeout=1.0)
        except Exception:  # noqa: BLE001 - the probe did its job; never block the loop on it
            conn.terminate()
        return False

    def enter(self, exc: BaseException) -> None:
        """Postgres is unreachable: from now on the known grids are this worker's to run
        (only once a claim told the database's time, since slots are due in it)."""
        if self.active or not self._clock.synced:
            if not self.active:
                log.warning("scheduler.claim_failed", error=repr(exc))
            return
        self._since = self._clock.now()
        log.warning("scheduler.offline", error=repr(exc), targets=len(self._grids))

    def schedule(self, slots: SlotTable, lookahead_s: float) -> None:
        """Offline: put into `slots`, within the lookahead and while there is room, the next
        slot of each grid this worker runs."""
        since = self._since
        assert since is not None, "only offline"
        horizon = self._clock.now() + timedelta(seconds=lookahead_s)
        for target_id, grid in list(self._grids.items()):
            if grid.next_due + timedelta(seconds=grid.target.interval_s) <= since:
                del self._grids[target_id]  # its latest slot went to another worker
                continue
            if slots.has_pending(target_id) or grid.next_due > horizon:
                continue
            if slots.free <= 0:
                return
            target = grid.target.at(grid.next_due)
            slots.add(target, offline=True)
            self.remember(target)
            self._ran.add(target_id)

    async def leave(self) -> None:
        """Postgres is back: the schedule of the targets checked offline moves past the slots
        they ran, so no slot is claimed again; then normal claiming resumes."""
        ran = [self._grids[i] for i in sorted(self._ran) if i in self._grids]
        if ran:
            await self._pool.execute(
                Q["advance_after_offline"],
                [g.target.id for g in ran],
                [g.target.anchor_at for g in ran],
                [g.next_due for g in ran],
            )
        assert self._since is not None
        log.info(
            "scheduler.online",
            offline_s=round((self._clock.now() - self._since).total_seconds(), 3),
            targets_kept=len(ran),
        )
        self._since = None
        self._ran.clear()
