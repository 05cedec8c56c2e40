"""`vigil import kuma`: an Uptime Kuma JSON backup (1.x, or the same shape from 2.x) as a Vigil apply document."""

from __future__ import annotations

import base64
import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import msgspec

from vigil_core.channels import CONFIGS, SECRETS
from vigil_core.kinds import DnsRecordType, Method

from .common import InputError, Result, Severity

EXPECTED = (
    "expected an Uptime Kuma backup: a JSON object with `monitorList` and `notificationList`,"
    " as Settings > Backup > Export writes it"
)
MAX_NAME = 200
MAX_LABELS = 64
MAX_LABEL_KEY = 63
MAX_LABEL_VALUE = 200
MAX_STATUS_RULES = 50
MAX_REDIRECTS = 30
MAX_INTERVAL_S = 86400
MIN_PERIOD_S = 10
MAX_THRESHOLD = 100
# Kuma's own fallback when a backup has no timeout (uploadBackup: `interval * 0.8`).
TIMEOUT_SHARE = 0.8
# Kuma warns at 21, 14 and 7 days left (its default tlsExpiryNotifyDays, a global setting the
# backup does not hold); 14 is Vigil's own default for a certificate check.
TLS_DAYS = 14
METHODS = frozenset(get_args(Method))
RECORD_TYPES = frozenset(get_args(DnsRecordType))
# Kuma's DNS condition variable `record` is the exchange (MX) or target (SRV) alone, while a
# Vigil expectation is the whole record ("10 mail.example.com."): only these compare alike.
WHOLE_RECORD_TYPES = frozenset({"A", "AAAA", "CNAME", "NS", "TXT"})

# The API's own patterns (vigil_api.targets.schemas): a monitor Vigil would reject is skipped
# with a note, so one odd monitor among hundreds does not make the whole apply fail.
URL = re.compile(r"^(?i:https?)://[^\s/?#\x00]+[^\s\x00]*$")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
DNS_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
LABEL_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
STATUS_CODE = re.compile(r"^(\d{3})$")
STATUS_RANGE = re.compile(r"^(\d{3})\s*-\s*(\d{3})$")
JSON_NUMBER = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$")
# A JSONata path step: a name, a `quoted name` or an [index]; anything else (predicates,
# functions, wildcards) has no JMESPath translation.
JSONATA_STEP = re.compile(
    r"(?P<dot>\.)?(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|`(?P<quoted>[^`]+)`)|\[(?P<index>-?\d+)\]"
)


def convert(path: str) -> Result:
    """The apply document for a Kuma backup file; raises InputError when it is not one."""
    backup = _read(path)
    monitors = _monitor_list(path, backup)
    imp = _Import(monitors={str(m.get("id")): m for m in monitors})
    for i, notification in enumerate(_notification_list(path, backup)):
        _channel(notification, i, imp)
    for monitor in monitors:
        _target(monitor, imp)
    _routes(imp)
    for section in (imp.result.targets, imp.result.channels, imp.result.routes):
        section[:] = [_literal(item) for item in section]
    return imp.result


# -- reading -------------------------------------------------------------------------------


def _read(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(path, f"cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text; " + EXPECTED) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            path, f"not valid JSON ({exc.msg}, column {exc.colno}); {EXPECTED}", line=exc.lineno
        ) from None
    if not isinstance(data, dict) or "monitorList" not in data:
        raise InputError(path, EXPECTED)
    return data


