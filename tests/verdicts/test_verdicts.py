"""Vigil and blackbox_exporter judge the same loopback servers: one verdict, or a documented difference."""

from __future__ import annotations

import datetime as dt
import time

import msgspec
import pytest

from vigil_api.targets.schemas import TargetCreate
from vigil_api.targets.service import to_row
from vigil_core.text import storable
from vigil_worker.checks import CheckContext, ClaimedTarget, Outcome, run_check

from .cases import CASES, ERROR_CLASSES, Case
from .conftest import Blackbox
from .servers import Loopback


def stored_settings(case: Case, address: str) -> dict:
    """The settings the API stores for this target, defaults included, as the worker reads them.

    Going through the API's own schema also proves that every case is a target a user can create.
    """
    if case.kind != "http":
        return {}
    spec = {
        "kind": "http",
        "name": case.id,
        "url": address,
        "timeout_s": case.timeout_s,
        **case.settings,
    }
    return to_row(msgspec.convert(spec, TargetCreate))["settings"]


def claimed(case: Case, address: str) -> ClaimedTarget:
    """The target as the worker claims it from the row the API wrote."""
    now = dt.datetime.now(dt.UTC)
    return ClaimedTarget.from_row(
        {
            "id": 1,
            "name": case.id,
            "kind": case.kind,
            "address": address,
            "interval_s": 60,
            "timeout_s": case.timeout_s,
            "settings": stored_settings(case, address),
            "anchor_at": now,
            "due_at": now,
        }
    )


def describe(outcome: Outcome) -> str:
    return (
        f"ok={outcome.ok} error_class={outcome.error_class} status={outcome.status_code} "
        f"message={outcome.error_message!r}"
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_verdict(
    case: Case, loopback: Loopback, vigil: CheckContext, blackbox: Blackbox
) -> None:
    address = case.address.format_map(loopback.urls)
    if case.prime:
        await run_check(claimed(case, case.prime.format_map(loopback.urls)), vigil)

    loopback.hits.clear()
    started = time.perf_counter()
    outcome = await run_check(claimed(case, address), vigil)
    elapsed = time.perf_counter() - started
    vigil_hits = list(loopback.hits)
    loopback.hits.clear()
    success = await blackbox.probe(case.id, address)

    if case.differs:
        print(
            f"{case.id}: Vigil ok={outcome.ok}, blackbox probe_success={int(success)}, "
            f"different on purpose: {case.differs}"
        )
    # Both sides are judged before failing, so one report shows a Vigil and a table mistake.
    wrong = []
    if (outcome.ok, outcome.error_class) != (case.ok, case.error_class):
        wrong.append(f"Vigil: expected ok={case.ok} error_class={case.error_class}")
    if case.status is not None and outcome.status_code != case.status:
        wrong.append(f"Vigil: expected status {case.status}")
    if case.hits is not None and len(vigil_hits) != case.hits:
        wrong.append(
            f"Vigil: expected {case.hits} requests, made {len(vigil_hits)}: "
            f"{vigil_hits[:12]}{' ...' if len(vigil_hits) > 12 else ''}"
        )
    if elapsed >= case.timeout_s + 1.0:
        wrong.append(f"Vigil: the deadline did not hold ({elapsed:.2f}s)")
    if (
        outcome.error_message is not None
        and storable(outcome.error_message) != outcome.error_message
    ):
        wrong.append("Vigil: the error message is not storable")
    expected = case.ok != bool(case.differs)
    if success != expected:
        why = "a documented difference" if case.differs else "the same verdict"
        wrong.append(
            f"blackbox_exporter: probe_success={int(success)}, the table expects "
            f"{int(expected)} ({why})\n{await blackbox.debug(case.id, address)}"
        )
    if wrong:
        pytest.fail(f"{describe(outcome)}\n" + "\n".join(wrong), pytrace=False)


def test_table_is_consistent() -> None:
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    for c in CASES:
        assert (c.error_class is None) == c.ok, c.id
        assert c.error_class is None or c.error_class in ERROR_CLASSES, (c.id, c.error_class)
        assert c.differs is None or c.differs.strip(), c.id
        assert c.source, f"{c.id}: say which blackbox test or issue line it re-creates"
