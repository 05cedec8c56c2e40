"""A target's secrets (header values, a password in its URL) are write-only: every read shows
`********`, a write that echoes the mask keeps the stored value (towards the same origin only),
apply reports no change for an echo, a URL password needs `allow_url_password`, and the worker
still sends the real values while no log ever holds them."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from vigil_cli.apply import format_result
from vigil_cli.main import build_parser
from vigil_core.secrets import MASK, mask_address, unmask_url, url_password, with_password

from ..support import bearer, free_port, spawn_vigil, stop_process, wait_http_ok
from .conftest import HTTP_TARGET, LiveServer, make_app

pytestmark = pytest.mark.timeout(120)

TOKEN = "Bearer tok-5f0c1d2e3a4b5c6d7e8f"
API_KEY = "key-0a9b8c7d6e5f4a3b2c1d"
PASSWORD = "pw-1e2d3c4b5a69788796a5"
SECRETS = (TOKEN, API_KEY, PASSWORD)
HEADERS = {"Authorization": TOKEN, "X-Api-Key": API_KEY}
MASKED_HEADERS = {"Authorization": MASK, "X-Api-Key": MASK}
URL = f"http://probe:{PASSWORD}@127.0.0.1:9/health"
MASKED_URL = f"http://probe:{MASK}@127.0.0.1:9/health"
WEB = {**HTTP_TARGET, "url": URL, "allow_url_password": True, "headers": HEADERS}


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} shows a secret: {text[:2000]}"


async def create(client: Any, **fields: Any) -> dict:
    resp = await client.post("/api/v1/targets", json={**WEB, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def stored(db: Any, name: str = "web") -> tuple[str, dict]:
    """The row's address and settings: what the worker reads."""
    row = await db.fetchrow("SELECT address, settings FROM targets WHERE name = $1", name)
    return row["address"], row["settings"]


async def apply(client: Any, targets: list[dict], dry_run: bool = False) -> Any:
    return await client.post(
        f"/api/v1/apply?dry_run={str(dry_run).lower()}", json={"targets": targets}
    )


# -- vigil_core.secrets, table-driven ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "password", "masked"),
    [
        ("https://u:pw@h/", "pw", f"https://u:{MASK}@h/"),
        ("https://u:pw@h:8443/p?q=a:b@c#f", "pw", f"https://u:{MASK}@h:8443/p?q=a:b@c#f"),
        ("https://u:p%40w@h/", "p%40w", f"https://u:{MASK}@h/"),
        ("https://u:a:b@h/", "a:b", f"https://u:{MASK}@h/"),
        ("https://u@h/", None, "https://u@h/"),
        ("https://u:@h/", None, "https://u:@h/"),
        ("https://h/?next=u:pw@x", None, "https://h/?next=u:pw@x"),
        ("https://h:443/", None, "https://h:443/"),
        ("127.0.0.1:5432", None, "127.0.0.1:5432"),
        ("push", None, "push"),
    ],
)
def test_url_passwords_are_found_and_masked(url, password, masked) -> None:
    assert url_password(url) == password
    assert mask_address(url) == masked


@pytest.mark.parametrize(
    ("sent", "stored_url", "kept"),
    [
        pytest.param(f"https://u:{MASK}@h/a", "https://u:pw@h/b", "https://u:pw@h/a", id="path"),
        pytest.param(
            f"https://u:{MASK}@h:443/", "https://u:pw@h/", "https://u:pw@h:443/", id="port"
        ),
        pytest.param(f"https://u:{MASK}@H/", "https://u:pw@h/", "https://u:pw@H/", id="host-case"),
        pytest.param(f"https://u:{MASK}@x/", "https://u:pw@h/", None, id="other-host"),
        pytest.param(f"http://u:{MASK}@h/", "https://u:pw@h/", None, id="other-scheme"),
        pytest.param(f"https://u:{MASK}@h:8443/", "https://u:pw@h/", None, id="other-port"),
        pytest.param(f"https://u:{MASK}@h/", "https://h/", None, id="none-stored"),
        pytest.param("https://u:new@h/", "https://u:pw@h/", "https://u:new@h/", id="new-value"),
    ],
)
def test_a_masked_url_password_is_kept_for_its_origin_only(sent, stored_url, kept) -> None:
    assert unmask_url(sent, stored_url) == (kept if kept is not None else sent)
    assert with_password("https://u:old@h/", "new") == "https://u:new@h/"


