"""`vigil import gatus|kuma|blackbox`: a `vigil apply` file from another monitor's configuration.

Each source has its converter module (gatus.py, kuma.py, blackbox.py) that returns a Result:
the apply document and a note for everything that did not map exactly. This module is the
command around them: the notes and the summary line on stderr, the document on stdout or into
`-o FILE` (written whole or not at all), and `--apply` (with `--dry-run`) through the same API
call as `vigil apply`, with the same token, `${VAR}` references expanded the same way.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from .. import credentials
from ..apply import DEFAULT_API_URL, ApplyError, format_result, load_expanded, post_apply
from .common import InputError, Result

HEADER = (
    "# Written by `vigil import {source}` from {inputs}.\n"
    "# Review it (the notes printed with it say what did not map exactly), then:\n"
    "#   vigil apply -f {name} --dry-run && vigil apply -f {name}\n"
)


def render(result: Result, source: str, inputs: list[str], name: str) -> str:
    """The apply file's text: a header comment, then the document in a stable order."""
    body = yaml.safe_dump(
        result.document(), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    header = HEADER.format(source=source, inputs=", ".join(inputs), name=name)
    return header + body


def write_atomically(path: str, text: str) -> None:
    """`path` holds all of `text` or is left as it was: a temp file beside it, renamed."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or Path("."), prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _converters() -> dict[str, Callable[[argparse.Namespace], tuple[Result, list[str]]]]:
    from . import blackbox, gatus, kuma

    return {
        "gatus": lambda a: (gatus.convert(a.files), list(a.files)),
        "kuma": lambda a: (kuma.convert(a.file), [a.file]),
        "blackbox": lambda a: (blackbox.convert(a.config, a.prometheus), [a.config, a.prometheus]),
    }


def cmd_import(args: argparse.Namespace) -> int:
    prog = f"vigil import {args.source}"
    token = ""
    if args.apply:  # a missing or mistyped token stops it before anything is written or sent
        try:
            token = credentials.api_token(args.token_file)
        except credentials.CredentialsError as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return exc.exit_code
    try:
        result, inputs = _converters()[args.source](args)
    except InputError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(f"{prog}: {note}", file=sys.stderr)
    print(f"{prog}: {result.summary()}", file=sys.stderr)
    text = render(result, args.source, inputs, args.output or "vigil.yaml")
    if args.output:
        write_atomically(args.output, text)
    elif not args.apply:
        sys.stdout.write(text)
    if args.apply:
        try:
            doc = load_expanded(text, args.output or "<import>", os.environ)
            applied = post_apply(args.api_url, doc, prune=False, dry_run=args.dry_run, token=token)
        except (ApplyError, credentials.CredentialsError) as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return exc.exit_code
        print(format_result(applied))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="write a vigil apply file from Gatus, Uptime Kuma or blackbox_exporter configuration",
    )
    sources = p.add_subparsers(dest="source", required=True, metavar="SOURCE")
    g = sources.add_parser("gatus", help="Gatus config.yaml (files or directories of YAML)")
    g.add_argument("files", nargs="+", metavar="FILE", help="a config file or a directory")
    k = sources.add_parser("kuma", help="an Uptime Kuma JSON backup (1.x or 2.x)")
    k.add_argument("file", metavar="FILE", help="the backup's .json file")
    b = sources.add_parser("blackbox", help="blackbox_exporter modules and Prometheus probe jobs")
    b.add_argument("--config", required=True, metavar="FILE", help="blackbox.yml")
    b.add_argument("--prometheus", required=True, metavar="FILE", help="prometheus.yml")
    for sp in (g, k, b):
        sp.add_argument("-o", "--output", metavar="FILE", help="write the file here, not stdout")
        sp.add_argument(
            "--apply", action="store_true", help="apply it at once (like vigil apply -f)"
        )
        sp.add_argument("--dry-run", action="store_true", help="with --apply: only show the diff")
        sp.add_argument(
            "--api-url", default=DEFAULT_API_URL, help=f"the Vigil API (default {DEFAULT_API_URL})"
        )
        credentials.add_arguments(sp)
        sp.set_defaults(func=lambda settings, args: cmd_import(args))
