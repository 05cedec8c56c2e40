"""SVG badges in the shields.io "flat" style: a grey label and a coloured value, sized from an
approximation of Verdana 11px, so they sit in a README beside shields' own.

The texts are ours (a status word, a percentage, a latency), never a target's name, and are
escaped all the same.
"""

from __future__ import annotations

from .atom import xml_attr, xml_text

GREEN, YELLOWGREEN, YELLOW, ORANGE, RED, BLUE, GREY = (
    "#4c1",
    "#97ca00",
    "#dfb317",
    "#fe7d37",
    "#e05d44",
    "#007ec6",
    "#9f9f9f",
)
STATUS_COLOURS = {"up": GREEN, "down": RED, "maintenance": BLUE, "paused": GREY, "pending": GREY}

# Advance widths in px of Verdana at 11px (shields measures the same font); others count 7.
_WIDTHS = {
    **dict.fromkeys("0123456789", 7.0),
    **dict(
        zip(
            "abcdefghijklmnopqrstuvwxyz",
            [
                6.7,
                6.9,
                5.8,
                6.9,
                6.6,
                3.9,
                6.9,
                7.0,
                3.0,
                3.8,
                6.5,
                3.0,
                10.7,
                7.0,
                6.7,
                6.9,
                6.9,
                4.7,
                5.7,
                4.3,
                7.0,
                6.5,
                9.0,
                6.5,
                6.5,
                5.8,
            ],
            strict=True,
        )
    ),
    " ": 3.9,
    "%": 11.9,
    ".": 4.0,
    ",": 4.0,
    "-": 4.6,
    ":": 4.6,
}
_PAD = 6  # on each side of a text


def text_width(text: str) -> float:
    return sum(_WIDTHS.get(ch, 7.5 if ch.isupper() else 7.0) for ch in text)


def badge(label: str, value: str, colour: str) -> str:
    lw = round(text_width(label) + 2 * _PAD)
    vw = round(text_width(value) + 2 * _PAD)
    w = lw + vw
    title = f"{label}: {value}"
    label_t, value_t = xml_text(label), xml_text(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" '
        f"aria-label={xml_attr(title)}><title>{xml_text(title)}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{vw}" height="20" fill={xml_attr(colour)}/>'
        f'<rect width="{w}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{lw / 2:g}" y="15" fill="#010101" fill-opacity=".3">{label_t}</text>'
        f'<text x="{lw / 2:g}" y="14">{label_t}</text>'
        f'<text x="{lw + vw / 2:g}" y="15" fill="#010101" fill-opacity=".3">{value_t}</text>'
        f'<text x="{lw + vw / 2:g}" y="14">{value_t}</text></g></svg>'
    )


def status_badge(status: str) -> str:
    return badge("status", status, STATUS_COLOURS.get(status, GREY))


def uptime_badge(window: str, checks: int, ok: int) -> str:
    label = f"uptime {window}"
    if not checks:
        return badge(label, "no data", GREY)
    pct = 100.0 * ok / checks
    text = f"{pct:.2f}"
    if text == "100.00" and ok < checks:
        text = "99.99"
    text = "100" if ok == checks else text
    colour = (
        GREEN
        if pct >= 99.9
        else YELLOWGREEN
        if pct >= 99
        else YELLOW
        if pct >= 95
        else ORANGE
        if pct >= 90
        else RED
    )
    return badge(label, f"{text}%", colour)


def latency_badge(window: str, latency_sum_ms: float, count: int) -> str:
    label = f"latency {window}"
    if not count:
        return badge(label, "no data", GREY)
    ms = latency_sum_ms / count
    text = f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"
    colour = GREEN if ms < 200 else YELLOWGREEN if ms < 500 else YELLOW if ms < 1000 else ORANGE
    return badge(label, text, colour)