# -- reads --------------------------------------------------------------------------------------


async def _get(client, t):
    return await client.get(f"/api/v1/targets/{t['id']}")


async def _list(client, t):
    return await client.get("/api/v1/targets")


async def _summary(client, t):
    return await client.get("/api/v1/summary")


async def _pause(client, t):
    return await client.post(f"/api/v1/targets/{t['id']}/pause")


async def _patch_name(client, t):
    return await client.patch(f"/api/v1/targets/{t['id']}", json={"name": "web2"})


async def _apply_diff(client, t):
    # A header added: the diff lists the headers, old and new.
    return await apply(client, [{**WEB, "headers": {**HEADERS, "X-More": "1"}}], dry_run=True)


async def _apply_create(client, t):
    return await apply(client, [{**WEB, "name": "web-new"}], dry_run=True)


READS = [
    pytest.param(_get, id="get"),
    pytest.param(_list, id="list"),
    pytest.param(_summary, id="summary"),
    pytest.param(_pause, id="pause-answer"),
    pytest.param(_patch_name, id="patch-answer"),
    pytest.param(_apply_diff, id="apply-update-diff"),
    pytest.param(_apply_create, id="apply-create-diff"),
]


@pytest.mark.parametrize("read", READS)
async def test_every_read_masks_the_secrets(client, db, read) -> None:
    created = await create(client)
    assert (created["headers"], created["url"]) == (MASKED_HEADERS, MASKED_URL)
    resp = await read(client, created)
    assert resp.status_code in (200, 201), resp.text
    assert_no_secret(resp.text, read.__name__)
    assert MASK in resp.text
    # ... and the row keeps the real values.
    address, settings = await stored(db, created["name"] if read is not _patch_name else "web2")
    assert (address, settings["headers"]) == (URL, HEADERS)


async def test_summary_and_diff_show_the_masked_forms(client) -> None:
    await create(client)
    (item,) = (await client.get("/api/v1/summary")).json()["items"]
    assert item["address"] == MASKED_URL
    result = (await _apply_create(client, None)).json()
    (change,) = result["changes"]
    assert change["fields"]["headers"]["new"] == MASKED_HEADERS
    assert change["fields"]["url"]["new"] == MASKED_URL


# -- writes that echo the masks ---------------------------------------------------------------


async def _put_echo(client, t):
    body = {k: v for k, v in (await _get(client, t)).json().items() if k in WEB or k == "method"}
    return await client.put(f"/api/v1/targets/{t['id']}", json={**body, "keyword": "ok"})


async def _patch_echo(client, t):
    return await client.patch(
        f"/api/v1/targets/{t['id']}",
        json={"headers": MASKED_HEADERS, "url": MASKED_URL, "keyword": "ok"},
    )


async def _patch_other(client, t):
    return await client.patch(f"/api/v1/targets/{t['id']}", json={"keyword": "ok"})


async def _patch_path(client, t):
    # Same origin, another path: the secrets stay.
    url = MASKED_URL.replace("/health", "/ready")
    return await client.patch(f"/api/v1/targets/{t['id']}", json={"url": url, "keyword": "ok"})


async def _apply_echo(client, t):
    return await apply(
        client, [{**WEB, "headers": MASKED_HEADERS, "url": MASKED_URL, "keyword": "ok"}]
    )


ECHOES = [
    pytest.param(_put_echo, URL, id="put-echo"),
    pytest.param(_patch_echo, URL, id="patch-echo"),
    pytest.param(_patch_other, URL, id="patch-other-field"),
    pytest.param(_patch_path, URL.replace("/health", "/ready"), id="patch-same-origin"),
    pytest.param(_apply_echo, URL, id="apply-echo"),
]


