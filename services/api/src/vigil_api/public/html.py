"""The HTML of a public status page, complete without JavaScript: every text is escaped, and
there is no inline script or style (the page is served under the UI's CSP); status.css styles
it and status.js, when it runs, refreshes the statuses from the page's JSON.

Rendered once per cache TTL for any number of visitors, so it is plain string building. The
90-day bars would be most of a large page at one element a day; runs of equal days share one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from html import escape

from .page import DAYS, PublicIncident, PublicMaintenance, PublicPage, PublicTarget

# Seconds between status.js's refreshes from the JSON (the server's cache TTL is shorter).
REFRESH_S = 15

UPDATE_TEXT = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "ongoing": "Ongoing",
}


def _e(text: str) -> str:
    return escape(text, quote=True)


def _time(at: datetime) -> str:
    """An absolute UTC time that status.js shows in the visitor's zone."""
    iso = at.isoformat(timespec="seconds").replace("+00:00", "Z")
    return f'<time datetime="{iso}">{at.strftime("%Y-%m-%d %H:%M")} UTC</time>'


def _pct_text(pct: float) -> str:
    """Two decimals, never "100.00" for less than all checks ok."""
    text = f"{pct:.2f}"
    if text == "100.00" and pct < 100:
        text = "99.99"
    return text.rstrip("0").rstrip(".") if text.endswith(".00") else text


def _bar_class(pct: float | None) -> str:
    if pct is None:
        return "b0"
    if pct >= 100:
        return "b1"
    if pct >= 99:
        return "b2"
    if pct >= 95:
        return "b3"
    return "b4"


def _runs(daily: tuple[float | None, ...]) -> list[tuple[int, int, float | None]]:
    """(first day, days, uptime) of each run of days with the same uptime (or no data)."""
    runs: list[tuple[int, int, float | None]] = []
    start = 0
    for i in range(1, len(daily) + 1):
        if i == len(daily) or daily[i] != daily[start]:
            runs.append((start, i - start, daily[start]))
            start = i
    return runs


@lru_cache(maxsize=8192)
def _bars(daily: tuple[float | None, ...], first: date, uptime_pct: float | None) -> str:
    """One element per run of equal days (`dN`: N days wide, drawn as N bars by status.css), so
    a target whose days were all fine costs one element, not 90. Kept across renders: most
    targets' days are the same from one render to the next."""
    parts = []
    for start, days, pct in _runs(daily):
        text = "no data" if pct is None else f"{_pct_text(pct)} %"
        since = first + timedelta(days=start)
        when = f"{since}" if days == 1 else f"{since} to {since + timedelta(days=days - 1)}"
        parts.append(f'<li class="{_bar_class(pct)} d{days}" title="{when}: {text}"></li>')
    uptime = "no data" if uptime_pct is None else f"{_pct_text(uptime_pct)} %"
    return (
        f'<ol class=bars aria-label="Uptime per day over the last {DAYS} days: {uptime}">'
        + "".join(parts)
        + "</ol>"
    )


def _target(target: PublicTarget, first: date) -> str:
    uptime = "no data" if target.uptime_pct is None else f"{_pct_text(target.uptime_pct)} % uptime"
    return (
        f'<li class=target data-target="{target.id}"><div class=row>'
        f"<span class=tname>{_e(target.name)}</span>"
        f'<span class="status s-{_e(target.status)}" data-status="{_e(target.status)}">'
        f"{_e(target.status_text)}</span></div>"
        f"{_bars(tuple(target.daily), first, target.uptime_pct)}"
        f"<div class=scale><span>{DAYS} days ago</span><span class=uptime>{uptime}</span>"
        "<span>Today</span></div></li>"
    )


def _maintenance(items: list[PublicMaintenance]) -> str:
    if not items:
        return ""
    out = [
        "<section class=maintenance aria-labelledby=mw-title><h2 id=mw-title>Maintenance</h2><ul>"
    ]
    for m in items:
        state = "active" if m.active else "upcoming"
        when = "In progress" if m.active else "Scheduled"
        out.append(
            f'<li class="mw m-{state}" id=maintenance-{m.window_id}><h3>{_e(m.name)}</h3>'
            f"<p class=when><span class=tag>{when}</span> {_time(m.starts_at)} to "
            f"{_time(m.ends_at)}</p>"
        )
        if m.description:
            out.append(f"<p class=text>{_e(m.description)}</p>")
        if m.targets:
            out.append(f"<p class=affects>Affects: {_e(', '.join(m.targets))}</p>")
        out.append("</li>")
    out.append("</ul></section>")
    return "".join(out)


def _incident(i: PublicIncident) -> str:
    ended = f" · ended {_time(i.ended_at)}" if i.ended_at else ""
    out = [
        f'<li class="incident i-{_e(i.status)}" id=incident-{i.id}>'
        f"<h3>{_e(i.target)}: outage <span class=tag>{_e(UPDATE_TEXT.get(i.status, i.status))}"
        f"</span></h3><p class=when>Started {_time(i.started_at)}{ended}</p>"
    ]
    if i.updates:
        out.append("<ol class=updates>")
        for u in i.updates:
            out.append(
                f"<li><p class=meta><strong>{_e(UPDATE_TEXT.get(u.status, u.status))}</strong>"
                f" {_time(u.created_at)}</p><p class=text>{_e(u.message)}</p></li>"
            )
        out.append("</ol>")
    out.append("</li>")
    return "".join(out)


def _incidents(items: list[PublicIncident], days: int) -> str:
    body = (
        "<ol class=incident-list>" + "".join(_incident(i) for i in items) + "</ol>"
        if items
        else f"<p class=none>No incidents in the last {days} days.</p>"
    )
    return f"<section class=incidents aria-labelledby=inc-title><h2 id=inc-title>Incidents</h2>{body}</section>"


def render(page: PublicPage, assets: dict[str, str], incident_days: int) -> str:
    """The page; `assets` maps status.css and status.js to their versioned URLs."""
    info = page.page
    head = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{_e(info.title)}: status</title>"
        f'<link rel=stylesheet href="{assets["status.css"]}">'
        f'<link rel=alternate type="application/atom+xml" title="{_e(info.title)}" '
        f'href="{_e(info.feed_url)}">'
        f'<script type=module src="{assets["status.js"]}"></script></head>'
        f'<body data-json="{_e(info.url)}.json" data-refresh-s="{REFRESH_S}"><div class=wrap>'
    )
    logo = f'<img class=logo src="{_e(info.logo_url)}" alt="">' if info.logo_url else ""
    lead = f"<p class=lead>{_e(info.description)}</p>" if info.description else ""
    parts = [
        head,
        f"<header class=head>{logo}<div><h1>{_e(info.title)}</h1>{lead}</div></header>",
        f'<section id=overall class="overall o-{page.status}" data-status="{page.status}" '
        f"aria-live=polite><h2 id=overall-text>{_e(page.status_text)}</h2></section>",
        _maintenance(page.maintenance),
        "<div class=groups>",
    ]
    for group in page.groups:
        parts.append(f"<section class=group><h2>{_e(group.name)}</h2><ul class=targets>")
        parts.extend(_target(t, page.days.first) for t in group.targets)
        parts.append("</ul></section>")
    parts.append("</div>")
    parts.append(_incidents(page.incidents, incident_days))
    parts.append(
        f'<footer><a href="{_e(info.feed_url)}">Atom feed</a> · '
        f'<a href="{_e(info.url)}.json">JSON</a> · Powered by Vigil</footer></div></body></html>'
    )
    return "".join(parts)
