"""The targets trigger sends exactly one NOTIFY per write, in the writing transaction."""

from __future__ import annotations

import asyncio

import asyncpg
import msgspec

from vigil_core.db import connect
from vigil_core.notify import TARGETS_CHANNEL, TargetChanged, decode_target_changed

INSERT = """INSERT INTO targets (name, kind, address, interval_s, timeout_s)
            VALUES ($1, 'http', 'http://127.0.0.1:9/', 60, 5) RETURNING id"""


MARKER = TargetChanged(op="update", id=-1)


class Inbox:
    """The vigil_targets notifications one LISTEN connection hears, in order."""

    def __init__(self) -> None:
        self.items: list[TargetChanged] = []
        self.marked = asyncio.Event()

    def __call__(self, conn: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        event = decode_target_changed(payload)
        assert event is not None, f"undecodable payload {payload!r}"
        if event == MARKER:
            self.marked.set()
        else:
            self.items.append(event)

    async def settle(self, sender: asyncpg.Connection) -> list[TargetChanged]:
        """What arrived before a marker sent now (notifications arrive in commit order), then clear."""
        self.marked.clear()
        await sender.execute(
            "SELECT pg_notify($1, $2)", TARGETS_CHANNEL, msgspec.json.encode(MARKER).decode()
        )
        await asyncio.wait_for(self.marked.wait(), 10)
        got, self.items = self.items, []
        return got


async def test_one_notification_per_write(db_url: str) -> None:
    listener = await connect(db_url)
    writer = await connect(db_url)
    inbox = Inbox()
    await listener.add_listener(TARGETS_CHANNEL, inbox)
    try:
        tid = await writer.fetchval(INSERT, "a")
        assert await inbox.settle(writer) == [TargetChanged(op="insert", id=tid)]

        await writer.execute("UPDATE targets SET interval_s = 30 WHERE id = $1", tid)
        assert await inbox.settle(writer) == [TargetChanged(op="update", id=tid)]

        await writer.execute("DELETE FROM targets WHERE id = $1", tid)
        assert await inbox.settle(writer) == [TargetChanged(op="delete", id=tid)]
    finally:
        await listener.close()
        await writer.close()


async def test_no_notification_for_rolled_back_write(db_url: str) -> None:
    listener = await connect(db_url)
    writer = await connect(db_url)
    inbox = Inbox()
    await listener.add_listener(TARGETS_CHANNEL, inbox)
    try:
        tr = writer.transaction()
        await tr.start()
        await writer.fetchval(INSERT, "b")
        await tr.rollback()
        assert await inbox.settle(writer) == []
        assert await writer.fetchval("SELECT count(*) FROM targets") == 0
    finally:
        await listener.close()
        await writer.close()


async def test_notification_only_after_commit(db_url: str) -> None:
    listener = await connect(db_url)
    writer = await connect(db_url)
    inbox = Inbox()
    await listener.add_listener(TARGETS_CHANNEL, inbox)
    try:
        async with writer.transaction():
            tid = await writer.fetchval(INSERT, "c")
            # A marker committed after the insert (from another session) arrives alone.
            assert await inbox.settle(listener) == []
        assert await inbox.settle(writer) == [TargetChanged(op="insert", id=tid)]
    finally:
        await listener.close()
        await writer.close()


def test_payload_shape_is_stable() -> None:
    assert msgspec.json.decode(b'{"op":"insert","id":7}', type=TargetChanged) == TargetChanged(
        "insert", 7
    )
    assert decode_target_changed("not json") is None
