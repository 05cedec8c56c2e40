"""The chat and paging senders against real loopback receivers that speak each service's API
shape, and the shared renderings (alerting/text.py) they all send."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.alerting.receivers import HANG, Answer, Receiver, Request
from tests.support import free_port
from vigil_core import channels
from vigil_worker.alerting import senders, text
from vigil_worker.alerting.message import IncidentInfo, Message, TargetInfo
from vigil_worker.alerting.senders.base import Outcome, SendContext

# --- messages ------------------------------------------------------------------------------

T0 = datetime(2024, 5, 1, 10, 1, 2, tzinfo=UTC)
UI = "http://vigil.example/#/targets/7"


def target(name: str = "api", tid: int = 7) -> TargetInfo:
    return TargetInfo(
        id=tid,
        name=name,
        kind="http",
        address="https://x",
        labels={"team": "web", "env": "prod"},
    )


def incident(iid: int = 41, after: float | None = None, cause: str = "timeout") -> IncidentInfo:
    ended = T0 + timedelta(seconds=after) if after is not None else None
    return IncidentInfo(id=iid, started_at=T0, ended_at=ended, cause=cause)


def firing(name: str = "api", iid: int = 41, cause: str = "timeout", **kw: Any) -> Message:
    return Message(
        event="firing",
        event_id=100 + iid,
        delivery_id=500 + iid,
        occurred_at=T0,
        target=target(name),
        incident=incident(iid, cause=cause),
        **kw,
    )


def resolved(after: float = 192, summary: bool = False, iid: int = 41, **kw: Any) -> Message:
    return Message(
        event="resolved",
        event_id=200 + iid,
        delivery_id=600 + iid,
        occurred_at=T0 + timedelta(seconds=after),
        target=target(),
        incident=incident(iid, after),
        summary=summary,
        **kw,
    )


def reminder(seq: int = 2, after: float = 3600, **kw: Any) -> Message:
    return Message(
        event="reminder",
        event_id=300,
        delivery_id=700,
        occurred_at=T0 + timedelta(seconds=after),
        target=target(),
        incident=incident(),
        seq=seq,
        **kw,
    )


def channel_test() -> Message:
    return Message(event="test", event_id=9, delivery_id=19, occurred_at=T0)


def digest(count: int) -> Message:
    items = tuple(firing(name=f"svc-{n:03d}", iid=n) for n in range(1, count + 1))
    return Message(event="digest", event_id=None, delivery_id=999, occurred_at=T0, items=items)


SUMMARY = "api was down from 10:01:02 to 10:01:40 UTC (38s): timeout"

# --- pure renderings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "title"),
    [
        (firing(), "DOWN: api (http https://x) - timeout"),
        (resolved(192), "RESOLVED: api after 3m 12s"),
        (resolved(38, summary=True), SUMMARY),
        (reminder(2, 3600), "REMINDER 2: api down for 1h"),
        (channel_test(), "TEST from Vigil"),
        (digest(23), "Vigil: 23 alerts"),
        (
            firing(cause="a\r\nSubject: forged\x00"),
            "DOWN: api (http https://x) - a Subject: forged",
        ),
        (firing(cause=""), "DOWN: api (http https://x)"),
    ],
    ids=[
        "firing",
        "resolved",
        "summary",
        "reminder",
        "test",
        "digest",
        "cause-newline",
        "no-cause",
    ],
)
def test_title(message: Message, title: str) -> None:
    assert text.title(message) == title


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (38, "38s"), (60, "1m"), (192, "3m 12s"), (3600, "1h"), (3612, "1h"),
     (3660, "1h 1m"), (86400 + 3 * 3600, "1d 3h"), (-5, "0s")],
    ids=["zero", "seconds", "minute", "min-sec", "hour", "hour-drops-seconds", "hour-min",
         "days", "negative"],
)  # fmt: skip
def test_duration(seconds: float, shown: str) -> None:
    assert text.duration(seconds) == shown


def test_text_has_cause_times_labels_and_link() -> None:
    body = text.text(firing(ui_url=UI))
    assert body.splitlines() == [
        "api is failing its checks: timeout",
        "Target: api (http https://x)",
        "Cause: timeout",
        "Since: 2024-05-01 10:01:02 UTC",
        "Labels: env=prod, team=web",
        f"Open: {UI}",
    ]


def test_resolve_text_says_from_to_and_how_long() -> None:
    body = text.text(resolved(192))
    assert "Down: 2024-05-01 10:01:02 to 10:04:14 UTC (3m 12s)" in body
    assert "is up again after 3m 12s" in body
    assert "Open:" not in body  # no public_url, no link


def test_summary_crossing_midnight_names_both_days() -> None:
    late = Message(
        event="resolved",
        event_id=1,
        delivery_id=2,
        occurred_at=datetime(2024, 5, 2, 0, 0, 20, tzinfo=UTC),
        target=target(),
        incident=IncidentInfo(
            id=1,
            started_at=datetime(2024, 5, 1, 23, 59, 50, tzinfo=UTC),
            ended_at=datetime(2024, 5, 2, 0, 0, 20, tzinfo=UTC),
            cause="refused",
        ),
        summary=True,
    )
    assert text.title(late) == (
        "api was down from 2024-05-01 23:59:50 to 2024-05-02 00:00:20 UTC (30s): refused"
    )


@pytest.mark.parametrize(
    ("count", "lines", "tail"),
    [(3, 3, None), (50, 50, None), (51, 51, "... and 1 more"), (120, 51, "... and 70 more")],
    ids=["few", "exactly-50", "one-over", "many"],
)
def test_digest_lists_at_most_50_items(count: int, lines: int, tail: str | None) -> None:
    shown = text.digest_lines(digest(count))
    assert len(shown) == lines
    assert shown[0] == "10:01:02 DOWN: svc-001 (http https://x) - timeout"
    if tail:
        assert shown[-1] == tail
        assert shown[-2].startswith("10:01:02 DOWN: svc-050 ")


def test_long_and_hostile_fields_are_capped_on_one_line() -> None:
    title = text.title(firing(name="n" * 5000, cause="c\n" * 5000))
    assert "\n" not in title and len(title) < 1000 and "\u2026" in title


# --- the receivers' kinds ------------------------------------------------------------------

SLACK_TOKEN = "xoxSlackSecret0123456789abcd"
DISCORD_TOKEN = "discordWebhookSecretToken_0123456789"
TEAMS_SIG = "teamsSignatureSecret0123456789"
TELEGRAM_TOKEN = "123456789:AAtelegramSecretToken0123456789"
NTFY_TOKEN = "tk_ntfySecretToken0123456789"
PD_KEY = "pdRoutingKeySecret0123456789abcd"


@dataclass(frozen=True)
class Kind:
    name: str
    config: Callable[[Receiver], dict[str, Any]]
    path: str
    secret: str
    ok: Answer  # what the real service answers to a good request
    rate_limited: Answer  # its 429
    delay: float  # the Retry-After that 429 means
    rejection: Answer  # its 400
    said: str  # the words of that 400 an operator needs in last_error
    other_ok: list[int] = field(default_factory=list)  # other success statuses it may send


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(
        status=status,
        body=json.dumps(body),
        headers=headers or {},
        content_type="application/json",
    )


KINDS = [
    Kind(
        "slack",
        lambda rx: {"url": rx.url(f"/services/T0001/B0001/{SLACK_TOKEN}")},
        f"/services/T0001/B0001/{SLACK_TOKEN}",
        SLACK_TOKEN,
        ok=Answer(200, "ok"),
        rate_limited=Answer(429, "rate_limited", headers={"Retry-After": "30"}),
        delay=30,
        rejection=Answer(400, "invalid_payload"),
        said="invalid_payload",
    ),
    Kind(
        "discord",
        lambda rx: {"url": rx.url(f"/api/webhooks/1234/{DISCORD_TOKEN}")},
        f"/api/webhooks/1234/{DISCORD_TOKEN}",
        DISCORD_TOKEN,
        ok=Answer(204, b""),
        rate_limited=_json(
            429,
            {"message": "You are being rate limited.", "retry_after": 2.5, "global": False},
            {"Retry-After": "3"},
        ),
        delay=2.5,  # the body's float is the precise one
        rejection=_json(400, {"message": "Invalid Form Body", "code": 50035}),
        said="Invalid Form Body",
        other_ok=[200],
    ),
    Kind(
        "teams",
        lambda rx: {
            "url": rx.url(
                "/workflows/abc/triggers/manual/paths/invoke"
                f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sig={TEAMS_SIG}"
            )
        },
        "/workflows/abc/triggers/manual/paths/invoke",
        TEAMS_SIG,
        ok=Answer(202, b""),
        rate_limited=Answer(429, "throttled", headers={"Retry-After": "12"}),
        delay=12,
        rejection=_json(400, {"error": {"code": "InvalidRequestContent", "message": "bad card"}}),
        said="InvalidRequestContent",
        other_ok=[200],
    ),
    Kind(
        "telegram",
        lambda rx: {"bot_token": TELEGRAM_TOKEN, "chat_id": "-100123", "api_url": rx.url("")},
        f"/bot{TELEGRAM_TOKEN}/sendMessage",
        TELEGRAM_TOKEN,
        ok=_json(200, {"ok": True, "result": {"message_id": 1}}),
        rate_limited=_json(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 11",
                "parameters": {"retry_after": 11},
            },
        ),
        delay=11,
        rejection=_json(
            400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        ),
        said="telegram 400: Bad Request: chat not found",
    ),
    Kind(
        "ntfy",
        lambda rx: {"server_url": rx.url("/"), "topic": "vigil-alerts", "token": NTFY_TOKEN},
        "/",
        NTFY_TOKEN,
        ok=_json(200, {"id": "abc", "event": "message", "topic": "vigil-alerts"}),
        rate_limited=_json(
            429,
            {"code": 42901, "http": 429, "error": "limit reached: too many requests"},
            {"Retry-After": "20"},
        ),
        delay=20,
        rejection=_json(400, {"code": 40007, "http": 400, "error": "invalid request: priority"}),
        said="invalid request: priority",
    ),
    Kind(
        "pagerduty",
        lambda rx: {"routing_key": PD_KEY, "api_url": rx.url("")},
        "/v2/enqueue",
        PD_KEY,
        ok=_json(202, {"status": "success", "message": "Event processed", "dedup_key": "k"}),
        rate_limited=Answer(429, b"", headers={"Retry-After": "60"}),
        delay=60,
        rejection=_json(
            400,
            {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": ["'payload.summary' is missing or blank"],
            },
        ),
        said="Event object is invalid: 'payload.summary' is missing or blank",
    ),
]
IDS = [k.name for k in KINDS]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def context(session: aiohttp.ClientSession, timeout_s: float = 5.0) -> SendContext:
    return SendContext(session=session, timeout_s=timeout_s)


async def deliver(
    session: aiohttp.ClientSession,
    kind: str,
    config: dict[str, Any],
    message: Message,
    timeout_s: float = 5.0,
) -> Outcome:
    """Through the registry, as the dispatcher sends: the stored config decoded first."""
    return await senders.send(
        context(session, timeout_s), kind, channels.decode(kind, config), message
    )


def visible(req: Request) -> str:
    """Every string the request carries, as a person would read them (JSON unescaped)."""
    return json.dumps(req.json(), ensure_ascii=False)


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_a_firing_arrives_as_the_service_expects(
    kind: Kind, session: aiohttp.ClientSession
) -> None:
    async with Receiver(default=kind.ok) as rx:
        outcome = await deliver(session, kind.name, kind.config(rx), firing(ui_url=UI))
        assert outcome.ok, outcome
        [req] = await rx.wait_for(1)
    assert (req.method, req.path) == ("POST", kind.path)
    assert req.headers["Content-Type"] == "application/json"
    shown = visible(req)
    assert "DOWN: api (http https://x) - timeout" in shown
    assert UI in shown
    SHAPES[kind.name](req)


def _slack(req: Request) -> None:
    body = req.json()
    assert body["text"] == "DOWN: api (http https://x) - timeout"
    assert all(b["type"] in ("section", "context") for b in body["blocks"])
    first = body["blocks"][0]["text"]
    assert first["type"] == "mrkdwn" and first["text"].startswith("*DOWN: api")
    assert any("*Cause:* timeout" in b.get("text", {}).get("text", "") for b in body["blocks"])
    assert body["blocks"][-1]["elements"][0]["text"] == f"<{UI}|Open in Vigil>"


def _discord(req: Request) -> None:
    body = req.json()
    assert body["content"] == "DOWN: api (http https://x) - timeout"
    assert body["allowed_mentions"] == {"parse": []}
    [embed] = body["embeds"]
    assert embed["color"] == 0xD32F2F and embed["url"] == UI
    assert embed["timestamp"] == "2024-05-01T10:01:02+00:00"
    assert {"name": "Cause", "value": "timeout", "inline": False} in embed["fields"]


def _teams(req: Request) -> None:
    assert req.query["sig"] == TEAMS_SIG
    body = req.json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    heading = card["body"][0]
    assert heading["type"] == "TextBlock" and heading["text"].startswith("DOWN: api")
    [facts] = [b for b in card["body"] if b["type"] == "FactSet"]
    assert {"title": "Cause", "value": "timeout"} in facts["facts"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Vigil", "url": UI}]


def _telegram(req: Request) -> None:
    body = req.json()
    assert body["chat_id"] == "-100123"
    assert body["disable_web_page_preview"] is True
    assert "parse_mode" not in body  # plain text: nothing in a name can break the markup
    assert body["text"].startswith("DOWN: api (http https://x) - timeout\n\n")
    assert "Cause: timeout" in body["text"]


def _ntfy(req: Request) -> None:
    assert req.headers["Authorization"] == f"Bearer {NTFY_TOKEN}"
    body = req.json()
    assert body["topic"] == "vigil-alerts"
    assert body["title"] == "DOWN: api (http https://x) - timeout"
    assert (body["priority"], body["tags"], body["click"]) == (4, ["rotating_light"], UI)
    assert "Cause: timeout" in body["message"]


def _pagerduty(req: Request) -> None:
    body = req.json()
    assert body["routing_key"] == PD_KEY
    assert (body["event_action"], body["dedup_key"]) == ("trigger", "vigil-incident-41")
    payload = body["payload"]
    assert payload["summary"] == "DOWN: api (http https://x) - timeout"
    assert (payload["source"], payload["component"]) == ("https://x", "api")
    assert (payload["severity"], payload["timestamp"]) == ("critical", "2024-05-01T10:01:02+00:00")
    assert payload["custom_details"]["cause"] == "timeout"
    assert payload["custom_details"]["labels"] == {"env": "prod", "team": "web"}
    assert body["links"] == [{"href": UI, "text": "Open in Vigil"}]


SHAPES: dict[str, Callable[[Request], None]] = {
    "slack": _slack,
    "discord": _discord,
    "teams": _teams,
    "telegram": _telegram,
    "ntfy": _ntfy,
    "pagerduty": _pagerduty,
}

OTHER_OK = [(k, s) for k in KINDS for s in k.other_ok]


@pytest.mark.parametrize(("kind", "status"), OTHER_OK, ids=[f"{k.name}-{s}" for k, s in OTHER_OK])
async def test_other_success_statuses(
    kind: Kind, status: int, session: aiohttp.ClientSession
) -> None:
    async with Receiver(default=Answer(status, b"")) as rx:
        assert (await deliver(session, kind.name, kind.config(rx), firing())).ok


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_429_is_retried_after_the_services_delay(
    kind: Kind, session: aiohttp.ClientSession
) -> None:
    async with Receiver(default=kind.rate_limited) as rx:
        outcome = await deliver(session, kind.name, kind.config(rx), firing())
    assert (outcome.ok, outcome.retry, outcome.status) == (False, True, 429)
    assert outcome.retry_after_s == pytest.approx(kind.delay)
    assert not outcome.broken


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_500_is_retried(kind: Kind, session: aiohttp.ClientSession) -> None:
    async with Receiver(default=Answer(500, "upstream down")) as rx:
        outcome = await deliver(session, kind.name, kind.config(rx), firing())
    assert (outcome.ok, outcome.retry, outcome.status, outcome.broken) == (False, True, 500, False)
    assert "upstream down" in (outcome.error or "")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_400_is_permanent_with_the_receivers_words(
    kind: Kind, session: aiohttp.ClientSession
) -> None:
    async with Receiver(default=kind.rejection) as rx:
        outcome = await deliver(session, kind.name, kind.config(rx), firing())
    assert (outcome.ok, outcome.retry, outcome.status, outcome.broken) == (False, False, 400, False)
    assert kind.said in (outcome.error or "")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_410_marks_the_channel_broken(kind: Kind, session: aiohttp.ClientSession) -> None:
    async with Receiver(default=Answer(410, "gone")) as rx:
        outcome = await deliver(session, kind.name, kind.config(rx), firing())
    assert (outcome.ok, outcome.retry, outcome.broken, outcome.status) == (False, False, True, 410)


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_a_hanging_receiver_times_out_within_the_attempt(
    kind: Kind, session: aiohttp.ClientSession
) -> None:
    async with Receiver(default=Answer()) as rx:
        rx.script(HANG, HANG)
        started = time.monotonic()
        outcome = await deliver(session, kind.name, kind.config(rx), channel_test(), timeout_s=0.5)
        took = time.monotonic() - started
    assert (outcome.ok, outcome.retry, outcome.error) == (False, True, "timeout")
    assert took < 3.0  # 0.5 s and the loop's slack on two shared cores


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_secrets_never_reach_the_error(kind: Kind, session: aiohttp.ClientSession) -> None:
    """A receiver (or a proxy) that echoes the URL and the key back, and a refused connection:
    neither the stored error of the sender itself nor the registry's carries the secret."""
    echo = Answer(403, f"forbidden for {kind.secret} at /bot{kind.secret}/x?sig={kind.secret}")
    async with Receiver(default=echo) as rx:
        config = kind.config(rx)
        decoded = channels.decode(kind.name, config)
        direct = await senders.SENDERS[kind.name](context(session), decoded, firing())
        through = await deliver(session, kind.name, config, firing())
    refused_at = {k: v.replace(str(rx.port), str(free_port())) for k, v in config.items()}
    refused = await deliver(session, kind.name, refused_at, firing())
    for outcome in (direct, through, refused):
        assert not outcome.ok and outcome.error
        assert kind.secret not in outcome.error, outcome.error
    assert refused.retry


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_the_summary_resolve_says_when_and_how_long(
    kind: Kind, session: aiohttp.ClientSession
) -> None:
    async with Receiver(default=kind.ok) as rx:
        outcome = await deliver(session, kind.name, kind.config(rx), resolved(38, summary=True))
        [req] = await rx.wait_for(1)
    assert outcome.ok, outcome
    assert SUMMARY in visible(req)


