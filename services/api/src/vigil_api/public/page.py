"""A status page as a visitor sees it, read from the database in one go: the page, its targets'
statuses under their display names, 90 days of daily uptime from the roll-ups, the maintenance
on now or coming, and recent incidents with the editors' updates.

This struct is the page's JSON (/status/<slug>.json) and what the HTML and the Atom feed are
rendered from, so all three show the same. Nothing in it names a target as the monitor knows it
(name, address, labels, settings) or says why a check failed: a field added here is public.
Times are absolute (no "for 5 min"), so the page renders the same until something changes and
its ETag holds.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import asyncpg
import msgspec

from vigil_core.db import Conn, load_queries

from ..status_pages.service import logo_origin, public_url

Q = load_queries(__package__)

DAYS = 90
INCIDENT_DAYS = 30
MAX_INCIDENTS = 50
MAINTENANCE_AHEAD = timedelta(days=30)
MAX_MAINTENANCE = 20

Overall = Literal["operational", "partial_outage", "major_outage", "maintenance"]
OVERALL_TEXT: dict[str, str] = {
    "operational": "All systems operational",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "maintenance": "Maintenance in progress",
}
STATUS_TEXT: dict[str, str] = {
    "up": "Operational",
    "down": "Outage",
    "pending": "Pending",
    "paused": "Paused",
    "maintenance": "Maintenance",
}
# A name held in a window's text that is no target on this page.
OTHER_SERVICE = "another service"


class PageInfo(msgspec.Struct, kw_only=True):
    slug: str
    title: str
    description: str
    logo_url: str | None
    url: str
    feed_url: str
    updated_at: datetime


class PublicTarget(msgspec.Struct, kw_only=True):
    """A target under its display name. `daily`: uptime % per UTC day from `days.first` to
    `days.last` (null: no checks that day); `uptime_pct`: over those days."""

    id: int
    name: str
    status: str
    status_text: str
    since: datetime | None
    uptime_pct: float | None
    daily: list[float | None]


class PublicGroup(msgspec.Struct, kw_only=True):
    name: str
    targets: list[PublicTarget]


class DayRange(msgspec.Struct, kw_only=True):
    first: date
    last: date


class PublicMaintenance(msgspec.Struct, kw_only=True):
    """A window's current or next occurrence; `targets` are display names on this page."""

    window_id: int
    name: str
    description: str
    starts_at: datetime
    ends_at: datetime
    active: bool
    targets: list[str]
    updated_at: datetime


class PublicUpdate(msgspec.Struct, kw_only=True):
    status: str
    message: str
    created_at: datetime


class PublicIncident(msgspec.Struct, kw_only=True):
    """A down period of a target on the page; `status` is the latest update's, else
    `ongoing` or `resolved`. Updates newest first."""

    id: int
    target_id: int
    target: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    updates: list[PublicUpdate]


class PublicPage(msgspec.Struct, kw_only=True):
    page: PageInfo
    status: Overall
    status_text: str
    days: DayRange
    groups: list[PublicGroup]
    maintenance: list[PublicMaintenance]
    incidents: list[PublicIncident]


def overall(statuses: list[str]) -> Overall:
    """An outage beats maintenance: every watched target down is a major outage, some a
    partial one; else maintenance while any target is in it. Pending and paused targets count
    for neither."""
    down = statuses.count("down")
    if down:
        watched = down + statuses.count("up")
        return "major_outage" if down == watched else "partial_outage"
    return "maintenance" if "maintenance" in statuses else "operational"


def _daily(row: asyncpg.Record | None) -> tuple[list[float | None], float | None]:
    if row is None:
        return [None] * DAYS, None
    return list(row["daily"]), row["uptime_pct"]


def scrub(text: str, names: dict[str, str]) -> str:
    """`text` with each target name of `names` (as a whole word, the longest first, in one
    pass) replaced by what the page may call it: a window's name can hold target names (a
    generated "Maintenance of db-7")."""
    if not names:
        return text
    words = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.sub(rf"(?<!\w)(?:{words})(?!\w)", lambda m: names[m.group(0)], text)


