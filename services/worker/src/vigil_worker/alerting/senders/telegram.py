"""Telegram: the bot API's sendMessage to one chat, plain text (no parse_mode, so a target's
name or cause needs no escaping and cannot break the message).

The answer is JSON `{ok, error_code, description, parameters}`. 429 says when to try again in
`parameters.retry_after`; 400 (`chat not found`, a group upgraded to a supergroup) and 403 (the
bot was blocked or removed) are permanent; 401 and 404 mean the token is wrong or revoked: the
channel is broken. The token is part of the URL, so the URL is never logged and every error
has it redacted.
"""

from __future__ import annotations

from typing import Any

import msgspec

from vigil_core.channels import TelegramConfig
from vigil_core.text import storable

from .. import text
from ..message import Message
from .base import SENT, Outcome, SendContext, redacted
from .http import ERROR_BODY_CHARS, post

TEXT_CHARS = 4000  # of Telegram's 4096 per message


class Parameters(msgspec.Struct):
    retry_after: float | None = None
    migrate_to_chat_id: int | None = None


class Answer(msgspec.Struct):
    ok: bool = False
    description: str | None = None
    parameters: Parameters | None = None


def payload(chat_id: str, message: Message) -> dict[str, Any]:
    body = f"{text.title(message)}\n\n{text.text(message)}"
    return {
        "chat_id": chat_id,
        "text": text.cut(body, TEXT_CHARS),
        "disable_web_page_preview": True,
    }


def _answer(body: bytes) -> Answer | None:
    try:
        return msgspec.json.decode(body, type=Answer)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _error(status: int | None, answer: Answer) -> str:
    words = storable(" ".join((answer.description or "").split()))[:ERROR_BODY_CHARS]
    moved = answer.parameters.migrate_to_chat_id if answer.parameters else None
    if moved is not None:
        words += f" (the chat is now {moved}: set chat_id to it)"
    return f"telegram {status}: {words}" if words else f"telegram {status}"


def outcome_of(outcome: Outcome, body: bytes) -> Outcome:
    """The Outcome of Telegram's answer: its own words and hints over the HTTP status's."""
    answer = _answer(body)
    if outcome.ok:
        # The API says ok: false with a 2xx only in theory; take it at its word anyway.
        if answer is None or answer.ok:
            return SENT
        return Outcome(ok=False, status=outcome.status, error=_error(outcome.status, answer))
    if outcome.status is None or answer is None:
        return outcome  # no answer at all (timeout, refused), or not the Bot API's JSON
    hint = answer.parameters.retry_after if answer.parameters else None
    return msgspec.structs.replace(
        outcome,
        error=_error(outcome.status, answer),
        retry_after_s=hint if hint is not None else outcome.retry_after_s,
        broken=outcome.broken or outcome.status in (401, 404),
    )


async def send(ctx: SendContext, config: TelegramConfig, message: Message) -> Outcome:
    url = f"{config.api_url.rstrip('/')}/bot{config.bot_token}/sendMessage"
    secrets = (url, config.bot_token)
    outcome, body = await post(ctx, url, json=payload(config.chat_id, message), secrets=secrets)
    return redacted(outcome_of(outcome, body), secrets)
