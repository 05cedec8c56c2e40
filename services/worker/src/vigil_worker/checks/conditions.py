"""An HTTP answer's JSON conditions and regular expressions: compiled once (JMESPath, RE2), evaluated per check."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import jmespath
import msgspec
from jmespath.exceptions import JMESPathError

from vigil_core.kinds import JsonCondition
from vigil_core.patterns import PatternError, compile_re2

_SHOWN = 100  # characters of a value a message shows
_CACHE_MAX = 4096


@functools.lru_cache(maxsize=_CACHE_MAX)
def compile_regex(pattern: str) -> Any:
    """The compiled RE2 pattern (cached: a target's pattern compiles once); raises PatternError
    (stored settings the API did not write)."""
    try:
        return compile_re2(pattern)
    except PatternError as exc:
        raise PatternError(f"{pattern!r} is not a regular expression RE2 accepts: {exc}") from None


def render(value: Any) -> str:
    """A value as JSON, cut to about _SHOWN characters."""
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _type(value: Any) -> str:
    """The value's JSON type (a bool is not a number here, unlike in Python)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true != 1 and "1" != 1."""
    kind = _type(a)
    if kind != _type(b):
        return False
    if kind == "array":
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if kind == "object":
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


# An op's test: None when the condition holds, else what to add to "but was X" ("" for nothing).
Test = Callable[[Any, Any, Any], str | None]


def _ordering(compare: Callable[[Any, Any], bool], op: str) -> Test:
    def test(actual: Any, expected: Any, _pattern: Any) -> str | None:
        want, got = _type(expected), _type(actual)
        if want not in ("number", "string"):
            return f" ({op} compares numbers with numbers or strings with strings)"
        if got != want:
            return f" ({_a(got)}, not {_a(want)})"
        return None if compare(actual, expected) else ""

    return test


def _contains(actual: Any, expected: Any, _pattern: Any) -> str | None:
    if isinstance(actual, str):
        if not isinstance(expected, str):
            return f" (a string, which contains only strings, not {_a(_type(expected))})"
        return None if expected in actual else ""
    if isinstance(actual, list):
        return None if any(_equal(item, expected) for item in actual) else ""
    return f" ({_a(_type(actual))}: contains looks into a string or an array)"


def _matches(actual: Any, _expected: Any, pattern: Any) -> str | None:
    if not isinstance(actual, str):
        return f" ({_a(_type(actual))}: matches tests strings)"
    return None if pattern.search(actual) is not None else ""


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


_TESTS: dict[str, Test] = {
    "==": lambda actual, expected, _: None if _equal(actual, expected) else "",
    "!=": lambda actual, expected, _: "" if _equal(actual, expected) else None,
    "<": _ordering(operator.lt, "<"),
    "<=": _ordering(operator.le, "<="),
    ">": _ordering(operator.gt, ">"),
    ">=": _ordering(operator.ge, ">="),
    "contains": _contains,
    "exists": lambda actual, _e, _p: None if actual is not None else "",
    "not_exists": lambda actual, _e, _p: "" if actual is not None else None,
    "matches": _matches,
}
_UNARY = frozenset({"exists", "not_exists"})


class _Rule:
    """One condition, compiled: its JMESPath expression and, for `matches`, its pattern."""

    __slots__ = ("condition", "expression", "pattern", "test")

    def __init__(self, condition: JsonCondition) -> None:
        self.condition = condition
        try:
            self.expression = jmespath.compile(condition.path)
        except JMESPathError as exc:
            raise PatternError(
                f"{condition.path!r} is not a JMESPath expression: {_oneline(exc)}"
            ) from None
        self.pattern: Any = None
        if condition.op == "matches":
            if not isinstance(condition.value, str):
                raise PatternError(f"{self._name()} needs a regular expression (a string)")
            self.pattern = compile_regex(condition.value)
        self.test = _TESTS[condition.op]

    def failure(self, document: Any) -> str | None:
        """The message when the condition does not hold for the document, else None."""
        try:
            actual = self.expression.search(document)
        except JMESPathError as exc:
            return f"json: {self._name()} cannot be evaluated: {_oneline(exc)}"
        why = self.test(actual, self.condition.value, self.pattern)
        if why is None:
            return None
        return f"json: {self._name()} but was {render(actual)}{why}"

    def _name(self) -> str:
        c = self.condition
        return f"{c.path} {c.op}" if c.op in _UNARY else f"{c.path} {c.op} {render(c.value)}"


def _oneline(exc: Exception) -> str:
    return " ".join(str(exc).split())


class Conditions:
    """A target's JSON conditions, compiled; `error` says why they do not compile (then none run)."""

    __slots__ = ("_rules", "error")

    def __init__(self, conditions: tuple[JsonCondition, ...]) -> None:
        self._rules: tuple[_Rule, ...] = ()
        self.error: str | None = None
        try:
            self._rules = tuple(_Rule(c) for c in conditions)
        except PatternError as exc:
            self.error = f"json: {exc}"

    def failure(self, body: bytes) -> str | None:
        """The message of the first condition the JSON body does not meet (or of a body that is
        not JSON), or None when every one holds."""
        if self.error is not None:
            return self.error
        document = _parse(body)
        if isinstance(document, _NotJson):
            return f"json: the body is not JSON: {document.reason}"
        for rule in self._rules:
            message = rule.failure(document)
            if message is not None:
                return message
        return None


class _NotJson:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _parse(body: bytes) -> Any:
    if not body.strip():
        return _NotJson("it is empty")
    try:
        return msgspec.json.decode(body)
    except UnicodeDecodeError as exc:
        return _NotJson(f"it is not UTF-8 ({exc.reason})")
    except RecursionError:
        return _NotJson("it is nested too deeply to read")  # a target's input, not our bug
    except msgspec.DecodeError as exc:
        return _NotJson(str(exc))


_COMPILED: dict[bytes, Conditions] = {}


def compiled(conditions: tuple[JsonCondition, ...]) -> Conditions:
    """The compiled form of a target's conditions, made once and reused by its later checks.

    Keyed by the conditions' JSON: the structs hold any JSON value, which may not be hashable,
    and as a key a tuple would take `1` and `true` for the same value.
    """
    key = msgspec.json.encode(conditions)
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= _CACHE_MAX:
            _COMPILED.clear()  # bounded: at worst some targets compile again
        found = _COMPILED[key] = Conditions(conditions)
    return found
