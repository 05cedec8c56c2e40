"""Discord: a POST to a channel webhook, `content` (the title, what notifications show) and one
embed with the lead, a colour, the time and the facts as fields (a digest: its items).

Discord answers 204 (200 with `?wait=true`). Rate limited, it answers 429 with a Retry-After
header and JSON `retry_after` in seconds (a float, the more precise of the two, which wins).
A deleted webhook answers 404 `Unknown Webhook`: the channel is broken.
"""

from __future__ import annotations

from typing import Any

import msgspec

from vigil_core.channels import DiscordConfig

from .. import text
from ..message import Message
from .base import Outcome, SendContext
from .http import post

COLOURS = {"down": 0xD32F2F, "up": 0x2E7D32, "info": 0x1976D2}
# Discord's limits: content 2000, embed title 256, description 4096, 25 fields of name 256
# and value 1024.
CONTENT_CHARS = 2000
TITLE_CHARS = 256
DESCRIPTION_CHARS = 4096
FIELD_VALUE_CHARS = 1024
MAX_FIELDS = 25
INLINE = frozenset({"Since", "Down for"})


class RateLimited(msgspec.Struct):
    retry_after: float | None = None


def payload(message: Message) -> dict[str, Any]:
    title = text.title(message)
    if message.event == "digest":
        description = "\n".join([text.lead(message), "", *text.digest_lines(message)])
    else:
        description = text.lead(message)
    embed: dict[str, Any] = {
        "title": text.cut(title, TITLE_CHARS),
        "description": text.cut(description, DESCRIPTION_CHARS),
        "color": COLOURS[text.tone(message)],
        "timestamp": message.occurred_at.isoformat(),
        "fields": [
            {"name": k, "value": text.cut(v, FIELD_VALUE_CHARS), "inline": k in INLINE}
            for k, v in text.facts(message)[:MAX_FIELDS]
        ],
    }
    if message.ui_url:
        embed["url"] = message.ui_url
    return {
        "content": text.cut(title, CONTENT_CHARS),
        "embeds": [embed],
        # A target named "@everyone" must not ping the whole server.
        "allowed_mentions": {"parse": []},
    }


def _retry_after(body: bytes) -> float | None:
    try:
        hint = msgspec.json.decode(body, type=RateLimited).retry_after
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return max(0.0, hint) if hint is not None else None


async def send(ctx: SendContext, config: DiscordConfig, message: Message) -> Outcome:
    outcome, body = await post(ctx, config.url, json=payload(message), secrets=(config.url,))
    if outcome.status == 429 and (hint := _retry_after(body)) is not None:
        return msgspec.structs.replace(outcome, retry_after_s=hint)
    return outcome
