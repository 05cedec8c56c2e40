"""`vigil import blackbox`: Prometheus probe jobs and blackbox_exporter modules as Vigil targets.

A probe job (`metrics_path: /probe`, or `params.module`, or a relabel setting
`__param_module`/`__param_target`) asks the exporter to probe each of its static targets with one
module. Each such target, after the job's `relabel_configs` run as Prometheus runs them, becomes
one Vigil target of the kind the module's prober maps to. A module's settings are the same for
every target that uses it, so a note about one is said once, naming those targets.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from vigil_core.patterns import PatternError, compile_re2

from .common import InputError, Note, Result, Severity, line_of, load_yaml

Level = Severity
Address = Callable[[str], "dict[str, Any] | str"]  # a target's address fields, or why not

# --- durations ------------------------------------------------------------------------------

# blackbox reads Go's time.Duration (1m30s, 1.5s, 500ms, 300us); Prometheus its model.Duration
# (1d, 2w, 1y too). One reader for both: a value valid in either is read the same way.
_UNIT_S = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}
_PART = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|[smhdwy])"
_DURATION = re.compile(f"(?:{_PART})+")
_DURATION_PART = re.compile(_PART)


def parse_duration(value: object) -> float | None:
    """Seconds in a duration such as `15s`, `1m30s` or `500ms`; None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if text == "0":
        return 0.0
    if not _DURATION.fullmatch(text):
        return None
    return sum(float(n) * _UNIT_S[unit] for n, unit in _DURATION_PART.findall(text))


