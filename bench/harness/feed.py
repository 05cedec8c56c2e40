"""Results flowing without a worker: a loop that writes what a worker's flushes leave in
target_state and sends the same notifications (ResultsStored per batch, StateChanged per change
of state) at a set rate, so that what reads them (the API's live events) can be measured alone."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time

import asyncpg

from vigil_core.db import connect, load_queries
from vigil_core.notify import STATUS_CHANNEL, ResultsStored, StateChanged, encode

Q = load_queries(__package__, "feed.sql")

TICK_S = 0.05
BATCH = 400  # ids per ResultsStored, as the worker sends at most


class ResultFeed:
    """`rate` results a second over `ids`, round robin (each target every len(ids)/rate s), and
    `flips_per_s` changes of state among them. Use as `async with ResultFeed(...) as feed:`."""

    def __init__(
        self, db_url: str, ids: list[int], *, rate: float, flips_per_s: float, seed: int = 20
    ) -> None:
        self.db_url = db_url
        self.ids = ids
        self.rate = rate
        self.flips_per_s = flips_per_s
        self.results = 0
        self.flips = 0
        self.late_ticks = 0  # ticks that could not keep the rate
        self._rnd = random.Random(seed)
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> ResultFeed:
        conn = await connect(self.db_url)
        self._task = asyncio.create_task(self._run(conn), name="result-feed")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self, conn: asyncpg.Connection) -> None:
        cycle = itertools.cycle(self.ids)
        owed = flips_owed = 0.0
        next_at = time.monotonic()
        try:
            while True:
                owed += self.rate * TICK_S
                flips_owed += self.flips_per_s * TICK_S
                n, owed = int(owed), owed - int(owed)
                k, flips_owed = int(flips_owed), flips_owed - int(flips_owed)
                batch = [next(cycle) for _ in range(n)]
                flip = self._rnd.sample(batch, min(k, len(batch))) if k else []
                async with conn.transaction():
                    if flip:
                        for r in await conn.fetch(Q["feed_flip"], flip):
                            payload = StateChanged(
                                target_id=r["target_id"],
                                status=r["status"],
                                previous=r["previous"],
                                since=r["since"].isoformat(),
                            )
                            await conn.execute(
                                "SELECT pg_notify($1, $2)", STATUS_CHANNEL, encode(payload)
                            )
                    if batch:
                        await conn.execute(Q["feed_results"], batch)
                        for i in range(0, len(batch), BATCH):
                            payload = ResultsStored(target_ids=batch[i : i + BATCH])
                            await conn.execute(
                                "SELECT pg_notify($1, $2)", STATUS_CHANNEL, encode(payload)
                            )
                self.results += len(batch)
                self.flips += len(flip)
                next_at += TICK_S
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    self.late_ticks += 1
        finally:
            await conn.close()
