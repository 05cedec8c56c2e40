"""`vigil import gatus`: Gatus endpoints, alerting providers and alerts as a Vigil apply file."""

from __future__ import annotations

import ipaddress
import json
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .common import InputError, Result, Severity, load_yaml

# Gatus's defaults (config/endpoint/endpoint.go, client/config.go, alerting/alert/alert.go).
INTERVAL_S = 60.0
TIMEOUT_S = 10.0
FAILURE_THRESHOLD = 3
SUCCESS_THRESHOLD = 2
# Vigil's limits (docs/api.md, docs/alerting.md).
MAX_INTERVAL_S = 86400.0
MIN_PERIOD_S = 10.0
MAX_THRESHOLD = 100
MAX_STATUS_RULES = 50
MIN_REPEAT_S, MAX_REPEAT_S = 60, 2_592_000
MAX_LABELS = 64
DAY_MS = 86_400_000
ALL_STATUSES: tuple[str, ...] = ("1xx", "2xx", "3xx", "4xx", "5xx")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
RCODES = frozenset({"NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"})
RECORD_TYPES = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "CAA"})
# Record types whose Gatus [BODY] (the answer's last record) reads as Vigil's record text.
ANSWER_TYPES = frozenset({"A", "AAAA", "CNAME", "NS"})

Where = tuple[str, int]


# -- Reading: YAML that remembers where each value came from, merged as Gatus merges --------


class _Map(dict[str, Any]):
    """A YAML mapping that knows the file and line of itself and of each key."""

    def __init__(self, where: Where) -> None:
        super().__init__()
        self.where = where
        self.key_where: dict[str, Where] = {}

    def at(self, key: str) -> Where:
        return self.key_where.get(key, self.where)


class _Seq(list[Any]):
    """A YAML sequence that knows the file and line of itself and of each item."""

    def __init__(self, where: Where) -> None:
        super().__init__()
        self.where = where
        self.item_where: list[Where] = []

    def at(self, index: int) -> Where:
        return self.item_where[index] if index < len(self.item_where) else self.where


class _Loader(yaml.SafeLoader):
    file = "<input>"


