"""`vigil apply -f vigil.yaml`: config as code, sent to the API's /api/v1/apply endpoint.

The file (YAML or JSON) holds `targets:`, `channels:` and `routes:`, each a list in the same
form as the API's create bodies (routes name their channels, and targets' `depends_on` their
targets, by name), and `maintenance:`, windows keyed by name (naming their targets), or just a
list of targets. Everything is matched by name; --prune deletes
what the file does not name in the sections it has, and --dry-run shows the changes without
making them. The API token comes from VIGIL_TOKEN or --token-file (vigil_cli.credentials).

`${VAR}` in a string of the file is the environment variable VAR (`${VAR:-default}` when it
may be unset, `$${` for a literal `${`), so secrets stay out of a committed file. It is
replaced in the parsed strings, not in the text: a value is always one string, whatever
quotes, colons or newlines it holds, and a commented-out line needs no variable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import yaml

from vigil_core import secrets

from . import credentials

DEFAULT_API_URL = "http://127.0.0.1:8000"
TIMEOUT_S = 60
SECTIONS = ("channels", "targets", "routes")  # lists, in the order the API applies them
WINDOWS = "maintenance"  # a mapping of window names, applied last
# How the diff names an item of each section (targets go unnamed).
LABELS = {"channels": "channel ", "targets": "", "routes": "route ", WINDOWS: "maintenance "}
_STR = "tag:yaml.org,2002:str"
_REFERENCE = re.compile(
    r"\$\$\{"  # a literal ${
    r"|\$\{(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"  # ${NAME:-default}
    r"|(?P<bad>[^}\s]{0,40}\}?))"  # any other ${: an error
)


class ApplyError(Exception):
    """Something the user must fix: the file, the address, or what the API rejected."""

    exit_code = 1


class VariableError(ApplyError):
    """A `${VAR}` in the file that is not set, or not a variable reference at all."""

    exit_code = 2


def load_document(path: str) -> dict[str, Any]:
    """Read the file ('-' is stdin) into {"targets": [...], ...}, variables replaced."""
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as exc:
        raise ApplyError(f"cannot read {path}: {exc.strerror}") from None
    name = "<stdin>" if path == "-" else path
    try:
        doc = load_expanded(text, name, os.environ)
    except yaml.YAMLError as exc:
        raise ApplyError(f"{path} is not valid YAML or JSON: {exc}") from None
    if isinstance(doc, list):
        doc = {"targets": doc}
    if (
        not isinstance(doc, dict)
        or not any(section in doc for section in (*SECTIONS, WINDOWS))
        or not all(isinstance(doc.get(section, []), list) for section in SECTIONS)
        or not isinstance(doc.get(WINDOWS, {}), dict)
    ):
        raise ApplyError(
            f"{path} must hold `targets:`, `channels:` or `routes:`, each with a list"
            " (or only a list of targets), or `maintenance:` with windows by name"
        )
    return doc


def load_expanded(text: str, name: str, env: Mapping[str, str]) -> Any:
    """Parse YAML, replace variables in its strings (keys too), then build the document."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        expander = _Expander(text, name, env)
        expander.walk(root)
        if expander.problems:
            raise VariableError("\n".join(expander.problems))
        return loader.construct_document(root)
    finally:
        loader.dispose()


