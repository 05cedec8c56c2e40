"""Each channel kind's config, the contract between the API (writes channels.config) and the
worker's senders (read it).

One frozen struct per kind with every field and its default, once; SECRETS names the fields
that are write-only (reads show MASK). The API validates a request into the struct and stores
`encode(...)`; a dispatcher reads a row with `decode(kind, ...)`. Every HTTP-based kind has an
overridable base URL, so tests (and proxies) can point it at another host.
Adding a kind: a struct here, its entry in CONFIGS and SECRETS, and a sender in the worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

# What a read shows for a secret that is set; a write that sends it back keeps the stored value.
MASK = "********"

HttpUrl = Annotated[
    str,
    msgspec.Meta(
        min_length=8,
        max_length=2048,
        pattern=r"^(?i:https?)://[^\s/?#\x00]+[^\s\x00]*$",
        description="http:// or https:// URL",
    ),
]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=1000, pattern=r"^[^\x00\r\n]*$")]
HeaderName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
]
HeaderValue = Annotated[str, msgspec.Meta(max_length=4000, pattern=r"^[^\r\n\x00]*$")]
Address = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=r"^[^\s@<>,;\x00]+@[^\s@<>,;\x00]+$",
        description="An e-mail address",
    ),
]


class WebhookConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A JSON POST of the event (docs/alerting.md); with `secret`, signed (X-Vigil-Signature)."""

    url: HttpUrl
    headers: Annotated[dict[HeaderName, HeaderValue], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=dict
    )
    secret: Annotated[str, msgspec.Meta(min_length=16, max_length=200)] | None = None


class SlackConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Slack incoming webhook (https://hooks.slack.com/services/...)."""

    url: HttpUrl


class DiscordConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Discord channel webhook (https://discord.com/api/webhooks/...)."""

    url: HttpUrl


class TeamsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is received")."""

    url: HttpUrl


class TelegramConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Telegram bot's sendMessage to one chat."""

    bot_token: Annotated[str, msgspec.Meta(min_length=10, max_length=200, pattern=r"^[^\s/]+$")]
    chat_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\s]+$")]
    api_url: HttpUrl = "https://api.telegram.org"


class NtfyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A message to an ntfy topic."""

    topic: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[-_A-Za-z0-9]+$")]
    server_url: HttpUrl = "https://ntfy.sh"
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class PagerDutyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A PagerDuty Events API v2 integration; dedup_key vigil-incident-<id> resolves it."""

    routing_key: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    api_url: HttpUrl = "https://events.pagerduty.com"


class EmailConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Mail through an SMTP server (aiosmtplib); the resolve threads under its firing."""

    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
    from_address: Address
    to: Annotated[list[Address], msgspec.Meta(min_length=1, max_length=50)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    # starttls: plain connection upgraded with STARTTLS (587); tls: TLS from the start (465);
    # none: no encryption (a relay on localhost only).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Text | None = None
    password: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    verify_tls: bool = True


class AppriseConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Apprise URLs (https://github.com/caronc/apprise), best-effort: Apprise reports only
    success or failure, so every failure is retried as if it were temporary."""

    urls: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=3, max_length=2048)]],
        msgspec.Meta(min_length=1, max_length=20),
    ]


ChannelConfig = (
    WebhookConfig
    | SlackConfig
    | DiscordConfig
    | TeamsConfig
    | TelegramConfig
    | NtfyConfig
    | PagerDutyConfig
    | EmailConfig
    | AppriseConfig
)
CONFIGS: dict[str, type[ChannelConfig]] = {
    "webhook": WebhookConfig,
    "slack": SlackConfig,
    "discord": DiscordConfig,
    "teams": TeamsConfig,
    "telegram": TelegramConfig,
    "ntfy": NtfyConfig,
    "pagerduty": PagerDutyConfig,
    "email": EmailConfig,
    "apprise": AppriseConfig,
}
# Write-only fields: URLs that carry a token, tokens, keys, passwords; for webhook headers,
# every value (an Authorization header is a secret).
SECRETS: dict[str, frozenset[str]] = {
    "webhook": frozenset({"secret", "headers"}),
    "slack": frozenset({"url"}),
    "discord": frozenset({"url"}),
    "teams": frozenset({"url"}),
    "telegram": frozenset({"bot_token"}),
    "ntfy": frozenset({"token"}),
    "pagerduty": frozenset({"routing_key"}),
    "email": frozenset({"password"}),
    "apprise": frozenset({"urls"}),
}


class ConfigError(ValueError):
    """A stored config that is not a valid struct of its kind (or a kind this code lacks)."""


def decode(kind: str, stored: Mapping[str, Any] | None) -> ChannelConfig:
    """The config struct of a stored `channels.config` value; raises ConfigError."""
    struct = CONFIGS.get(kind)
    if struct is None:
        raise ConfigError(f"unknown channel kind {kind!r}")
    values = {k: v for k, v in (stored or {}).items() if v is not None}
    try:
        return msgspec.convert(values, struct)
    except msgspec.ValidationError as exc:
        raise ConfigError(str(exc)) from None


def encode(config: ChannelConfig) -> dict[str, Any]:
    """The `channels.config` value of a struct: every field that is not None."""
    return {k: v for k, v in msgspec.to_builtins(config).items() if v is not None}


def _mask_value(value: Any) -> Any:
    if isinstance(value, dict):
        return dict.fromkeys(value, MASK)
    if isinstance(value, list):
        return [MASK for _ in value]
    return MASK


def mask(kind: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The config as reads show it: each secret that is set replaced by MASK (a dict's values,
    a list's items), everything else as stored."""
    secrets = SECRETS.get(kind, frozenset())
    return {k: (_mask_value(v) if k in secrets and v is not None else v) for k, v in stored.items()}


def unmask(kind: str, sent: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """A config sent by a client with each MASK it echoed back replaced by the stored value, so
    a read, an edit and a write keep secrets the client never saw."""
    secrets = SECRETS.get(kind, frozenset())
    out: dict[str, Any] = {}
    for k, v in sent.items():
        old = stored.get(k)
        if k not in secrets or old is None:
            out[k] = v
        elif v == MASK:
            out[k] = old
        elif isinstance(v, dict) and isinstance(old, dict):
            out[k] = {h: (old.get(h, x) if x == MASK else x) for h, x in v.items()}
        elif isinstance(v, list) and isinstance(old, list):
            out[k] = [old[i] if x == MASK and i < len(old) else x for i, x in enumerate(v)]
        else:
            out[k] = v
    return out
