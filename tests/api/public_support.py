"""Seeding for the public status page and badge tests (states, roll-ups, incidents and
maintenance written straight to their tables, as a worker and the maintenance API leave them),
and a small HTML tree to read the rendered page by its elements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any

import asyncpg

from vigil_core.rollups import BUCKET_COUNT, bucket_index

PAGES = "/api/v1/status-pages"


async def set_state(
    db: asyncpg.Connection,
    target_id: int,
    status: str,
    *,
    error_class: str | None = None,
    error_message: str | None = None,
    latency_ms: float | None = None,
) -> None:
    await db.execute(
        "UPDATE target_state SET status = $2, since = now() - interval '1 hour',"
        " last_checked_at = now(), last_ok = $2 = 'up', last_error_class = $3,"
        " last_error_message = $4, last_latency_ms = $5 WHERE target_id = $1",
        target_id,
        status,
        error_class,
        error_message,
        latency_ms,
    )


async def add_rollup(
    db: asyncpg.Connection,
    target_id: int,
    hour: datetime,
    checks: int,
    ok: int,
    latency_ms: float = 20.0,
) -> None:
    """One hourly roll-up (the daily one follows by trigger): `ok` checks of `latency_ms`."""
    buckets = [0] * BUCKET_COUNT
    buckets[bucket_index(latency_ms)] = ok
    await db.execute(
        "INSERT INTO check_rollups_hourly (target_id, hour, checks, ok, latency_sum_ms,"
        " latency_max_ms, latency_count, latency_buckets) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        target_id,
        hour,
        checks,
        ok,
        latency_ms * ok,
        latency_ms if ok else 0,
        ok,
        buckets,
    )


async def add_day(
    db: asyncpg.Connection, target_id: int, day: date, checks: int, ok: int, latency_ms: float = 20
) -> None:
    """`checks` checks on a UTC day (in its first hour; today: in the hour now)."""
    now = datetime.now(UTC)
    hour = datetime.combine(day, time(1), UTC)
    if hour > now:
        hour = now.replace(minute=0, second=0, microsecond=0)
    await add_rollup(db, target_id, hour, checks, ok, latency_ms)


def days_ago(n: int) -> date:
    return datetime.now(UTC).date() - timedelta(days=n)


async def add_window(
    db: asyncpg.Connection,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    target_ids: list[int] = (),  # type: ignore[assignment]
    *,
    description: str = "",
    match_labels: dict[str, str] | None = None,
) -> int:
    """A one-off maintenance window and its occurrence, as the maintenance API plans one."""
    window_id = await db.fetchval(
        "INSERT INTO maintenance_windows (name, description, kind, match_labels, starts_at,"
        " ends_at) VALUES ($1, $2, 'once', $3, $4, $5) RETURNING id",
        name,
        description,
        match_labels or {},
        starts_at,
        ends_at,
    )
    await db.execute(
        "INSERT INTO maintenance_window_targets (window_id, target_id)"
        " SELECT $1, unnest($2::bigint[])",
        window_id,
        list(target_ids),
    )
    await db.execute(
        "INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at) VALUES ($1, $2, $3)",
        window_id,
        starts_at,
        ends_at,
    )
    return window_id


async def add_incident(
    db: asyncpg.Connection,
    target_id: int,
    started_at: datetime,
    ended_at: datetime | None = None,
    cause: str = "refused",
) -> int:
    return await db.fetchval(
        "INSERT INTO incidents (target_id, started_at, ended_at, cause) VALUES ($1, $2, $3, $4)"
        " RETURNING id",
        target_id,
        started_at,
        ended_at,
        cause,
    )


async def add_page(client: Any, slug: str, groups: list[dict], **fields: Any) -> dict:
    resp = await client.post(
        PAGES, json={"slug": slug, "title": "Status", **fields, "groups": groups}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


# -- reading HTML ------------------------------------------------------------------------------

VOID = frozenset({"meta", "link", "img", "br", "hr", "input", "source", "wbr"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if (
                (tag is None or child.tag == tag)
                and (cls is None or cls in child.classes)
                and all(child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
            ):
                found.append(child)
            found.extend(child.find_all(tag, cls, **attrs))
        return found

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} class={cls} {attrs}>"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return
        raise AssertionError(f"</{tag}> closes nothing")

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    builder = _Builder()
    builder.feed(text)
    builder.close()
    assert len(builder.stack) == 1, f"unclosed: {[n.tag for n in builder.stack[1:]]}"
    return builder.root


def inline_code(root: Node) -> list[str]:
    """Anything the CSP would refuse or that runs without a file: inline scripts, style
    elements and attributes, event handler attributes, javascript: URLs."""
    found = []

    def walk(node: Node) -> None:
        if node.tag == "script" and ("src" not in node.attrs or node.text.strip()):
            found.append(f"inline <script>: {node.text[:60]!r}")
        if node.tag == "style":
            found.append("<style> element")
        for name, value in node.attrs.items():
            if name == "style" or name.startswith("on"):
                found.append(f"{name}= on <{node.tag}>")
            if value.strip().lower().startswith("javascript:"):
                found.append(f"javascript: URL on <{node.tag}>")
        for child in node.children:
            if isinstance(child, Node):
                walk(child)

    walk(root)
    return found
