"""`vigil token` and `vigil user`: API tokens and users straight in the database
(VIGIL_DATABASE_URL), for bootstrapping and automation; vigil_core.accounts does the work.

Each change is audited as made by `cli` under the operating-system user's name, and a token
is printed once, alone on stdout, so `vigil token create ... > file` captures just the token.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from vigil_core import accounts, db, passwords
from vigil_core.settings import Settings

Work = Callable[[asyncpg.Connection], Awaitable[int]]


class _Failed(Exception):
    """A message for the user; the command exits with 1."""


def run(settings: Settings, prog: str, work: Work) -> int:
    """Run `work` on one connection to VIGIL_DATABASE_URL; user errors print `prog: message`."""
    url = settings.require_database_url()

    async def go() -> int:
        try:
            conn = await db.connect(url)
        except (OSError, asyncpg.PostgresError) as exc:
            raise _Failed(f"cannot connect to the database in VIGIL_DATABASE_URL: {exc}") from None
        try:
            return await work(conn)
        except asyncpg.UndefinedTableError:
            raise _Failed("the database has no accounts tables yet: run `vigil migrate`") from None
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except (_Failed, accounts.AccountError, passwords.PasswordError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no passwd entry
        return f"uid {os.getuid()}"


def audit_context(prog: str) -> str:
    """The `vigil.audit` context of a change made here: the OS user, through which command."""
    return json.dumps({"actor": os_user(), "actor_kind": "cli", "address": None, "via": prog})


# ---- tokens ----


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> int:
    prog = "vigil token create"
    try:
        lifetime = accounts.parse_expiry(args.expires)
    except accounts.AccountError as exc:
        print(f"{prog}: --expires: {exc}", file=sys.stderr)
        return 2
    keyring = settings.keyring()  # before the database: a missing key is a setting to fix

    async def work(conn: asyncpg.Connection) -> int:
        token, row = await accounts.create_token(
            conn,
            keyring,
            name=args.name,
            scope=args.scope,
            expires_at=accounts.expires_at(lifetime),
            created_by=f"cli:{os_user()}",
            created_by_user_id=None,
            audit=audit_context(prog),
        )
        print(token, flush=True)
        expiry = (
            "never expires" if row["expires_at"] is None else f"expires {_date(row['expires_at'])}"
        )
        print(
            f"{prog}: token {row['name']!r} ({row['scope']} scope, {expiry}) is on stdout;"
            " this is the only time it is shown, it cannot be shown again: store it now",
            file=sys.stderr,
        )
        return 0

    return run(settings, prog, work)


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(conn: asyncpg.Connection) -> int:
        roles = {u["id"]: u["role"] for u in await accounts.list_users(conn)}
        rows = await accounts.list_tokens(conn)
        if not rows:
            print("no tokens; `vigil token create --name NAME --scope read|write|admin` makes one")
            return 0
        now = datetime.now(UTC)
        print(
            table(
                (
                    "NAME",
                    "PREFIX",
                    "SCOPE",
                    "CREATED BY",
                    "CREATED",
                    "EXPIRES",
                    "LAST USED",
                    "STATE",
                ),
                [
                    (
                        r["name"],
                        r["prefix"],
                        _scope(r, roles),
                        r["created_by"],
                        _when(r["created_at"], now),
                        "never" if r["expires_at"] is None else _when(r["expires_at"], now),
                        "never" if r["last_used_at"] is None else _when(r["last_used_at"], now),
                        accounts.token_state(r, now),
                    )
                    for r in rows
                ],
            )
        )
        return 0

    return run(settings, "vigil token list", work)


def _scope(row: dict[str, Any], roles: dict[int, str]) -> str:
    """The token's scope, and what it acts as when its maker's role is lower now."""
    creator = row["created_by_user_id"]
    if creator in roles:
        effective = accounts.least(row["scope"], accounts.ROLE_SCOPE[roles[creator]])
        if effective != row["scope"]:
            return f"{row['scope']} (acts as {effective})"
    return str(row["scope"])


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    prog = "vigil token revoke"

    async def work(conn: asyncpg.Connection) -> int:
        if not await accounts.revoke_token(conn, args.name, audit=audit_context(prog)):
            raise _Failed(f"no active token named {args.name!r}; `vigil token list` shows them")
        print(f"revoked token {args.name!r}; the API refuses it from now on")
        return 0

    return run(settings, prog, work)


# ---- users ----


def read_password(args: argparse.Namespace, name: str) -> str:
    """The new password: stdin with --password-stdin, else asked twice in a terminal."""
    if args.password_stdin:
        text = sys.stdin.read()
        password = text.removesuffix("\n").removesuffix("\r")  # the line end is not part of it
        if "\n" in password:
            raise _Failed("--password-stdin reads one line; stdin holds more than one")
        return password
    if not sys.stdin.isatty():
        raise _Failed(
            "no password: pass --password-stdin and send it on stdin"
            " (`printf '%s' \"$PW\" | vigil user ...`), or run this in a terminal to be asked"
        )
    password = getpass.getpass(f"New password for {name}: ")
    passwords.check_rules(password)  # before asking again: a rule broken is said at once
    if getpass.getpass("The same again: ") != password:
        raise _Failed("the two passwords differ; nothing changed")
    return password


def cmd_user_create(settings: Settings, args: argparse.Namespace) -> int:
    prog = "vigil user create"

    async def work(conn: asyncpg.Connection) -> int:
        if await accounts.get_user(conn, args.name) is not None:  # before asking for a password
            raise accounts.AccountError("name", f"a user named {args.name!r} already exists")
        password = read_password(args, args.name)
        user = await accounts.create_user(
            conn, args.name, args.role, password, audit=audit_context(prog)
        )
        print(f"created user {user['name']!r} ({user['role']}); they can log in to the web UI now")
        return 0

    return run(settings, prog, work)


def cmd_user_passwd(settings: Settings, args: argparse.Namespace) -> int:
    prog = "vigil user passwd"

    async def work(conn: asyncpg.Connection) -> int:
        if await accounts.get_user(conn, args.name) is None:
            raise accounts.AccountError("name", f"no user named {args.name!r}")
        password = read_password(args, args.name)
        await accounts.set_password(conn, args.name, password, audit=audit_context(prog))
        print(f"changed the password of {args.name!r}; their sessions are logged out")
        return 0

    return run(settings, prog, work)


def cmd_user_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(conn: asyncpg.Connection) -> int:
        users = await accounts.list_users(conn)
        if not users:
            print("no users; `vigil user create NAME --role admin` makes one")
            return 0
        now = datetime.now(UTC)
        print(
            table(
                ("NAME", "ROLE", "CREATED", "LAST LOGIN"),
                [
                    (
                        u["name"],
                        u["role"],
                        _when(u["created_at"], now),
                        "never" if u["last_login_at"] is None else _when(u["last_login_at"], now),
                    )
                    for u in users
                ],
            )
        )
        return 0

    return run(settings, "vigil user list", work)


def cmd_user_role(settings: Settings, args: argparse.Namespace) -> int:
    prog = "vigil user role"

    async def work(conn: asyncpg.Connection) -> int:
        user = await accounts.set_role(conn, args.name, args.role, audit=audit_context(prog))
        print(
            f"{user['name']!r} is {user['role']} now (scope {accounts.ROLE_SCOPE[user['role']]},"
            " which also caps the tokens they made)"
        )
        return 0

    return run(settings, prog, work)


def cmd_user_delete(settings: Settings, args: argparse.Namespace) -> int:
    prog = "vigil user delete"

    async def work(conn: asyncpg.Connection) -> int:
        await accounts.delete_user(conn, args.name, audit=audit_context(prog))
        print(f"deleted user {args.name!r}, their sessions and the tokens they made")
        return 0

    return run(settings, prog, work)


# ---- output ----


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def _date(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _when(at: datetime, now: datetime) -> str:
    """`3d ago`, `in 89d`: how far from now, in its largest unit."""
    seconds = (now - at).total_seconds()
    span = abs(seconds)
    if span < 60:
        return "just now"
    size, unit = next(u for u in ((86400, "d"), (3600, "h"), (60, "m")) if span >= u[0])
    amount = f"{int(span // size)}{unit}"
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


# ---- parsers ----


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("token", help="make, list and revoke API tokens (in the database)")
    tokens = p.add_subparsers(dest="token_command", required=True, metavar="COMMAND")
    c = tokens.add_parser("create", help="make a token and print it once (needs VIGIL_SECRET_KEY)")
    c.add_argument("--name", required=True, help="what it is for (ci, prometheus...)")
    c.add_argument("--scope", required=True, choices=accounts.SCOPES, help="what it may do")
    c.add_argument(
        "--expires",
        metavar="LIFETIME",
        help="12h, 30d, 2w or never (default 90d)",
    )
    c.set_defaults(func=cmd_token_create)
    tokens.add_parser("list", help="every token and its state").set_defaults(func=cmd_token_list)
    r = tokens.add_parser("revoke", help="revoke the active token of that name")
    r.add_argument("name", metavar="NAME")
    r.set_defaults(func=cmd_token_revoke)

    p = sub.add_parser("user", help="manage the users of the web UI (in the database)")
    users = p.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    c = users.add_parser("create", help="make a user (asks for the password in a terminal)")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--role", required=True, choices=accounts.ROLES, help="viewer, editor or admin")
    _password_stdin(c)
    c.set_defaults(func=cmd_user_create)
    w = users.add_parser("passwd", help="set a user's password (their sessions end)")
    w.add_argument("name", metavar="NAME")
    _password_stdin(w)
    w.set_defaults(func=cmd_user_passwd)
    users.add_parser("list", help="every user and their role").set_defaults(func=cmd_user_list)
    o = users.add_parser("role", help="change a user's role")
    o.add_argument("name", metavar="NAME")
    o.add_argument("role", metavar="ROLE", choices=accounts.ROLES, help="viewer, editor or admin")
    o.set_defaults(func=cmd_user_role)
    d = users.add_parser("delete", help="delete a user, their sessions and the tokens they made")
    d.add_argument("name", metavar="NAME")
    d.set_defaults(func=cmd_user_delete)


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (one line) instead of asking for it",
    )