@pytest.mark.parametrize("kind", [k for k in KINDS if k.name != "pagerduty"], ids=IDS[:-1])
async def test_a_digest_is_one_message_listing_50_items(
    kind: Kind, session: aiohttp.ClientSession
) -> None:
    async with Receiver(default=kind.ok) as rx:
        outcome = await deliver(session, kind.name, kind.config(rx), digest(60))
        assert outcome.ok, outcome
        [req] = await rx.wait_for(1)
    shown = visible(req)
    assert "Vigil: 60 alerts" in shown
    assert "DOWN: svc-001 (http https://x) - timeout" in shown
    assert "DOWN: svc-050 (http https://x) - timeout" in shown
    assert "svc-051" not in shown
    assert "... and 10 more" in shown


# --- each kind's own rules -----------------------------------------------------------------


async def test_slack_escapes_what_mrkdwn_would_read_as_a_mention(
    session: aiohttp.ClientSession,
) -> None:
    kind = KINDS[0]
    async with Receiver() as rx:
        await deliver(session, "slack", kind.config(rx), firing(name="<!channel> & co"))
        [req] = await rx.wait_for(1)
    body = req.json()
    assert body["text"].startswith("DOWN: &lt;!channel&gt; &amp; co (http")
    assert "<!channel>" not in req.body.decode()