def _monitor_list(path: str, backup: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = backup["monitorList"]
    # The web app keeps monitors as an object keyed by id; a dump of it is accepted too.
    items = list(raw.values()) if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise InputError(path, f"`monitorList` is {_json_type(raw)}; {EXPECTED}")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise InputError(
                path, f"`monitorList[{i}]` is not a Kuma monitor: expected an object with a type"
            )
    return items


def _notification_list(path: str, backup: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = backup.get("notificationList") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InputError(path, f"`notificationList` is not a list of objects; {EXPECTED}")
    return items


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")


# -- the import's state --------------------------------------------------------------------


class _Names:
    """Unique names: a repeat gets ` (2)`, ` (3)`, ... (Kuma allows repeats, Vigil does not)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def claim(self, wanted: Any, fallback: str) -> tuple[str, bool]:
        base = _clean_name(wanted) or fallback
        name, n = base, 2
        while name in self.used:
            suffix = f" ({n})"
            name, n = base[: MAX_NAME - len(suffix)].rstrip() + suffix, n + 1
        self.used.add(name)
        return name, name != base


@dataclass
class _Channel:
    name: str
    label: str  # the target label its route matches


@dataclass
class _Import:
    monitors: dict[str, dict[str, Any]]
    result: Result = field(default_factory=Result)
    targets: _Names = field(default_factory=_Names)
    channel_names: _Names = field(default_factory=_Names)
    channels: dict[str, _Channel] = field(default_factory=dict)  # by Kuma notification id
    skipped_channels: set[str] = field(default_factory=set)


@dataclass
class _Notes:
    """A monitor's or notification's notes, held until its Vigil name is known."""

    what: str
    items: list[tuple[Severity, str, bool]] = field(default_factory=list)

    def __call__(self, severity: Severity, why: str) -> None:
        self.items.append((severity, why, True))

    def secret(self, why: str) -> None:
        """The warning for a secret written as a literal: the setting itself maps exactly, so
        the target is not counted as approximated for it."""
        self.items.append(("info", why, False))

    def flush(self, result: Result, target: str | None = None) -> None:
        for severity, why, counted in self.items:
            result.note(self.what, severity, why, target=target if counted else None)
        self.items.clear()


Say = _Notes


# -- notifications to channels -------------------------------------------------------------

Built = tuple[str, dict[str, Any]]


def _channel(notification: Mapping[str, Any], index: int, imp: _Import) -> None:
    nid = str(notification.get("id", f"#{index}"))
    config = notification.get("config")
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except json.JSONDecodeError:
            config = None
    config = config if isinstance(config, dict) else None
    kuma_type = str((config or {}).get("type") or notification.get("type") or "unknown")
    say = _Notes(f'kuma notification "{notification.get("name")}" (type {kuma_type})')
    build = NOTIFIERS.get(kuma_type.lower())
    built: Built | None = None
    if config is None:
        say("skipped", "its config is not a JSON object")
    elif build is None:
        say("skipped", "Vigil has no channel kind for it")
    else:
        built = build(config, say)
    if built is not None and (problem := _invalid_channel(*built)):
        say("skipped", f"its settings do not make a Vigil {built[0]} channel ({problem})")
        built = None
    if built is None:
        imp.skipped_channels.add(nid)
        say.flush(imp.result)
        return
    kind, cfg = built
    name, renamed = imp.channel_names.claim(notification.get("name"), f"kuma notification {nid}")
    if renamed:
        say("approximated", f'the name is used by another notification: imported as "{name}"')
    channel: dict[str, Any] = {"name": name, "kind": kind, "config": cfg}
    if not _flag(notification.get("active", True)):
        channel["enabled"] = False
    imp.result.channels.append(channel)
    imp.channels[nid] = _Channel(name, _label_key(f"kuma_notify_{nid}"))
    secrets = sorted(k for k in SECRETS[kind] if k in cfg)
    if secrets:
        say.secret(
            f"its secret ({', '.join('config.' + k for k in secrets)}) is written into the"
            " output as in the backup: move it to ${VAR} before committing"
        )
    if _flag(notification.get("isDefault")) or _flag(config.get("isDefault") if config else None):
        say(
            "dropped",
            "Kuma pre-selects a default notification for new monitors only; the imported"
            f' monitors keep the notifications they had. Give new targets the label {imp.channels[nid].label}: "true"'
            " to route them here",
        )
    say.flush(imp.result)


def _invalid_channel(kind: str, config: dict[str, Any]) -> str | None:
    try:
        msgspec.convert(config, CONFIGS[kind])
    except msgspec.ValidationError as exc:
        return str(exc)
    return None


def _unmapped(config: Mapping[str, Any], keys: Iterable[str], say: Say) -> None:
    """One note for the provider options that are set and that Vigil's channel lacks."""
    present = [k for k in keys if config.get(k) not in (None, "", False, 0, "0")]
    if present:
        say("dropped", f"{', '.join(present)}: no equivalent in Vigil's channel")


def _required(config: Mapping[str, Any], key: str, say: Say) -> str | None:
    value = config.get(key)
    if value is None or str(value).strip() == "":
        say("skipped", f"it has no {key}")
        return None
    return str(value).strip()


def _webhook_url(url_key: str, kind: str, extras: tuple[str, ...]) -> Callable[..., Built | None]:
    """The chat kinds whose whole config is one webhook URL."""

    def build(config: Mapping[str, Any], say: Say) -> Built | None:
        url = _required(config, url_key, say)
        if url is None:
            return None
        _unmapped(config, extras, say)
        if kind == "teams" and "webhook.office.com" in url.lower():
            say(
                "approximated",
                "an Office 365 connector URL: Vigil's teams channel posts an Adaptive Card to a"
                " Workflows webhook (Microsoft retired connectors); replace the URL",
            )
        return kind, {"url": url}

    return build


def _telegram(config: Mapping[str, Any], say: Say) -> Built | None:
    token = _required(config, "telegramBotToken", say)
    chat = _required(config, "telegramChatID", say) if token else None
    if token is None or chat is None:
        return None
    cfg: dict[str, Any] = {"bot_token": token, "chat_id": chat}
    server = str(config.get("telegramServerUrl") or "").rstrip("/")
    if server and server != "https://api.telegram.org":
        cfg["api_url"] = server
    _unmapped(
        config,
        (
            "telegramMessageThreadID",
            "telegramSendSilently",
            "telegramProtectContent",
            "telegramUseTemplate",
        ),
        say,
    )
    return "telegram", cfg


def _ntfy(config: Mapping[str, Any], say: Say) -> Built | None:
    topic = _required(config, "ntfytopic", say)
    if topic is None:
        return None
    cfg: dict[str, Any] = {"topic": topic}
    server = str(config.get("ntfyserverurl") or "").rstrip("/")
    if server and server != "https://ntfy.sh":
        cfg["server_url"] = server
    method = config.get("ntfyAuthenticationMethod")
    if config.get("ntfyaccesstoken") and method in (None, "accessToken"):
        cfg["token"] = str(config["ntfyaccesstoken"])
    elif config.get("ntfyusername") and method in (None, "usernamePassword"):
        say(
            "dropped",
            "ntfyusername/ntfypassword: Vigil's ntfy channel authenticates with an access token"
            " (`ntfy token add`); set config.token",
        )
    _unmapped(config, ("ntfyIcon", "ntfyUseTemplate", "ntfyCall"), say)
    return "ntfy", cfg


def _pagerduty(config: Mapping[str, Any], say: Say) -> Built | None:
    key = _required(config, "pagerdutyIntegrationKey", say)
    if key is None:
        return None
    cfg: dict[str, Any] = {"routing_key": key}
    # Kuma keeps the whole enqueue URL; Vigil keeps the base and adds /v2/enqueue itself.
    url = str(config.get("pagerdutyIntegrationUrl") or "").rstrip("/")
    base = url.removesuffix("/v2/enqueue")
    if url and base == url:
        say(
            "approximated",
            f"pagerdutyIntegrationUrl {url} is not an Events API v2 enqueue URL; Vigil posts to {url}/v2/enqueue",
        )
    if base and base != "https://events.pagerduty.com":
        cfg["api_url"] = base
    _unmapped(config, ("pagerdutyPriority",), say)
    return "pagerduty", cfg


def _smtp(config: Mapping[str, Any], say: Say) -> Built | None:
    host = _required(config, "smtpHost", say)
    sender = _required(config, "smtpFrom", say) if host else None
    if host is None or sender is None:
        return None
    address = _mail_address(sender)
    if address != sender:
        say("approximated", f"smtpFrom {sender!r}: Vigil sends from the address alone, {address}")
    to = _addresses(config.get("smtpTo"))
    copies = _addresses(config.get("smtpCC")) + _addresses(config.get("smtpBCC"))
    if copies:
        say(
            "approximated",
            "smtpCC/smtpBCC: Vigil has only `to`; the copies are added to it (BCC becomes visible)",
        )
    cfg: dict[str, Any] = {
        "host": host,
        "from_address": address,
        "to": list(dict.fromkeys(to + copies)),
    }
    port = _number(config.get("smtpPort"))
    if port is not None and int(port) != 587:
        cfg["port"] = int(port)
    if _flag(config.get("smtpSecure")):
        cfg["security"] = "tls"
    elif _flag(config.get("smtpIgnoreSTARTTLS")):
        cfg["security"] = "none"
    for kuma, vigil in (("smtpUsername", "username"), ("smtpPassword", "password")):
        if config.get(kuma):
            cfg[vigil] = str(config[kuma])
    if _flag(config.get("smtpIgnoreTLSError")):
        cfg["verify_tls"] = False
    _unmapped(
        config, ("customSubject", "customBody", "smtpDkimDomain", "smtpAdditionalHeaders"), say
    )
    return "email", cfg


def _webhook(config: Mapping[str, Any], say: Say) -> Built | None:
    url = _required(config, "webhookURL", say)
    if url is None:
        return None
    cfg: dict[str, Any] = {"url": url}
    headers = _json_object(config.get("webhookAdditionalHeaders"))
    if headers is None:
        say("dropped", "webhookAdditionalHeaders is not a JSON object")
    elif headers:
        cfg["headers"] = {str(k): str(v) for k, v in headers.items()}
    kuma_body = {"custom": "custom body", "form-data": "form-data body"}.get(
        str(config.get("webhookContentType")), "{heartbeat, monitor, msg} JSON"
    )
    say(
        "approximated",
        f"Vigil posts its own JSON event (docs/alerting.md), not Kuma's {kuma_body}; adapt the receiver",
    )
    method = str(config.get("httpMethod") or "post").upper()
    if method != "POST":
        say("dropped", f"httpMethod {method}: Vigil's webhook always POSTs")
    return "webhook", cfg


def _apprise(config: Mapping[str, Any], say: Say) -> Built | None:
    url = _required(config, "appriseURL", say)
    return None if url is None else ("apprise", {"urls": [url]})


NOTIFIERS: dict[str, Callable[[Mapping[str, Any], Say], Built | None]] = {
    "slack": _webhook_url(
        "slackwebhookURL",
        "slack",
        ("slackchannel", "slackusername", "slackiconemo", "slackchannelnotify", "slackUseTemplate"),
    ),
    "discord": _webhook_url(
        "discordWebhookUrl",
        "discord",
        (
            "discordUsername",
            "discordPrefixMessage",
            "threadId",
            "postName",
            "discordUseMessageTemplate",
        ),
    ),
    "teams": _webhook_url("webhookUrl", "teams", ()),
    "telegram": _telegram,
    "ntfy": _ntfy,
    "pagerduty": _pagerduty,
    "smtp": _smtp,
    "webhook": _webhook,
    "apprise": _apprise,
}


def _mail_address(text: str) -> str:
    """`"Kuma" <kuma@example.com>` -> kuma@example.com (Vigil's from_address is an address)."""
    m = re.search(r"<([^<>]+)>\s*$", text)
    return (m[1] if m else text).strip()


def _addresses(value: Any) -> list[str]:
    return [_mail_address(a) for a in str(value or "").split(",") if a.strip()]


def _routes(imp: _Import) -> None:
    """A route per channel, matching the label each monitor that used the notification got."""
    names = _Names()
    for channel in imp.channels.values():
        name, _ = names.claim(f"kuma: {channel.name}", "kuma route")
        imp.result.routes.append(
            {"name": name, "match_labels": {channel.label: "true"}, "channels": [channel.name]}
        )


# -- monitors to targets -------------------------------------------------------------------

Fields = dict[str, Any]


def _target(monitor: Mapping[str, Any], imp: _Import) -> None:
    kuma_type = str(monitor["type"])
    say = _Notes(f'kuma monitor "{monitor.get("name")}" (type {kuma_type})')
    build = KINDS.get(kuma_type)
    fields: Fields | None = None
    if kuma_type == "group":
        say(
            "skipped",
            f'a group is not a check; its monitors carry the label group: "{_group_path(monitor, imp)}"',
        )
        if _enabled_ids(monitor.get("notificationIDList")):
            say("dropped", "its own notifications (sent when the group as a whole went down)")
    elif build is None:
        say("skipped", "no equivalent kind")
    elif _flag(monitor.get("upsideDown")):
        say(
            "skipped",
            "upside-down mode (up when the check fails) has no equivalent; imported as is it would"
            " alert the opposite way",
        )
    else:
        fields = build(monitor, say)
    if fields is None:
        say.flush(imp.result)
        return
    name, renamed = imp.targets.claim(monitor.get("name"), f"kuma monitor {monitor.get('id')}")
    if renamed:
        say("approximated", f'the name is used by another monitor: imported as "{name}"')
    target = {"name": name, **fields, **_schedule(monitor, fields["kind"], say)}
    labels = _labels(monitor, imp, say)
    if labels:
        target["labels"] = labels
    if not _flag(monitor.get("active", True)):
        target["enabled"] = False
    imp.result.targets.append(target)
    say.flush(imp.result, target=name)


def _schedule(monitor: Mapping[str, Any], kind: str, say: Say) -> Fields:
    """Interval (push: period), timeout (http) and the failure threshold from the retries."""
    out: Fields = {}
    interval = _number(monitor.get("interval")) or 60.0
    if kind == "push":
        period = min(max(interval, MIN_PERIOD_S), MAX_INTERVAL_S)
        if period != interval:
            say(
                "approximated",
                f"interval {_n(interval)} s: a push period is {MIN_PERIOD_S} s to 1 day, so {_n(period)} s",
            )
        out["period_s"] = _n(period)
    else:
        if interval > MAX_INTERVAL_S:
            say("approximated", f"interval {_n(interval)} s: Vigil's longest is 1 day")
            interval = MAX_INTERVAL_S
        out["interval_s"] = _n(interval)
    if kind == "http":
        out["timeout_s"] = _timeout(monitor, interval, say)
    retries = int(_number(monitor.get("maxretries")) or 0)
    threshold = min(max(retries, 0) + 1, MAX_THRESHOLD)
    if threshold != retries + 1 and retries > 0:
        say(
            "approximated",
            f"maxretries {retries}: Vigil's failure_threshold is at most {MAX_THRESHOLD}",
        )
    if threshold > 1:
        out["failure_threshold"] = threshold
    retry_every = _number(monitor.get("retryInterval"))
    if retries > 0 and retry_every and retry_every != interval and kind != "push":
        say(
            "dropped",
            f"retryInterval {_n(retry_every)} s: Vigil retries at the check interval ({_n(interval)} s),"
            " so it reports down after a different time",
        )
    if (_number(monitor.get("resendInterval")) or 0) > 0:
        say("dropped", "resendInterval (resend while down): set repeat_interval_s on the route")
    return out


def _timeout(monitor: Mapping[str, Any], interval: float, say: Say) -> float | int:
    cap = interval * TIMEOUT_SHARE
    timeout = _number(monitor.get("timeout"))
    if not timeout or timeout <= 0:
        return _n(round(cap, 3))
    if timeout >= interval:
        say(
            "approximated",
            f"timeout {_n(timeout)} s is not below the interval; Vigil's must be: {_n(round(cap, 3))} s",
        )
        return _n(round(cap, 3))
    return _n(timeout)


def _http(monitor: Mapping[str, Any], say: Say) -> Fields | None:
    url = str(monitor.get("url") or "").strip()
    if not URL.match(url) or len(url) > 2048:
        say("skipped", f"url {url!r} is not an http(s) URL")
        return None
    fields: Fields = {"kind": "http", "url": url}
    _request(monitor, fields, say)
    fields["expected_status"] = _statuses(monitor.get("accepted_statuscodes"), say)
    if _flag(monitor.get("ignoreTls")):
        fields["verify_tls"] = False
    _redirects(monitor, fields, say)
    if _flag(monitor.get("expiryNotification")) and url.lower().startswith("https://"):
        fields["tls_min_days_valid"] = TLS_DAYS
        say(
            "approximated",
            "certificate expiry notification: Kuma warns at 21, 14 and 7 days left; Vigil fails the"
            f" check (error class expiring) below {TLS_DAYS} days",
        )
    if monitor["type"] == "keyword" and monitor.get("keyword"):
        key = "keyword_absent" if _flag(monitor.get("invertKeyword")) else "keyword"
        fields[key] = str(monitor["keyword"])
    if monitor["type"] == "json-query":
        condition = _json_condition(monitor, say)
        if condition is None:
            return None
        fields["json"] = [condition]
    return fields


def _request(monitor: Mapping[str, Any], fields: Fields, say: Say) -> None:
    method = str(monitor.get("method") or "GET").upper()
    if method not in METHODS:
        say("dropped", f"method {method}: Vigil sends GET")
    elif method != "GET":
        fields["method"] = method
    headers = _headers(monitor.get("headers"), say)
    auth = _authorization(monitor, say)
    if auth:
        headers["Authorization"] = auth
        say.secret(
            "its credentials are written into the output as an Authorization header: move them"
            " to ${VAR} before committing"
        )
    if headers:
        fields["headers"] = headers
    if str(monitor.get("body") or "").strip():
        say("dropped", "the request body: Vigil's API does not take one yet")
    if monitor.get("proxyId") or monitor.get("proxy_id"):
        say("dropped", "the proxy: Vigil's worker connects directly")


def _headers(raw: Any, say: Say) -> dict[str, str]:
    parsed = _json_object(raw)
    if parsed is None:
        say("dropped", "headers: not a JSON object")
        return {}
    headers: dict[str, str] = {}
    for name, value in parsed.items():
        text = "" if value is None else str(value)
        if not HEADER_NAME.match(str(name)) or re.search(r"[\r\n\x00]", text):
            say("dropped", f"header {name!r}: not a valid HTTP header")
        else:
            headers[str(name)] = text
    return headers


def _authorization(monitor: Mapping[str, Any], say: Say) -> str | None:
    method = monitor.get("authMethod") or monitor.get("auth_method")
    if method == "basic":
        pair = f"{monitor.get('basic_auth_user') or ''}:{monitor.get('basic_auth_pass') or ''}"
        return "Basic " + base64.b64encode(pair.encode()).decode()
    if method == "bearer" and monitor.get("bearer_token"):
        return f"Bearer {monitor['bearer_token']}"
    if method in ("ntlm", "oauth2-cc"):
        say("dropped", f"authentication {method}: Vigil sends only the headers it is given")
    if monitor.get("tlsCert") or monitor.get("tlsKey"):
        say("dropped", "the client certificate (mTLS): Vigil's http check sends none")
    return None


def _redirects(monitor: Mapping[str, Any], fields: Fields, say: Say) -> None:
    limit = _number(monitor.get("maxredirects"))
    if limit is None:
        return
    if limit <= 0:
        fields["follow_redirects"] = False
    elif limit > MAX_REDIRECTS:
        say("approximated", f"maxredirects {_n(limit)}: Vigil follows at most {MAX_REDIRECTS}")
        fields["max_redirects"] = MAX_REDIRECTS
    elif limit != 10:
        fields["max_redirects"] = int(limit)


def _statuses(raw: Any, say: Say) -> list[int | str]:
    """Kuma's accepted codes ("200-299", "404") as Vigil's rules ("2xx", 404): whole classes
    stay classes, partial ranges become codes while they fit in 50 rules."""
    raw = _json_value(raw) if isinstance(raw, str) and raw.lstrip().startswith("[") else raw
    entries = raw if isinstance(raw, list) else ["200-299"] if raw is None else [raw]
    ranges: list[tuple[int, int]] = []
    for entry in entries:
        text = str(entry).strip()
        m = STATUS_CODE.match(text) or STATUS_RANGE.match(text)
        lo, hi = (int(m[1]), int(m[m.lastindex or 1])) if m else (0, -1)
        lo, hi = max(lo, 100), min(hi, 599)
        if lo > hi:
            say("dropped", f"accepted status code {entry!r}: not a code or a range of 100-599")
        else:
            ranges.append((lo, hi))
    if not ranges:
        say("approximated", "no accepted status code Vigil can use; it expects 2xx")
        return ["2xx"]
    classes, codes = _split_classes(ranges)
    if len(classes) + len(codes) > MAX_STATUS_RULES:
        classes, codes = classes | {c // 100 for c in codes}, []
        say(
            "approximated",
            f"accepted status codes {', '.join(map(str, entries))} make more than"
            f" {MAX_STATUS_RULES} rules (Vigil's limit): it accepts their whole classes",
        )
    rules: list[tuple[int, int | str]] = [(c * 100, f"{c}xx") for c in classes]
    rules += [(code, code) for code in codes]
    return [rule for _, rule in sorted(rules)]


def _split_classes(ranges: list[tuple[int, int]]) -> tuple[set[int], list[int]]:
    """Whole classes (2 for 200-299) and the codes left over, not covered by a class."""
    classes: set[int] = set()
    codes: set[int] = set()
    for lo, hi in ranges:
        for c in range(lo // 100, hi // 100 + 1):
            a, b = max(lo, c * 100), min(hi, c * 100 + 99)
            if (a, b) == (c * 100, c * 100 + 99):
                classes.add(c)
            else:
                codes.update(range(a, b + 1))
    return classes, sorted(c for c in codes if c // 100 not in classes)


def _json_condition(monitor: Mapping[str, Any], say: Say) -> dict[str, Any] | None:
    """Kuma's JSONata query and comparison as one Vigil JMESPath condition."""
    query = str(monitor.get("jsonPath") or "").strip()
    path = _jmespath(query)
    if path is None:
        say(
            "skipped",
            f"JSON query {query!r} is a JSONata expression with no JMESPath equivalent; write the json condition by hand",
        )
        return None
    op = str(monitor.get("jsonPathOperator") or "==")  # 1.x has no operator: it compares equal
    raw = monitor.get("expectedValue")
    text = "" if raw is None else (str(raw).lower() if isinstance(raw, bool) else str(raw))
    value: Any = text
    if op in ("==", "!="):
        value = _typed(text)
        if not isinstance(value, str):
            say(
                "approximated",
                f"Kuma compares {query} as text with {text!r}; Vigil compares JSON values, so it"
                f" expects the {_json_type(value)[2:]} {text}",
            )
    elif op in ("<", "<=", ">", ">="):
        if not JSON_NUMBER.match(text.strip()):
            say("skipped", f"JSON query {op} {text!r}: Vigil compares a number with a number")
            return None
        value = json.loads(text.strip())
        say("approximated", f"Kuma converts {query} to a number; Vigil needs a JSON number there")
    elif op != "contains":
        say("skipped", f"JSON query operator {op!r} has no equivalent")
        return None
    return {"path": path, "op": op, "value": value}


def _jmespath(query: str) -> str | None:
    """A JSONata path (`$.data.items[0].state`, `` `odd-name`.x ``) as JMESPath, else None."""
    if query == "$":
        return "@"
    rest = query
    if query.startswith("$"):
        if not query.startswith(("$.", "$[")):
            return None  # `$name` is a JSONata variable or function
        rest = query[2:] if query.startswith("$.") else query[1:]
    steps: list[str] = []
    pos = 0
    while pos < len(rest):
        m = JSONATA_STEP.match(rest, pos)
        # A name after another step needs its dot, the first one has none.
        if m is None or (m["index"] is None and bool(m["dot"]) != bool(steps)):
            return None
        if m["index"] is not None:
            steps.append(f"[{m['index']}]")
        else:
            steps.append((m["dot"] or "") + (m["name"] or json.dumps(m["quoted"])))
        pos = m.end()
    return "".join(steps) or None


def _typed(text: str) -> Any:
    if JSON_NUMBER.match(text):
        return json.loads(text)
    return {"true": True, "false": False}.get(text, text)


def _tcp(monitor: Mapping[str, Any], say: Say) -> Fields | None:
    host = _host(monitor, say)
    port = _number(monitor.get("port"))
    if host is None:
        return None
    if port is None or not 1 <= port <= 65535 or port != int(port):
        say("skipped", f"port {monitor.get('port')!r} is not a TCP port")
        return None
    if monitor.get("smtpSecurity") in ("secure", "starttls") and _flag(
        monitor.get("expiryNotification")
    ):
        say("dropped", "the certificate check on the port: add a Vigil tls target for it")
    return {"kind": "tcp", "host": host, "port": int(port)}


def _icmp(monitor: Mapping[str, Any], say: Say) -> Fields | None:
    host = _host(monitor, say)
    if host is None:
        return None
    size = _number(monitor.get("packetSize"))
    if size is not None and size != 56:
        say("dropped", f"packetSize {_n(size)}: Vigil sends its own echo size")
    return {"kind": "icmp", "host": host}


def _host(monitor: Mapping[str, Any], say: Say) -> str | None:
    host = str(monitor.get("hostname") or "").strip()
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if _ip(bare) is None and not (DNS_NAME.match(bare) and len(bare) <= 253):
        say("skipped", f"hostname {host!r} is not a host name or an IP address")
        return None
    return bare


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _dns(monitor: Mapping[str, Any], say: Say) -> Fields | None:
    name = str(monitor.get("hostname") or "").strip()
    if not DNS_NAME.match(name) or len(name) > 254:
        say("skipped", f"hostname {name!r} is not a DNS name")
        return None
    record = str(monitor.get("dns_resolve_type") or "A").upper()
    if record not in RECORD_TYPES:
        say("skipped", f"record type {record} has no equivalent")
        return None
    fields: Fields = {"kind": "dns", "query_name": name}
    if record != "A":
        fields["record_type"] = record
    server = _dns_server(monitor.get("dns_resolve_server"), monitor.get("port"), say)
    if server:
        fields["server"] = server
    expected = _dns_expected(monitor.get("conditions"), record, say)
    if expected:
        fields["expected"] = expected
    return fields


def _dns_server(raw: Any, port: Any, say: Say) -> str | None:
    """Kuma's resolver list ("1.1.1.1", 2.x: "1.1.1.1, 8.8.8.8") and port as Vigil's one server."""
    servers = [s for s in re.split(r"[\s,]+", str(raw or "")) if s]
    if not servers:
        return None
    if len(servers) > 1:
        say("approximated", f"resolvers {', '.join(servers)}: Vigil asks one, {servers[0]}")
    ip = _ip(servers[0])
    if ip is None:
        say(
            "dropped",
            f"resolver {servers[0]} is a name; Vigil takes an address, so the worker's resolvers answer",
        )
        return None
    number = _number(port)
    if number is None or int(number) == 53:
        return str(ip)
    return f"[{ip}]:{int(number)}" if ip.version == 6 else f"{ip}:{int(number)}"


def _dns_expected(raw: Any, record: str, say: Say) -> list[str]:
    """Kuma 2.x conditions on `record`: a chain of `equals` joined by `or` is Vigil's
    expected values (any of them); anything else is dropped with a note."""
    conditions = _json_value(raw)
    if not conditions:
        return []
    values = (
        [str(c["value"]) for c in conditions if _record_equals(c)]
        if isinstance(conditions, list)
        else []
    )
    joins = {c.get("andOr") for c in conditions[1:] if isinstance(c, dict)} if values else set()
    if record in WHOLE_RECORD_TYPES and len(values) == len(conditions) and joins <= {"or"}:
        return list(dict.fromkeys(values))
    say(
        "dropped",
        "its conditions (only `record equals` joined by `or` map to expected values);"
        " the check needs only an answer",
    )
    return []


def _record_equals(condition: Any) -> bool:
    return (
        isinstance(condition, dict)
        and condition.get("type") == "expression"
        and condition.get("variable") == "record"
        and condition.get("operator") == "equals"
        and str(condition.get("value") or "") != ""
    )


def _push(monitor: Mapping[str, Any], say: Say) -> Fields | None:
    say(
        "approximated",
        "Vigil makes its own push URL (the Kuma push token cannot be kept): point the sender at"
        " the new URL on the target's page",
    )
    return {"kind": "push"}


KINDS: dict[str, Callable[[Mapping[str, Any], Say], Fields | None]] = {
    "http": _http,
    "keyword": _http,
    "json-query": _http,
    "port": _tcp,
    "ping": _icmp,
    "dns": _dns,
    "push": _push,
}


# -- labels --------------------------------------------------------------------------------


def _labels(monitor: Mapping[str, Any], imp: _Import, say: Say) -> dict[str, str]:
    labels: dict[str, str] = {}
    for tag in monitor.get("tags") or []:
        if isinstance(tag, dict) and tag.get("name"):
            _tag_label(labels, str(tag["name"]), tag.get("value"), say)
    group = _group_path(monitor, imp, parent=True)
    if group:
        _own_label(labels, "group", group, say)
    for nid in _enabled_ids(monitor.get("notificationIDList")):
        channel = imp.channels.get(nid)
        if channel is not None:
            _own_label(labels, channel.label, "true", say)
        elif nid not in imp.skipped_channels:
            say("dropped", f"notification id {nid}: not in the backup's notificationList")
    if len(labels) > MAX_LABELS:
        say(
            "dropped",
            f"labels after the first {MAX_LABELS}: {', '.join(list(labels)[MAX_LABELS:])}",
        )
        labels = dict(list(labels.items())[:MAX_LABELS])
    return labels


def _tag_label(labels: dict[str, str], name: str, value: Any, say: Say) -> None:
    key = _label_key(name)
    if key != name:
        say("approximated", f"tag {name!r} becomes the label key {key!r}")
    text = "true" if value is None or str(value) == "" else str(value)
    if len(text) > MAX_LABEL_VALUE:
        say("approximated", f"tag {name!r}: its value is cut to {MAX_LABEL_VALUE} characters")
        text = text[:MAX_LABEL_VALUE]
    if key in labels and labels[key] != text:
        # Kuma lets one tag hold several values on a monitor; a label has one.
        joined = f"{labels[key]},{text}"[:MAX_LABEL_VALUE]
        say(
            "approximated",
            f"tag {name!r} has several values; the label holds them joined: {joined!r}",
        )
        text = joined
    labels[key] = text


def _own_label(labels: dict[str, str], key: str, value: str, say: Say) -> None:
    if key in labels and labels[key] != value:
        say(
            "approximated",
            f"the tag {key!r} is replaced by the import's own label {key}: {value!r}",
        )
    labels[key] = value[:MAX_LABEL_VALUE]


def _label_key(name: str) -> str:
    key = re.sub(r"[^A-Za-z0-9_.\-/]", "_", name.strip())
    if not LABEL_KEY.match(key):
        key = "_" + key
    return key[:MAX_LABEL_KEY]


def _group_path(monitor: Mapping[str, Any], imp: _Import, parent: bool = False) -> str:
    """`Infra / Databases` for a monitor in nested groups (its parents', or its own, names)."""
    names: list[str] = []
    seen: set[str] = set()
    node: Mapping[str, Any] | None = (
        imp.monitors.get(str(monitor.get("parent"))) if parent else monitor
    )
    while node is not None and node.get("type") == "group" and str(node.get("id")) not in seen:
        seen.add(str(node.get("id")))
        names.append(_clean_name(node.get("name")) or f"group {node.get('id')}")
        node = imp.monitors.get(str(node.get("parent"))) if node.get("parent") is not None else None
    return " / ".join(reversed(names))


# -- values --------------------------------------------------------------------------------


def _flag(value: Any) -> bool:
    """Kuma's booleans: true/false, 1/0 (SQLite, MariaDB) or their strings."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _n(value: float) -> float | int:
    """A whole number written without `.0`."""
    return int(value) if float(value).is_integer() else value


def _enabled_ids(raw: Any) -> list[str]:
    if isinstance(raw, dict):
        return [str(k) for k, on in raw.items() if _flag(on)]
    if isinstance(raw, list):
        return [str(k) for k in raw]
    return []


def _json_value(raw: Any) -> Any:
    """A field Kuma stores as JSON text (headers, 2.x conditions), parsed; None when unset,
    the text itself when it is not JSON."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _json_object(raw: Any) -> dict[str, Any] | None:
    """A headers-like field as an object: {} when unset, None when it is not an object."""
    value = _json_value(raw)
    if value is None:
        return {}
    return value if isinstance(value, dict) else None


def _clean_name(value: Any) -> str:
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", str(value or "")).strip()
    return text[:MAX_NAME].rstrip()


def _literal(value: Any) -> Any:
    """Every string as a literal for `vigil apply`: a `${` in the backup is not a reference."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value