class _Expander:
    """Replaces variables in the string scalars of a composed YAML document, noting each one
    that is not set with its line in `text`."""

    def __init__(self, text: str, name: str, env: Mapping[str, str]) -> None:
        self.text = text
        self.name = name
        self.env = env
        self.problems: list[str] = []
        self._seen: set[int] = set()

    def walk(self, node: yaml.Node) -> None:
        if id(node) in self._seen:  # an alias: the same node again, already replaced
            return
        self._seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR and "${" in node.value:
                node.value = _REFERENCE.sub(lambda m: self._replace(node, m), node.value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self.walk(item)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.walk(key)
                self.walk(value)

    def _replace(self, node: yaml.ScalarNode, m: re.Match[str]) -> str:
        if m[0] == "$${":
            return "${"
        if m["name"] is None:
            self._problem(
                node,
                m[0],
                "is not a variable reference (${NAME}, NAME of letters, digits and _;"
                " write $${ for a literal ${)",
            )
            return m[0]
        value = self.env.get(m["name"])
        if m["default"] is not None and not value:
            return m["default"]  # unset or empty, as in the shell
        if value is None:
            self._problem(node, m[0], "is not set")
            return m[0]
        return value

    def _problem(self, node: yaml.Node, reference: str, message: str) -> None:
        self.problems.append(f"{self.name}:{self._line(node, reference)}: {reference} {message}")

    def _line(self, node: yaml.Node, reference: str) -> int:
        """The 1-based line of `reference` in the scalar's source (a block scalar spans
        lines), or of the scalar's start when the source spells it otherwise (escapes)."""
        source = self.text[node.start_mark.index : node.end_mark.index]
        at = source.find(reference)
        return node.start_mark.line + 1 + (source.count("\n", 0, at) if at >= 0 else 0)


def post_apply(
    api_url: str, doc: dict[str, Any], prune: bool, dry_run: bool, *, token: str
) -> dict[str, Any]:
    """POST the document with the bearer token; a refused token raises CredentialsError."""
    query = f"prune={str(prune).lower()}&dry_run={str(dry_run).lower()}"
    body = json.dumps(doc, default=str).encode()
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/api/v1/apply?{query}",
        data=body,
        method="POST",
        headers={
            "content-type": "application/json",
            "accept": "application/json",
            **credentials.bearer(token),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code in credentials.REFUSED:
            raise credentials.CredentialsError(credentials.refusal(exc.code, exc.read())) from None
        raise ApplyError(_describe_problem(exc)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApplyError(f"cannot reach the API at {api_url}: {reason}") from None


def _describe_problem(exc: urllib.error.HTTPError) -> str:
    try:
        problem = json.loads(exc.read())
    except (ValueError, OSError):
        return f"the API answered {exc.code} {exc.reason}"
    lines = [f"the API answered {exc.code}: {problem.get('title', exc.reason)}"]
    errors = problem.get("errors") or []
    lines += [f"  {e.get('field')}: {e.get('message')}" for e in errors]
    if not errors and problem.get("detail"):
        lines.append(f"  {problem['detail']}")
    return "\n".join(lines)


def format_result(result: dict[str, Any]) -> str:
    """The diff, one line per item (+ create, ~ update with its fields, - delete; channels and
    routes named as such), then the counts. A channel's config shows only that it changed:
    it holds secrets. With targets alone, the counts are one line, as before channels."""
    # The top-level lists are the targets'; the other sections have sections of their own.
    parts = {
        "channels": result.get("channels"),
        "targets": result,
        "routes": result.get("routes"),
        WINDOWS: result.get(WINDOWS),
    }
    shown = {s: p for s, p in parts.items() if p and (s == "targets" or _touched(p))}
    lines = []
    for section, part in shown.items():
        lines += _format_changes(part["changes"], LABELS[section])
    if list(shown) == ["targets"]:
        counts = _counts(result)
        lines.append(f"dry run, nothing changed: {counts}" if result["dry_run"] else counts)
    else:
        if result["dry_run"]:
            lines.append("dry run, nothing changed:")
        lines += [f"{section}: {_counts(part)}" for section, part in shown.items()]
    return "\n".join(lines)


def _touched(part: dict[str, Any]) -> bool:
    return any(part[k] for k in ("created", "updated", "deleted", "unchanged"))


def _format_changes(changes: list[dict[str, Any]], label: str) -> list[str]:
    lines = []
    for change in changes:
        op, name = change["op"], change["name"]
        if op == "create":
            lines.append(f"+ {label}{name}")
        elif op == "delete":
            lines.append(f"- {label}{name}")
        else:
            lines.append(f"~ {label}{name}")
            for field, values in change["fields"].items():
                old, new = (_masked(field, values[k]) for k in ("old", "new"))
                lines.append(f"    {field}: {json.dumps(old)} -> {json.dumps(new)}")
            lines += [f"    {field} changed" for field in change.get("hidden", ())]
    return lines


def _masked(field: str, value: Any) -> Any:
    """A target's secrets masked again, as the API masks them, so that an older API that sent
    them in the clear does not get them printed into a CI log."""
    if field == "headers" and isinstance(value, dict):
        return secrets.mask_headers(value)
    if field == "url" and isinstance(value, str):
        return secrets.mask_address(value)
    return value


def _counts(part: dict[str, Any]) -> str:
    return ", ".join(f"{len(part[k])} {k}" for k in ("created", "updated", "deleted", "unchanged"))


def cmd_apply(args: argparse.Namespace) -> int:
    try:
        token = credentials.api_token(args.token_file)
        doc = load_document(args.file)
        result = post_apply(args.api_url, doc, prune=args.prune, dry_run=args.dry_run, token=token)
    except (ApplyError, credentials.CredentialsError) as exc:
        print(f"vigil apply: {exc}", file=sys.stderr)
        return exc.exit_code
    print(format_result(result))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "apply",
        help="create/update targets, channels, routes and maintenance windows from a YAML or"
        " JSON file"
        " (config as code; ${VAR} is an environment variable)",
    )
    p.add_argument("-f", "--file", required=True, help="the file ('-' reads stdin)")
    p.add_argument(
        "--prune",
        action="store_true",
        help="delete targets, channels, routes and maintenance windows that the file does not"
        " name (in the sections it has)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the changes without making them")
    p.add_argument(
        "--api-url", default=DEFAULT_API_URL, help=f"the Vigil API (default {DEFAULT_API_URL})"
    )
    credentials.add_arguments(p)
    p.set_defaults(func=lambda settings, args: cmd_apply(args))
