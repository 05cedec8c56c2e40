"""checkov scans the Terraform module and its example, the rendered overlays, the Dockerfile and
(for secrets) compose/ in one run, and fails exactly the checks .checkov.yaml skips, each with
its reason: a new failure, or a skip that no longer fails anything, fails the suite."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import (
    CHECKOV,
    CHECKOV_CONFIG,
    COMPOSE_FILE,
    OBSERVABILITY,
    OVERLAYS,
    ROOT,
    TERRAFORM,
    run,
    uv_tool,
)
from .test_auth import committed_files

# One checkov run takes about 25 s of CPU (more on a busy machine), its first install 20 s more.
pytestmark = pytest.mark.timeout(600)

FRAMEWORKS = ["terraform", "kubernetes", "dockerfile", "secrets"]
# A planted credential: checkov reports no secrets framework at all when it finds nothing, so
# this finding is what shows that the secrets scan ran over the tree. (It reads YAML, JSON, HCL
# and Dockerfiles, not .env files.)
CANARY = "canary.yaml"
CANARY_TEXT = "database_url: postgresql://canary:Zx9qT4vLm2Pw8rKjW3@db.example:5432/canary\n"


@pytest.fixture(scope="module")
def report(
    tmp_path_factory: pytest.TempPathFactory, rendered: dict[str, list[dict]], prod_tfvars: Path
) -> dict[str, dict]:
    """checkov's JSON report by framework, from one run over a tree of what is deployed: the
    Terraform files as committed, each overlay as kustomize renders it (its Secrets, generated
    from the test's throwaway files, left out), the Dockerfile, compose/ and observability/."""
    scan = tmp_path_factory.mktemp("checkov") / "scan"
    shutil.copytree(TERRAFORM, scan / "terraform")
    (scan / "rendered").mkdir()
    for overlay in OVERLAYS:
        docs = [d for d in rendered[overlay] if d["kind"] != "Secret"]
        (scan / "rendered" / f"{overlay}.yaml").write_text(yaml.safe_dump_all(docs))
    shutil.copy(ROOT / "Dockerfile", scan / "Dockerfile")
    (scan / "compose").mkdir()
    shutil.copy(COMPOSE_FILE, scan / "compose" / COMPOSE_FILE.name)
    shutil.copytree(OBSERVABILITY, scan / "observability")
    (scan / CANARY).write_text(CANARY_TEXT)
    out = scan.parent / "out"
    # Run outside the repository, so that checkov does not pick up .checkov.yaml's skips.
    result = run(
        uv_tool(
            CHECKOV,
            "checkov",
            "--directory",
            str(scan),
            "--framework",
            *FRAMEWORKS,
            "--var-file",
            str(prod_tfvars),
            "--skip-download",
            "--output",
            "json",
            "--output-file-path",
            str(out),
        ),
        cwd=scan.parent,
        timeout=540,
    )
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-4000:]
    reports = json.loads((out / "results_json.json").read_text())
    reports = reports if isinstance(reports, list) else [reports]
    return {r["check_type"]: r for r in reports}


def skipped() -> list[str]:
    return yaml.safe_load(CHECKOV_CONFIG.read_text())["skip-check"]


def failures(report: dict[str, dict]) -> list[dict]:
    return [
        f
        for r in report.values()
        for f in r["results"]["failed_checks"]
        if f["file_path"] != f"/{CANARY}"
    ]


def test_the_secrets_scan_finds_a_planted_credential(report: dict[str, dict]) -> None:
    (found,) = [f for f in report["secrets"]["results"]["failed_checks"]]
    assert found["file_path"] == f"/{CANARY}" and found["check_id"].startswith("CKV_SECRET_")


def test_checkov_fails_nothing_but_the_skipped_checks(report: dict[str, dict]) -> None:
    unexpected = [
        f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']}:{f['file_line_range']})"
        for f in failures(report)
        if f["check_id"] not in skipped()
    ]
    assert not unexpected, "fix these, or skip them in .checkov.yaml with a reason:\n" + "\n".join(
        unexpected
    )


def test_every_skipped_check_still_fails_somewhere(report: dict[str, dict]) -> None:
    """A skip that hides nothing any more goes, so the list stays the list of real exceptions."""
    failed = {f["check_id"] for f in failures(report)}
    stale = [check for check in skipped() if check not in failed]
    assert not stale, f"remove from .checkov.yaml, nothing fails them: {stale}"


def test_checkov_read_every_part_of_the_deployment(report: dict[str, dict]) -> None:
    for framework in ("terraform", "kubernetes", "dockerfile"):
        assert report[framework]["summary"]["resource_count"] > 0, framework
    for framework, r in report.items():
        assert r["summary"]["parsing_errors"] == 0, (framework, r["results"]["parsing_errors"])
        assert r["summary"]["checkov_version"] == CHECKOV.split("==")[1]
    checked = {
        f["resource"]
        for r in report.values()
        for f in r["results"]["passed_checks"] + r["results"]["failed_checks"]
    }
    for resource in (
        "kubernetes_deployment_v1.worker",  # the module, with the prod inputs
        "aws_db_instance.vigil",  # the RDS example
        "Deployment.vigil.vigil-worker",  # overlays/prod
        "Deployment.vigil-dev.vigil-worker",  # overlays/dev
        "StatefulSet.vigil-dev.vigil-postgres",
    ):
        assert any(c.endswith(resource) for c in checked), f"checkov did not check {resource}"


def test_every_skip_has_its_reason_in_the_one_place() -> None:
    """Each skipped check sits under a comment saying why, and no file skips a check inline
    (`checkov:skip=`), so .checkov.yaml is the whole list."""
    lines = CHECKOV_CONFIG.read_text().splitlines()
    entries = [i for i, line in enumerate(lines) if re.match(r"^\s+- CKV", line)]
    assert len(entries) == len(skipped()) > 0
    for i in entries:
        reason = []
        for line in reversed(lines[:i]):
            if not line.strip().startswith("#"):
                break
            reason.append(line)
        assert len(" ".join(reason)) > 60, f"{lines[i].strip()} has no reason above it"
    inline = [f for f in committed_files() if "checkov:skip" in f.read_text(errors="replace")]
    assert not inline, inline