@pytest.mark.parametrize(
    ("answer", "retry", "broken", "said"),
    [
        (_json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
         False, True, "telegram 401: Unauthorized"),
        (_json(404, {"ok": False, "error_code": 404, "description": "Not Found"}),
         False, True, "telegram 404: Not Found"),
        (_json(403, {"ok": False, "error_code": 403,
                     "description": "Forbidden: bot was kicked from the group chat"}),
         False, False, "bot was kicked"),
        (_json(400, {"ok": False, "error_code": 400,
                     "description": "Bad Request: group chat was upgraded to a supergroup chat",
                     "parameters": {"migrate_to_chat_id": -1009876}}),
         False, False, "the chat is now -1009876"),
        (_json(200, {"ok": False, "description": "Bad Request: message text is empty"}),
         False, False, "message text is empty"),
        (_json(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
         True, False, "telegram 502: Bad Gateway"),
    ],
    ids=["bad-token-401", "bad-token-404", "kicked", "migrated", "ok-false-200", "502"],
)  # fmt: skip
async def test_telegram_answers(
    answer: Answer, retry: bool, broken: bool, said: str, session: aiohttp.ClientSession
) -> None:
    async with Receiver(default=answer) as rx:
        outcome = await deliver(session, "telegram", KINDS[3].config(rx), firing())
    assert (outcome.ok, outcome.retry, outcome.broken) == (False, retry, broken)
    assert said in (outcome.error or "")
    assert TELEGRAM_TOKEN not in (outcome.error or "")


@pytest.mark.parametrize(
    ("message", "priority", "tags"),
    [
        (firing(), 4, ["rotating_light"]),
        (reminder(), 4, ["rotating_light"]),
        (resolved(), 3, ["white_check_mark"]),
        (channel_test(), 3, ["test_tube"]),
    ],
    ids=["firing", "reminder", "resolved", "test"],
)
async def test_ntfy_priority_and_tags(
    message: Message, priority: int, tags: list[str], session: aiohttp.ClientSession
) -> None:
    async with Receiver() as rx:
        config = {"server_url": rx.url(), "topic": "vigil-alerts"}  # no token: no Authorization
        assert (await deliver(session, "ntfy", config, message)).ok
        [req] = await rx.wait_for(1)
    assert (req.json()["priority"], req.json()["tags"]) == (priority, tags)
    assert "Authorization" not in req.headers
    assert "click" not in req.json()


async def test_ntfy_carries_non_ascii_titles_intact(session: aiohttp.ClientSession) -> None:
    async with Receiver() as rx:
        config = {"server_url": rx.url(), "topic": "t"}
        await deliver(session, "ntfy", config, firing(name="café ☕", cause="délai dépassé"))
        [req] = await rx.wait_for(1)
    assert req.json()["title"] == "DOWN: café ☕ (http https://x) - délai dépassé"


def _events(reqs: list[Request]) -> list[tuple[str, str, str]]:
    out = []
    for r in reqs:
        body = r.json()
        out.append((r.path, body.get("event_action", "change"), body.get("dedup_key", "")))
    return out


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (resolved(), [("/v2/enqueue", "resolve", "vigil-incident-41")]),
        (reminder(), [("/v2/enqueue", "trigger", "vigil-incident-41")]),
        (channel_test(), [("/v2/enqueue", "trigger", "vigil-test-9"),
                        ("/v2/enqueue", "resolve", "vigil-test-9")]),
        (resolved(38, summary=True), [("/v2/change/enqueue", "change", "")]),
    ],
    ids=["resolve", "reminder-retriggers", "test-trigger-then-resolve", "summary-is-a-change"],
)  # fmt: skip
async def test_pagerduty_events(
    message: Message, expected: list[tuple[str, str, str]], session: aiohttp.ClientSession
) -> None:
    async with Receiver(default=KINDS[5].ok) as rx:
        outcome = await deliver(session, "pagerduty", KINDS[5].config(rx), message)
        reqs = await rx.wait_for(len(expected))
    assert outcome.ok, outcome
    assert _events(reqs) == expected
    assert all(r.json()["routing_key"] == PD_KEY for r in reqs)


