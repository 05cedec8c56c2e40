"""The Atom feed (RFC 4287) of a status page: one entry per incident (with its updates) and one
per maintenance occurrence on now or coming. Entry ids are stable URNs, so a reader shows an
incident once and marks it changed when an update arrives (its `updated` moves)."""

from __future__ import annotations

import re
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from .html import UPDATE_TEXT
from .page import PublicIncident, PublicMaintenance, PublicPage

ATOM_NS = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Text for an XML element: escaped, and without the characters XML cannot carry."""
    return escape(_NOT_XML.sub("", text))


def xml_attr(text: str) -> str:
    """A quoted XML attribute value (quotes included)."""
    return quoteattr(_NOT_XML.sub("", text))


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def _utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _incident(i: PublicIncident, page_url: str) -> tuple[datetime, str]:
    times = [
        i.started_at,
        *([i.ended_at] if i.ended_at else []),
        *(u.created_at for u in i.updates),
    ]
    updated = max(times)
    lines = [f"Started {_utc(i.started_at)}."]
    if i.ended_at:
        lines.append(f"Ended {_utc(i.ended_at)}.")
    for u in i.updates:
        lines.append(f"\n{UPDATE_TEXT.get(u.status, u.status)} ({_utc(u.created_at)}): {u.message}")
    status = UPDATE_TEXT.get(i.status, i.status)
    return updated, (
        f"<entry><id>urn:vigil:incident:{i.id}</id>"
        f"<title>{xml_text(f'{i.target}: outage ({status})')}</title>"
        f"<updated>{_stamp(updated)}</updated><published>{_stamp(i.started_at)}</published>"
        f'<link rel="alternate" type="text/html" href={xml_attr(f"{page_url}#incident-{i.id}")}/>'
        f'<category term="incident"/>'
        f'<content type="text">{xml_text(chr(10).join(lines))}</content></entry>'
    )


def _maintenance(m: PublicMaintenance, page_url: str) -> tuple[datetime, str]:
    text = f"From {_utc(m.starts_at)} to {_utc(m.ends_at)}."
    if m.targets:
        text += f" Affects: {', '.join(m.targets)}."
    if m.description:
        text += f"\n{m.description}"
    state = "in progress" if m.active else "scheduled"
    return m.updated_at, (
        f"<entry><id>urn:vigil:maintenance:{m.window_id}:{int(m.starts_at.timestamp())}</id>"
        f"<title>{xml_text(f'Maintenance ({state}): {m.name}')}</title>"
        f"<updated>{_stamp(m.updated_at)}</updated>"
        f'<link rel="alternate" type="text/html" href={xml_attr(f"{page_url}#maintenance-{m.window_id}")}/>'
        f'<category term="maintenance"/>'
        f'<content type="text">{xml_text(text)}</content></entry>'
    )


def render(page: PublicPage, base: str) -> str:
    """The feed; `base` is the scheme and host the request came to (links are absolute)."""
    info = page.page
    page_url = base + info.url
    entries = [_incident(i, page_url) for i in page.incidents]
    entries += [_maintenance(m, page_url) for m in page.maintenance]
    entries.sort(key=lambda e: e[0], reverse=True)
    updated = max([info.updated_at, *(e[0] for e in entries)])
    subtitle = f"<subtitle>{xml_text(info.description)}</subtitle>" if info.description else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xmlns="{ATOM_NS}"><id>urn:vigil:status-page:{xml_text(info.slug)}</id>'
        f"<title>{xml_text(info.title)}</title>{subtitle}"
        f"<updated>{_stamp(updated)}</updated>"
        f"<author><name>{xml_text(info.title)}</name></author>"
        f'<link rel="self" type="application/atom+xml" href={xml_attr(base + info.feed_url)}/>'
        f'<link rel="alternate" type="text/html" href={xml_attr(page_url)}/>'
        "<generator>Vigil</generator>" + "".join(e[1] for e in entries) + "</feed>"
    )