def _format_duration(seconds: float) -> str:
    """`90.5` -> `1m30s500ms`: a duration as both configurations write them."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _number(seconds: float) -> int | float:
    return int(seconds) if float(seconds).is_integer() else round(seconds, 3)


# --- input files ----------------------------------------------------------------------------


class _Malformed(Exception):
    """A value the peer itself would refuse: where it is (keys from the file's top) and why."""

    def __init__(self, keys: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.keys = keys
        self.message = message


class _File:
    """A YAML input: its data, and its node tree to name the line of a value by its keys."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.data = load_yaml(path)
        # Parsed once more as nodes, only for the lines of values that are wrong.
        self._root = yaml.compose(Path(path).read_text(encoding="utf-8"))

    def error(self, keys: tuple[str | int, ...], message: str) -> InputError:
        return InputError(self.path, message, line=self._line(keys))

    def _line(self, keys: tuple[str | int, ...]) -> int | None:
        node: Any = self._root
        line = line_of(node) if node is not None else None
        for key in keys:
            node = _child(node, key)
            if node is None:
                break
            line = line_of(node)
        return line


def _child(node: Any, key: str | int) -> Any:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                return v
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def _text(value: Any) -> str:
    """A scalar as Go's YAML decoder gives it to a string field (`true`, not Python's `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _mapping(value: Any, keys: tuple[str | int, ...], what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(keys, f"{what} must be a mapping")
    return value


def _sequence(value: Any, keys: tuple[str | int, ...], what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(keys, f"{what} must be a list")
    return value


# --- notes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Say:
    """A note waiting for its target's final name. `shared` ones (a module's, a job's) are
    said once for all the targets they concern."""

    what: str
    level: Level
    why: str
    shared: bool = True


class _Ledger:
    """Collects the notes of the imported targets and says each shared one once."""

    def __init__(self) -> None:
        self._names: dict[_Say, list[str]] = {}

    def add(self, say: _Say, target: str) -> None:
        self._names.setdefault(say, []).append(target)

    def flush(self, result: Result) -> None:
        for say, names in self._names.items():
            what = f"{say.what} ({_some(names)})" if say.shared else say.what
            result.note(what, say.level, say.why)
            if say.level == "approximated":
                result.approximated.update(names)


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"target{'s' if len(names) > 1 else ''} {shown}{more}"


class _Says:
    """What converting one module had to say: (level, why) pairs."""

    def __init__(self) -> None:
        self.items: list[tuple[Level, str]] = []

    def approximated(self, why: str) -> None:
        self.items.append(("approximated", why))

    def dropped(self, why: str) -> None:
        self.items.append(("dropped", why))

    def info(self, why: str) -> None:
        self.items.append(("info", why))


# --- Prometheus: probe jobs and their static targets ----------------------------------------

DEFAULT_MODULE = "http_2xx"  # the exporter's module when a probe names none (prober/handler.go)
_GLOBAL_INTERVAL = "1m"
_GLOBAL_TIMEOUT = "10s"
_ACTIONS = (
    "replace",
    "keep",
    "drop",
    "keepequal",
    "dropequal",
    "hashmod",
    "labelmap",
    "labeldrop",
    "labelkeep",
    "lowercase",
    "uppercase",
)
_NEEDS_TARGET = frozenset(
    {"replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"}
)


@dataclass(frozen=True)
class Probe:
    """One static target of a probe job after relabelling: what the exporter is asked."""

    job: str
    target: str  # __param_target: what is probed
    module: str  # __param_module, or the exporter's default
    labels: dict[str, str]  # the target's labels, without __-prefixed ones and instance
    interval_s: float
    timeout_s: float  # the scrape timeout, which bounds the probe
    hostname: str | None  # __param_hostname: the Host header of an http probe


@dataclass(frozen=True)
class _Rule:
    """One relabel_config, with Prometheus's defaults filled in and its regex anchored."""

    action: str
    source_labels: tuple[str, ...]
    separator: str
    regex: Any  # re2 pattern: ^(?s:REGEX)$, as Prometheus compiles it
    target_label: str
    replacement: str
    modulus: int


def read_probes(path: str, result: Result) -> list[Probe]:
    """The probes of prometheus.yml's probe jobs, one per static target that relabelling
    keeps, as Prometheus would ask the exporter; notes for the jobs and targets it cannot use."""
    prom = _File(path)
    data = prom.data
    if not isinstance(data, dict) or "scrape_configs" not in data:
        if isinstance(data, dict) and data.get("scrape_config_files"):
            data = {**data, "scrape_configs": []}
        else:
            raise prom.error(
                (), "expected `scrape_configs:`, the list of Prometheus scrape jobs to read"
            )
    try:
        interval, timeout = _global_timing(data)
        jobs = _sequence(data.get("scrape_configs"), ("scrape_configs",), "scrape_configs")
        if data.get("scrape_config_files"):
            result.note(
                "prometheus scrape_config_files",
                "skipped",
                "the jobs in other files are not read; import those files' jobs separately",
            )
        return _probes_of_jobs(jobs, interval, timeout, result)
    except _Malformed as exc:
        raise prom.error(exc.keys, exc.message) from None


def _global_timing(data: dict[str, Any]) -> tuple[str, str]:
    glob = _mapping(data.get("global"), ("global",), "global")
    interval = _text(glob.get("scrape_interval", _GLOBAL_INTERVAL))
    timeout = _text(glob.get("scrape_timeout", _GLOBAL_TIMEOUT))
    _seconds(interval, ("global", "scrape_interval"))
    _seconds(timeout, ("global", "scrape_timeout"))
    return interval, timeout


def _seconds(text: str, keys: tuple[str | int, ...]) -> float:
    seconds = parse_duration(text)
    if seconds is None:
        raise _Malformed(keys, f"{text!r} is not a duration (like 15s, 1m30s or 500ms)")
    return seconds


def _probes_of_jobs(jobs: list[Any], interval: str, timeout: str, result: Result) -> list[Probe]:
    probes: list[Probe] = []
    ignored: list[str] = []
    seen: set[str] = set()
    for i, job in enumerate(jobs):
        where = ("scrape_configs", i)
        if not isinstance(job, dict) or not isinstance(job.get("job_name"), str):
            raise _Malformed(where, "each scrape config must be a mapping with a job_name")
        name = job["job_name"]
        if name in seen:
            raise _Malformed((*where, "job_name"), f"job_name {name!r} is used twice")
        seen.add(name)
        if _is_probe_job(job):
            probes.extend(_job_probes(job, where, interval, timeout, result))
        else:
            ignored.append(name)
    if ignored:
        many = len(ignored) > 1
        result.notes.append(
            Note(
                "prometheus",
                "info",
                f"{len(ignored)} {'jobs are' if many else 'job is'} not "
                f"{'probe jobs' if many else 'a probe job'}, ignored ({', '.join(ignored)})",
            )
        )
    return probes


def _is_probe_job(job: dict[str, Any]) -> bool:
    if _text(job.get("metrics_path", "/metrics")).rstrip("/").endswith("/probe"):
        return True
    params = job.get("params")
    if isinstance(params, dict) and "module" in params:
        return True
    rules = job.get("relabel_configs")
    return isinstance(rules, list) and any(
        isinstance(r, dict) and r.get("target_label") in ("__param_module", "__param_target")
        for r in rules
    )


def _job_probes(
    job: dict[str, Any], where: tuple[str | int, ...], interval: str, timeout: str, result: Result
) -> Iterator[Probe]:
    name = job["job_name"]
    rules = [
        _rule(r, (*where, "relabel_configs", k))
        for k, r in enumerate(_sequence(job.get("relabel_configs"), where, "relabel_configs"))
    ]
    base = _job_labels(job, where, interval, timeout)
    discovered = sorted(k for k, v in job.items() if k.endswith("_sd_configs") and v)
    if discovered:
        result.note(
            f'prometheus job "{name}"',
            "skipped",
            f"{', '.join(discovered)}: its targets are discovered when Prometheus runs, not "
            "written in the file; list them under static_configs to import them",
        )
    dropped = 0
    groups = _sequence(job.get("static_configs"), (*where, "static_configs"), "static_configs")
    for j, group in enumerate(groups):
        keys = (*where, "static_configs", j)
        group = _mapping(group, keys, "a static_config")
        labels = _mapping(group.get("labels"), (*keys, "labels"), "labels")
        addresses = _sequence(group.get("targets"), (*keys, "targets"), "targets")
        for address in addresses:
            initial = {**base, **{str(k): _text(v) for k, v in labels.items()}}
            initial["__address__"] = _text(address)
            probe = _probe(name, _text(address), _relabel(initial, rules), result)
            if probe == "dropped":
                dropped += 1
            elif probe is not None:
                yield probe
    if dropped:
        result.notes.append(
            Note(
                f'prometheus job "{name}"',
                "info",
                f"{dropped} static target{'s' if dropped > 1 else ''} dropped by its "
                "relabel_configs (Prometheus does not probe them either), not imported",
            )
        )


def _job_labels(
    job: dict[str, Any], where: tuple[str | int, ...], interval: str, timeout: str
) -> dict[str, str]:
    """The labels Prometheus gives each of a job's targets before relabelling."""
    job_interval = _text(job.get("scrape_interval", interval))
    seconds = _seconds(job_interval, (*where, "scrape_interval"))
    if "scrape_timeout" in job:
        job_timeout = _text(job["scrape_timeout"])
        _seconds(job_timeout, (*where, "scrape_timeout"))
    elif (parse_duration(timeout) or 0) > seconds:
        job_timeout = job_interval  # Prometheus: the global timeout, but never above the interval
    else:
        job_timeout = timeout
    labels = {
        "job": job["job_name"],
        "__scheme__": _text(job.get("scheme", "http")),
        "__metrics_path__": _text(job.get("metrics_path", "/metrics")),
        "__scrape_interval__": job_interval,
        "__scrape_timeout__": job_timeout,
    }
    params = _mapping(job.get("params"), (*where, "params"), "params")
    for key, values in params.items():
        values = _sequence(values, (*where, "params", key), f"params.{key}")
        if values:
            labels[f"__param_{key}"] = _text(values[0])  # the exporter reads the first
    return labels


def _probe(
    job: str, address: str, labels: dict[str, str] | None, result: Result
) -> Probe | Literal["dropped"] | None:
    if labels is None or not labels.get("__address__"):
        return "dropped"
    target = labels.get("__param_target", "")
    what = f'prometheus job "{job}" target "{address}"'
    if not target:
        result.note(
            what, "skipped", "no __param_target after relabelling: the exporter would probe nothing"
        )
        return None
    interval = parse_duration(labels.get("__scrape_interval__", ""))
    timeout = parse_duration(labels.get("__scrape_timeout__", ""))
    if not interval or not timeout:
        result.note(what, "skipped", "relabelling left no valid __scrape_interval__/_timeout__")
        return None
    return Probe(
        job=job,
        target=target,
        module=labels.get("__param_module") or DEFAULT_MODULE,
        labels={k: v for k, v in labels.items() if not k.startswith("__") and k != "instance"},
        interval_s=interval,
        timeout_s=timeout,
        hostname=labels.get("__param_hostname") or None,
    )


def _rule(raw: Any, keys: tuple[str | int, ...]) -> _Rule:
    rule = _mapping(raw, keys, "a relabel_config")
    action = _text(rule.get("action", "replace")).lower()
    if action not in _ACTIONS:
        raise _Malformed((*keys, "action"), f"action must be one of {', '.join(_ACTIONS)}")
    target = _text(rule.get("target_label", ""))
    if action in _NEEDS_TARGET and not target:
        raise _Malformed(keys, f"a {action} relabel_config needs a target_label")
    pattern = _text(rule.get("regex", "(.*)"))
    try:
        regex = compile_re2(f"^(?s:{pattern})$")
    except PatternError:
        raise _Malformed((*keys, "regex"), f"regex {pattern!r} is not valid RE2") from None
    modulus = rule.get("modulus", 0)
    if action == "hashmod" and (not isinstance(modulus, int) or modulus < 1):
        raise _Malformed((*keys, "modulus"), "a hashmod relabel_config needs a modulus above 0")
    sources = _sequence(rule.get("source_labels"), (*keys, "source_labels"), "source_labels")
    return _Rule(
        action=action,
        source_labels=tuple(_text(s) for s in sources),
        separator=_text(rule.get("separator", ";")),
        regex=regex,
        target_label=target,
        replacement=_text(rule.get("replacement", "$1")),
        modulus=modulus if isinstance(modulus, int) else 0,
    )


def _relabel(labels: dict[str, str], rules: list[_Rule]) -> dict[str, str] | None:
    """Prometheus's relabelling of one target: its labels after the rules, None if dropped."""
    current = labels
    for rule in rules:
        value = rule.separator.join(current.get(s, "") for s in rule.source_labels)
        after = _APPLY[rule.action](rule, current, value)
        if after is None:
            return None
        # An empty label is an absent one, in Prometheus as here.
        current = {k: v for k, v in after.items() if v != ""}
    return current


def _expand(template: str, match: Any, regex: Any) -> str:
    """Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`; `$$` is a `$`."""

    def group(ref: re.Match[str]) -> str:
        if ref.group(0) == "$$":
            return "$"
        name = ref.group(1) if ref.group(1) is not None else ref.group(2)
        index = int(name) if name.isdigit() else regex.groupindex.get(name)
        if index is None or index > regex.groups:
            return ""
        return match.group(index) or ""

    return re.sub(r"\$(?:\$|\{(\w+)\}|(\w+))", group, template)


def _replace(rule: _Rule, labels: dict[str, str], value: str) -> dict[str, str]:
    match = rule.regex.match(value)
    if match is None:
        return labels
    target = _expand(rule.target_label, match, rule.regex)
    if not target:
        return labels
    out = {k: v for k, v in labels.items() if k != target}
    result = _expand(rule.replacement, match, rule.regex)
    if result:
        out[target] = result
    return out


def _keep(rule: _Rule, labels: dict[str, str], value: str) -> dict[str, str] | None:
    return labels if (rule.regex.match(value) is not None) == (rule.action == "keep") else None


def _keep_equal(rule: _Rule, labels: dict[str, str], value: str) -> dict[str, str] | None:
    equal = labels.get(rule.target_label, "") == value
    return labels if equal == (rule.action == "keepequal") else None


def _hashmod(rule: _Rule, labels: dict[str, str], value: str) -> dict[str, str]:
    # As Prometheus: the last 8 bytes of the MD5, big-endian, modulo the modulus.
    digest = hashlib.md5(value.encode(), usedforsecurity=False).digest()
    return {**labels, rule.target_label: str(int.from_bytes(digest[8:], "big") % rule.modulus)}


def _case(rule: _Rule, labels: dict[str, str], value: str) -> dict[str, str]:
    changed = value.lower() if rule.action == "lowercase" else value.upper()
    return {**labels, rule.target_label: changed}


def _labelmap(rule: _Rule, labels: dict[str, str], value: str) -> dict[str, str]:
    out = dict(labels)
    for name, label_value in labels.items():
        if (match := rule.regex.match(name)) is not None:
            out[_expand(rule.replacement, match, rule.regex)] = label_value
    return out


def _labelkeep(rule: _Rule, labels: dict[str, str], value: str) -> dict[str, str]:
    keep = rule.action == "labelkeep"
    return {k: v for k, v in labels.items() if (rule.regex.match(k) is not None) == keep}


_APPLY: dict[str, Callable[[_Rule, dict[str, str], str], dict[str, str] | None]] = {
    "replace": _replace,
    "keep": _keep,
    "drop": _keep,
    "keepequal": _keep_equal,
    "dropequal": _keep_equal,
    "hashmod": _hashmod,
    "lowercase": _case,
    "uppercase": _case,
    "labelmap": _labelmap,
    "labelkeep": _labelkeep,
    "labeldrop": _labelkeep,
}


# --- blackbox_exporter: modules -------------------------------------------------------------

_PROBERS = ("http", "tcp", "icmp", "dns", "grpc", "unix", "websocket")
_NO_KIND = {
    "grpc": "prober grpc (the gRPC health-checking protocol) has no Vigil kind",
    "unix": "prober unix (a socket on the exporter's own machine) has no Vigil kind",
    "websocket": "prober websocket has no Vigil kind",
}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "CAA")
_RCODES = ("NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED")
_KEYWORD_MAX = 1000
_NAME_MAX = 200
_LABEL_KEY_MAX = 63
_LABEL_VALUE_MAX = 200
_LABELS_MAX = 64
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_URL = re.compile(r"(?i:https?)://[^\s/?#\x00]+[^\s\x00]*")
_HOST = re.compile(
    r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
    r"|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)"
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")

# Why a prober setting Vigil has no field for is dropped (the key is the setting's name).
_WHY = {
    "valid_http_versions": "Vigil does not check the HTTP version of the answer",
    "fail_if_ssl": "Vigil neither requires nor forbids TLS; the URL's scheme decides",
    "fail_if_not_ssl": "Vigil neither requires nor forbids TLS; the URL's scheme decides",
    "fail_if_header_matches": "Vigil does not check response headers",
    "fail_if_header_not_matches": "Vigil does not check response headers",
    "fail_if_body_json_matches_cel": "Vigil's JSON rules are JMESPath conditions (`json:`), "
    "not CEL: rewrite it by hand",
    "fail_if_body_json_not_matches_cel": "Vigil's JSON rules are JMESPath conditions (`json:`), "
    "not CEL: rewrite it by hand",
    "body": "Vigil's API does not expose a request body",
    "body_file": "Vigil's API does not expose a request body",
    "compression": "Vigil asks for gzip, deflate or br and decodes what comes; it does not "
    "require one encoding",
    "body_size_limit": "Vigil bounds the body it reads itself",
    "proxy_url": "Vigil connects directly, not through a proxy",
    "no_proxy": "Vigil connects directly, not through a proxy",
    "proxy_from_environment": "Vigil connects directly, not through a proxy",
    "proxy_connect_header": "Vigil connects directly, not through a proxy",
    "skip_resolve_phase_with_proxy": "Vigil connects directly, not through a proxy",
    "oauth2": "Vigil does not fetch OAuth 2.0 tokens",
    "enable_http2": "Vigil negotiates the HTTP version itself",
    "enable_http3": "Vigil does not speak HTTP/3",
    "source_ip_address": "Vigil does not choose the source address",
    "payload_size": "Vigil sends a standard echo request",
    "ttl": "Vigil sends a standard echo request",
    "dont_fragment": "Vigil sends a standard echo request",
    "query_class": "Vigil queries class IN",
    "recursion_desired": "Vigil's queries always ask for recursion",
    "validate_answer_rrs": "Vigil compares record values (`expected`), not regexps over records",
    "validate_authority_rrs": "Vigil checks the answer section only",
    "validate_additional_rrs": "Vigil checks the answer section only",
}
_TLS_WHY = {
    "ca_file": "Vigil verifies against the system's trust store",
    "ca": "Vigil verifies against the system's trust store",
    "cert_file": "Vigil does not present a client certificate",
    "key_file": "Vigil does not present a client certificate",
    "cert": "Vigil does not present a client certificate",
    "key": "Vigil does not present a client certificate",
    "min_version": "Vigil negotiates the TLS version itself",
    "max_version": "Vigil negotiates the TLS version itself",
}
# A setting written with the exporter's default value changes nothing: no note for it.
_DEFAULTS: dict[str, Any] = {
    "enable_http2": True,
    "ttl": 64,
    "recursion_desired": True,
    "query_class": "IN",
}


class _Settings:
    """A prober's settings, taken one by one: what no rule takes is reported, never lost."""

    def __init__(self, prober: str, raw: dict[str, Any], keys: tuple[str | int, ...]) -> None:
        self.prober = prober
        self.keys = keys
        self._raw = raw
        self._taken: set[str] = set()

    def take(self, key: str, default: Any = None) -> Any:
        self._taken.add(key)
        return self._raw.get(key, default)

    def mapping(self, key: str) -> dict[str, Any]:
        return _mapping(self.take(key), (*self.keys, key), f"{self.prober}.{key}")

    def sequence(self, key: str) -> list[Any]:
        return _sequence(self.take(key), (*self.keys, key), f"{self.prober}.{key}")

    def leftovers(self) -> Iterator[str]:
        """A note's text for each setting no rule took, unless it is unset or the default."""
        for key, value in self._raw.items():
            if key in self._taken:
                continue
            if value == _DEFAULTS[key] if key in _DEFAULTS else value in (None, False, "", [], {}):
                continue
            yield f"{self.prober}.{key}: {_WHY.get(key, 'not a setting Vigil has')}"


@dataclass(frozen=True)
class _Module:
    """A blackbox module as Vigil sees it: what every target probed with it shares."""

    kind: str
    fields: dict[str, Any]
    address: Address
    says: tuple[tuple[Level, str], ...]
    timeout_s: float | None
    skip: str | None = None  # why its targets are not imported


class _Unsupported(Exception):
    """A module whose targets cannot be imported at all; the message says why."""


def _load_modules(bb: _File) -> dict[str, _Module]:
    data = bb.data
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        raise bb.error(
            ("modules",) if isinstance(data, dict) else (),
            "expected `modules:`, a mapping of module names to their prober settings "
            "(blackbox_exporter's configuration)",
        )
    try:
        return {str(name): _module(str(name), module) for name, module in data["modules"].items()}
    except _Malformed as exc:
        raise bb.error(exc.keys, exc.message) from None


def _module(name: str, raw: Any) -> _Module:
    keys: tuple[str | int, ...] = ("modules", name)
    module = _mapping(raw, keys, f"module {name!r}")
    prober = _text(module.get("prober"))
    if prober not in _PROBERS:
        raise _Malformed((*keys, "prober"), f"prober must be one of {', '.join(_PROBERS)}")
    timeout = None
    if module.get("timeout") is not None:
        timeout = _seconds(_text(module["timeout"]), (*keys, "timeout")) or None
    if prober in _NO_KIND:
        return _Module(prober, {}, _no_address, (), timeout, skip=_NO_KIND[prober])
    s = _Settings(prober, _mapping(module.get(prober), (*keys, prober), prober), (*keys, prober))
    says = _Says()
    try:
        kind, fields, address = _CONVERTERS[prober](s, says)
    except _Unsupported as exc:
        return _Module(prober, {}, _no_address, (), timeout, skip=str(exc))
    for why in s.leftovers():
        says.dropped(why)
    return _Module(kind, fields, address, tuple(says.items), timeout)


def _no_address(target: str) -> str:
    return "no Vigil kind"


def _ip_protocol(s: _Settings, says: _Says) -> None:
    preferred = _text(s.take("preferred_ip_protocol") or "ip6").lower()
    if s.take("ip_protocol_fallback", True) is False:
        family = "IPv4" if preferred in ("ip4", "ipv4") else "IPv6"
        says.dropped(
            f"{s.prober}.ip_protocol_fallback false: the exporter probes over {family} only; "
            "Vigil uses the addresses the name resolves to, of either family"
        )


def _tls_config(s: _Settings, says: _Says, kind: Literal["http", "tls"]) -> dict[str, Any]:
    """The fields a tls_config gives a target of `kind`, and notes for the rest."""
    config = s.mapping("tls_config")
    fields: dict[str, Any] = {}
    for key, value in config.items():
        if not value:
            continue
        if key == "insecure_skip_verify" and kind == "http":
            fields["verify_tls"] = False
        elif key == "insecure_skip_verify":
            says.dropped(
                f"{s.prober}.tls_config.insecure_skip_verify: Vigil's tls kind always verifies "
                "the chain and the name"
            )
        elif key == "server_name" and kind == "tls":
            fields["server_name"] = _text(value)
        elif key == "server_name":
            says.dropped(f"{s.prober}.tls_config.server_name: Vigil sends the URL's host as SNI")
        else:
            why = _TLS_WHY.get(key, "not a setting Vigil has")
            says.dropped(f"{s.prober}.tls_config.{key}: {why}")
    return fields


# http ---------------------------------------------------------------------------------------


def _http(s: _Settings, says: _Says) -> tuple[str, dict[str, Any], Address]:
    fields: dict[str, Any] = {"expected_status": _statuses(s, says)}
    method = _text(s.take("method") or "GET").upper()
    if method not in _METHODS:
        says.approximated(f"http.method {method}: not a method Vigil sends; GET is sent")
    elif method != "GET":
        fields["method"] = method
    fields.update(_body_rules(s, says))
    headers = _headers(s, says)
    if headers:
        fields["headers"] = headers
    follow = s.take("follow_redirects", True)
    no_follow = s.take("no_follow_redirects")  # the old spelling wins, as in the exporter
    if no_follow is not None:
        follow = not no_follow
    if follow is False:
        fields["follow_redirects"] = False
    fields.update(_tls_config(s, says, "http"))
    _ip_protocol(s, says)
    return "http", fields, _url


def _statuses(s: _Settings, says: _Says) -> list[int | str]:
    codes = s.sequence("valid_status_codes")
    valid = [c for c in codes if isinstance(c, int) and 100 <= c <= 599]
    if len(valid) < len(codes):
        bad = ", ".join(_text(c) for c in codes if c not in valid)
        says.dropped(f"http.valid_status_codes {bad}: not HTTP status codes")
    return list(valid) if valid else ["2xx"]  # the exporter's default: any 2xx


def _body_rules(s: _Settings, says: _Says) -> dict[str, Any]:
    absent = _patterns(s, "fail_if_body_matches_regexp", says)
    present = _patterns(s, "fail_if_body_not_matches_regexp", says)
    fields: dict[str, Any] = {}
    if absent:
        combined = "|".join(f"(?:{p})" for p in absent)
        if len(absent) == 1:
            fields["keyword_absent"] = absent[0]
        elif len(combined) <= _KEYWORD_MAX:
            fields["keyword_absent"] = combined
            says.approximated(
                f"http.fail_if_body_matches_regexp: {len(absent)} regexps combined into one "
                f"alternation {combined!r} (it matches when any of them does)"
            )
        else:
            fields["keyword_absent"] = absent[0]
            says.approximated(
                f"http.fail_if_body_matches_regexp: {len(absent)} regexps are longer than one "
                f"keyword ({_KEYWORD_MAX} characters) together; only the first is kept"
            )
    if present:
        fields["keyword"] = present[0]
        if len(present) > 1:
            says.approximated(
                f"http.fail_if_body_not_matches_regexp: all {len(present)} regexps must match, "
                f"and RE2 has no lookahead to require them in one pattern; only the first, "
                f"{present[0]!r}, is kept"
            )
    if fields:
        fields["keyword_regex"] = True  # Go's regexp is RE2, so the patterns carry over
    return fields


def _patterns(s: _Settings, key: str, says: _Says) -> list[str]:
    patterns = []
    for i, pattern in enumerate(_text(p) for p in s.sequence(key)):
        try:
            compile_re2(pattern)
        except PatternError:
            raise _Malformed(
                (*s.keys, key, i), f"{pattern!r} is not a regular expression (RE2, as Go's)"
            ) from None
        if len(pattern) > _KEYWORD_MAX:
            says.dropped(f"http.{key}: a regexp longer than {_KEYWORD_MAX} characters")
            continue
        patterns.append(pattern)
    return patterns


def _headers(s: _Settings, says: _Says) -> dict[str, str]:
    headers = {str(k): _text(v) for k, v in s.mapping("headers").items()}
    for name, spec in s.mapping("http_headers").items():
        spec = _mapping(spec, (*s.keys, "http_headers", name), f"http.http_headers.{name}")
        values = [_text(v) for key in ("values", "secrets") for v in spec.get(key) or []]
        if spec.get("files"):
            says.dropped(f"http.http_headers.{name}.files: Vigil does not read files")
        if values:
            headers[str(name)] = ", ".join(values)
        if spec.get("secrets") and not all("${" in _text(v) for v in spec["secrets"]):
            says.info(
                f"http.http_headers.{name}: its secret is written into the output; move it "
                "to ${VAR} before committing"
            )
    auth = _authorization(s, says)
    if auth is not None:
        headers["Authorization"] = auth
    for name in [n for n in headers if not _HEADER_NAME.fullmatch(n)]:
        says.dropped(f"http.headers {name!r}: not a header name")
        del headers[name]
    for name in [n for n, v in headers.items() if re.search(r"[\r\n\x00]", v)]:
        says.dropped(f"http.headers.{name}: a line break in the value")
        del headers[name]
    return headers


def _authorization(s: _Settings, says: _Says) -> str | None:
    """The Authorization header of basic_auth, authorization or bearer_token, when it has one."""
    basic = s.mapping("basic_auth")
    auth = s.mapping("authorization")
    bearer = _text(s.take("bearer_token"))
    files = {
        "basic_auth": basic.get("username_file") or basic.get("password_file"),
        "authorization": auth.get("credentials_file"),
        "bearer_token_file": s.take("bearer_token_file"),
    }
    for setting in (k for k, file in files.items() if file):
        says.dropped(f"http.{setting}: a secret read from a file; Vigil does not read files")
    if (basic.get("username") or basic.get("password")) and not files["basic_auth"]:
        user, password = _text(basic.get("username")), _text(basic.get("password"))
        if "${" in user + password:
            says.dropped(
                "http.basic_auth: a ${VAR} reference cannot be base64-encoded into the header "
                "here; write the Authorization header yourself"
            )
            return None
        return _secret("basic_auth", "Basic " + _b64(f"{user}:{password}"), says)
    if auth.get("credentials"):
        value = f"{_text(auth.get('type') or 'Bearer')} {_text(auth['credentials'])}"
        return _secret("authorization", value, says)
    if bearer:
        return _secret("bearer_token", f"Bearer {bearer}", says)
    return None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _secret(setting: str, header: str, says: _Says) -> str:
    if "${" not in header:
        says.info(
            f"http.{setting}: its secret is written into the output (an Authorization "
            "header); move it to ${VAR} before committing"
        )
    return header


def _url(target: str) -> dict[str, Any] | str:
    # Like the exporter: a target without a scheme is an http:// URL (one with another scheme
    # would become http://ftp://..., which probes nothing).
    url = target if target.lower().startswith(("http://", "https://")) else f"http://{target}"
    if _SCHEME.match(target) and url is not target or not _URL.fullmatch(url) or len(url) > 2048:
        return f"{target!r} is not an http(s) URL"
    return {"url": url}


# tcp ----------------------------------------------------------------------------------------

# The command that starts TLS, in the exchange before `starttls: true`, tells the protocol.
_STARTTLS_COMMANDS = (
    (re.compile(r"STARTTLS", re.I), "smtp"),  # SMTP's is bare (RFC 3207)
    (re.compile(r"\S+ STARTTLS", re.I), "imap"),  # IMAP's carries a tag (RFC 3501)
    (re.compile(r"STLS", re.I), "pop3"),  # RFC 2595
    (re.compile(r"AUTH TLS", re.I), "ftp"),  # RFC 4217
)


def _tcp(s: _Settings, says: _Says) -> tuple[str, dict[str, Any], Address]:
    tls = bool(s.take("tls", False))
    steps = [
        _mapping(step, (*s.keys, "query_response", i), "a query_response step")
        for i, step in enumerate(s.sequence("query_response"))
    ]
    upgrade = next((i for i, step in enumerate(steps) if step.get("starttls")), None)
    protocol = _starttls_protocol(steps[:upgrade]) if upgrade is not None else None
    fields: dict[str, Any] = {}
    if tls or protocol:
        fields["starttls"] = "none" if tls else protocol
        fields.update(_tls_config(s, says, "tls"))
        # The exporter fails only an invalid or expired certificate: no warning days ahead.
        fields["min_days_valid"] = 0
    else:
        s.take("tls_config")  # without TLS the exporter does not use it
    _say_dialogue(steps, tls, upgrade, protocol, says)
    _ip_protocol(s, says)
    return ("tls" if fields else "tcp"), fields, _host_port


def _starttls_protocol(steps: list[dict[str, Any]]) -> str | None:
    for step in steps:
        send = step.get("send")
        if isinstance(send, str):
            for command, protocol in _STARTTLS_COMMANDS:
                if command.fullmatch(send.strip()):
                    return protocol
    return None


def _say_dialogue(
    steps: list[dict[str, Any]], tls: bool, upgrade: int | None, protocol: str | None, says: _Says
) -> None:
    if not steps:
        return
    n = f"{len(steps)} step{'s' if len(steps) > 1 else ''}"
    if tls:
        says.dropped(
            f"tcp.query_response ({n}): Vigil's tls kind checks the handshake and the "
            "certificate; it does not send or expect"
        )
    elif protocol:
        says.approximated(
            f"tcp.query_response ({n}) upgrades with {protocol.upper()} STARTTLS; Vigil's tls "
            f"kind runs that itself (starttls: {protocol}) and checks the certificate; the "
            "other steps are not replayed"
        )
    elif upgrade is not None:
        says.approximated(
            f"tcp.query_response ({n}): a STARTTLS exchange of a protocol Vigil cannot tell "
            "(it knows smtp, imap, pop3, ftp); imported as a TCP connect check"
        )
    else:
        says.dropped(
            f"tcp.query_response ({n}): Vigil's tcp kind connects only; it does not send or expect"
        )


def _split_host_port(address: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort: `host:port` or `[v6]:port`; None when there is no port."""
    if address.startswith("["):
        host, bracket, rest = address[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            return None
        return host, rest[1:]
    host, colon, port = address.rpartition(":")
    if not colon or ":" in host:
        return None
    return host, port


def _host_port(target: str) -> dict[str, Any] | str:
    split = _split_host_port(target)
    if split is None:
        return f"{target!r} is not host:port (the exporter dials that)"
    host, port = split
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"{target!r}: the port is not a number from 1 to 65535"
    if not _HOST.fullmatch(host):
        return f"{target!r}: {host!r} is not a host name or an IP address"
    return {"host": host, "port": int(port)}


# icmp ---------------------------------------------------------------------------------------


def _icmp(s: _Settings, says: _Says) -> tuple[str, dict[str, Any], Address]:
    _ip_protocol(s, says)
    return "icmp", {}, _host


def _host(target: str) -> dict[str, Any] | str:
    if not _HOST.fullmatch(target) or len(target) > 253:
        return f"{target!r} is not a host name or an IP address"
    return {"host": target}


# dns ----------------------------------------------------------------------------------------


def _dns(s: _Settings, says: _Says) -> tuple[str, dict[str, Any], Address]:
    name = _text(s.take("query_name"))
    if not name:
        raise _Malformed(s.keys, "a dns module needs query_name (the exporter refuses it too)")
    if s.take("dns_over_tls"):
        raise _Unsupported("dns.dns_over_tls: Vigil queries plain DNS only")
    s.take("tls_config")  # used only over TLS
    fields: dict[str, Any] = {"query_name": name, "record_type": _record_type(s, says)}
    fields["expected_rcode"] = _rcode(s, says)
    if _text(s.take("transport_protocol")).lower() == "tcp":
        says.approximated(
            "dns.transport_protocol tcp: Vigil asks over UDP (TCP when the answer is truncated)"
        )
    _ip_protocol(s, says)
    return "dns", fields, _dns_server


def _record_type(s: _Settings, says: _Says) -> str:
    written = _text(s.take("query_type")).upper()
    qtype = written or "ANY"  # the exporter's default
    if qtype in _RECORD_TYPES:
        return qtype
    default = "" if written else " (the exporter's default)"
    says.approximated(
        f"dns.query_type {qtype}{default}: not a record type Vigil asks for "
        f"({', '.join(_RECORD_TYPES)}); A is asked instead"
    )
    return "A"


def _rcode(s: _Settings, says: _Says) -> str:
    rcodes = [_text(r).upper() for r in s.sequence("valid_rcodes")] or ["NOERROR"]
    known = [r for r in rcodes if r in _RCODES]
    if not known:
        raise _Unsupported(
            f"dns.valid_rcodes {', '.join(rcodes)}: Vigil expects {', '.join(_RCODES)}"
        )
    if len(rcodes) > 1:
        says.approximated(
            f"dns.valid_rcodes {', '.join(rcodes)}: Vigil expects one rcode; {known[0]} is kept"
        )
    return known[0]


def _dns_server(target: str) -> dict[str, Any] | str:
    # As the exporter: the target is the server, port 53 when it has none.
    host, port = _split_host_port(target) or (target, "53")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return (
            f"server {host!r} is a name: Vigil takes a name server by IP address (resolving "
            "the resolver would need a resolver); write its address"
        )
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"{target!r}: the port is not a number from 1 to 65535"
    return {"server": f"{ip}:{port}" if ip.version == 4 else f"[{ip}]:{port}"}


_CONVERTERS: dict[str, Callable[[_Settings, _Says], tuple[str, dict[str, Any], Address]]] = {
    "http": _http,
    "tcp": _tcp,
    "icmp": _icmp,
    "dns": _dns,
}


# --- targets --------------------------------------------------------------------------------


@dataclass
class _Draft:
    """A target on its way out: everything but its name, and its pending notes."""

    probe: Probe
    kind: str
    fields: dict[str, Any]
    says: list[_Say] = field(default_factory=list)
    name: str = ""

    def target(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, **self.fields}


def _draft(probe: Probe, modules: dict[str, _Module], result: Result) -> _Draft | None:
    what = f'blackbox target "{probe.target}" (job "{probe.job}", module "{probe.module}")'
    module = modules.get(probe.module)
    if module is None:
        default = " (the exporter's default when a probe names none)"
        why = f"module {probe.module!r}{default if probe.module == DEFAULT_MODULE else ''} "
        result.note(what, "skipped", why + "is not in the blackbox configuration")
        return None
    address = module.address(probe.target) if module.skip is None else module.skip
    if isinstance(address, str):
        result.note(what, "skipped", address)
        return None
    mwhat = f'blackbox module "{probe.module}"'
    # A copy: targets of one module must not share lists (YAML would write them as anchors).
    draft = _Draft(probe, module.kind, {**address, **copy.deepcopy(module.fields)})
    draft.says = [_Say(mwhat, level, why) for level, why in module.says]
    if probe.hostname and module.kind == "http":
        _hostname(draft, probe.hostname)
    jwhat = f'prometheus job "{probe.job}"'
    draft.fields.update(_timing(probe, module, jwhat, draft.says))
    labels = _labels(probe.labels, jwhat, draft.says)
    if labels:
        draft.fields["labels"] = labels
    return draft


def _hostname(draft: _Draft, hostname: str) -> None:
    draft.fields["headers"] = {**draft.fields.get("headers", {}), "Host": hostname}
    if str(draft.fields["url"]).lower().startswith("https:"):
        draft.says.append(
            _Say(
                f'prometheus job "{draft.probe.job}"',
                "dropped",
                "__param_hostname: sent as the Host header; the TLS name (SNI) stays the URL's",
            )
        )


def _timing(probe: Probe, module: _Module, what: str, says: list[_Say]) -> dict[str, Any]:
    interval = min(max(probe.interval_s, 1.0), 86400.0)
    if interval != probe.interval_s:
        says.append(
            _Say(
                what,
                "approximated",
                f"scrape_interval {_format_duration(probe.interval_s)}: Vigil checks every "
                f"1s to 1d, so every {_format_duration(interval)}",
            )
        )
    timeout = probe.timeout_s
    if module.timeout_s is not None and module.timeout_s < timeout:
        timeout = module.timeout_s  # the exporter takes the shorter of the two
    if timeout >= interval:
        capped = max(interval - 1, interval / 2)
        says.append(
            _Say(
                what,
                "approximated",
                f"a {_format_duration(timeout)} timeout is not below the "
                f"{_format_duration(interval)} interval, as Vigil needs: "
                f"timeout_s {_number(capped)}",
            )
        )
        timeout = capped
    return {"interval_s": _number(interval), "timeout_s": _number(timeout)}


def _labels(raw: dict[str, str], what: str, says: list[_Say]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for key, value in raw.items():
        clean = re.sub(r"[^A-Za-z0-9_.\-/]", "_", key)
        clean = (clean if re.match(r"[A-Za-z_]", clean) else f"_{clean}")[:_LABEL_KEY_MAX]
        if clean != key:
            says.append(_Say(what, "approximated", f"label {key!r} is named {clean!r}"))
        if len(value) > _LABEL_VALUE_MAX:
            says.append(
                _Say(what, "approximated", f"label {key!r}: cut to {_LABEL_VALUE_MAX} characters")
            )
        if len(labels) == _LABELS_MAX:
            says.append(_Say(what, "dropped", f"label {key!r}: Vigil keeps {_LABELS_MAX} labels"))
            continue
        labels[clean] = value[:_LABEL_VALUE_MAX]
    return labels


def _name(drafts: list[_Draft]) -> None:
    """Each target is named after what it probes; `job/target` when jobs share a target."""
    jobs: dict[str, list[str]] = {}
    for d in drafts:
        if d.probe.job not in jobs.setdefault(d.probe.target, []):
            jobs[d.probe.target].append(d.probe.job)
    taken: set[str] = set()
    for d in drafts:
        base = d.probe.target
        others = [j for j in jobs[base] if j != d.probe.job]
        if others:
            base = f"{d.probe.job}/{base}"
        base = base[:_NAME_MAX].strip()
        name, n = base, 2
        while name in taken:
            suffix = f" #{n}"
            name, n = base[: _NAME_MAX - len(suffix)] + suffix, n + 1
        taken.add(name)
        d.name = name
        if name != d.probe.target:
            why = (
                f"also probed by job {', '.join(others)}"
                if others
                else "this job probes it more than once (with another module)"
            )
            d.says.append(
                _Say(
                    f'blackbox target "{d.probe.target}" (job "{d.probe.job}")',
                    "approximated",
                    f"{why}: named {name!r}",
                    shared=False,
                )
            )


def convert(config: str, prometheus: str) -> Result:
    """The Vigil targets of the probe jobs in `prometheus` (prometheus.yml), each with the
    module of `config` (blackbox.yml) it names, and a note for what does not map exactly."""
    modules = _load_modules(_File(config))
    result = Result()
    probes = read_probes(prometheus, result)
    drafts = [d for p in probes if (d := _draft(p, modules, result)) is not None]
    _name(drafts)
    ledger = _Ledger()
    for d in drafts:
        result.targets.append(d.target())
        for say in d.says:
            ledger.add(say, d.name)
    ledger.flush(result)
    return result