def _mapping(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map((loader.file, node.start_mark.line + 1))
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = key if isinstance(key, str) else _text(key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_where[key] = (loader.file, key_node.start_mark.line + 1)
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq((loader.file, node.start_mark.line + 1))
    for item in node.value:
        out.append(loader.construct_object(item, deep=True))
        out.item_where.append((loader.file, item.start_mark.line + 1))
    return out


def _string(loader: _Loader, node: yaml.ScalarNode) -> str:
    return _reference(loader.construct_scalar(node))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
_Loader.add_constructor("tag:yaml.org,2002:str", _string)

# Gatus expands $VAR and ${VAR} in the whole file (os.ExpandEnv) and reads $$ as a literal $.
_GATUS_REFERENCE = re.compile(r"\$\$|\$\{[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _reference(text: str) -> str:
    """Gatus's variable references as `vigil apply` expands them: $VAR becomes ${VAR}, ${VAR}
    stays, and Gatus's $$ (a literal $) is a lone $, or $${ before a brace."""

    def replace(m: re.Match[str]) -> str:
        if m[0] == "$$":
            return "$$" if text[m.end() : m.end() + 1] == "{" else "$"
        return "${" + m[1] + "}" if m[1] else m[0]

    return _GATUS_REFERENCE.sub(replace, text) if "$" in text else text


def _load(path: Path) -> _Map:
    load_yaml(path)  # an unreadable file or a YAML error: InputError naming its line
    loader = _Loader(path.read_text(encoding="utf-8"))
    loader.file = str(path)
    try:
        doc = loader.get_single_data()
    except TypeError as exc:  # a key YAML cannot hash (a list or a map as a key)
        raise InputError(path, f"not a Gatus configuration: {exc}") from None
    finally:
        loader.dispose()
    if doc is None:
        return _Map((str(path), 1))
    if not isinstance(doc, _Map):
        raise InputError(path, "expected a map of Gatus settings (endpoints:, alerting:, ...)", 1)
    return doc


def _walk(root: Path, directory: Path) -> Iterator[Path]:
    """The *.yaml and *.yml files below `directory` in Go's filepath.WalkDir order, as Gatus
    reads them: depth first, each directory's entries by name, symlinked directories not
    followed, and paths holding ".." skipped (Kubernetes ConfigMap mounts' ..data copies)."""
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk(root, entry)
        elif entry.suffix in (".yaml", ".yml") and ".." not in str(entry.relative_to(root)):
            yield entry


def _files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = list(_walk(path, path))
            if not found:
                raise InputError(path, "holds no *.yaml or *.yml file")
            files += found
        else:
            files.append(path)
    return files


def _merge(dst: _Map, src: _Map, prefix: str = "") -> None:
    """Gatus's directory merge (TwiN/deepmerge): maps merged key by key, lists appended, and a
    setting with a plain value defined in two files is an error."""
    for key, value in src.items():
        where = src.at(key)
        old = dst.get(key)
        if key not in dst or (isinstance(value, _Seq) and not isinstance(old, _Seq)):
            dst[key] = value
            dst.key_where[key] = where
        elif isinstance(value, _Map) and isinstance(old, _Map):
            _merge(old, value, f"{prefix}{key}.")
        elif isinstance(value, _Seq) and isinstance(old, _Seq):
            old.extend(value)
            old.item_where.extend(value.item_where)
        else:
            first = dst.at(key)
            raise InputError(
                where[0],
                f"{prefix}{key} is also set in {first[0]}:{first[1]}: Gatus merges maps and"
                " lists across files, and any other setting may be defined once",
                where[1],
            )


def _read(paths: list[str]) -> _Map:
    files = _files(paths)
    config = _load(files[0])
    for path in files[1:]:
        _merge(config, _load(path))
    if not any(config.get(k) for k in ("endpoints", "external-endpoints", "suites")):
        raise InputError(
            files[0] if len(files) == 1 else ", ".join(paths),
            "no endpoints: a Gatus configuration holds at least one endpoint or suite",
        )
    return config


# -- Typed access: a wrong shape is an InputError naming the file and line -------------------


def _bad(where: Where, message: str) -> InputError:
    return InputError(where[0], message, where[1])


def _map(parent: _Map, key: str, what: str) -> _Map:
    value = parent.get(key)
    if value is None:
        return _Map(parent.at(key))
    if not isinstance(value, _Map):
        raise _bad(parent.at(key), f"{what}.{key}: expected a map")
    return value


def _list(parent: _Map, key: str, what: str) -> _Seq:
    value = parent.get(key)
    if value is None:
        return _Seq(parent.at(key))
    if not isinstance(value, _Seq):
        raise _bad(parent.at(key), f"{what}.{key}: expected a list")
    return value


def _str(parent: _Map, key: str, what: str, default: str = "") -> str:
    value = parent.get(key)
    if value is None:
        return default
    if isinstance(value, _Map | _Seq):
        raise _bad(parent.at(key), f"{what}.{key}: expected a string")
    return _text(value)


def _int(parent: _Map, key: str, what: str, default: int = 0) -> int:
    value = parent.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(parent.at(key), f"{what}.{key}: expected a whole number, not {value!r}")
    return value


def _bool(parent: _Map, key: str, what: str) -> bool | None:
    value = parent.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise _bad(parent.at(key), f"{what}.{key}: expected true or false, not {value!r}")


def _duration(parent: _Map, key: str, what: str) -> float | None:
    """Seconds of a Go duration setting (30s, 5m, 1h30m), None when it is not set."""
    value = parent.get(key)
    if value is None:
        return None
    seconds = go_duration(value) if isinstance(value, str) else None
    if seconds is None or seconds < 0:
        raise _bad(
            parent.at(key),
            f"{what}.{key}: expected a Go duration such as 30s, 5m or 1h30m, not {value!r}",
        )
    return seconds


def _text(value: Any) -> str:
    """A YAML scalar as Gatus's string fields read it (true, not True)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


_DURATION_PART = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration(text: str) -> float | None:
    """Seconds in a Go duration (time.ParseDuration: 30s, 1h30m, 1.5h, 250ms), else None."""
    s = text.strip()
    sign = -1 if s.startswith("-") else 1
    s = s[1:] if s[:1] in "+-" else s
    if s == "0":
        return 0.0
    parts = list(_DURATION_PART.finditer(s))
    if not parts or "".join(m[0] for m in parts) != s:
        return None
    return sign * sum(float(m[1]) * _UNIT_S[m[2]] for m in parts)


def _number(text: str) -> int:
    """A condition operand as Gatus compares numbers: a duration in ms, an integer, a float
    truncated, else 0 (sanitizeAndResolveNumerical)."""
    seconds = go_duration(text)
    if seconds:
        return int(seconds * 1000)
    try:
        return int(text, 0)
    except ValueError:
        pass
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        return 0


def _setting_duration(ep: _Endpoint, parent: _Map, key: str, what: str) -> float | None:
    """A duration setting; a ${VAR} in it (Gatus expands it at start-up) is noted and unset,
    since the file must hold Vigil's number."""
    value = parent.get(key)
    if isinstance(value, str) and "${" in value:
        ep.note("dropped", f"{what}: {value} is a variable; Vigil needs the number in the file")
        return None
    return _duration(parent, key, f"{ep.display}.{what}")


def _whole(seconds: float) -> float | int:
    return int(seconds) if seconds == int(seconds) else seconds


# -- Conditions: "[PLACEHOLDER] OP value", as config/endpoint/condition.go parses them -------

# Gatus tries the operators in this order and splits on the first it finds.
_OPERATORS = ("==", "!=", "<=", ">=", ">", "<")
_FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Condition:
    """One parsed condition, its placeholder on the left: `subject` is the placeholder
    (`[STATUS]`, `[BODY]`), `path` the JSON path after `[BODY].`, `fn` len/has or ""."""

    text: str
    subject: str
    op: str
    value: str
    path: str | None = None
    fn: str = ""


def _call(text: str, name: str) -> str | None:
    """The argument of `name(...)`, or None."""
    if text.startswith(f"{name}(") and text.endswith(")"):
        return text[len(name) + 1 : -1]
    return None


def _unwrap(text: str) -> tuple[str, str]:
    for fn in ("len", "has"):
        inner = _call(text, fn)
        if inner is not None:
            return fn, inner
    return "", text


def _is_placeholder(text: str) -> bool:
    return _unwrap(text)[1].startswith("[")


def parse_condition(text: str) -> Condition | None:
    """The condition as Gatus reads it, or None when it has no operator (Gatus rejects it)."""
    op = next((o for o in _OPERATORS if f" {o} " in text), None)
    if op is None:
        return None
    left, right = (part.strip() for part in text.split(f" {op} ")[:2])
    if not _is_placeholder(left) and _is_placeholder(right):
        left, right, op = right, left, _FLIPPED[op]
    fn, inner = _unwrap(left)
    upper = inner.upper()
    if upper.startswith(("[BODY].", "[BODY][")):
        path = inner[len("[BODY]") :].removeprefix(".")
        return Condition(text, "[BODY]", op, right, path=path, fn=fn)
    return Condition(text, upper if inner.startswith("[") else inner, op, right, fn=fn)


def glob_regex(glob: str) -> str:
    """A Gatus pat() glob (Go's filepath.Match: *, ?, [a-z], [^a], \\x) as RE2 syntax; a
    ${VAR} reference in it is kept for `vigil apply` to expand."""
    out: list[str] = []
    for i, part in enumerate(_REFERENCE_SPLIT.split(glob)):
        if i % 2:
            out.append(part)
            continue
        j = 0
        while j < len(part):
            c = part[j]
            if c == "*":
                out.append(".*")
            elif c == "?":
                out.append(".")
            elif c == "[" and (end := part.find("]", j + 1)) > j:
                out.append("[" + part[j + 1 : end] + "]")
                j = end
            elif c == "\\" and j + 1 < len(part):
                j += 1
                out.append(_escape_char(part[j]))
            else:
                out.append(_escape_char(c))
            j += 1
    return "".join(out)


_REFERENCE_SPLIT = re.compile(r"(\$\{[^}]*\})")
_REGEX_META = frozenset("\\.+*?()|[]{}^$")


def _escape_char(c: str) -> str:
    return "\\" + c if c in _REGEX_META else c


def regex_literal(text: str) -> str:
    """`text` as an RE2 pattern matching it literally; ${VAR} references are kept."""
    parts = _REFERENCE_SPLIT.split(text)
    return "".join(p if i % 2 else "".join(map(_escape_char, p)) for i, p in enumerate(parts))


def gatus_equal(actual: str, expected: str) -> bool:
    """Gatus's isEqual with the placeholder's value on the left: pat(glob), any(a, b), numbers
    compared as numbers, else the text."""
    glob = _call(expected, "pat")
    if glob is not None:
        return (
            re.fullmatch(glob_regex(glob.replace("/", "")), actual.replace("/", ""), re.S)
            is not None
        )
    options = _call(expected, "any")
    if options is not None:
        return actual in (o.strip() for o in options.split(","))
    try:
        return int(actual, 0) == int(expected, 0)
    except ValueError:
        return actual == expected


def status_rules(conditions: list[Condition]) -> list[int | str] | None:
    """The status codes every [STATUS] condition accepts, as Vigil's expected_status (whole
    classes as "2xx"); None when they accept no code at all."""
    codes = {c for c in range(100, 600) if all(_status_holds(c, cond) for cond in conditions)}
    if not codes:
        return None
    rules: list[int | str] = []
    for hundred in range(1, 6):
        block = set(range(hundred * 100, hundred * 100 + 100))
        rules += [f"{hundred}xx"] if block <= codes else sorted(codes & block)
    return rules


def _status_holds(code: int, cond: Condition) -> bool:
    if cond.op == "==":
        return gatus_equal(str(code), cond.value)
    if cond.op == "!=":
        return not gatus_equal(str(code), cond.value)
    return _COMPARE[cond.op](code, _number(cond.value))


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATH_PART = re.compile(r"([^\[\]]*)((?:\[-?[0-9]+\])*)")


def jmespath_of(path: str) -> str | None:
    """Gatus's [BODY] path (data.items[0].name, [0].id) as JMESPath; None if it is not one."""
    pieces = []
    for i, part in enumerate(path.split(".")):
        m = _PATH_PART.fullmatch(part)
        if m is None or not (m[1] or m[2]) or (not m[1] and i > 0):
            return None
        name = m[1] if not m[1] or _IDENTIFIER.fullmatch(m[1]) else json.dumps(m[1])
        pieces.append(name + m[2])
    return ".".join(pieces)


def json_value(text: str) -> Any:
    """A condition's right side as the JSON value it most likely stands for."""
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if re.fullmatch(r"-?[0-9]*\.[0-9]+(?:[eE][-+]?[0-9]+)?", text):
        return float(text)
    return text


# -- One endpoint ---------------------------------------------------------------------------


@dataclass
class _Endpoint:
    """An endpoint being converted: its target so far, and what its conditions asked for."""

    raw: _Map
    display: str  # group/name, as Gatus names it
    target: dict[str, Any]
    result: Result
    statuses: list[Condition] = field(default_factory=list)
    keywords: dict[bool, tuple[str, bool]] = field(default_factory=dict)  # absent -> (text, regex)
    json: list[dict[str, Any]] = field(default_factory=list)
    certificate_days: int | None = None

    @property
    def kind(self) -> str:
        return str(self.target["kind"])

    def note(self, severity: Severity, why: str) -> None:
        self.result.note(
            f'gatus endpoint "{self.display}"', severity, why, target=self.target["name"]
        )

    def drop(self, cond: Condition, why: str) -> None:
        self.note("dropped", f"condition {cond.text!r}: {why}")


Handler = Callable[[_Endpoint, Condition], None]


def _on_connected(ep: _Endpoint, cond: Condition) -> None:
    # Every Vigil check fails when it cannot connect: [CONNECTED] == true is what it does.
    if not (cond.op == "==" and cond.value.lower() == "true" and not cond.fn):
        ep.drop(cond, "Vigil's checks always require the connection")


def _on_response_time(ep: _Endpoint, cond: Condition) -> None:
    limit = _number(cond.value)
    if cond.op not in ("<", "<=") or cond.fn or limit <= 0:
        ep.drop(cond, "Vigil can only bound the latency from above (max_latency_ms)")
        return
    old = ep.target.get("max_latency_ms")
    ep.target["max_latency_ms"] = limit if old is None else min(old, limit)


def _on_status(ep: _Endpoint, cond: Condition) -> None:
    if ep.kind != "http" or cond.fn:
        ep.drop(cond, "only HTTP targets check a status")
    else:
        ep.statuses.append(cond)


def _on_rcode(ep: _Endpoint, cond: Condition) -> None:
    code = cond.value.upper()
    if ep.kind != "dns" or cond.op != "==" or cond.fn:
        ep.drop(cond, "a DNS target expects one answer code (expected_rcode)")
    elif code not in RCODES:
        ep.drop(cond, f"Vigil expects one of {', '.join(sorted(RCODES))}")
    else:
        ep.target["expected_rcode"] = code


def _on_certificate(ep: _Endpoint, cond: Condition) -> None:
    ms = _number(cond.value)
    https = ep.kind == "http" and str(ep.target["url"]).lower().startswith("https:")
    if cond.op not in (">", ">=") or cond.fn or ms < 0 or not (https or ep.kind == "tls"):
        ep.drop(cond, "Vigil checks that an https or tls certificate has at least N days left")
        return
    days = math.ceil(ms / DAY_MS)
    if ms % DAY_MS:
        ep.note("approximated", f"condition {cond.text!r}: Vigil counts whole days: {days}")
    ep.certificate_days = max(days, ep.certificate_days or 0)


def _on_body(ep: _Endpoint, cond: Condition) -> None:
    if cond.path is not None:
        _on_json(ep, cond)
    elif ep.kind == "http":
        _on_body_text(ep, cond)
    elif ep.kind == "dns":
        _on_dns_answer(ep, cond)
    else:
        ep.drop(cond, f"a {ep.kind} target does not read an answer")


def _on_body_text(ep: _Endpoint, cond: Condition) -> None:
    if cond.fn or cond.op not in ("==", "!="):
        ep.drop(cond, "Vigil looks for a keyword in the body, nothing else")
        return
    glob, options = _call(cond.value, "pat"), _call(cond.value, "any")
    if glob is not None and len(glob) > 2 and glob[0] == glob[-1] == "*":
        if not any(c in glob[1:-1] for c in "*?[\\"):
            _keyword(ep, cond, glob[1:-1], regex=False)  # *x*: the body contains x
            return
    if glob is not None or options is not None:
        # Gatus matches the whole body, trimmed: anchor the pattern, allow the spaces.
        inner = glob_regex(glob) if glob is not None else _alternatives(options or "")
        _keyword(ep, cond, rf"(?s)\A\s*(?:{inner})\s*\z", regex=True)
        if glob is not None and "/" in glob:
            ep.note("approximated", f"condition {cond.text!r}: Gatus ignores / in the pattern")
        return
    _keyword(ep, cond, cond.value, regex=False)
    ep.note(
        "approximated",
        f"condition {cond.text!r}: Gatus compares the whole body; Vigil checks that it"
        f" {'does not contain' if cond.op == '!=' else 'contains'} the text (keyword)",
    )


def _alternatives(options: str) -> str:
    return "|".join(regex_literal(o.strip()) for o in options.split(","))


def _keyword(ep: _Endpoint, cond: Condition, text: str, regex: bool) -> None:
    absent = cond.op == "!="
    if absent in ep.keywords:
        field_name = "keyword_absent" if absent else "keyword"
        ep.drop(cond, f"Vigil has one {field_name} per target, taken by an earlier condition")
    elif text:
        ep.keywords[absent] = (text, regex)
    else:
        ep.drop(cond, "an empty keyword")


def _on_json(ep: _Endpoint, cond: Condition) -> None:
    path = jmespath_of(cond.path or "")
    if ep.kind != "http" or path is None:
        why = "only HTTP targets check a JSON body" if ep.kind != "http" else "not a JSON path"
        ep.drop(cond, why)
        return
    rule = _json_rule(path, cond)
    if rule is None:
        ep.drop(cond, "no JSON condition of Vigil's says that")
    else:
        ep.json.append(rule)


def _json_rule(path: str, cond: Condition) -> dict[str, Any] | None:
    """The Vigil json condition for a [BODY].path condition, or None."""
    if cond.fn == "has":
        if cond.op in ("==", "!=") and cond.value in ("true", "false"):
            present = (cond.value == "true") == (cond.op == "==")
            return {"path": path, "op": "exists" if present else "not_exists"}
        return None
    if cond.fn == "len":
        return {"path": f"length({path})", "op": cond.op, "value": _number(cond.value)}
    if cond.op in _COMPARE:
        return {"path": path, "op": cond.op, "value": _number(cond.value)}
    glob, options = _call(cond.value, "pat"), _call(cond.value, "any")
    if glob is not None:
        regex = rf"(?s)\A(?:{glob_regex(glob)})\z"
        return {"path": path, "op": "matches", "value": regex} if cond.op == "==" else None
    if options is not None:
        values = json.dumps([json_value(o.strip()) for o in options.split(",")])
        literal = values.replace("`", "\\`")
        return {"path": f"contains(`{literal}`, {path})", "op": "==", "value": cond.op == "=="}
    return {"path": path, "op": cond.op, "value": json_value(cond.value)}


def _on_dns_answer(ep: _Endpoint, cond: Condition) -> None:
    record = ep.target.get("record_type", "A")
    options = _call(cond.value, "any")
    if cond.fn or cond.op != "==" or _call(cond.value, "pat") is not None:
        ep.drop(cond, "Vigil compares the answer with a list of values")
    elif record not in ANSWER_TYPES:
        ep.drop(cond, f"Gatus's text of a {record} record is not Vigil's")
    else:
        values = [o.strip() for o in options.split(",")] if options is not None else [cond.value]
        ep.target["expected"] = values
        ep.target["match"] = "any"
        ep.note(
            "approximated",
            f"condition {cond.text!r}: Gatus compares the answer's last record; Vigil passes"
            " when any record is one of the values",
        )


_UNSUPPORTED_PLACEHOLDERS = {
    "[IP]": "Vigil does not check the address a name resolves to",
    "[DOMAIN_EXPIRATION]": "Vigil does not check a domain's registration",
    "[CONTEXT]": "suite context has no equivalent",
}
CONDITIONS: dict[str, Handler] = {
    "[CONNECTED]": _on_connected,
    "[RESPONSE_TIME]": _on_response_time,
    "[STATUS]": _on_status,
    "[DNS_RCODE]": _on_rcode,
    "[CERTIFICATE_EXPIRATION]": _on_certificate,
    "[BODY]": _on_body,
}


def _conditions(ep: _Endpoint) -> None:
    conditions = _list(ep.raw, "conditions", ep.display)
    if not conditions:
        raise _bad(ep.raw.where, f"endpoint {ep.display!r}: Gatus needs at least one condition")
    for i, text in enumerate(conditions):
        cond = parse_condition(text) if isinstance(text, str) else None
        if cond is None:
            raise _bad(
                conditions.at(i),
                f"endpoint {ep.display!r}: condition {text!r} is not `<value> <operator>"
                " <value>` (operators: == != < <= > >=)",
            )
        handler = CONDITIONS.get(cond.subject)
        if handler is not None:
            handler(ep, cond)
        else:
            reason = _UNSUPPORTED_PLACEHOLDERS.get(cond.subject.split(".")[0], "")
            ep.drop(cond, reason or f"{cond.subject} is not a placeholder Vigil can check")
    _finish_conditions(ep)


def _finish_conditions(ep: _Endpoint) -> None:
    """Write what the conditions collected into the target's fields."""
    if ep.kind == "http":
        _finish_http(ep)
    if ep.kind == "tls":
        # Gatus's tls:// checks the certificate's dates only in a condition; Vigil's default is 14.
        ep.target["min_days_valid"] = ep.certificate_days or 0
    if ep.kind == "dns" and "expected_rcode" not in ep.target:
        ep.note(
            "approximated",
            "no [DNS_RCODE] condition: Gatus accepts any answer code; Vigil expects NOERROR",
        )


def _finish_http(ep: _Endpoint) -> None:
    rules: list[int | str] | None = list(ALL_STATUSES)  # no [STATUS] condition: any is fine
    if ep.statuses:
        rules = status_rules(ep.statuses)
        if rules is None:
            texts = ", ".join(repr(c.text) for c in ep.statuses)
            ep.note("dropped", f"conditions {texts} accept no status code at all")
            rules = list(ALL_STATUSES)
        elif len(rules) > MAX_STATUS_RULES:
            rules = list(sorted({f"{r}"[0] + "xx" for r in rules}))
            texts = ", ".join(repr(c.text) for c in ep.statuses)
            ep.note(
                "approximated",
                f"{texts}: more codes than Vigil lists (50): every class holding an accepted"
                f" code is accepted ({', '.join(map(str, rules))})",
            )
    ep.target["expected_status"] = rules
    if ep.certificate_days is not None:
        ep.target["tls_min_days_valid"] = ep.certificate_days
    _finish_keywords(ep)
    if ep.json:
        ep.target["json"] = ep.json


def _finish_keywords(ep: _Endpoint) -> None:
    regex = any(is_regex for _, is_regex in ep.keywords.values())
    for absent, (text, is_regex) in sorted(ep.keywords.items()):
        ep.target["keyword_absent" if absent else "keyword"] = (
            regex_literal(text) if regex and not is_regex else text
        )
        if regex and not is_regex and "${" in text:
            ep.note("approximated", f"keyword {text!r}: the variable's value is read as RE2 syntax")
    if regex:
        ep.target["keyword_regex"] = True


# -- Kinds: one builder per URL scheme ------------------------------------------------------


def _split_host_port(rest: str) -> tuple[str, str | None]:
    """host and port of `host:port`, `[v6]:port`, or a bare host (an IPv6 address too)."""
    netloc = rest.split("/", 1)[0]
    if netloc.startswith("["):
        host, _, tail = netloc[1:].partition("]")
        return host, tail[1:] if tail.startswith(":") else None
    if netloc.count(":") == 1:
        host, port = netloc.split(":")
        return host, port
    return netloc, None


def _host_port(ep: _Endpoint, rest: str) -> bool:
    host, port = _split_host_port(rest)
    if not host or port is None or not port.isdigit() or not 0 < int(port) < 65536:
        why = (
            "its port is a variable; Vigil's port is a number"
            if port and "${" in port
            else ("it has no host:port")
        )
        ep.note("skipped", why)
        return False
    ep.target.update(host=host, port=int(port))
    return True


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")


def _http(ep: _Endpoint, url: str, rest: str) -> bool:
    ep.target["url"] = url
    method = _str(ep.raw, "method", ep.display, "GET").upper()
    if method in METHODS:
        if method != "GET":
            ep.target["method"] = method
    else:
        ep.note("dropped", f"method {method}: Vigil sends {', '.join(sorted(METHODS))}; GET used")
    headers = {k: _text(v) for k, v in _map(ep.raw, "headers", ep.display).items()}
    for bad in [k for k in headers if not _HEADER_NAME.fullmatch(k)]:
        ep.note("dropped", f"header {bad!r}: not a valid header name")
        del headers[bad]
    if headers:
        ep.target["headers"] = headers
    if ep.raw.get("body"):
        graphql = " (a GraphQL query)" if _bool(ep.raw, "graphql", ep.display) else ""
        ep.note(
            "dropped",
            f"request body{graphql}: Vigil's API does not send a request body"
            f"{f'; the {method} is sent empty' if method in METHODS else ''}",
        )
    client = _map(ep.raw, "client", ep.display)
    if _bool(client, "insecure", f"{ep.display}.client"):
        ep.target["verify_tls"] = False
    if _bool(client, "ignore-redirect", f"{ep.display}.client"):
        ep.target["follow_redirects"] = False
    return True


def _tcp(ep: _Endpoint, url: str, rest: str) -> bool:
    if ep.raw.get("body"):
        ep.note("dropped", "body: Vigil's tcp check only connects, it sends nothing")
    return _host_port(ep, rest)


def _icmp(ep: _Endpoint, url: str, rest: str) -> bool:
    ep.target["host"] = rest.strip("/").strip("[]")
    return bool(ep.target["host"]) or _skip(ep, "it has no host")


def _tls(ep: _Endpoint, url: str, rest: str) -> bool:
    if not _host_port(ep, rest):
        return False
    if url.lower().startswith("starttls:"):
        ep.target["starttls"] = "smtp"  # Gatus's starttls:// speaks SMTP (client.go)
    if ep.raw.get("body"):
        ep.note("dropped", "body: Vigil's tls check only shakes hands, it sends nothing")
    if _bool(_map(ep.raw, "client", ep.display), "insecure", f"{ep.display}.client"):
        ep.note("dropped", "client.insecure: Vigil's tls kind always verifies the certificate")
    return True


def _skip(ep: _Endpoint, why: str) -> bool:
    ep.note("skipped", why)
    return False


Builder = Callable[[_Endpoint, str, str], bool]
KINDS: dict[str, tuple[str, Builder]] = {
    "http": ("http", _http),
    "https": ("http", _http),
    "tcp": ("tcp", _tcp),
    "icmp": ("icmp", _icmp),
    "tls": ("tls", _tls),
    "starttls": ("tls", _tls),
}
UNSUPPORTED_SCHEMES = {
    "udp": "UDP",
    "sctp": "SCTP",
    "ws": "WebSocket",
    "wss": "WebSocket",
    "grpc": "gRPC health",
    "grpcs": "gRPC health",
    "ssh": "SSH command",
}


def _dns(ep: _Endpoint, url: str) -> bool:
    dns = _map(ep.raw, "dns", ep.display)
    name = _str(dns, "query-name", f"{ep.display}.dns")
    record = _str(dns, "query-type", f"{ep.display}.dns").upper()
    if not name:
        raise _bad(dns.where, f"endpoint {ep.display!r}: dns.query-name is required")
    if record not in RECORD_TYPES:
        return _skip(
            ep, f"query-type {record or '(none)'}: Vigil queries {', '.join(sorted(RECORD_TYPES))}"
        )
    ep.target.update(query_name=name, record_type=record)
    server = _dns_server(url)
    if server is None:
        ep.note(
            "approximated", f"server {url!r} is not an IP address: the worker's resolvers are asked"
        )
    else:
        ep.target["server"] = server
    return True


def _dns_server(url: str) -> str | None:
    """Gatus's DNS url (an IP, ip:port, [v6]:port) as Vigil's server, None for a name."""
    if "${" in url:
        return url
    try:
        ipaddress.ip_address(_split_host_port(url)[0])
    except ValueError:
        return None
    return url


def _endpoint_target(ep: _Endpoint) -> bool:
    """Fill in the kind's fields; False when the endpoint cannot be imported (noted)."""
    url = _str(ep.raw, "url", ep.display)
    if not url:
        raise _bad(ep.raw.where, f"endpoint {ep.display!r}: url is required")
    if ep.raw.get("dns") is not None:  # Gatus: a dns block makes a DNS endpoint, whatever the url
        ep.target["kind"] = "dns"
        return _dns(ep, url)
    scheme, sep, rest = url.partition("://")
    kind = KINDS.get(scheme.lower()) if sep else None
    if kind is None:
        what = UNSUPPORTED_SCHEMES.get(scheme.lower())
        return _skip(
            ep, f"{what} checks have no Vigil kind" if what else f"url {url!r}: unknown scheme"
        )
    ep.target["kind"] = kind[0]
    return kind[1](ep, url, rest)


# -- Alerting: providers become channels, endpoint alerts become routes on labels -----------


@dataclass(frozen=True)
class Provider:
    """How one Gatus alerting provider becomes a Vigil channel: its kind, the Gatus keys that
    map to config fields, those it needs, those that hold secrets, and a last step."""

    kind: str
    fields: dict[str, str]
    required: tuple[str, ...]
    secrets: tuple[str, ...] = ()
    finish: Callable[[dict[str, Any], _Map, Callable[[Severity, str], None]], None] | None = None
    handled: frozenset[str] = frozenset()


def _email(config: dict[str, Any], raw: _Map, note: Callable[[Severity, str], None]) -> None:
    config["to"] = [a.strip() for a in str(config["to"]).split(",") if a.strip()]
    port = config.get("port")
    config["port"] = int(str(port)) if str(port).isdigit() else port
    # gomail: TLS from the start on 465, else STARTTLS when the server offers it.
    config["security"] = "tls" if config["port"] == 465 else "starttls"
    if config["security"] == "starttls":
        note(
            "approximated",
            "Gatus uses STARTTLS when offered; Vigil requires it (security: starttls)",
        )
    client = raw.get("client")
    if isinstance(client, _Map) and client.get("insecure") is True:
        config["verify_tls"] = False


def _custom(config: dict[str, Any], raw: _Map, note: Callable[[Severity, str], None]) -> None:
    config["headers"] = {str(k): _text(v) for k, v in (config.get("headers") or {}).items()}
    if not config["headers"]:
        del config["headers"]
    if raw.get("body") or raw.get("method") or raw.get("placeholders"):
        note(
            "approximated",
            "Vigil's webhook POSTs its own JSON event, not Gatus's method, body template and"
            " placeholders",
        )


_URL_ONLY = {"webhook-url": "url"}
PROVIDERS: dict[str, Provider] = {
    "slack": Provider("slack", _URL_ONLY, ("webhook-url",), ("webhook-url",)),
    "discord": Provider("discord", _URL_ONLY, ("webhook-url",), ("webhook-url",)),
    "teams-workflows": Provider("teams", _URL_ONLY, ("webhook-url",), ("webhook-url",)),
    "telegram": Provider(
        "telegram",
        {"token": "bot_token", "id": "chat_id", "api-url": "api_url"},
        ("token", "id"),
        ("token",),
    ),
    "ntfy": Provider(
        "ntfy", {"topic": "topic", "url": "server_url", "token": "token"}, ("topic",), ("token",)
    ),
    "pagerduty": Provider(
        "pagerduty", {"integration-key": "routing_key"}, ("integration-key",), ("integration-key",)
    ),
    "email": Provider(
        "email",
        {
            "from": "from_address",
            "to": "to",
            "host": "host",
            "port": "port",
            "username": "username",
            "password": "password",
        },
        ("from", "to", "host", "port"),
        ("password",),
        _email,
        frozenset({"client"}),
    ),
    "custom": Provider(
        "webhook",
        {"url": "url", "headers": "headers"},
        ("url",),
        (),
        _custom,
        frozenset({"method", "body", "placeholders"}),
    ),
}
SKIPPED_PROVIDERS = {
    "teams": "Office 365 connector webhooks are retired and Vigil's teams channel posts to a"
    " Workflows webhook: create one and configure it as teams-workflows",
}


@dataclass
class _Alerting:
    """The channels made from `alerting:`, and the routes endpoint alerts ask for."""

    result: Result
    defaults: dict[str, _Map] = field(default_factory=dict)
    channels: dict[tuple[str, str], str] = field(default_factory=dict)  # (type, group) -> name
    variants: dict[tuple[str, str, bool, int | None], str] = field(default_factory=dict)

    def channel(self, kind: str, group: str) -> str | None:
        return self.channels.get((kind, group)) or self.channels.get((kind, ""))

    def label(self, kind: str, channel: str, send_resolved: bool, repeat: int | None) -> str:
        """The value of label gatus_alert_<type> that routes a target to `channel` this way."""
        key = (kind, channel, send_resolved, repeat)
        if key not in self.variants:
            n = sum(1 for k in self.variants if k[0] == kind) + 1
            self.variants[key] = "true" if n == 1 else str(n)
            route: dict[str, Any] = {
                "name": f"gatus-{kind}" + ("" if n == 1 else f"-{n}"),
                "match_labels": {f"gatus_alert_{kind}": self.variants[key]},
                "channels": [channel],
                "send_resolved": send_resolved,
            }
            if repeat is not None:
                route["repeat_interval_s"] = repeat
            self.result.routes.append(route)
        return self.variants[key]


def _alerting(config: _Map, result: Result) -> _Alerting:
    alerting = _Alerting(result)
    providers = _map(config, "alerting", "gatus")
    for kind, raw in providers.items():
        if raw is None:  # an empty section: Gatus leaves the provider unset
            continue
        if not isinstance(raw, _Map):
            raise _bad(providers.at(kind), f"alerting.{kind}: expected a map")
        what = f"gatus alerting.{kind}"
        provider = PROVIDERS.get(kind)
        if provider is None:
            why = SKIPPED_PROVIDERS.get(kind, "Vigil has no channel of this kind")
            result.note(what, "skipped", why)
            continue
        alerting.defaults[kind] = _map(raw, "default-alert", f"alerting.{kind}")
        name = _channel(result, what, f"gatus-{kind}", provider, raw, _Map(raw.where))
        if name is not None:
            alerting.channels[(kind, "")] = name
        overrides = _list(raw, "overrides", f"alerting.{kind}")
        for i, override in enumerate(overrides):
            if not isinstance(override, _Map) or not _text(override.get("group")):
                raise _bad(
                    overrides.at(i),
                    f"alerting.{kind}.overrides[{i}]: expected a map with a group",
                )
            group = _text(override["group"])
            name = _channel(
                result,
                f"{what} override for group {group!r}",
                f"gatus-{kind}-{group}",
                provider,
                override,
                raw,
            )
            if name is not None:
                alerting.channels[(kind, group)] = name
    return alerting


def _channel(
    result: Result, what: str, name: str, provider: Provider, raw: _Map, base: _Map
) -> str | None:
    """Add the channel for a provider's settings (`raw`, over `base` for a group override)."""
    merged = {**base, **{k: v for k, v in raw.items() if v not in (None, "")}}
    missing = [k for k in provider.required if merged.get(k) in (None, "")]
    if missing:
        result.note(what, "skipped", f"{', '.join(missing)} not set (Gatus ignores it too)")
        return None
    config = {
        provider.fields[k]: merged[k] if isinstance(merged[k], dict) else _text(merged[k])
        for k in provider.fields
        if merged.get(k) not in (None, "")
    }
    if provider.finish is not None:
        provider.finish(config, _as_map(merged, raw), lambda s, why: result.note(what, s, why))
    ignored = (
        set(raw) - set(provider.fields) - provider.handled - {"default-alert", "overrides", "group"}
    )
    if ignored:
        result.note(
            what,
            "dropped",
            f"{', '.join(sorted(ignored))}: Vigil's {provider.kind} channel has no such setting",
        )
    literal = [k for k in provider.secrets if k in raw and "${" not in _text(raw[k])]
    if literal:
        result.note(
            what,
            "info",
            f"{', '.join(literal)} is a secret, written into the output as it is in the input;"
            " move it to ${VAR} before committing",
        )
    result.channels.append({"name": name, "kind": provider.kind, "config": config})
    return name


def _as_map(values: dict[str, Any], *sources: _Map) -> _Map:
    """`values` as a _Map that places each key where the first source holding it does."""
    out = _Map(sources[0].where)
    out.update(values)
    for source in reversed(sources):
        out.key_where.update(source.key_where)
    return out


def _alerts(ep: _Endpoint, alerting: _Alerting, group: str) -> None:
    """The endpoint's alerts: thresholds onto the target, a label per provider for its route."""
    thresholds: list[tuple[int, int]] = []
    labels = ep.target.setdefault("labels", {})
    alerts = _list(ep.raw, "alerts", ep.display)
    for i, raw in enumerate(alerts):
        if not isinstance(raw, _Map) or not _text(raw.get("type")):
            raise _bad(alerts.at(i), f"endpoint {ep.display!r}: alerts[{i}] needs a type")
        kind = _text(raw["type"])
        defaults = alerting.defaults.get(kind, _Map(raw.where))
        alert = _as_map({**defaults, **raw}, raw, defaults)
        if _bool(alert, "enabled", f"{ep.display}.alerts[{i}]") is False:
            continue
        what = f"{ep.display}.alerts[{i}]"
        thresholds.append(
            (
                _int(alert, "failure-threshold", what) or FAILURE_THRESHOLD,
                _int(alert, "success-threshold", what) or SUCCESS_THRESHOLD,
            )
        )
        channel = alerting.channel(kind, group)
        if channel is None:
            ep.note("dropped", f"alert {kind}: no Vigil channel for this provider")
            continue
        for key in ("description", "provider-override"):
            if alert.get(key):
                ep.note(
                    "dropped", f"alert {kind}: {key}: Vigil's channels have no per-target {key}"
                )
        send_resolved = bool(_bool(alert, "send-on-resolved", what))  # Gatus: false by default
        label = alerting.label(kind, channel, send_resolved, _repeat(ep, alert, what))
        key = f"gatus_alert_{kind}"
        if key in labels:
            ep.note("dropped", f"alert {kind}: a second alert of the same provider")
        else:
            labels[key] = label
    if thresholds:
        _thresholds(ep, thresholds)


def _repeat(ep: _Endpoint, alert: _Map, what: str) -> int | None:
    seconds = _setting_duration(ep, alert, "minimum-reminder-interval", f"{what} reminder")
    if not seconds:
        return None
    repeat = min(max(math.ceil(seconds), MIN_REPEAT_S), MAX_REPEAT_S)
    if repeat != seconds:
        ep.note("approximated", f"minimum-reminder-interval: reminders every {repeat} s")
    return repeat


def _thresholds(ep: _Endpoint, thresholds: list[tuple[int, int]]) -> None:
    failure, success = thresholds[0]
    if len(set(thresholds)) > 1:
        ep.note(
            "approximated",
            f"alerts with different thresholds: Vigil's are per target; the first alert's"
            f" ({failure} failures, {success} successes) are used",
        )
    clamped = (min(max(failure, 1), MAX_THRESHOLD), min(max(success, 1), MAX_THRESHOLD))
    if clamped != (failure, success):
        ep.note("approximated", f"thresholds: Vigil's are 1 to {MAX_THRESHOLD}")
    ep.target["failure_threshold"], ep.target["success_threshold"] = clamped


# -- Common target settings -----------------------------------------------------------------

ENDPOINT_KEYS = frozenset(
    {"name", "group", "url", "method", "body", "graphql", "headers", "interval", "conditions"}
    | {"alerts", "dns", "client", "enabled", "extra-labels"}
)
DROPPED_KEYS = {
    "maintenance-windows": "Vigil has no maintenance windows",
    "ui": "settings of Gatus's dashboard",
    "ssh": "Vigil has no SSH kind",
    "store": "suites only",
    "always-run": "suites only",
}
HANDLED_CLIENT_KEYS = frozenset({"timeout", "insecure", "ignore-redirect"})


def _schedule(ep: _Endpoint) -> None:
    """interval_s and timeout_s within Vigil's limits (1 s to 1 day, timeout below it)."""
    interval = _setting_duration(ep, ep.raw, "interval", "interval")
    if interval is None:
        interval = INTERVAL_S
    clamped = min(max(interval, 1.0), MAX_INTERVAL_S)
    if clamped != interval:
        ep.note("approximated", f"interval: Vigil checks every 1 s to 1 day; {clamped:g} s")
    ep.target["interval_s"] = _whole(clamped)
    client = _map(ep.raw, "client", ep.display)
    timeout = _setting_duration(ep, client, "timeout", "client.timeout")
    if timeout is not None and timeout > 0:
        if timeout >= clamped:
            timeout = clamped / 2
            ep.note("approximated", f"client.timeout: Vigil's is below the interval; {timeout:g} s")
        ep.target["timeout_s"] = _whole(timeout)
    ignored = sorted(set(client) - HANDLED_CLIENT_KEYS)
    if ignored:
        ep.note("dropped", f"client {', '.join(ignored)}: Vigil's checks have no such setting")
    _latency_within_timeout(ep)


def _latency_within_timeout(ep: _Endpoint) -> None:
    limit = ep.target.get("max_latency_ms")
    timeout = ep.target.get("timeout_s", min(TIMEOUT_S, ep.target["interval_s"] / 2))
    if limit is not None and limit >= timeout * 1000:
        del ep.target["max_latency_ms"]
        ep.note(
            "dropped", f"[RESPONSE_TIME] < {limit}: the {timeout:g} s timeout bounds it already"
        )


_LABEL_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")


def label_key(key: str) -> str:
    """A label key Vigil accepts: other characters become _, at most 63."""
    clean = re.sub(r"[^A-Za-z0-9_.\-/]", "_", key)
    clean = clean if _LABEL_KEY.fullmatch(clean) else "_" + clean
    return clean[:63]


def _labels(ep: _Endpoint, group: str) -> None:
    labels: dict[str, str] = {}
    if group:
        labels["group"] = group
    for key, value in _map(ep.raw, "extra-labels", ep.display).items():
        clean = label_key(key)
        if clean != key:
            ep.note("approximated", f"extra-labels {key!r}: label key written {clean!r}")
        labels[clean] = _text(value)
    ep.target["labels"] = labels


def _other_keys(ep: _Endpoint) -> None:
    for key in sorted(set(ep.raw) - ENDPOINT_KEYS):
        ep.note(
            "dropped",
            f"{key}: {DROPPED_KEYS.get(key, 'not a Gatus endpoint setting this importer knows')}",
        )


# The order a reader expects: what is checked, how it passes, then when, then the rest.
FIELD_ORDER = (
    "name kind url host port query_name record_type server method expected_status keyword"
    " keyword_absent keyword_regex json headers verify_tls follow_redirects tls_min_days_valid"
    " starttls min_days_valid expected_rcode expected match max_latency_ms period_s grace_s"
    " interval_s timeout_s failure_threshold success_threshold labels enabled"
).split()


def _finish_target(ep: _Endpoint) -> dict[str, Any]:
    """The target's fields in FIELD_ORDER, labels within Vigil's limit."""
    labels = ep.target.pop("labels", {})
    if len(labels) > MAX_LABELS:
        kept = dict(list(labels.items())[:MAX_LABELS])
        ep.note(
            "dropped", f"labels {', '.join(k for k in labels if k not in kept)}: Vigil keeps 64"
        )
        labels = kept
    if labels:
        ep.target["labels"] = labels
    if _bool(ep.raw, "enabled", ep.display) is False:
        ep.target["enabled"] = False
    return {k: ep.target[k] for k in sorted(ep.target, key=FIELD_ORDER.index)}


# -- The whole configuration ----------------------------------------------------------------

TOP_LEVEL = frozenset({"endpoints", "external-endpoints", "suites", "alerting"})


def _items(seq: _Seq, what: str) -> list[_Map]:
    for i, raw in enumerate(seq):
        if not isinstance(raw, _Map):
            raise _bad(seq.at(i), f"{what}[{i}]: expected a map (name:, url:, conditions:, ...)")
    return list(seq)


def _names(items: list[_Map], result: Result) -> list[tuple[str, str, str]]:
    """(group, name, Vigil name) per item: group/name where Gatus names collide (Gatus keeps
    them apart by group), then a numbered suffix for what is still the same."""
    pairs = []
    for raw in items:
        name = _str(raw, "name", "endpoint").strip()
        if not name:
            raise _bad(raw.where, "an endpoint needs a name")
        pairs.append((_str(raw, "group", name).strip(), name))
    counts = Counter(name for _, name in pairs)
    taken: set[str] = set()
    out = []
    for group, name in pairs:
        full = f"{group}/{name}" if counts[name] > 1 and group else name
        vigil, n = full[:200], 1
        while vigil in taken:
            n += 1
            vigil = f"{full[:190]} ({n})"
        if vigil != full:
            result.note(
                f'gatus endpoint "{full}"',
                "approximated",
                f"named {vigil!r} in Vigil (a duplicate or too long)",
                target=vigil,
            )
        taken.add(vigil)
        out.append((group, name, vigil))
    return out


def _convert_endpoint(
    raw: _Map, group: str, name: str, vigil: str, alerting: _Alerting, result: Result
) -> None:
    display = f"{group}/{name}" if group else name
    ep = _Endpoint(raw, display, {"name": vigil, "kind": "?"}, result)
    if not _endpoint_target(ep):
        result.approximated.discard(vigil)  # not imported: counted as skipped only
        return
    _conditions(ep)
    _schedule(ep)
    _labels(ep, group)
    _alerts(ep, alerting, group)
    _other_keys(ep)
    result.targets.append(_finish_target(ep))


def _convert_external(
    raw: _Map, group: str, name: str, vigil: str, alerting: _Alerting, result: Result
) -> None:
    """An external endpoint (pushed to Gatus) as a push target, when it has a heartbeat."""
    display = f"{group}/{name}" if group else name
    ep = _Endpoint(raw, display, {"name": vigil, "kind": "push"}, result)
    period = _setting_duration(ep, _map(raw, "heartbeat", display), "interval", "heartbeat")
    if not period:
        ep.note(
            "skipped",
            "an external endpoint without heartbeat.interval is never late; a Vigil push"
            " target needs a period",
        )
        return
    clamped = min(max(period, MIN_PERIOD_S), MAX_INTERVAL_S)
    ep.target.update(period_s=_whole(clamped), grace_s=0)
    period_note = "" if clamped == period else f"; period {clamped:g} s"
    ep.note(
        "approximated",
        "external endpoint as a push target: its sender must call the target's push URL"
        f" (GET /api/v1/targets/{{id}}) instead of Gatus's API{period_note}",
    )
    _labels(ep, group)
    _alerts(ep, alerting, group)
    for key in sorted(set(raw) - {"name", "group", "token", "alerts", "heartbeat", "enabled"}):
        why = DROPPED_KEYS.get(key, "not an external endpoint setting this importer knows")
        ep.note("dropped", f"{key}: {why}")
    result.targets.append(_finish_target(ep))


def convert(paths: list[str]) -> Result:
    """A Gatus configuration (files, or directories merged as Gatus merges them) as a Vigil
    apply document, with a note for everything that did not map exactly."""
    config = _read(paths)
    result = Result()
    alerting = _alerting(config, result)
    endpoints = _items(_list(config, "endpoints", "gatus"), "endpoints")
    externals = _items(_list(config, "external-endpoints", "gatus"), "external-endpoints")
    names = _names([*endpoints, *externals], result)
    for raw, (group, name, vigil) in zip(endpoints, names[: len(endpoints)], strict=True):
        _convert_endpoint(raw, group, name, vigil, alerting, result)
    for raw, (group, name, vigil) in zip(externals, names[len(endpoints) :], strict=True):
        _convert_external(raw, group, name, vigil, alerting, result)
    for suite in _list(config, "suites", "gatus"):
        label = _text(suite.get("name")) if isinstance(suite, _Map) else "?"
        result.note(
            f'gatus suite "{label}"', "skipped", "multi-step suites have no Vigil equivalent"
        )
    ignored = sorted(set(config) - TOP_LEVEL)
    if ignored:
        result.note(
            "gatus",
            "dropped",
            f"{', '.join(ignored)}: Gatus's own settings (storage, web, UI, security,"
            " maintenance windows, ...) have no place in a Vigil apply file",
        )
    return result
