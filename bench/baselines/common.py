"""What the bare baselines share: the counted window after a warm-up, their CLI and the event loop choice."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine


async def count_window(
    once: Callable[[], Awaitable[bool]], *, concurrency: int, warmup_s: float, duration_s: float
) -> dict:
    """CONCURRENCY loops call once() (True = success) back to back; only calls that end inside
    the window after the warm-up count, against this process's CPU time over that window."""
    counting = False
    done = errors = 0
    stop_at = time.monotonic() + warmup_s + duration_s

    async def loop() -> None:
        nonlocal done, errors
        while time.monotonic() < stop_at:
            ok = await once()
            if counting:
                done += 1
                errors += not ok

    tasks = [asyncio.create_task(loop()) for _ in range(concurrency)]
    await asyncio.sleep(warmup_s)
    counting = True
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(duration_s)
    counting = False
    cpu1, wall1 = time.process_time(), time.monotonic()
    await asyncio.gather(*tasks)
    return {"checks": done, "errors": errors, "cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0}


def parser(description: str, kinds: list[str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--kind", choices=kinds, default=kinds[0])
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    return p


def run_and_print(coro: Coroutine[None, None, dict], loop: str) -> None:
    """Run on the chosen event loop and print the result as one JSON line."""
    if loop == "uvloop":
        import uvloop

        result = uvloop.run(coro)
    else:
        result = asyncio.run(coro)
    print(json.dumps({**result, "loop": loop}), flush=True)
