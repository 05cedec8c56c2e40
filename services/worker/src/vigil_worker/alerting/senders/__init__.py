"""One sender per channel kind, all with the signature
`async def send(ctx: SendContext, config: <Kind>Config, message: Message) -> Outcome`.

`send()` picks the kind's sender; a sender that raises is a bug, stored as a temporary failure
(`internal: ...`) so the delivery is retried, never lost, and logged with its traceback. Every
error it returns, a sender's or a bug's, has the channel's secrets (vigil_core.channels.SECRETS)
redacted: a second net under each sender's own care, because errors are stored and shown.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from vigil_core.channels import SECRETS, ChannelConfig
from vigil_core.logging import get_logger
from vigil_core.text import storable

from ..message import Message
from . import apprise, discord, email, ntfy, pagerduty, slack, teams, telegram, webhook
from .base import Outcome, SendContext, redact, redacted

log = get_logger("vigil_worker.alerting")

Sender = Callable[[SendContext, Any, Message], Awaitable[Outcome]]
SENDERS: dict[str, Sender] = {
    "webhook": webhook.send,
    "slack": slack.send,
    "discord": discord.send,
    "teams": teams.send,
    "telegram": telegram.send,
    "ntfy": ntfy.send,
    "pagerduty": pagerduty.send,
    "email": email.send,
    "apprise": apprise.send,
}


def secrets_of(kind: str, config: ChannelConfig) -> list[str]:
    """The secret values of a config: its SECRETS fields, a dict's values, a list's items."""

    def values(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from values(v)
        elif isinstance(value, list | tuple):
            for v in value:
                yield from values(v)

    out: list[str] = []
    for field in SECRETS.get(kind, frozenset()):
        out.extend(values(getattr(config, field, None)))
    return out


async def send(ctx: SendContext, kind: str, config: ChannelConfig, message: Message) -> Outcome:
    sender = SENDERS.get(kind)
    if sender is None:
        return Outcome(ok=False, error=f"no sender for channel kind {kind!r} in this worker")
    secrets = secrets_of(kind, config)
    try:
        return redacted(await sender(ctx, config, message), secrets)
    except Exception as exc:
        # Logged as text, not with exc_info: a renderer that prints the frames' locals would
        # print the config, and with it the secrets.
        trace = "".join(traceback.format_exception(exc))
        log.error(
            "alerting.sender_bug",
            kind=kind,
            delivery_id=message.delivery_id,
            traceback=redact(trace, secrets),
        )
        error = redact(storable(f"internal: {type(exc).__name__}: {exc}"), secrets)
        return Outcome(ok=False, retry=True, error=error[:300])