@pytest.mark.parametrize(("write", "address"), ECHOES)
async def test_an_echoed_mask_keeps_the_stored_value(client, db, write, address) -> None:
    created = await create(client)
    resp = await write(client, created)
    assert resp.status_code == 200, resp.text
    assert_no_secret(resp.text, write.__name__)
    got = (await _get(client, created)).json()
    assert got["keyword"] == "ok"  # the write did happen
    assert got["headers"] == MASKED_HEADERS
    stored_address, settings = await stored(db)
    assert (stored_address, settings["headers"]) == (address, HEADERS)


async def test_a_new_value_beside_masks_replaces_only_that_one(client, db) -> None:
    created = await create(client)
    resp = await client.patch(
        f"/api/v1/targets/{created['id']}",
        # Header names compare without case: x-api-key is the stored X-Api-Key.
        json={"headers": {"Authorization": "Bearer new-value", "x-api-key": MASK}},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["headers"] == {"Authorization": MASK, "x-api-key": MASK}
    _, settings = await stored(db)
    assert settings["headers"] == {"Authorization": "Bearer new-value", "x-api-key": API_KEY}
    # Leaving a header out removes it, as a PUT of any other field would.
    await client.patch(f"/api/v1/targets/{created['id']}", json={"headers": {}})
    assert (await stored(db))[1]["headers"] == {}


# (what is sent, the field the 400 names, words of its message)
NO_STORED_VALUE = "has no stored value"
OTHER_ORIGIN = "scheme, host or port changed"
REFUSED_MASKS = [
    pytest.param(
        "post",
        {"headers": {"Authorization": MASK}},
        "headers.Authorization",
        NO_STORED_VALUE,
        id="create-header",
    ),
    pytest.param("post", {"url": MASKED_URL}, "url", NO_STORED_VALUE, id="create-url"),
    pytest.param(
        "patch",
        {"headers": {**MASKED_HEADERS, "X-New": MASK}},
        "headers.X-New",
        NO_STORED_VALUE,
        id="patch-new-header-masked",
    ),
    pytest.param(
        # Only the URL sent: the headers kept by the PATCH would go to the new host.
        "patch",
        {"url": "http://127.0.0.2:9/health"},
        "headers.Authorization",
        OTHER_ORIGIN,
        id="patch-url-to-another-host",
    ),
    pytest.param(
        "patch",
        {"url": f"http://probe:{MASK}@127.0.0.1:10/health"},
        "headers.Authorization",
        OTHER_ORIGIN,
        id="patch-other-port",
    ),
    pytest.param(
        "patch",
        {"url": f"http://probe:{MASK}@evil.example/health"},
        "url",
        OTHER_ORIGIN,
        id="patch-other-host-url",
    ),
    pytest.param(
        "put",
        {"url": f"https://probe:{MASK}@127.0.0.1:9/health"},
        "headers.X-Api-Key",
        OTHER_ORIGIN,
        id="put-other-scheme",
    ),
    pytest.param(
        "apply",
        {"name": "fresh", "headers": {"Authorization": MASK}},
        "targets[0].headers.Authorization",
        NO_STORED_VALUE,
        id="apply-new-target",
    ),
    pytest.param(
        "apply",
        {"headers": MASKED_HEADERS, "url": MASKED_URL.replace(":9/", ":10/")},
        "targets[0].headers.Authorization",
        OTHER_ORIGIN,
        id="apply-other-port",
    ),
]


@pytest.mark.parametrize(("method", "change", "field", "words"), REFUSED_MASKS)
async def test_a_mask_without_a_value_to_keep_is_400(
    client, db, method, change, field, words
) -> None:
    """A mask with nothing stored, or sent towards another origin, is refused: a secret never
    goes to a host it was not written for."""
    created = await create(client)
    path = f"/api/v1/targets/{created['id']}"
    if method == "post":
        resp = await client.post("/api/v1/targets", json={**WEB, "name": "other", **change})
    elif method == "put":
        resp = await client.put(path, json={**WEB, "headers": MASKED_HEADERS, **change})
    elif method == "patch":
        resp = await client.patch(path, json=change)
    else:
        resp = await apply(client, [{**WEB, **change}])
    assert resp.status_code == 400, resp.text
    errors = {e["field"]: e["message"] for e in resp.json()["errors"]}
    assert field in errors and words in errors[field], errors
    assert_no_secret(resp.text, "the 400")
    address, settings = await stored(db)
    assert (address, settings["headers"]) == (URL, HEADERS)
    assert await db.fetchval("SELECT count(*) FROM targets") == 1


# -- passwords in URLs --------------------------------------------------------------------------

PASSWORD_REFUSED = (
    "the URL holds a password; send credentials in a header (Authorization) instead,"
    " or set `allow_url_password: true`"
)
URL_CASES = [
    pytest.param(f"https://u:{PASSWORD}@example.com/", False, 400, None, id="password-refused"),
    pytest.param(
        f"https://u:{PASSWORD}@example.com/",
        True,
        201,
        f"https://u:{MASK}@example.com/",
        id="password-allowed-and-masked",
    ),
    pytest.param("https://u@example.com/", False, 201, "https://u@example.com/", id="user-only"),
    pytest.param("https://u:@example.com/", False, 201, "https://u:@example.com/", id="empty"),
    pytest.param("https://u:p@ss@example.com/", True, 400, None, id="two-at-signs"),
    pytest.param(
        "https://example.com/?token=a:b@c",
        False,
        201,
        "https://example.com/?token=a:b@c",
        id="at-sign-in-query",
    ),
]


@pytest.mark.parametrize(("url", "allow", "status", "shown"), URL_CASES)
async def test_a_url_password_needs_allow_url_password(client, db, url, allow, status, shown):
    body = {**HTTP_TARGET, "url": url, "allow_url_password": allow}
    resp = await client.post("/api/v1/targets", json=body)
    assert resp.status_code == status, resp.text
    assert_no_secret(resp.text, "the answer")
    if status == 400:
        (error,) = resp.json()["errors"]
        assert error["field"] == "url"
        if "@ss@" not in url:
            assert error["message"] == PASSWORD_REFUSED
        return
    assert resp.json()["url"] == shown and resp.json()["allow_url_password"] is allow
    assert (await stored(db))[0] == url


async def test_turning_allow_url_password_off_is_refused_while_the_url_has_one(client, db):
    created = await create(client)
    path = f"/api/v1/targets/{created['id']}"
    resp = await client.patch(path, json={"allow_url_password": False})
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "url", resp.text
    # Dropping the password with it is fine.
    resp = await client.patch(
        path, json={"allow_url_password": False, "url": "http://probe@127.0.0.1:9/health"}
    )
    assert resp.status_code == 200, resp.text
    assert (await stored(db))[0] == "http://probe@127.0.0.1:9/health"
    resp = await apply(client, [{**WEB, "allow_url_password": False}])
    assert resp.status_code == 400
    assert resp.json()["errors"][0] == {"field": "targets[0].url", "message": PASSWORD_REFUSED}


async def test_the_api_schema_documents_the_secrets(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    http = next(s for name, s in schema.items() if name.endswith("HttpTargetCreate"))
    assert http["properties"]["allow_url_password"]["type"] == "boolean"
    assert "write-only" in http["properties"]["headers"]["description"]
    assert "allow_url_password" in http["properties"]["url"]["description"]


# -- apply's diff -------------------------------------------------------------------------------


async def test_apply_reports_no_change_for_an_echo_and_hides_a_secret_change(client, db):
    assert (await apply(client, [WEB])).status_code == 200
    for doc in (WEB, {**WEB, "headers": MASKED_HEADERS, "url": MASKED_URL}):
        result = (await apply(client, [doc])).json()
        assert result["unchanged"] == ["web"] and result["changes"] == [], result

    # A secret alone changed: the field is named in `hidden`, its values are not shown.
    new = {**WEB, "headers": {**MASKED_HEADERS, "Authorization": "Bearer rotated"}}
    result = (await apply(client, [new], dry_run=True)).json()
    assert result["updated"] == ["web"]
    (change,) = result["changes"]
    assert (change["fields"], change["hidden"]) == ({}, ["headers"])
    assert "rotated" not in json.dumps(result)
    assert format_result(result).splitlines() == [
        "~ web",
        "    headers changed",
        "dry run, nothing changed: 0 created, 1 updated, 0 deleted, 0 unchanged",
    ]
    assert (await stored(db))[1]["headers"] == HEADERS  # a dry run

    rotated_url = URL.replace(PASSWORD, "pw-rotated")
    result = (await apply(client, [{**WEB, "url": rotated_url}])).json()
    (change,) = result["changes"]
    assert (change["fields"], change["hidden"]) == ({}, ["url"])
    assert (await stored(db))[0] == rotated_url

    # A header added shows, masked, with the other changes.
    added = {**WEB, "url": rotated_url, "headers": {**HEADERS, "X-Extra": "x"}, "interval_s": 20}
    result = (await apply(client, [added])).json()
    (change,) = result["changes"]
    assert change["fields"]["headers"] == {
        "old": MASKED_HEADERS,
        "new": {**MASKED_HEADERS, "X-Extra": MASK},
    }
    assert change["fields"]["interval_s"] == {"old": 30.0, "new": 20.0}
    assert change["hidden"] == []


@pytest.mark.parametrize(
    ("field", "old", "new", "line"),
    [
        pytest.param(
            "headers",
            {"Authorization": TOKEN},
            {"Authorization": TOKEN, "X-A": API_KEY},
            f'    headers: {{"Authorization": "{MASK}"}} -> {{"Authorization": "{MASK}", "X-A": "{MASK}"}}',
            id="headers",
        ),
        pytest.param(
            "url",
            URL,
            "http://127.0.0.1:9/",
            f'    url: "{MASKED_URL}" -> "http://127.0.0.1:9/"',
            id="url",
        ),
        pytest.param("interval_s", 30, 20, "    interval_s: 30 -> 20", id="other-field"),
    ],
)
def test_the_cli_masks_a_diff_from_an_api_that_did_not(field, old, new, line) -> None:
    """`vigil apply` against an older API (one that sent secrets in its diff) prints none."""
    change = {"op": "update", "name": "web", "id": 1, "fields": {field: {"old": old, "new": new}}}
    result = {"dry_run": False, "created": [], "updated": ["web"], "deleted": [], "unchanged": []}
    text = format_result({**result, "changes": [change]})
    assert text.splitlines()[1] == line
    assert_no_secret(text, "vigil apply")


async def test_vigil_apply_prints_no_secret(db_url, tokens, tmp_path, capsys, monkeypatch):
    """The real command against a real server: create, then a dry run of a rotated secret."""
    monkeypatch.setenv("VIGIL_TOKEN", tokens["write"])
    monkeypatch.setenv("WEB_TOKEN", TOKEN)
    path = tmp_path / "vigil.yaml"
    headers = {"Authorization": "${WEB_TOKEN}", "X-Api-Key": API_KEY}
    path.write_text(json.dumps({"targets": [{**WEB, "headers": headers}]}))
    outputs = []
    # Its own server: the module's app serves the in-process client on another event loop.
    async with LiveServer(make_app(db_url)) as live:
        for argv in ([], ["--dry-run"]):
            if argv:
                monkeypatch.setenv("WEB_TOKEN", "Bearer rotated-0123456789")
            args = build_parser().parse_args(
                ["apply", "-f", str(path), "--api-url", live.url, *argv]
            )
            code = await asyncio.to_thread(args.func, None, args)
            outputs.append(capsys.readouterr())
            assert code == 0, outputs[-1].err
    # The server's own log lines share the captured stdout: keep the diff's.
    diffs = [[x for x in o.out.splitlines() if x.startswith(("+ ", "~ ", "    "))] for o in outputs]
    assert diffs == [["+ web"], ["~ web", "    headers changed"]]
    for out in outputs:
        assert_no_secret(out.out + out.err, "vigil apply")
        assert "rotated" not in out.out


# -- the worker gets the real values; no log holds them ---------------------------------------


class Probe:
    """A loopback HTTP server that records the Authorization header of each request."""

    def __init__(self) -> None:
        self.port = free_port()
        self.seen: dict[str, list[str | None]] = {"/bearer": [], "/basic": []}
        self.arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        async with self.arrived:
            self.seen[request.path].append(request.headers.get("Authorization"))
            self.arrived.notify_all()
        return web.Response(text="ok")

    async def wait(self, path: str, count: int) -> list[str | None]:
        async with asyncio.timeout(30), self.arrived:
            await self.arrived.wait_for(lambda: len(self.seen[path]) >= count)
        return self.seen[path]


@pytest.fixture
async def probe() -> AsyncIterator[Probe]:
    p = Probe()
    app = web.Application()
    app.router.add_get("/bearer", p.handle)
    app.router.add_get("/basic", p.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", p.port).start()
    try:
        yield p
    finally:
        await runner.cleanup()


async def test_the_worker_sends_the_real_secrets_and_no_log_holds_them(
    db_url, tokens, probe
) -> None:
    """`vigil api` and `vigil worker` as processes, logging at debug: the targets are created,
    read, edited with their masks echoed back and checked; the probe receives the real
    Authorization header and the real URL password (as Basic auth), before and after the edit,
    and neither process printed a secret."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "VIGIL_DATABASE_URL": db_url,
        "VIGIL_LOG_LEVEL": "debug",
        "VIGIL_WORKER_METRICS_PORT": "0",
    }
    api = spawn_vigil(["api", "--port", str(port)], env)
    worker = spawn_vigil(["worker"], env)
    logs = ""
    try:
        await wait_http_ok(f"{base}/readyz", deadline_s=30, proc=api)
        probe_url = f"http://127.0.0.1:{probe.port}"
        bearer_target = {
            **HTTP_TARGET,
            "name": "bearer",
            "url": f"{probe_url}/bearer",
            "headers": {"Authorization": TOKEN},
            "interval_s": 1.5,
            "timeout_s": 1,
        }
        basic_target = {
            **bearer_target,
            "name": "basic",
            "url": f"http://probe:{PASSWORD}@127.0.0.1:{probe.port}/basic",
            "allow_url_password": True,
            "headers": {},
        }
        async with aiohttp.ClientSession(headers=bearer(tokens["write"])) as http:
            ids = []
            for body in (bearer_target, basic_target):
                async with http.post(f"{base}/api/v1/targets", json=body) as resp:
                    assert resp.status == 201, await resp.text()
                    ids.append((await resp.json())["id"])
            await probe.wait("/bearer", 1)
            await probe.wait("/basic", 1)
            # Read, edit one field, send everything back: the masks go back too.
            for target_id in ids:
                async with http.get(f"{base}/api/v1/targets/{target_id}") as resp:
                    shown = await resp.json()
                assert_no_secret(json.dumps(shown), "GET")
                edit = {k: shown[k] for k in (*bearer_target, "allow_url_password")}
                edit["keyword"] = "ok"
                async with http.put(f"{base}/api/v1/targets/{target_id}", json=edit) as resp:
                    assert resp.status == 200, await resp.text()
            after = {path: len(probe.seen[path]) for path in probe.seen}
        # Checks after the edit: the real values still go out.
        basic = "Basic " + base64.b64encode(f"probe:{PASSWORD}".encode()).decode()
        assert set(await probe.wait("/bearer", after["/bearer"] + 2)) == {TOKEN}
        assert set(await probe.wait("/basic", after["/basic"] + 2)) == {basic}
    finally:
        logs = stop_process(api) + stop_process(worker)
    assert logs.strip(), "the processes logged nothing to check"
    assert_no_secret(logs, "the logs")
