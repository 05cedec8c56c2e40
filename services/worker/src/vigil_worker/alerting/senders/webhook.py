"""The generic webhook: the event as JSON (Message.body schema in docs/alerting.md), with
X-Vigil-Event-Id and X-Vigil-Delivery-Id for de-duplication and, with a secret, a signature:
X-Vigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> (as Stripe signs).
"""

from __future__ import annotations

import hashlib
import hmac
import time

import msgspec

from vigil_core.channels import WebhookConfig

from ..message import Message
from .base import Outcome, SendContext
from .http import post


def body(message: Message) -> bytes:
    """The JSON body: the message as the documented schema."""
    return msgspec.json.encode(message)


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    """The X-Vigil-Signature value; receivers compute the same and compare in constant time."""
    signed = str(timestamp).encode() + b"." + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


async def send(ctx: SendContext, config: WebhookConfig, message: Message) -> Outcome:
    payload = body(message)
    headers = {
        **config.headers,
        "Content-Type": "application/json",
        "User-Agent": "Vigil-Alerts",
        "X-Vigil-Delivery-Id": str(message.delivery_id),
        "X-Vigil-Event": message.event,
    }
    if message.event_id is not None:
        headers["X-Vigil-Event-Id"] = str(message.event_id)
    if config.secret:
        headers["X-Vigil-Signature"] = signature(config.secret, int(time.time()), payload)
    outcome, _ = await post(ctx, config.url, data=payload, headers=headers)
    return outcome
