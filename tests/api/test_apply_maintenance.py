"""Maintenance windows in apply documents (`maintenance:`, keyed by name): targets by name (in
the document or stored), unchanged on re-apply, updates with their diff, prune and dry runs,
errors naming `maintenance.<name>.<field>`, all or nothing; and through `vigil apply -f`."""

from __future__ import annotations

import asyncio
import re

import pytest

from vigil_cli.main import build_parser

WEB = {"name": "web", "kind": "http", "url": "http://127.0.0.1:9/", "labels": {"env": "prod"}}
DB = {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}
PATCH_NIGHT = {
    "description": "OS updates",
    "targets": ["web", "db"],
    "days": ["sun"],
    "start_time": "02:30",
    "duration_s": 3600,
    "time_zone": "Europe/Berlin",
}
BACKUPS = {"match_labels": {"env": "prod"}, "cron": "0 4 * * *", "duration_s": 900}
MIGRATION = {
    "targets": ["db"],
    "starts_at": "2030-06-01T22:00:00+02:00",
    "ends_at": "2030-06-02T02:00:00+02:00",
}
DOC = {
    "targets": [WEB, DB],
    "maintenance": {"patch night": PATCH_NIGHT, "backups": BACKUPS, "migration": MIGRATION},
}


async def apply(http, doc, **params):
    return await http.post(
        "/api/v1/apply", json=doc, params={k: str(v).lower() for k, v in params.items()}
    )


async def windows(http) -> dict[str, dict]:
    resp = await http.get("/api/v1/maintenance")
    assert resp.status_code == 200, resp.text
    return {w["name"]: w for w in resp.json()["items"]}


async def target_ids(http) -> dict[str, int]:
    items = (await http.get("/api/v1/targets")).json()["items"]
    return {t["name"]: t["id"] for t in items}


async def test_windows_are_created_then_left_alone(http, db) -> None:
    resp = await apply(http, DOC)
    assert resp.status_code == 200, resp.text
    section = resp.json()["maintenance"]
    assert section["created"] == ["backups", "migration", "patch night"]
    created = {c["name"]: c["fields"] for c in section["changes"]}
    assert created["patch night"]["targets"] == {"old": None, "new": ["db", "web"]}
    assert created["patch night"]["start_time"] == {"old": None, "new": "02:30"}
    assert created["migration"]["starts_at"] == {"old": None, "new": "2030-06-01T20:00:00Z"}

    ids = await target_ids(http)
    stored = await windows(http)
    night = stored["patch night"]
    assert (night["kind"], night["days"], night["time_zone"], night["description"]) == (
        "weekly",
        ["sun"],
        "Europe/Berlin",
        "OS updates",
    )
    assert night["targets"] == sorted([ids["web"], ids["db"]])
    assert (stored["backups"]["kind"], stored["backups"]["targets"]) == ("cron", [])
    assert stored["migration"]["targets"] == [ids["db"]]
    assert stored["migration"]["duration_s"] == 4 * 3600
    occurrences = await db.fetchval("SELECT count(*) FROM maintenance_occurrences")
    assert occurrences > 30  # planned in the transaction that wrote them

    again = (await apply(http, DOC)).json()["maintenance"]
    assert again["unchanged"] == ["backups", "migration", "patch night"]
    assert again["changes"] == []
    assert await windows(http) == stored
    # Times written another way are the same times.
    same = {**MIGRATION, "starts_at": "2030-06-01T20:00:00Z"}
    doc = {**DOC, "maintenance": {**DOC["maintenance"], "migration": same}}
    assert (await apply(http, doc)).json()["maintenance"]["unchanged"] == [
        "backups",
        "migration",
        "patch night",
    ]


