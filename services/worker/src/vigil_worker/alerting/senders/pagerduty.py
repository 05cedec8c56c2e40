"""PagerDuty: Events API v2. A firing triggers the alert `vigil-incident-<id>`, its resolve
resolves it, a reminder triggers it again (PagerDuty folds a trigger with an open alert's
dedup_key into that alert, so it re-notifies nobody but keeps the log).

- A summary resolve (an outage that ended within the route's delay, so no trigger was sent) is
  a change event (`/v2/change/enqueue`): it is recorded on the service without paging anyone,
  where a resolve alone would be dropped and a trigger would page for something already over.
- A test triggers and then resolves `vigil-test-<event id>`, so it shows end to end and leaves
  nothing open.
- A digest is one enqueue per item, in order within each incident (a trigger must not overtake
  its resolve), several incidents at once to fit the attempt's timeout. The outcome is the
  first failure in the digest's order, so a retry sends the whole digest again: PagerDuty
  de-duplicates by dedup_key, and each incident's last word is sent last again.

202 is accepted; 400 is permanent (its `errors` list is stored); 429 and 5xx are retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from vigil_core.channels import PagerDutyConfig
from vigil_core.text import storable

from .. import text
from ..message import Message
from .base import SENT, Outcome, SendContext, redacted
from .http import ERROR_BODY_CHARS, network_error, post

SUMMARY_CHARS = 1024  # PagerDuty's limit for payload.summary
CONCURRENCY = 8  # incidents of one digest enqueued at once
ENQUEUE = "/v2/enqueue"
CHANGE = "/v2/change/enqueue"

Event = tuple[str, str, dict[str, Any]]  # (path, dedup key or "" for a change event, body)


class Rejection(msgspec.Struct):
    message: str | None = None
    errors: list[str] = msgspec.field(default_factory=list)


def dedup_key(message: Message) -> str:
    if message.event == "test":
        return f"vigil-test-{message.event_id}"
    if message.incident is not None:
        return f"vigil-incident-{message.incident.id}"
    return f"vigil-event-{message.event_id}"


def _links(message: Message) -> list[dict[str, str]]:
    return [{"href": message.ui_url, "text": "Open in Vigil"}] if message.ui_url else []


def _details(message: Message) -> dict[str, Any]:
    details: dict[str, Any] = {"event": message.event, "vigil_event_id": message.event_id}
    if message.target is not None:
        details |= {"target": message.target.name, "kind": message.target.kind}
        details |= {"address": message.target.address, "labels": message.target.labels}
    if message.incident is not None:
        details |= {"cause": message.incident.cause}
        details |= {"started_at": message.incident.started_at.isoformat()}
        if message.incident.ended_at is not None:
            details["ended_at"] = message.incident.ended_at.isoformat()
    if message.seq is not None:
        details["reminder"] = message.seq
    return details


def _incident_payload(message: Message, severity: str) -> dict[str, Any]:
    target = message.target
    payload: dict[str, Any] = {
        "summary": text.cut(text.title(message), SUMMARY_CHARS),
        "source": (target.address if target else "") or "vigil",
        "severity": severity,
        "timestamp": message.occurred_at.isoformat(),
        "custom_details": _details(message),
    }
    if target is not None:
        payload["component"] = target.name
    return payload


def _alert(key: str, action: str, message: Message, severity: str = "critical") -> Event:
    body: dict[str, Any] = {"routing_key": key, "event_action": action}
    body["dedup_key"] = dedup_key(message)
    if action == "trigger":
        body |= {"payload": _incident_payload(message, severity), "client": "Vigil"}
        if message.ui_url:
            body |= {"client_url": message.ui_url, "links": _links(message)}
    return ENQUEUE, body["dedup_key"], body


def _change(key: str, message: Message) -> Event:
    payload = _incident_payload(message, "info")
    payload.pop("severity")
    payload.pop("component", None)  # not fields of a change event
    body = {"routing_key": key, "payload": payload, "links": _links(message)}
    return CHANGE, dedup_key(message), body


def events(routing_key: str, message: Message) -> list[Event]:
    """What one message is in PagerDuty: the enqueues, in order."""
    if message.event == "digest":
        return [e for item in message.items for e in events(routing_key, item)]
    if message.event == "test":
        trigger = _alert(routing_key, "trigger", message, severity="info")
        return [trigger, _alert(routing_key, "resolve", message)]
    if message.event == "resolved":
        if message.summary:
            return [_change(routing_key, message)]
        return [_alert(routing_key, "resolve", message)]
    return [_alert(routing_key, "trigger", message)]


def _rejected(outcome: Outcome, body: bytes) -> Outcome:
    """A 400 with PagerDuty's own words: `message: error; error`."""
    try:
        answer = msgspec.json.decode(body, type=Rejection)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return outcome
    words = "; ".join(answer.errors)
    said = ": ".join(w for w in (answer.message, words) if w)
    if not said:
        return outcome
    error = f"http {outcome.status}: " + storable(" ".join(said.split()))[:ERROR_BODY_CHARS]
    return msgspec.structs.replace(outcome, error=error)


async def _enqueue(ctx: SendContext, config: PagerDutyConfig, event: Event) -> Outcome:
    path, _, body = event
    url = config.api_url.rstrip("/") + path
    outcome, raw = await post(ctx, url, json=body, secrets=(config.routing_key,))
    if outcome.status == 400:
        outcome = _rejected(outcome, raw)
    return outcome


async def _chain(
    ctx: SendContext, config: PagerDutyConfig, chain: list[tuple[int, Event]]
) -> tuple[int, Outcome]:
    """One incident's events in order, stopping at the first failure (its index in the
    digest and outcome)."""
    for index, event in chain:
        outcome = await _enqueue(ctx, config, event)
        if not outcome.ok:
            return index, outcome
    return -1, SENT


async def send(ctx: SendContext, config: PagerDutyConfig, message: Message) -> Outcome:
    todo = events(config.routing_key, message)
    chains: dict[str, list[tuple[int, Event]]] = {}
    for index, event in enumerate(todo):
        chains.setdefault(event[1], []).append((index, event))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run(chain: list[tuple[int, Event]]) -> tuple[int, Outcome]:
        async with gate:
            return await _chain(ctx, config, chain)

    try:
        async with asyncio.timeout(ctx.timeout_s):
            results = await asyncio.gather(*(run(c) for c in chains.values()))
    except TimeoutError as exc:
        return network_error(exc)
    failures = sorted(((i, o) for i, o in results if i >= 0), key=lambda r: r[0])
    if not failures:
        return SENT
    index, outcome = failures[0]
    if len(todo) > 1:
        where = f"event {index + 1} of {len(todo)}: {outcome.error}"
        outcome = msgspec.structs.replace(outcome, error=where[:ERROR_BODY_CHARS])
    return redacted(outcome, (config.routing_key,))