async def load(conn: Conn, slug: str) -> PublicPage | None:
    """The page at `slug`, or None when there is none."""
    row = await conn.fetchrow(Q["page"], slug)
    if row is None:
        return None
    now = datetime.now(UTC)
    today = now.date()
    first = today - timedelta(days=DAYS - 1)
    rows = await conn.fetch(Q["page_targets"], row["id"])
    ids = list(dict.fromkeys(r["target_id"] for r in rows if r["target_id"] is not None))
    daily = {r["target_id"]: r for r in await conn.fetch(Q["daily"], ids, first, today)}

    groups: list[PublicGroup] = []
    shown: dict[int, str] = {}  # target id -> its first display name on the page
    statuses: dict[int, str] = {}
    position = None
    for r in rows:
        if r["group_position"] != position:
            groups.append(PublicGroup(name=r["group_name"], targets=[]))
            position = r["group_position"]
        if r["target_id"] is None:
            continue
        days, uptime = _daily(daily.get(r["target_id"]))
        groups[-1].targets.append(
            PublicTarget(
                id=r["target_id"],
                name=r["display_name"],
                status=r["status"],
                status_text=STATUS_TEXT.get(r["status"], r["status"]),
                since=r["since"],
                uptime_pct=uptime,
                daily=days,
            )
        )
        shown.setdefault(r["target_id"], r["display_name"])
        statuses[r["target_id"]] = r["status"]

    state = overall(list(statuses.values()))
    return PublicPage(
        page=PageInfo(
            slug=row["slug"],
            title=row["title"],
            description=row["description"],
            logo_url=row["logo_url"] if logo_origin(row["logo_url"]) else None,
            url=public_url(row["slug"]),
            feed_url=f"{public_url(row['slug'])}/feed.atom",
            updated_at=row["updated_at"],
        ),
        status=state,
        status_text=OVERALL_TEXT[state],
        days=DayRange(first=first, last=today),
        groups=groups,
        maintenance=await _maintenance(conn, ids, shown, now),
        incidents=await _incidents(conn, ids, shown, now),
    )


async def _maintenance(
    conn: Conn, ids: list[int], shown: dict[int, str], now: datetime
) -> list[PublicMaintenance]:
    if not ids:
        return []
    rows = await conn.fetch(Q["maintenance"], ids, now, now + MAINTENANCE_AHEAD, MAX_MAINTENANCE)
    out = []
    for r in rows:
        names = {n: OTHER_SERVICE for n in r["named"]}
        names.update({n: shown[i] for i, n in _names_of(r, shown)})
        out.append(
            PublicMaintenance(
                window_id=r["window_id"],
                name=scrub(r["name"], names),
                description=scrub(r["description"], names),
                starts_at=r["starts_at"],
                ends_at=r["ends_at"],
                active=r["starts_at"] <= now,
                targets=list(dict.fromkeys(shown[i] for i in r["target_ids"] if i in shown)),
                updated_at=r["updated_at"],
            )
        )
    return out


def _names_of(row: asyncpg.Record, shown: dict[int, str]) -> list[tuple[int, str]]:
    """(id, name) of the page's targets among the names a window's text holds."""
    return [(i, n) for i, n in zip(row["named_ids"], row["named"], strict=True) if i in shown]


async def _incidents(
    conn: Conn, ids: list[int], shown: dict[int, str], now: datetime
) -> list[PublicIncident]:
    if not ids:
        return []
    rows = await conn.fetch(Q["incidents"], ids, now - timedelta(days=INCIDENT_DAYS), MAX_INCIDENTS)
    updates: dict[int, list[PublicUpdate]] = {}
    if rows:
        for u in await conn.fetch(Q["incident_updates"], [r["id"] for r in rows]):
            updates.setdefault(u["incident_id"], []).append(
                PublicUpdate(status=u["status"], message=u["message"], created_at=u["created_at"])
            )
    out = []
    for r in rows:
        mine = updates.get(r["id"], [])
        status = mine[0].status if mine else ("ongoing" if r["ended_at"] is None else "resolved")
        out.append(
            PublicIncident(
                id=r["id"],
                target_id=r["target_id"],
                target=shown[r["target_id"]],
                started_at=r["started_at"],
                ended_at=r["ended_at"],
                status=status,
                updates=mine,
            )
        )
    return out