async def test_a_changed_window_is_replaced_and_shows_its_diff(http) -> None:
    assert (await apply(http, DOC)).status_code == 200
    before = await windows(http)
    changed = {**PATCH_NIGHT, "targets": ["web"], "start_time": "3:00", "days": ["sat", "sun"]}
    doc = {**DOC, "maintenance": {**DOC["maintenance"], "patch night": changed}}
    section = (await apply(http, doc)).json()["maintenance"]
    assert section["updated"] == ["patch night"]
    (change,) = section["changes"]
    assert change["id"] == before["patch night"]["id"]
    assert change["fields"] == {
        "targets": {"old": ["db", "web"], "new": ["web"]},
        "days": {"old": ["sun"], "new": ["sat", "sun"]},
        "start_time": {"old": "02:30", "new": "03:00"},
    }
    after = (await windows(http))["patch night"]
    assert after["days"] == ["sat", "sun"] and after["start_time"] == "03:00"
    assert after["targets"] == [(await target_ids(http))["web"]]


async def test_prune_dry_run_and_sections_left_out(http) -> None:
    assert (await apply(http, DOC)).status_code == 200
    # A document without `maintenance` leaves the windows alone, even when pruning.
    resp = await apply(http, {"targets": [WEB, DB]}, prune=True)
    assert resp.status_code == 200, resp.text
    assert set(await windows(http)) == {"backups", "migration", "patch night"}

    doc = {"maintenance": {"backups": BACKUPS, "new one": {**BACKUPS, "cron": "0 5 * * *"}}}
    resp = await apply(http, doc, prune=True, dry_run=True)
    assert resp.status_code == 200, resp.text
    section = resp.json()["maintenance"]
    assert (section["created"], section["deleted"], section["unchanged"]) == (
        ["new one"],
        ["migration", "patch night"],
        ["backups"],
    )
    assert set(await windows(http)) == {"backups", "migration", "patch night"}

    resp = await apply(http, doc, prune=True)
    assert resp.json()["maintenance"]["deleted"] == ["migration", "patch night"]
    assert set(await windows(http)) == {"backups", "new one"}
    # The targets the document does not describe are stored ones: named, not touched.
    resp = await apply(http, {"maintenance": {"solo": {"targets": ["db"], **BACKUPS}}})
    assert resp.status_code == 200, resp.text
    assert (await windows(http))["solo"]["targets"] == [(await target_ids(http))["db"]]


# (case id, the document's maintenance section, the field the 400 names, words of its message)
BAD_SECTIONS = [
    (
        "unknown target",
        {"w": {**BACKUPS, "targets": ["web", "nope"]}},
        "maintenance.w.targets",
        'no target named "nope"',
    ),
    ("bad cron", {"w": {**BACKUPS, "cron": "0 25 * * *"}}, "maintenance.w.cron", "Bad hour"),
    (
        "unknown time zone",
        {"w": {**BACKUPS, "time_zone": "Europe/Atlantis"}},
        "maintenance.w.time_zone",
        "unknown time zone",
    ),
    (
        "once from now",
        {"w": {"targets": ["db"], "duration_s": 600}},
        "maintenance.w.starts_at",
        "needs starts_at",
    ),
    ("mistyped field", {"w": {**BACKUPS, "duration_s": "15m"}}, "maintenance.w.duration_s", "int"),
    ("unknown field", {"w": {**BACKUPS, "colour": "red"}}, "maintenance.w.colour", "known"),
    (
        "unquoted start time",
        {"w": {**PATCH_NIGHT, "start_time": 150}},
        "maintenance.w.start_time",
        "quoted",
    ),
    (
        "covers nothing",
        {"w": {"cron": "0 4 * * *", "duration_s": 600}},
        "maintenance.w.targets",
        "at least one",
    ),
    ("name with spaces around", {" w ": BACKUPS}, "maintenance. w ", "window name"),
    ("name with a bidi mark", {"w\u202e": BACKUPS}, "maintenance.w\u202e", "U+202E"),
]