async def test_pagerduty_digest_is_one_event_per_item_in_order(
    session: aiohttp.ClientSession,
) -> None:
    items = (firing(iid=1), firing(iid=2), resolved(iid=1), reminder(), resolved(iid=2))
    message = Message(event="digest", event_id=None, delivery_id=5, occurred_at=T0, items=items)
    async with Receiver(default=KINDS[5].ok) as rx:
        outcome = await deliver(session, "pagerduty", KINDS[5].config(rx), message)
        reqs = await rx.wait_for(5)
    assert outcome.ok, outcome
    events = _events(reqs)
    assert sorted(events) == sorted(
        [
            ("/v2/enqueue", "trigger", "vigil-incident-1"),
            ("/v2/enqueue", "trigger", "vigil-incident-2"),
            ("/v2/enqueue", "resolve", "vigil-incident-1"),
            ("/v2/enqueue", "trigger", "vigil-incident-41"),
            ("/v2/enqueue", "resolve", "vigil-incident-2"),
        ]
    )
    # Within one incident the order holds: its trigger reached PagerDuty before its resolve.
    for key in ("vigil-incident-1", "vigil-incident-2"):
        assert [a for _, a, k in events if k == key] == ["trigger", "resolve"]


async def test_pagerduty_digest_fails_as_its_first_failure(session: aiohttp.ClientSession) -> None:
    """Incident 1's trigger is refused with a 500: its resolve is not sent (it would overtake
    the trigger on retry), and the outcome is that 500, so the whole digest is retried."""
    items = (firing(iid=1), resolved(iid=1))
    message = Message(event="digest", event_id=None, delivery_id=5, occurred_at=T0, items=items)
    async with Receiver(default=KINDS[5].ok) as rx:
        rx.script(Answer(500, "pd down"))
        outcome = await deliver(session, "pagerduty", KINDS[5].config(rx), message)
        reqs = await rx.wait_for(1)
    assert (outcome.ok, outcome.retry, outcome.status) == (False, True, 500)
    assert outcome.error == "event 1 of 2: http 500: pd down"
    assert len(reqs) == 1


