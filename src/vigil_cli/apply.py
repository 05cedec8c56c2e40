"""`vigil apply -f targets.yaml`: config as code, sent to the API's /api/v1/apply endpoint.

The file (YAML or JSON) holds `targets:`, a list of targets in the same form as
POST /api/v1/targets, or just that list. Targets are matched by name; --prune deletes the
ones the file does not name, and --dry-run shows the changes without making them.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

import yaml

DEFAULT_API_URL = "http://127.0.0.1:8000"
TIMEOUT_S = 60


class ApplyError(Exception):
    """Something the user must fix: the file, the address, or what the API rejected."""


def load_document(path: str) -> dict[str, Any]:
    """Read the file ('-' is stdin) into {"targets": [...]}."""
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as exc:
        raise ApplyError(f"cannot read {path}: {exc.strerror}") from None
    try:
        doc = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise ApplyError(f"{path} is not valid YAML or JSON: {exc}") from None
    if isinstance(doc, list):
        doc = {"targets": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("targets"), list):
        raise ApplyError(f"{path} must hold `targets:` with a list of targets (or only that list)")
    return doc


def post_apply(api_url: str, doc: dict[str, Any], prune: bool, dry_run: bool) -> dict[str, Any]:
    query = f"prune={str(prune).lower()}&dry_run={str(dry_run).lower()}"
    body = json.dumps(doc, default=str).encode()
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/api/v1/apply?{query}",
        data=body,
        method="POST",
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
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
    """The diff, one line per target (+ create, ~ update with its fields, - delete)."""
    lines = []
    for change in result["changes"]:
        op, name = change["op"], change["name"]
        if op == "create":
            lines.append(f"+ {name}")
        elif op == "delete":
            lines.append(f"- {name}")
        else:
            lines.append(f"~ {name}")
            for field, values in change["fields"].items():
                lines.append(
                    f"    {field}: {json.dumps(values['old'])} -> {json.dumps(values['new'])}"
                )
    counts = ", ".join(
        f"{len(result[k])} {k}" for k in ("created", "updated", "deleted", "unchanged")
    )
    lines.append(f"dry run, nothing changed: {counts}" if result["dry_run"] else counts)
    return "\n".join(lines)


def cmd_apply(args: argparse.Namespace) -> int:
    try:
        doc = load_document(args.file)
        result = post_apply(args.api_url, doc, prune=args.prune, dry_run=args.dry_run)
    except ApplyError as exc:
        print(f"vigil apply: {exc}", file=sys.stderr)
        return 1
    print(format_result(result))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "apply", help="create/update targets from a YAML or JSON file (config as code)"
    )
    p.add_argument("-f", "--file", required=True, help="the targets file ('-' reads stdin)")
    p.add_argument(
        "--prune", action="store_true", help="delete targets that the file does not name"
    )
    p.add_argument("--dry-run", action="store_true", help="print the changes without making them")
    p.add_argument(
        "--api-url", default=DEFAULT_API_URL, help=f"the Vigil API (default {DEFAULT_API_URL})"
    )
    p.set_defaults(func=lambda settings, args: cmd_apply(args))
