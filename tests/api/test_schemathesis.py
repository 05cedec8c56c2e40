"""Property-based tests of the whole API from its own OpenAPI document (schemathesis 4).

Every operation gets generated valid and invalid input (derandomized, so runs repeat).
No answer may be a 5xx, and every answer must match the documented status codes, content
types and schemas. The stateful run follows the document's links (create a target, then
read, patch, pause, delete it). The app runs in this process, behind uvicorn on a loopback
port in a thread of its own, so its database pool lives in one event loop for the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from ..support import bearer, free_port
from .conftest import TRUNCATE, make_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# /api/v1/events is an endless stream (tested in test_events.py); /schema* is the document itself.
# Revoking a token by a generated id could revoke the fuzzer's own (tested in test_tokens_api.py).
EXCLUDED_PATHS = ["/api/v1/events"]
EXCLUDED_OPERATIONS = ["revokeToken"]
MAX_EXAMPLES = 8


@pytest.fixture(scope="module")
def server_url(module_db_url: str) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            make_app(module_db_url), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="schemathesis-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


@pytest.fixture(scope="module")
def auth_headers(module_tokens: dict[str, str]) -> dict[str, str]:
    """Every generated request carries an admin token: the fuzzer reaches every operation."""
    return bearer(module_tokens["admin"])


@pytest.fixture(scope="module")
def api_schema(server_url: str, auth_headers: dict[str, str]):
    schema = schemathesis.openapi.from_url(
        f"{server_url}/schema/openapi.json", headers=auth_headers
    )
    return schema.exclude(path=EXCLUDED_PATHS).exclude(operation_id=EXCLUDED_OPERATIONS)


@pytest.fixture
def clean(module_db_url: str) -> None:
    with psycopg.connect(module_db_url, autocommit=True) as conn:
        conn.execute(TRUNCATE)


def _operations(api_schema) -> list:
    return [result.ok() for result in api_schema.get_all_operations()]


# Not @schema.parametrize with a lazy fixture schema: schemathesis' lazy loader reads a pytest
# internal that pytest 9.2 removed. One test per mode walks every operation instead.
@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
def test_no_server_errors_and_responses_match_the_schema(
    api_schema, auth_headers, clean, mode
) -> None:
    operations = _operations(api_schema)
    assert len(operations) >= 19  # every documented operation but the event stream
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def run(case) -> None:
            case.call_and_validate(checks=CHECKS, headers=auth_headers)

        try:
            run()
        except Unsatisfiable:
            # an operation without any input has no invalid input to generate
            assert mode is GenerationMode.NEGATIVE, operation.path
        except Exception as exc:
            exc.add_note(f"operation: {operation.method.upper()} {operation.path}")
            raise


def test_stateful_sequences(api_schema, auth_headers, module_db_url: str) -> None:
    seen: set[tuple[str, str, int]] = set()

    class Machine(api_schema.as_state_machine()):
        def setup(self) -> None:
            with psycopg.connect(module_db_url, autocommit=True) as conn:
                conn.execute(TRUNCATE)

        def get_call_kwargs(self, case) -> dict:
            return {"headers": auth_headers}

        def validate_response(self, response, case, **kwargs) -> None:
            seen.add((case.method, case.path, response.status_code))
            case.validate_response(response, checks=[*CHECKS, use_after_free])

    Machine.run(
        settings=settings(
            # Most generated target bodies are rightly refused (integral floats for integers,
            # control characters in names), so a run needs this many to create some targets
            # and follow their links; fewer made the assertion below depend on luck.
            max_examples=200,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # the links were followed: a created target was then read or changed through its id
    followed = {(m, p) for m, p, status in seen if "{target_id}" in p and status < 300}
    assert followed, sorted(seen)