# --- apprise -------------------------------------------------------------------------------


async def test_apprise_sends_the_title_and_text(session: aiohttp.ClientSession) -> None:
    async with Receiver() as rx:
        config = {"urls": [rx.url("/notify").replace("http://", "json://")]}
        outcome = await deliver(session, "apprise", config, firing(ui_url=UI))
        [req] = await rx.wait_for(1)
    assert outcome.ok, outcome
    assert (req.method, req.path) == ("POST", "/notify")
    body = req.json()
    assert body["title"] == "DOWN: api (http https://x) - timeout"
    assert body["message"] == text.text(firing(ui_url=UI))


async def test_apprise_failure_is_retried_with_what_apprise_said(
    session: aiohttp.ClientSession,
) -> None:
    async with Receiver(default=Answer(500, "down")) as rx:
        url = rx.url("/notify").replace("http://", "json://") + "?token=" + SLACK_TOKEN
        outcome = await deliver(session, "apprise", {"urls": [url]}, firing())
    assert (outcome.ok, outcome.retry) == (False, True)
    assert "JSON" in (outcome.error or "") and "500" in (outcome.error or "")
    assert SLACK_TOKEN not in (outcome.error or "")


async def test_apprise_unloadable_url_is_permanent(session: aiohttp.ClientSession) -> None:
    config = {"urls": ["json://127.0.0.1:9/x", "nonsense://secret-token-value@host"]}
    outcome = await deliver(session, "apprise", config, firing())
    assert (outcome.ok, outcome.retry) == (False, False)
    assert "URL 2 of 2" in (outcome.error or "")
    assert "secret-token-value" not in (outcome.error or "")


