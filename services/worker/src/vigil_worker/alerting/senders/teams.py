"""Microsoft Teams: a POST to a Workflows webhook ("When a Teams webhook request is received"), a
message with one Adaptive Card 1.4 (the highest Teams renders everywhere): the title, the lead,
a FactSet (a digest: one line per item) and a button to the UI.

The Workflows trigger answers 202 Accepted (some flows 200). Its URL carries the flow's
signature (`sig=`), so it is a secret and redacted from every error.
"""

from __future__ import annotations

from typing import Any

from vigil_core.channels import TeamsConfig

from .. import text
from ..message import Message
from .base import Outcome, SendContext
from .http import post

COLOURS = {"down": "Attention", "up": "Good", "info": "Accent"}


def card(message: Message) -> dict[str, Any]:
    """The Adaptive Card (its `content`)."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": text.title(message),
            "size": "Medium",
            "weight": "Bolder",
            "color": COLOURS[text.tone(message)],
            "wrap": True,
        },
        {"type": "TextBlock", "text": text.lead(message), "wrap": True},
    ]
    if message.event == "digest":
        body += [
            {"type": "TextBlock", "text": line, "wrap": True, "spacing": "None"}
            for line in text.digest_lines(message)
        ]
    elif facts := text.facts(message):
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]})
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if message.ui_url:
        content["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open in Vigil", "url": message.ui_url}
        ]
    return content


def payload(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card(message),
            }
        ],
    }


async def send(ctx: SendContext, config: TeamsConfig, message: Message) -> Outcome:
    outcome, _ = await post(ctx, config.url, json=payload(message), secrets=(config.url,))
    return outcome
