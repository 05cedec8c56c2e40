"""sql/schema.sql is the schema every migration produces: a reviewer reads one file to see it."""

from __future__ import annotations

import difflib
import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from vigil_core import migrations

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "sql" / migrations.SCHEMA_NAME


def _major_versions(url: str) -> tuple[int, int]:
    """(the server's, pg_dump's) PostgreSQL major version."""
    with psycopg.connect(url) as conn:
        server = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    out = subprocess.run(
        [*migrations.pg_dump_command(), "--version"], check=True, capture_output=True, text=True
    ).stdout
    return server, int(re.search(r"(\d+)\.\d+", out).group(1))


def test_migrations_produce_the_committed_schema(empty_db: str) -> None:
    server, pg_dump = _major_versions(empty_db)
    if server != pg_dump:
        pytest.skip(
            f"sql/schema.sql is dumped by the embedded server's pg_dump ({pg_dump}); "
            f"this server is PostgreSQL {server}"
        )
    migrations.apply(empty_db)
    got = migrations.dump_schema(empty_db)
    want = SCHEMA_FILE.read_text()
    if got != want:
        diff = "".join(
            difflib.unified_diff(
                want.splitlines(keepends=True),
                got.splitlines(keepends=True),
                "sql/schema.sql (committed)",
                "the schema the migrations produce",
            )
        )
        pytest.fail(
            f"sql/schema.sql is not what the migrations produce. Regenerate it with "
            f"`{migrations.SCHEMA_COMMAND}` and commit it with the migration:\n{diff}",
            pytrace=False,
        )


@pytest.mark.parametrize(
    "volatile",
    [
        pytest.param(r"^-- Dumped (from|by)", id="versions"),
        pytest.param(r"^SET |set_config\(", id="session-settings"),
        pytest.param(r"Owner:|OWNER TO|^GRANT |^REVOKE ", id="owners-and-privileges"),
        pytest.param(r"^\\(un)?restrict ", id="restrict-keys"),
        pytest.param(r"yoyo", id="yoyo-bookkeeping"),
        pytest.param(r"checks_\d{8}", id="daily-partitions"),
    ],
)
def test_the_schema_file_holds_nothing_that_varies(volatile: str) -> None:
    """What differs between two dumps of the same schema (a date, a version, a random key, the
    day's partitions) would make the file churn; the normaliser drops it."""
    assert not re.search(volatile, SCHEMA_FILE.read_text(), re.MULTILINE)


def test_normalising_keeps_each_entry_under_its_name() -> None:
    raw = (
        "--\n-- PostgreSQL database dump\n--\n\n\\restrict k3y\n\n-- Dumped from database version 16.9\n"
        "SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n"
        "--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE public.t (\n"
        "    id bigint\n);\n\n\nSET default_tablespace = '';\n\n"
        "--\n-- Name: f(); Type: FUNCTION; Schema: public; Owner: -\n--\n\n"
        "CREATE FUNCTION public.f() RETURNS void\n    LANGUAGE sql\n    SET search_path TO 'public'\n"
        "    AS $$ SELECT 1 $$;\n\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict k3y\n"
    )
    body = migrations.normalise_schema(raw).removeprefix(migrations.SCHEMA_PREAMBLE)
    assert body == (
        "\n\n-- TABLE: t\n\nCREATE TABLE public.t (\n    id bigint\n);\n\n\n"
        "-- FUNCTION: f()\n\nCREATE FUNCTION public.f() RETURNS void\n    LANGUAGE sql\n"
        "    SET search_path TO 'public'\n    AS $$ SELECT 1 $$;\n"
    )