async def test_apprise_hanging_service_times_out(session: aiohttp.ClientSession) -> None:
    async with Receiver() as rx:
        rx.script(HANG)
        config = {"urls": [rx.url("/notify").replace("http://", "json://")]}
        started = time.monotonic()
        outcome = await deliver(session, "apprise", config, firing(), timeout_s=1.0)
        took = time.monotonic() - started
    assert (outcome.ok, outcome.retry) == (False, True)
    assert took < 5.0


MISSING_APPRISE = """
import asyncio, sys
from datetime import UTC, datetime
sys.modules["apprise"] = None  # a worker installed without the extra: the import fails
import aiohttp
from vigil_core import channels
from vigil_worker.alerting import senders
from vigil_worker.alerting.message import Message
from vigil_worker.alerting.senders.base import SendContext

async def main():
    async with aiohttp.ClientSession() as session:
        now = datetime.now(UTC)
        message = Message(event="test", event_id=1, delivery_id=1, occurred_at=now)
        config = channels.decode("apprise", {"urls": ["json://127.0.0.1/x"]})
        outcome = await senders.send(SendContext(session, 5), "apprise", config, message)
        print(outcome.ok, outcome.retry, outcome.error)

asyncio.run(main())
"""


def test_a_worker_without_apprise_starts_and_says_how_to_install() -> None:
    done = subprocess.run(
        [sys.executable, "-c", MISSING_APPRISE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    expected = "apprise is not installed: pip install 'vigil-worker[apprise]'"
    assert done.stdout.strip() == f"False False {expected}"
