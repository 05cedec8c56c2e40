"""ntfy: a message to a topic, in ntfy's JSON publish form (a POST to the server's root with
`{topic, title, message, priority, tags, click}`).

The JSON form rather than the body-plus-headers one: header values must be ASCII (a title with
`é` or an emoji would need RFC 2047 encoded words), JSON carries any text as it is. Firing and
reminders are priority 4 (high) with the rotating_light tag; resolves and tests the default,
3. A token is sent as `Authorization: Bearer`.
"""

from __future__ import annotations

from typing import Any

from vigil_core.channels import NtfyConfig

from .. import text
from ..message import Message
from .base import Outcome, SendContext
from .http import post

# ntfy turns a message over 4096 bytes into an attachment (which many servers refuse).
MESSAGE_BYTES = 4000
PRIORITY = {"down": 4, "up": 3, "info": 3}
TAGS = {"down": "rotating_light", "up": "white_check_mark", "info": "test_tube"}


def cut_bytes(value: str, limit: int) -> str:
    """`value` in at most `limit` UTF-8 bytes, cut at a character boundary."""
    raw = value.encode()
    if len(raw) <= limit:
        return value
    return raw[: limit - 3].decode("utf-8", "ignore") + "\u2026"


def payload(topic: str, message: Message) -> dict[str, Any]:
    tone = text.tone(message)
    body: dict[str, Any] = {
        "topic": topic,
        "title": text.title(message),
        "message": cut_bytes(text.text(message), MESSAGE_BYTES),
        "priority": PRIORITY[tone],
        "tags": [TAGS[tone]],
    }
    if message.ui_url:
        body["click"] = message.ui_url
    return body


async def send(ctx: SendContext, config: NtfyConfig, message: Message) -> Outcome:
    headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
    outcome, _ = await post(
        ctx,
        config.server_url.rstrip("/") + "/",
        json=payload(config.topic, message),
        headers=headers,
        secrets=(config.token,) if config.token else (),
    )
    return outcome
