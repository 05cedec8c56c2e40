"""`vigil token` and `vigil user` as real processes against a real database, and what they make
accepted (or no longer accepted) by a real `vigil api` process."""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest

from vigil_core import tokens

from .support import (
    TEST_SECRET_KEY,
    bearer,
    free_port,
    spawn_vigil,
    stop_process,
    wait_http_ok,
)

pytestmark = pytest.mark.timeout(90)

PASSWORD = "correct horse battery"
TOKEN_COLUMNS = [
    "NAME",
    "PREFIX",
    "SCOPE",
    "CREATED BY",
    "CREATED",
    "EXPIRES",
    "LAST USED",
    "STATE",
]


@dataclass
class Done:
    code: int
    out: str
    err: str


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    return {
        "VIGIL_DATABASE_URL": db_url,
        "VIGIL_SECRET_KEY": TEST_SECRET_KEY,
        "VIGIL_LOG_LEVEL": "warning",
    }


async def vigil(env: dict[str, str], *args: str, stdin: str | None = None) -> Done:
    """`vigil ARGS` as a user runs it; stdin is a pipe (with `stdin`) or /dev/null."""
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "vigil_cli", *args],
        env={**os.environ, **env},
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Done(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
async def api(env: dict[str, str]) -> AsyncIterator[str]:
    """A real `vigil api` on the test's database (same server key); yields its base URL."""
    port = free_port()
    proc = spawn_vigil(["api", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_http_ok(f"{base}/readyz", proc=proc)
        yield base
    finally:
        stop_process(proc)


async def status_of(url: str, headers: dict[str, str] | None = None, **kw: object) -> int:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers, **kw) as resp:
        return resp.status


async def eventually(check: Callable[[], Awaitable[bool]], deadline_s: float = 10) -> bool:
    """Polls `check` until true: the API drops its credential cache on a NOTIFY, soon after."""
    end = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.05)
    return True


def rows_of(table: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """A `list` table: its header, and each row by its first cell (columns split on 2+ spaces,
    which no cell holds)."""
    lines = table.splitlines()
    header = re.split(r"\s{2,}", lines[0])
    rows = {}
    for line in lines[1:]:
        cells = re.split(r"\s{2,}", line)
        rows.setdefault(cells[0], dict(zip(header, cells, strict=True)))
    return header, rows


# ---- tokens ----


async def test_a_created_token_is_printed_alone_and_the_api_takes_it_until_revoked(
    env, api
) -> None:
    done = await vigil(env, "token", "create", "--name", "ci", "--scope", "write")
    assert done.code == 0, done.err
    token = done.out.removesuffix("\n")
    assert done.out == token + "\n" and tokens.well_formed(token)  # the token alone
    assert "cannot be shown again" in done.err and token not in done.err
    assert "'ci' (write scope, expires " in done.err

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/api/v1/auth/me", headers=bearer(token)) as resp:
            assert resp.status == 200, await resp.text()
            me = await resp.json()
        assert (me["kind"], me["name"], me["scope"]) == ("token", "ci", "write")
        async with http.post(
            f"{api}/api/v1/targets",
            headers=bearer(token),
            json={"name": "web", "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 30},
        ) as resp:
            assert resp.status == 201, await resp.text()
            target = await resp.json()
    assert await status_of(f"{api}/api/v1/targets") == 401  # without it

    read = (await vigil(env, "token", "create", "--name", "dash", "--scope", "read")).out.strip()
    async with aiohttp.ClientSession() as http:
        url = f"{api}/api/v1/targets/{target['id']}"
        async with http.delete(url, headers=bearer(read)) as resp:
            assert resp.status == 403
            assert "`write`" in (await resp.json())["detail"]

    done = await vigil(env, "token", "revoke", "ci")
    assert done.code == 0 and "revoked token 'ci'" in done.out, done.err

    async def refused() -> bool:
        return await status_of(f"{api}/api/v1/targets", bearer(token)) == 401

    assert await eventually(refused), "the API still takes a revoked token"
    assert await status_of(f"{api}/api/v1/targets", bearer(read)) == 200  # the other one stays


async def test_token_list_shows_every_token_and_its_state(env, db_url) -> None:
    made = {}
    for name, scope, expires in [
        ("ci", "write", None),
        ("prometheus", "read", "never"),
        ("old", "admin", "12h"),
        ("gone", "read", "30d"),
    ]:
        args = ["token", "create", "--name", name, "--scope", scope]
        done = await vigil(env, *args, *(["--expires", expires] if expires else []))
        assert done.code == 0, done.err
        made[name] = done.out.strip()
    assert (await vigil(env, "token", "revoke", "gone")).code == 0
    conn = await asyncpg.connect(db_url)
    try:  # time passes: `old` has expired
        await conn.execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 h' WHERE name = 'old'"
        )
    finally:
        await conn.close()

    done = await vigil(env, "token", "list")
    assert done.code == 0, done.err
    header, rows = rows_of(done.out)
    assert header == TOKEN_COLUMNS
    assert set(rows) == {"ci", "prometheus", "old", "gone"}
    assert {name: row["STATE"] for name, row in rows.items()} == {
        "ci": "active",
        "prometheus": "active",
        "old": "expired",
        "gone": "revoked",
    }
    assert (
        rows["ci"]["EXPIRES"] in ("in 89d", "in 90d") and rows["prometheus"]["EXPIRES"] == "never"
    )
    assert rows["old"]["EXPIRES"] == "1h ago" and rows["ci"]["CREATED"] == "just now"
    assert rows["ci"]["SCOPE"] == "write" and rows["ci"]["LAST USED"] == "never"
    assert rows["ci"]["CREATED BY"] == f"cli:{getpass.getuser()}"
    for name, token in made.items():
        assert rows[name]["PREFIX"] == tokens.display_prefix(token)
        assert token not in done.out

    # A revoked name is free again.
    assert (await vigil(env, "token", "create", "--name", "gone", "--scope", "read")).code == 0


async def test_token_commands_say_what_is_wrong(env) -> None:
    assert (await vigil(env, "token", "create", "--name", "ci", "--scope", "read")).code == 0
    done = await vigil(env, "token", "create", "--name", "ci", "--scope", "read")
    assert (done.code, done.out) == (1, "")
    assert "an active token named 'ci' exists; revoke it or pick another name" in done.err

    done = await vigil(env, "token", "create", "--name", "x", "--scope", "read", "--expires", "3y")
    assert (done.code, done.out) == (2, "") and "--expires: '3y' is not a lifetime" in done.err

    done = await vigil(env, "token", "create", "--name", "x", "--scope", "root")
    assert done.code == 2 and "invalid choice: 'root'" in done.err

    done = await vigil(env, "token", "revoke", "nope")
    assert done.code == 1
    assert "no active token named 'nope'; `vigil token list` shows them" in done.err

    no_key = {**env, "VIGIL_SECRET_KEY": ""}
    done = await vigil(no_key, "token", "create", "--name", "y", "--scope", "read")
    assert (done.code, done.out) == (2, "") and "VIGIL_SECRET_KEY is not set" in done.err

    no_db = {**env, "VIGIL_DATABASE_URL": ""}
    done = await vigil(no_db, "token", "list")
    assert done.code == 2 and "VIGIL_DATABASE_URL is not set" in done.err


# ---- users ----


async def login(http: aiohttp.ClientSession, api: str, name: str, password: str) -> int:
    body = {"username": name, "password": password}
    async with http.post(f"{api}/api/v1/auth/login", json=body) as resp:
        return resp.status


async def me(http: aiohttp.ClientSession, api: str) -> tuple[int, dict]:
    async with http.get(f"{api}/api/v1/auth/me") as resp:
        return resp.status, await resp.json(content_type=None)


def browser() -> aiohttp.ClientSession:
    # unsafe: keep cookies of an IP address host (127.0.0.1), as a browser does.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_a_user_made_here_logs_in_and_passwd_role_delete_take_effect(env, api) -> None:
    done = await vigil(
        env, "user", "create", "ann", "--role", "editor", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert done.code == 0, done.err
    assert "created user 'ann' (editor)" in done.out
    # admin too, so that ann is not the last admin when she is one.
    done = await vigil(
        env, "user", "create", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )
    assert done.code == 0, done.err

    done = await vigil(env, "user", "list")
    header, rows = rows_of(done.out)
    assert header == ["NAME", "ROLE", "CREATED", "LAST LOGIN"]
    assert {n: r["ROLE"] for n, r in rows.items()} == {"ann": "editor", "root": "admin"}
    assert rows["ann"]["LAST LOGIN"] == "never"

    async with browser() as old_session:
        assert await login(old_session, api, "ann", PASSWORD) == 200
        status, who = await me(old_session, api)
        assert (status, who["name"], who["role"]) == (200, "ann", "editor")

        done = await vigil(
            env, "user", "passwd", "ann", "--password-stdin", stdin="another long password\n"
        )
        assert done.code == 0, done.err
        assert "their sessions are logged out" in done.out

        async def logged_out() -> bool:
            return (await me(old_session, api))[0] == 401

        assert await eventually(logged_out), "the session outlived the password change"
    async with browser() as http:
        assert await login(http, api, "ann", PASSWORD) == 401
        assert await login(http, api, "ann", "another long password") == 200

    done = await vigil(env, "user", "role", "ann", "viewer")
    assert done.code == 0 and "'ann' is viewer now" in done.out, done.err
    async with browser() as http:
        assert await login(http, api, "ann", "another long password") == 200
        assert (await me(http, api))[1]["role"] == "viewer"
    _, rows = rows_of((await vigil(env, "user", "list")).out)
    assert rows["ann"]["ROLE"] == "viewer" and rows["ann"]["LAST LOGIN"] == "just now"

    done = await vigil(env, "user", "delete", "ann")
    assert done.code == 0 and "deleted user 'ann'" in done.out, done.err
    assert "ann" not in rows_of((await vigil(env, "user", "list")).out)[1]
    async with browser() as http:
        assert await login(http, api, "ann", "another long password") == 401


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["create", "bob", "--role", "admin", "--password-stdin"],
            "short\n",
            "vigil user create: a password needs at least 12 characters\n",
        ),
        (
            ["create", "bob", "--role", "admin"],
            None,  # not a terminal, and no --password-stdin
            "vigil user create: no password: pass --password-stdin",
        ),
        (
            ["create", "bob", "--role", "admin", "--password-stdin"],
            f"{PASSWORD}\nsecond line\n",
            "--password-stdin reads one line",
        ),
        (["create", "bad name", "--role", "admin", "--password-stdin"], PASSWORD, "a user name is"),
        (["passwd", "nobody", "--password-stdin"], PASSWORD, "no user named 'nobody'"),
        (["role", "nobody", "editor"], None, "no user named 'nobody'"),
        (["delete", "nobody"], None, "no user named 'nobody'"),
    ],
    ids=[
        "short-password",
        "no-password",
        "two-lines",
        "bad-name",
        "passwd-unknown",
        "role-unknown",
        "delete-unknown",
    ],
)
async def test_user_commands_say_what_is_wrong(env, args, stdin, message) -> None:
    done = await vigil(env, "user", *args, stdin=stdin)
    assert (done.code, done.out) == (1, ""), done.err
    assert message in done.err
    assert (await vigil(env, "user", "list")).out.startswith("no users")


