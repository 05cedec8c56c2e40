"""The live stream filtered by what a page shows: event types, target ids, and `counts` under
the summary's kind/label/name filters, recounted at most once a second and sent only when
they changed; bad parameters are refused by name, and a slow client is still dropped."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from vigil_api.database import Database
from vigil_api.events.hub import CountsFilter, Event, EventHub
from vigil_core.notify import STATUS_CHANNEL, ResultsStored, StateChanged, encode

from .sse import SSEStream
from .test_events import _connected, create

NEVER = "postgresql://127.0.0.1:9/never-connected"


async def notify_state(db, target_id: int, status: str, previous: str = "up") -> None:
    """What the worker does when a state changes: the row, then the NOTIFY, in one transaction."""
    async with db.transaction():
        await db.execute(
            "UPDATE target_state SET status = $2, since = now() WHERE target_id = $1",
            target_id,
            status,
        )
        payload = encode(
            StateChanged(
                target_id=target_id, status=status, previous=previous, since="2026-01-01T00:00:00Z"
            )
        )
        await db.execute("SELECT pg_notify($1, $2)", STATUS_CHANNEL, payload)


async def notify_result(db, target_id: int) -> None:
    await db.execute(
        "UPDATE target_state SET last_checked_at = now(), last_ok = true, last_latency_ms = 5"
        " WHERE target_id = $1",
        target_id,
    )
    await db.execute(
        "SELECT pg_notify($1, $2)", STATUS_CHANNEL, encode(ResultsStored(target_ids=[target_id]))
    )


async def events_until_quiet(stream: SSEStream, quiet_s: float = 1.5) -> list:
    """Every event until none came for `quiet_s` (heartbeats, every 0.3 s here, are skipped)."""
    got = []
    end = time.monotonic() + quiet_s
    while True:
        try:
            msg = await stream.next(timeout=max(0.01, end - time.monotonic()))
        except TimeoutError:
            return got
        if msg.event is not None:
            got.append(msg)
            end = time.monotonic() + quiet_s


async def test_type_filter_sends_only_the_types_asked_for(live, db) -> None:
    t = await create(live)
    url = f"{live.url}/api/v1/events"
    async with (
        SSEStream(f"{url}?type=state", headers=live.headers) as states,
        SSEStream(f"{url}?type=result,maintenance", headers=live.headers) as results,
        SSEStream(url, headers=live.headers) as everything,
    ):
        for s in (states, results, everything):
            await _connected(s)
        await notify_result(db, t["id"])
        await notify_state(db, t["id"], "down")
        assert [m.event for m in await events_until_quiet(states)] == ["state"]
        assert [m.event for m in await events_until_quiet(results)] == ["result"]
        assert sorted(m.event for m in await events_until_quiet(everything)) == ["result", "state"]


async def test_target_filter_applies_to_states_and_results(live, db) -> None:
    a, b = await create(live, name="a"), await create(live, name="b")
    async with SSEStream(
        f"{live.url}/api/v1/events?type=state&type=result&target_id={b['id']}",
        headers=live.headers,
    ) as stream:
        await _connected(stream)
        for t in (a, b):
            await notify_result(db, t["id"])
            await notify_state(db, t["id"], "down")
        got = await events_until_quiet(stream)
        assert sorted(m.event for m in got) == ["result", "state"]
        assert {m.json()["target_id"] for m in got} == {b["id"]}


async def test_counts_under_a_label_filter_arrive_when_they_change(live, db) -> None:
    ours = [await create(live, name=f"ours {i}", labels={"suite": "counts"}) for i in range(3)]
    other = await create(live, name="other", labels={"suite": "else"})
    for t in [*ours, other]:
        await db.execute("UPDATE target_state SET status = 'up' WHERE target_id = $1", t["id"])
    async with SSEStream(
        f"{live.url}/api/v1/events?type=counts&label=suite:counts", headers=live.headers
    ) as stream:
        await _connected(stream)
        # The first counts come soon after the stream opens, under the stream's filters.
        first = (await stream.next_event("counts", timeout=5)).json()
        assert first == {
            "up": 3,
            "down": 0,
            "pending": 0,
            "maintenance": 0,
            "paused": 0,
            "total": 3,
        }
        # A change outside the filter moves nothing: no counts event.
        await notify_state(db, other["id"], "down")
        assert await events_until_quiet(stream) == []
        # Changes under the filter: one event per round at most, with the counts after them.
        started = time.monotonic()
        await notify_state(db, ours[0]["id"], "down")
        await notify_state(db, ours[1]["id"], "down")
        got = [m.json() for m in await events_until_quiet(stream) if m.event == "counts"]
        assert got and got[-1]["down"] == 2 and got[-1]["up"] == 1 and got[-1]["total"] == 3
        assert len(got) <= 1 + int(time.monotonic() - started)


async def test_counts_of_a_kind(live, db) -> None:
    await create(live, name="web one")
    async with aiohttp.ClientSession(headers=live.headers) as session:
        async with session.post(
            f"{live.url}/api/v1/targets",
            json={"name": "port", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval_s": 30},
        ) as resp:
            assert resp.status == 201, await resp.text()
    async with SSEStream(
        f"{live.url}/api/v1/events?type=counts&kind=tcp", headers=live.headers
    ) as stream:
        await _connected(stream)
        assert (await stream.next_event("counts", timeout=5)).json()["total"] == 1


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("type=bogus", "type"),
        ("type=state,nonsense", "type"),
        ("type=,", "type"),
        ("target_id=seven", "target_id"),
        ("kind=gopher", "kind"),
        ("label=novalue", "label"),
        ("type=counts&label=:x", "label"),
    ],
)
async def test_bad_parameters_are_refused_by_name(live, query: str, param: str) -> None:
    async with aiohttp.ClientSession(headers=live.headers) as session:
        async with session.get(f"{live.url}/api/v1/events?{query}") as resp:
            assert resp.status == 400
            assert param in await resp.text()


# The hub alone: no database, a counter the test controls.


async def test_counts_rounds_are_at_most_one_per_interval_and_only_on_change() -> None:
    calls: list[CountsFilter] = []
    value = {"up": 1, "down": 0, "total": 1}

    async def count(f: CountsFilter) -> dict[str, int]:
        calls.append(f)
        return dict(value)

    hub = EventHub(Database(NEVER), count=count, counts_interval_s=0.3)
    task = asyncio.create_task(hub._run_counts())
    try:
        sub = hub.subscribe(types=frozenset({"counts"}), counts_filter=CountsFilter(kind="http"))
        first = await asyncio.wait_for(sub.queue.get(), 2)
        assert first.event == "counts" and calls == [CountsFilter(kind="http")]
        # Many changes in a burst: one round per interval, no event while the counts hold.
        started = time.monotonic()
        for _ in range(50):
            hub._counts_changed()
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.4)
        rounds = len(calls) - 1
        assert 1 <= rounds <= 1 + (time.monotonic() - started) / 0.3
        assert sub.queue.empty()
        value["down"], value["up"] = 1, 0
        hub._counts_changed()
        changed = await asyncio.wait_for(sub.queue.get(), 2)
        assert '"down":1' in changed.data
        # A newcomer under the same filters gets the last counts at once, without a count.
        before = len(calls)
        late = hub.subscribe(types=frozenset({"counts"}), counts_filter=CountsFilter(kind="http"))
        assert late.queue.get_nowait() is changed
        assert len(calls) == before
    finally:
        task.cancel()


async def test_an_event_is_offered_only_to_subscribers_indexed_for_it() -> None:
    hub = EventHub(Database(NEVER))
    one = hub.subscribe(frozenset({1}), frozenset({"state"}))
    two = hub.subscribe(frozenset({2}), frozenset({"state", "result"}))
    wide = hub.subscribe()
    dashboards = [hub.subscribe(frozenset({3}), frozenset({"state", "counts"})) for _ in range(3)]
    event = Event("state", '{"target_id": 2}', 2)
    hub.publish(event)
    assert one.queue.empty() and all(d.queue.empty() for d in dashboards)
    # One encoding, shared: both queues hold the same frame.
    assert two.queue.get_nowait() is wide.queue.get_nowait() is event
    assert event.wire == b'event: state\r\ndata: {"target_id": 2}\r\n\r\n'
    # Results only for who asked for them; nobody is offered the results of target 1.
    assert not hub._wants_results(1) or hub._wide["result"]
    hub.unsubscribe(wide)
    assert not hub._wants_results(1) and hub._wants_results(2)
    # A resync reaches everyone whatever they asked for.
    hub.publish(Event("resync", "{}"))
    assert all(not s.queue.empty() for s in (one, two, *dashboards))


async def test_slow_indexed_subscriber_is_dropped_and_forgotten() -> None:
    hub = EventHub(Database(NEVER), queue_size=2)
    slow = hub.subscribe(frozenset({7}), frozenset({"state", "counts"}), CountsFilter(q="x"))
    fast = hub.subscribe(frozenset({7}), frozenset({"state"}))
    for i in range(4):
        hub.publish(Event("state", f'{{"n": {i}}}', 7))
        fast.queue.get_nowait()
    assert slow.dropped and not fast.dropped and slow.queue.qsize() == 2
    assert hub.dropped_total == 1 and hub.subscriber_count == 1
    assert hub._narrow["state"][7] == {fast} and not hub._counts


async def test_a_slow_client_over_http_is_disconnected(live, app, db) -> None:
    """A client that reads nothing: its queue fills and its stream ends (it reconnects)."""
    t = await create(live)
    hub: EventHub = app.state.hub
    dropped = hub.dropped_total
    async with SSEStream(
        f"{live.url}/api/v1/events?type=state&target_id={t['id']}", headers=live.headers
    ):
        # Straight into the hub: as many events as a queue holds, and one more.
        for i in range(hub._queue_size + 1):
            hub.publish(Event("state", f'{{"target_id": {t["id"]}, "n": {i}}}', t["id"]))
        assert hub.dropped_total == dropped + 1
        async with asyncio.timeout(5):
            while hub.subscriber_count:
                await asyncio.sleep(0.02)


async def test_counts_rounds_stop_when_the_last_counts_subscriber_leaves() -> None:
    """Dirty counts nobody asks for any more: the rounds pause instead of spinning (a spinning
    loop never yields, so the sleep below would never end)."""

    async def count(f: CountsFilter) -> dict[str, int]:
        return {"total": 0}

    hub = EventHub(Database(NEVER), count=count, counts_interval_s=0.05)
    task = asyncio.create_task(hub._run_counts())
    try:
        sub = hub.subscribe(types=frozenset({"counts"}))
        await asyncio.wait_for(sub.queue.get(), 2)
        hub._counts_changed()
        hub.unsubscribe(sub)
        await asyncio.sleep(0.2)
        assert not hub._counts and not hub._counts_dirty and not task.done()
    finally:
        task.cancel()