@pytest.mark.parametrize(
    ("section", "field", "words"),
    [c[1:] for c in BAD_SECTIONS],
    ids=[c[0] for c in BAD_SECTIONS],
)
async def test_invalid_windows_are_refused_and_nothing_is_written(
    http, db, section, field, words
) -> None:
    resp = await apply(http, {"targets": [WEB, DB], "maintenance": {**section, "ok": BACKUPS}})
    assert resp.status_code == 400, resp.text
    errors = resp.json()["errors"]
    assert [e["field"] for e in errors] == [field], errors
    assert words in errors[0]["message"], errors
    assert await db.fetchval("SELECT count(*) FROM targets") == 0
    assert await db.fetchval("SELECT count(*) FROM maintenance_windows") == 0


async def test_pruned_targets_cannot_be_named(http) -> None:
    assert (await apply(http, {"targets": [WEB, DB]})).status_code == 200
    doc = {"targets": [WEB], "maintenance": {"w": {**BACKUPS, "targets": ["db"]}}}
    resp = await apply(http, doc, prune=True)
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        {"field": "maintenance.w.targets", "message": 'no target named "db"'}
    ]
    assert set(await target_ids(http)) == {"web", "db"}


YAML = """\
targets:
  - name: web
    kind: http
    url: http://127.0.0.1:9/health
maintenance:
  patch night:
    targets: [web]
    days: [sun]
    start_time: "02:30"
    duration_s: 3600
    time_zone: Europe/Berlin
  migration:
    targets: [web]
    starts_at: 2030-06-01T22:00:00+02:00
    ends_at: 2030-06-02T02:00:00+02:00
"""


@pytest.fixture
def write_token(monkeypatch, tokens) -> str:
    monkeypatch.setenv("VIGIL_TOKEN", tokens["write"])
    return tokens["write"]


# A line the in-process API logged (structlog's console output shares captured stdout), e.g.
# a late LISTEN ping on a busy machine: not the CLI's.
LOGGED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


async def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(["apply", *argv])
    code = await asyncio.to_thread(args.func, None, args)
    out = capsys.readouterr()
    printed = "".join(line for line in out.out.splitlines(True) if not LOGGED.match(line))
    return code, printed, out.err


async def test_the_cli_applies_a_yaml_maintenance_section(
    live, http, write_token, tmp_path, capsys
) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(YAML)
    code, out, err = await run_cli(capsys, "-f", str(path), "--api-url", live.url)
    assert code == 0, err
    assert out.splitlines() == [
        "+ web",
        "+ maintenance migration",
        "+ maintenance patch night",
        "targets: 1 created, 0 updated, 0 deleted, 0 unchanged",
        "maintenance: 2 created, 0 updated, 0 deleted, 0 unchanged",
    ]
    stored = {w["name"]: w for w in (await http.get("/api/v1/maintenance")).json()["items"]}
    assert stored["migration"]["starts_at"] == "2030-06-01T20:00:00Z"

    path.write_text(YAML.replace('"02:30"', '"03:15"').split("  migration:")[0])
    code, out, _ = await run_cli(
        capsys, "-f", str(path), "--api-url", live.url, "--prune", "--dry-run"
    )
    assert code == 0
    assert out.splitlines() == [
        "~ maintenance patch night",
        '    start_time: "02:30" -> "03:15"',
        "- maintenance migration",
        "dry run, nothing changed:",
        "targets: 0 created, 0 updated, 0 deleted, 1 unchanged",
        "maintenance: 0 created, 1 updated, 1 deleted, 0 unchanged",
    ]

    # A file with only windows is a document too; an unquoted 2:30 (a number) is explained.
    path.write_text(
        "maintenance:\n  w:\n    targets: [web]\n    days: [sun]\n    start_time: 2:30\n"
        "    duration_s: 600\n"
    )
    code, out, err = await run_cli(capsys, "-f", str(path), "--api-url", live.url)
    assert code == 1 and out == ""
    assert "maintenance.w.start_time: must be quoted" in err