async def test_the_last_admin_and_a_taken_name_are_refused(env) -> None:
    create = ["user", "create", "root", "--role", "admin", "--password-stdin"]
    assert (await vigil(env, *create, stdin=PASSWORD)).code == 0
    done = await vigil(env, *create, stdin=PASSWORD)
    assert done.code == 1 and "a user named 'root' already exists" in done.err
    for args in (["delete", "root"], ["role", "root", "editor"]):
        done = await vigil(env, "user", *args)
        assert done.code == 1 and "'root' is the last admin" in done.err
    done = await vigil(env, "user", "role", "root", "owner")
    assert done.code == 2 and "invalid choice: 'owner'" in done.err


def in_terminal(
    env: dict[str, str], args: list[str], answers: list[tuple[bytes, str]]
) -> tuple[int, str]:
    """Run `vigil ARGS` on a pseudo-terminal, typing each answer after its prompt; its exit code
    and the whole terminal transcript."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil_cli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, **env},
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    try:
        for prompt, answer in answers:
            end = time.monotonic() + 30
            while prompt not in seen:
                assert time.monotonic() < end, f"no {prompt!r} prompt; the terminal shows {seen!r}"
                if select.select([master], [], [], 0.5)[0]:
                    seen += os.read(master, 4096)
            os.write(master, answer.encode() + b"\n")
        while True:
            if select.select([master], [], [], 30)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
        return proc.wait(timeout=30), seen.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_in_a_terminal_the_password_is_asked_twice_without_echo(env) -> None:
    args = ["user", "create", "carol", "--role", "editor"]
    code, screen = await asyncio.to_thread(
        in_terminal,
        env,
        args,
        [(b"New password for carol: ", PASSWORD), (b"The same again: ", PASSWORD + "x")],
    )
    assert code == 1 and "the two passwords differ; nothing changed" in screen
    assert PASSWORD not in screen  # not echoed
    assert (await vigil(env, "user", "list")).out.startswith("no users")

    code, screen = await asyncio.to_thread(
        in_terminal, env, args, [(b"New password for carol: ", "short")]
    )
    assert code == 1 and "a password needs at least 12 characters" in screen  # said at once

    code, screen = await asyncio.to_thread(
        in_terminal,
        env,
        args,
        [(b"New password for carol: ", PASSWORD), (b"The same again: ", PASSWORD)],
    )
    assert code == 0, screen
    assert "created user 'carol' (editor)" in screen and PASSWORD not in screen
    assert "carol" in (await vigil(env, "user", "list")).out
