"""Slack: a POST to an incoming webhook, `text` (the title, what notifications show) and Block Kit
sections with the lead, the facts (or a digest's items) and the link to the UI.

Slack answers 200 `ok`; its errors are words in the body (`invalid_payload`, `invalid_token`,
`channel_not_found`, `no_service`), which http.outcome_of stores; 404/410 (the webhook or its
channel is gone) mark the channel broken.
"""

from __future__ import annotations

from typing import Any

from vigil_core.channels import SlackConfig

from .. import text
from ..message import Message
from .base import Outcome, SendContext
from .http import post

SECTION_CHARS = 3000  # Slack's limit for a section's text
MAX_SECTIONS = 40  # of Slack's 50 blocks per message


def escape(value: str) -> str:
    """Slack's mrkdwn escaping: `&`, `<` and `>` (a `<` would start a link or a mention)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sections(lines: list[str]) -> list[dict[str, Any]]:
    """The lines in as few sections as fit Slack's size limit."""
    chunks: list[str] = []
    for line in lines:
        line = text.cut(line, SECTION_CHARS)
        if chunks and len(chunks[-1]) + 1 + len(line) <= SECTION_CHARS:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
        for chunk in chunks[:MAX_SECTIONS]
    ]


def payload(message: Message) -> dict[str, Any]:
    title = escape(text.title(message))
    head = f"*{title}*\n{escape(text.lead(message))}"
    if message.event == "digest":
        lines = [escape(line) for line in text.digest_lines(message)]
    else:
        lines = [f"*{escape(k)}:* {escape(v)}" for k, v in text.facts(message)]
    blocks = _sections([head]) + _sections(lines)
    if message.ui_url:
        link = f"<{escape(message.ui_url)}|Open in Vigil>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    return {"text": title, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


async def send(ctx: SendContext, config: SlackConfig, message: Message) -> Outcome:
    outcome, _ = await post(ctx, config.url, json=payload(message), secrets=(config.url,))
    return outcome
