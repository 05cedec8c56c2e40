"""The API token of the commands that talk to the API: from VIGIL_TOKEN or --token-file, checked
for typos before any request, and what to say when the API refuses it (401, 403)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping

from vigil_core import tokens

ENV = "VIGIL_TOKEN"
MAKE_ONE = "`vigil token create --name ci --scope write` makes one"
REFUSED = (401, 403)


class CredentialsError(Exception):
    """No usable token, or the API refused it: the user must fix the credentials."""

    exit_code = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token-file",
        metavar="FILE",
        help=f"read the API token from FILE (default: the {ENV} environment variable)",
    )


def api_token(token_file: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The token to send: --token-file wins over VIGIL_TOKEN, being the more explicit. Raises
    CredentialsError when there is none or it fails the typo check."""
    if token_file:
        source = f"--token-file {token_file}"
        try:
            with open(token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as exc:
            raise CredentialsError(f"cannot read {source}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CredentialsError(f"{source} is not text; it should hold one API token") from None
        if not token:
            raise CredentialsError(f"{source} is empty; it should hold one API token")
    else:
        source = ENV
        token = environ.get(ENV, "").strip()
        if not token:
            raise CredentialsError(f"no API token: set {ENV} or pass --token-file; {MAKE_ONE}")
    if not tokens.well_formed(token):
        # The checksum catches a truncated or mistyped copy here, with no request; the token
        # itself is never printed.
        raise CredentialsError(
            f"the token in {source} fails the typo check: a Vigil API token is `{tokens.PREFIX}`"
            f" and {tokens.LENGTH - len(tokens.PREFIX)} letters and digits ending in a checksum"
            f" ({tokens.LENGTH} characters; this one has {len(token)}); copy it again whole,"
            f" or {MAKE_ONE.replace('makes one', 'makes a new one')}"
        )
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def refusal(status: int, body: bytes) -> str:
    """What to tell the user when the API answers 401 or 403: its detail and what to do."""
    try:
        problem = json.loads(body)
        detail = problem.get("detail") or problem.get("title") or ""
    except (ValueError, AttributeError):
        detail = ""
    if status == 401:
        head = "the API did not accept the token (401)"
        hint = (
            "it may be expired or revoked, or made for another Vigil (another database or"
            " server key): `vigil token list` shows its state; `vigil token create --name ci"
            " --scope write` makes a new one"
        )
    else:
        head = "the token may not do this (403)"
        hint = (
            "use a token with the scope named above: `vigil token create --name NAME --scope"
            " write` (or `admin`)"
        )
    return "\n".join(filter(None, [head + (f": {detail}" if detail else ""), f"  {hint}"]))
