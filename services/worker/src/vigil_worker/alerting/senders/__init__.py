"""One sender per channel kind, all with the signature
`async def send(ctx: SendContext, config: <Kind>Config, message: Message) -> Outcome`.

`send()` picks the kind's sender; a sender that raises is a bug, stored as a temporary failure
(`internal: ...`) so the delivery is retried, never lost, and logged with its traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from vigil_core.channels import ChannelConfig
from vigil_core.logging import get_logger
from vigil_core.text import storable

from ..message import Message
from . import webhook
from .base import Outcome, SendContext

log = get_logger("vigil_worker.alerting")

Sender = Callable[[SendContext, Any, Message], Awaitable[Outcome]]
SENDERS: dict[str, Sender] = {
    "webhook": webhook.send,
}


async def send(ctx: SendContext, kind: str, config: ChannelConfig, message: Message) -> Outcome:
    sender = SENDERS.get(kind)
    if sender is None:
        return Outcome(ok=False, error=f"no sender for channel kind {kind!r} in this worker")
    try:
        return await sender(ctx, config, message)
    except Exception as exc:
        log.exception("alerting.sender_bug", kind=kind, delivery_id=message.delivery_id)
        return Outcome(
            ok=False, retry=True, error=storable(f"internal: {type(exc).__name__}: {exc}")[:300]
        )
