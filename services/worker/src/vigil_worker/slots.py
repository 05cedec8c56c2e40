"""The slot table: claimed slots waiting on loop timers and the checks running, bounded together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vigil_core.logging import get_logger

from .checks import ClaimedTarget
from .dbclock import DbClock
from .metrics import LoopHistogram

log = get_logger("vigil_worker.slots")


@dataclass(slots=True)
class Slot:
    """A claimed slot: its target, when it starts (loop time), and whether it runs offline."""

    target: ClaimedTarget[Any]
    deadline: float
    offline: bool
    handle: asyncio.TimerHandle | None = None


# Runs a slot's check; gets the slot and how late (seconds) it started.
RunSlot = Callable[[Slot, float], Coroutine[Any, Any, None]]


class SlotTable:
    """Pending slots wait on loop timers (call_at), not on sleeping tasks; pending slots and
    running checks together count against the concurrency bound."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        clock: DbClock,
        concurrency: int,
        run: RunSlot,
        lag: LoopHistogram,
    ) -> None:
        self._loop = loop
        self._clock = clock
        self._concurrency = concurrency
        self._run = run
        self._lag = lag
        self._pending: dict[int, list[Slot]] = {}
        self._n_pending = 0
        self._running: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()  # set when enough slots are free to claim a batch again

    @property
    def in_flight(self) -> int:
        return self._n_pending + len(self._running)

    @property
    def free(self) -> int:
        return self._concurrency - self.in_flight

    def has_pending(self, target_id: int) -> bool:
        return target_id in self._pending

    def pending_ids(self) -> list[int]:
        return list(self._pending)

    def add(self, target: ClaimedTarget[Any], offline: bool) -> None:
        """`target`'s slot, started when it is due (target.due_at, on the database's clock)."""
        slot = Slot(target, self._clock.to_loop(target.due_at), offline)
        slot.handle = self._loop.call_at(slot.deadline, self._start, slot)
        self._pending.setdefault(target.id, []).append(slot)
        self._n_pending += 1

    def cancel_reanchored(self, target_ids: Iterable[int], anchors: Mapping[int, datetime]) -> int:
        """Cancel the pending slots of these targets whose grid is not their schedule's any more
        (`anchors`: each schedule row still there, by target); returns how many."""
        cancelled = 0
        for target_id in target_ids:
            for slot in list(self._pending.get(target_id, ())):
                if anchors.get(target_id) != slot.target.anchor_at:
                    self._cancel(slot)
                    cancelled += 1
        return cancelled

    async def wait_for_room(self, wake: asyncio.Event) -> None:
        """Until a tenth of the slots is free (not per freed slot: one claim per check would
        not scale), a short while passes, or `wake` is set."""
        self._room.clear()
        waits = [asyncio.ensure_future(self._room.wait()), asyncio.ensure_future(wake.wait())]
        try:
            await asyncio.wait(waits, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def drain(self, timeout: float) -> int:
        """Let pending slots start and running checks finish; cancel what is left after
        `timeout`. Returns how many were cancelled."""
        end = self._loop.time() + timeout
        while self.in_flight and self._loop.time() < end:
            await asyncio.sleep(min(0.05, max(0.0, end - self._loop.time())))
        left = 0
        for slots in list(self._pending.values()):
            for slot in list(slots):
                self._cancel(slot)
                left += 1
        for task in list(self._running):
            task.cancel()
            left += 1
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        return left

    def _cancel(self, slot: Slot) -> None:
        assert slot.handle is not None
        slot.handle.cancel()
        self._forget(slot)

    def _forget(self, slot: Slot) -> None:
        slots = self._pending.get(slot.target.id)
        if slots and slot in slots:
            slots.remove(slot)
            self._n_pending -= 1
            if not slots:
                del self._pending[slot.target.id]

    def _start(self, slot: Slot) -> None:
        self._forget(slot)
        lag = max(0.0, self._loop.time() - slot.deadline)
        self._lag.observe(lag)
        task = self._loop.create_task(self._run(slot, lag), name=f"check-{slot.target.id}")
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self.free >= max(1, self._concurrency // 10):
            self._room.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("check.crashed", task=task.get_name(), exc_info=task.exception())
