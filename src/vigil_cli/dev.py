"""`vigil dev`: embedded PostgreSQL (unless VIGIL_DATABASE_URL is set), migrations, API and worker.

It also makes what a first check needs and keeps it in the data dir: a server key
(`secret-key`, unless VIGIL_SECRET_KEY or VIGIL_SECRET_KEY_FILE is set), the user `admin` on
the first start (its generated password printed once), and an admin API token (`admin-token`,
kept while the API accepts it, else replaced) for the README's curl examples.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from vigil_core import accounts, db, embedded_pg, migrations, tokens
from vigil_core.settings import Settings

from .accounts import audit_context

GRACE_S = 15.0
KEY_FILE = "secret-key"
TOKEN_FILE = "admin-token"
TOKEN_NAME = "vigil-dev"
ADMIN = "admin"
PROG = "vigil dev"


def _die_with_parent() -> None:
    # Linux: a child gets SIGTERM if `vigil dev` itself is killed, so nothing is orphaned.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_dev(settings: Settings, host: str, port: int, data_dir: Path) -> int:
    pgdata = (data_dir / "pgdata").resolve()
    embedded = not settings.database_url
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children: list[subprocess.Popen[bytes]] = []
    try:
        if embedded:
            print(f"vigil dev: starting embedded PostgreSQL in {pgdata}", flush=True)
            url = embedded_pg.start(pgdata)
        else:
            url = settings.require_database_url()
            print("vigil dev: using VIGIL_DATABASE_URL", flush=True)
        applied = migrations.apply(url)
        print(
            f"vigil dev: {len(applied)} migration(s) applied"
            if applied
            else "vigil dev: database is up to date",
            flush=True,
        )

        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        settings, key_env = _secret_key(settings, data_dir)
        token_path = data_dir / TOKEN_FILE
        password = asyncio.run(_bootstrap(settings, url, token_path))

        env = {**os.environ, "VIGIL_DATABASE_URL": url, **key_env}
        base = [sys.executable, "-m", "vigil_cli"]
        roles = {"api": ["api", "--host", host, "--port", str(port)], "worker": ["worker"]}
        for role in roles.values():
            children.append(subprocess.Popen(base + role, env=env, preexec_fn=_die_with_parent))
        print(
            f"vigil dev: API and UI at http://{host}:{port}/  (Ctrl-C stops everything)", flush=True
        )
        _print_access(settings, f"http://{host}:{port}", password, token_path)
        if embedded:
            key = "".join(f" {name}={shlex.quote(value)}" for name, value in key_env.items())
            print(
                "vigil dev: `vigil user` and `vigil token` reach this database (while it runs)"
                f" with VIGIL_DATABASE_URL='{url}'{key}",
                flush=True,
            )

        failed = False
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    name = [r for r, c in zip(roles, children, strict=True) if c is child][0]
                    print(
                        f"vigil dev: {name} exited with {child.returncode}; stopping",
                        file=sys.stderr,
                        flush=True,
                    )
                    stopping = failed = True
            time.sleep(0.2)
        return 1 if failed else 0
    finally:
        _stop_children(children)
        if embedded:
            embedded_pg.stop(pgdata)
        print("vigil dev: stopped", flush=True)


def _stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _secret_key(settings: Settings, data_dir: Path) -> tuple[Settings, dict[str, str]]:
    """The server key the API and this command use: the one configured, else the data dir's
    (made on the first start). The children get its file, never the key in their environment."""
    if settings.secret_key or settings.secret_key_file:
        return settings, {}
    path = (data_dir / KEY_FILE).resolve()
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32) + "\n")
        print(f"vigil dev: made a server key in {path}", flush=True)
    return msgspec.structs.replace(settings, secret_key_file=str(path)), {
        "VIGIL_SECRET_KEY_FILE": str(path)
    }


async def _bootstrap(settings: Settings, url: str, token_path: Path) -> str | None:
    """The first admin (with a new password, returned) and a valid admin token in the file."""
    keyring = settings.keyring()
    audit = audit_context(PROG)
    conn = await db.connect(url)
    try:
        password = None
        # VIGIL_INITIAL_ADMIN_PASSWORD_FILE: the API makes the admin from that file itself.
        if not settings.initial_admin_password_file and await accounts.user_count(conn) == 0:
            password = secrets.token_urlsafe(18)
            await accounts.create_user(conn, ADMIN, "admin", password, audit=audit)
        if not await _token_accepted(conn, keyring, token_path):
            await accounts.revoke_token(conn, TOKEN_NAME, audit=audit)
            token, _ = await accounts.create_token(
                conn,
                keyring,
                name=TOKEN_NAME,
                scope="admin",
                expires_at=accounts.expires_at(accounts.parse_expiry(None)),
                created_by=f"cli:{PROG}",
                created_by_user_id=None,
                audit=audit,
            )
            write_private(token_path, token + "\n")
        return password
    finally:
        await conn.close()


async def _token_accepted(conn: db.Conn, keyring: tokens.Keyring, path: Path) -> bool:
    """The file holds a token the API accepts: not revoked, not expired, hashed under a key it
    has (a changed VIGIL_SECRET_KEY turns every token away)."""
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return False
    return await accounts.token_active(conn, keyring, token)


def write_private(path: Path, text: str) -> None:
    """`path` holds `text`, readable by this user alone (0600), replaced whole."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older temp file may have had other bits
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _print_access(settings: Settings, base: str, password: str | None, token_path: Path) -> None:
    if password:
        print(
            f"vigil dev: first start: made the user `{ADMIN}`; log in at {base}/ with\n"
            f"    username: {ADMIN}\n"
            f"    password: {password}\n"
            "  (shown only this once; `vigil user passwd admin` changes it)",
            flush=True,
        )
    elif settings.initial_admin_password_file:
        print(
            f"vigil dev: log in at {base}/ (the API makes `{ADMIN}` with the password in"
            " VIGIL_INITIAL_ADMIN_PASSWORD_FILE while no user exists)",
            flush=True,
        )
    else:
        print(
            f"vigil dev: log in at {base}/ as `{ADMIN}` with the password printed on the first"
            " start (`vigil user passwd admin` sets a new one)",
            flush=True,
        )
    print(
        f"vigil dev: an admin API token is in {token_path}; try\n"
        f'    curl -H "Authorization: Bearer $(cat {token_path})" {base}/api/v1/targets',
        flush=True,
    )
