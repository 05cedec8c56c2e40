"""The Terraform module (terraform/) parses, and declares the very objects of the kustomize prod
overlay: no Terraform binary or provider can be installed here, so these tests and checkov
(test_checkov.py) are what checks it, not `terraform validate`."""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from .conftest import (
    KUSTOMIZE,
    PYTHON_HCL2,
    ROOT,
    TERRAFORM,
    prod_inputs,
    run,
    tool,
    uv_tool,
    write_tfvars,
)
from .pod_security import restricted_violations
from .terraform_objects import evaluate, normal_form, to_objects

TF_FILES = sorted(p.relative_to(TERRAFORM) for p in TERRAFORM.rglob("*.tf"))


def unquote(value):
    """python-hcl2 keeps a literal string's quotes (and writes expressions as ${...})."""
    if isinstance(value, str) and value.startswith('"'):
        return json.loads(value)
    return value


def labelled(blocks: list[dict]) -> dict[str, dict]:
    """`variable "x" {...}` blocks by their label."""
    return {unquote(label): body for block in blocks for label, body in block.items()}


def resources(doc: dict, resource_type: str) -> dict[str, dict]:
    """`resource "TYPE" "name" {...}` blocks of one type by name."""
    return {
        unquote(name): body
        for block in doc.get("resource", [])
        for type_, by_name in block.items()
        if unquote(type_) == resource_type
        for name, body in by_name.items()
        if name != "__is_block__"
    }


@pytest.fixture(scope="module")
def hcl(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, dict]:
    """Every .tf file under terraform/ as python-hcl2 reads it, by path."""
    out = tmp_path_factory.mktemp("hcl")
    result = run(uv_tool(PYTHON_HCL2, "hcl2tojson", "-q", str(TERRAFORM), "-o", str(out)))
    assert result.returncode == 0, result.stderr
    return {
        p.relative_to(out).with_suffix(".tf"): json.loads(p.read_text())
        for p in out.rglob("*.json")
    }


def merged(hcl: dict[Path, dict], directory: Path, block: str) -> list[dict]:
    return [b for path, doc in hcl.items() if path.parent == directory for b in doc.get(block, [])]


def test_every_file_parses_with_python_hcl2(hcl: dict[Path, dict]) -> None:
    assert len(TF_FILES) >= 10
    assert sorted(hcl) == TF_FILES


def test_a_syntax_error_fails_the_parse(tmp_path: Path) -> None:
    """The parse above would catch a broken file: python-hcl2 exits non-zero on one."""
    (tmp_path / "broken.tf").write_text('resource "kubernetes_namespace_v1" "x" {\n  metadata {\n')
    result = run(uv_tool(PYTHON_HCL2, "hcl2tojson", "-q", str(tmp_path), "-o", str(tmp_path)))
    assert result.returncode != 0


def test_terraform_fmt_is_clean_when_terraform_is_present() -> None:
    """Where a terraform binary happens to exist (CI cannot install one), its own parser and
    formatter check the files too; `fmt` needs no providers, unlike `validate`."""
    result = run(
        [tool("terraform"), "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        env={"TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def prod_module(prod_tfvars: Path) -> list[dict]:
    return to_objects(evaluate(TERRAFORM, prod_tfvars))


def differences(ours: dict, theirs: dict, our_name: str, their_name: str) -> list[str]:
    out = []
    for key in sorted(ours.keys() | theirs.keys()):
        if key not in theirs:
            out.append(f"{key} only in {our_name}")
        elif key not in ours:
            out.append(f"{key} only in {their_name}")
        elif ours[key] != theirs[key]:
            diff = difflib.unified_diff(
                yaml.safe_dump(theirs[key]).splitlines(),
                yaml.safe_dump(ours[key]).splitlines(),
                their_name,
                our_name,
                lineterm="",
            )
            out.append(f"{key} differs:\n" + "\n".join(diff))
    return out


def test_the_module_declares_the_objects_of_the_prod_overlay(
    prod_module: list[dict], rendered: dict[str, list[dict]]
) -> None:
    """Kinds, names, labels, images, commands, env, ports, probes, resources, security contexts,
    volumes, HPA, PDBs and NetworkPolicies: all equal, field by field. Secrets differ on purpose
    (the next test): prod leaves them to the user, the module makes them from its inputs."""
    module = normal_form(
        [o for o in prod_module if o["kind"] != "Secret"], hashed_kinds={"ConfigMap"}
    )
    overlay = normal_form(rendered["prod"], hashed_kinds={"ConfigMap", "Secret"})
    assert not [k for k in overlay if k[0] == "Secret"]
    assert ("Deployment", "vigil-worker") in module and (
        "NetworkPolicy",
        "vigil-default-deny",
    ) in module
    drift = differences(module, overlay, "terraform", "kustomize/overlays/prod")
    assert not drift, "\n\n".join(drift)


def secret_refs(objects: list[dict]) -> set[tuple[str, str]]:
    """(Secret, key) pairs the workloads need: required secretKeyRefs and secret volumes' items."""
    refs = set()
    for w in objects:
        if w["kind"] not in {"Deployment", "StatefulSet", "Job"}:
            continue
        pod = w["spec"]["template"]["spec"]
        for c in pod["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    refs.add((ref["name"], ref["key"]))
        for v in pod.get("volumes", []):
            if "secret" in v:
                refs |= {(v["secret"]["secretName"], i["key"]) for i in v["secret"]["items"]}
    return refs


def test_the_module_makes_the_secrets_the_prod_overlay_leaves_to_the_user(
    prod_module: list[dict], rendered: dict[str, list[dict]], hcl: dict[Path, dict]
) -> None:
    """The same (Secret, key) pairs the prod workloads need; the URL is the input, the server
    secret is generated."""
    made = {
        (s["metadata"]["name"], key): value
        for s in prod_module
        if s["kind"] == "Secret"
        for key, value in s["data"].items()
    }
    assert made.keys() == secret_refs(rendered["prod"]) == secret_refs(prod_module)
    assert (
        made["vigil-database", "VIGIL_DATABASE_URL"]
        == prod_inputs(rendered["prod"])["database_url"]
    )
    data = resources(hcl[Path("config.tf")], "kubernetes_secret_v1")["secret_key"]["data"]
    assert data == {"VIGIL_SECRET_KEY": "${random_password.secret_key.result}"}


@pytest.fixture(scope="module")
def trial_module(
    tmp_path_factory: pytest.TempPathFactory, rendered: dict[str, list[dict]]
) -> list[dict]:
    """The module with its in-cluster PostgreSQL, in the dev overlay's namespace and volume size."""
    inputs = {
        **prod_inputs(rendered["prod"]),
        "database_url": None,
        "create_database": True,
        "namespace": "vigil-dev",
        "postgres_storage": "1Gi",
    }
    tfvars = write_tfvars(tmp_path_factory.mktemp("trial") / "trial.tfvars", inputs)
    return to_objects(evaluate(TERRAFORM, tfvars))


def test_the_trial_database_is_the_dev_overlays_postgres(
    trial_module: list[dict], rendered: dict[str, list[dict]]
) -> None:
    """create_database = true runs the PostgreSQL of kustomize/components/postgres: same
    StatefulSet, Service and NetworkPolicy."""
    module = normal_form(
        [o for o in trial_module if o["kind"] != "Secret"], hashed_kinds={"ConfigMap"}
    )
    dev = normal_form(rendered["dev"], hashed_kinds={"ConfigMap", "Secret"})
    keys = [(kind, "vigil-postgres") for kind in ("StatefulSet", "Service", "NetworkPolicy")]
    drift = differences(
        {k: module.get(k) for k in keys if k in module},
        {k: dev[k] for k in keys},
        "terraform (create_database)",
        "kustomize/overlays/dev",
    )
    assert not drift, "\n\n".join(drift)


def test_the_trial_database_url_carries_the_generated_password(trial_module: list[dict]) -> None:
    secrets = {s["metadata"]["name"]: s["data"] for s in trial_module if s["kind"] == "Secret"}
    password = secrets["vigil-postgres"]["POSTGRES_PASSWORD"]
    assert secrets["vigil-database"]["VIGIL_DATABASE_URL"] == (
        f"postgresql://vigil:{password}@vigil-postgres:5432/vigil"
    )


@pytest.mark.parametrize("variant", ["prod", "trial"])
def test_every_pod_of_the_module_meets_the_restricted_standard(
    variant: str, prod_module: list[dict], trial_module: list[dict]
) -> None:
    objects = {"prod": prod_module, "trial": trial_module}[variant]
    (namespace,) = [o for o in objects if o["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in {"Deployment", "StatefulSet", "Job"}
    }
    assert len(pods) == (3 if variant == "prod" else 4)
    for name, pod in pods.items():
        assert not restricted_violations(pod), f"{name}: {restricted_violations(pod)}"


def dynamic_content(block: dict, name: str) -> list[dict]:
    return [
        {k: unquote(v) for k, v in body["content"][0].items() if k != "__is_block__"}
        for entry in block.get("dynamic", [])
        for label, body in entry.items()
        if unquote(label) == name
    ]


def test_the_initial_admin_password_file_is_mounted_as_the_component_does(
    hcl: dict[Path, dict],
) -> None:
    """The module's optional blocks (dynamic, which tfparse leaves out) against
    kustomize/components/initial-admin's patch."""
    component = yaml.safe_load(
        (KUSTOMIZE / "components/initial-admin/kustomization.yaml").read_text()
    )
    patch = yaml.safe_load(component["patches"][0]["patch"])["spec"]["template"]["spec"]
    (container,) = patch["containers"]
    (env,) = container["env"]
    (mount,) = container["volumeMounts"]
    (volume,) = patch["volumes"]

    api = resources(hcl[Path("api.tf")], "kubernetes_deployment_v1")
    pod = api["api"]["spec"][0]["template"][0]["spec"][0]
    (tf_env,) = dynamic_content(pod["container"][0], "env")
    (tf_mount,) = dynamic_content(pod["container"][0], "volume_mount")
    (tf_volume,) = dynamic_content(pod, "volume")
    assert tf_env == {"name": env["name"], "value": env["value"]}
    assert tf_mount == {
        "name": mount["name"],
        "mount_path": mount["mountPath"],
        "read_only": mount["readOnly"],
    }
    (secret,) = tf_volume["secret"]
    assert tf_volume["name"] == volume["name"]
    assert unquote(secret["secret_name"]) == volume["secret"]["secretName"]
    assert [{"key": unquote(i["key"]), "path": unquote(i["path"])} for i in secret["items"]] == (
        volume["secret"]["items"]
    )
    # The Secret the module makes from var.initial_admin_password_file has that name and key.
    made = resources(hcl[Path("config.tf")], "kubernetes_secret_v1")
    initial = made["initial_admin"]
    assert unquote(initial["metadata"][0]["name"]) == volume["secret"]["secretName"]
    assert "password" in initial["data"]


def test_every_variable_and_output_is_typed_described_and_documented(
    hcl: dict[Path, dict],
) -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for directory in (Path("."), Path("examples/rds")):
        variables = labelled(merged(hcl, directory, "variable"))
        assert variables
        for name, body in variables.items():
            assert unquote(body.get("description", "")), f"{directory}: variable {name}"
            assert "type" in body, f"{directory}: variable {name} has no type"
            if directory == Path("."):
                assert f"`{name}`" in guide, f"docs/deploy.md does not describe variable {name}"
        for name, body in labelled(merged(hcl, directory, "output")).items():
            assert unquote(body.get("description", "")), f"{directory}: output {name}"
    secrets = labelled(merged(hcl, Path("."), "variable"))
    assert secrets["database_url"]["sensitive"] is True


def test_the_rds_example_passes_only_declared_inputs_to_the_module(hcl: dict[Path, dict]) -> None:
    """What `terraform validate` would say of the example's module call: every argument is a
    variable of the module, every variable without a default is given, and the database URL
    comes from the RDS instance."""
    (call,) = labelled(merged(hcl, Path("examples/rds"), "module")).values()
    assert unquote(call["source"]) == "../.."
    variables = labelled(merged(hcl, Path("."), "variable"))
    arguments = {k for k in call if k not in {"source", "__is_block__"}}
    assert arguments <= variables.keys(), arguments - variables.keys()
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= arguments, f"the example does not set {required - arguments}"
    assert re.search(r"aws_db_instance\.\w+\.address", call["database_url"])
    assert "sslmode=require" in call["database_url"]


def test_the_module_has_no_unknown_provider(hcl: dict[Path, dict]) -> None:
    """Each directory pins every provider its resources use (what `terraform init` installs)."""
    for directory in (Path("."), Path("examples/rds")):
        (settings,) = merged(hcl, directory, "terraform")
        pinned = {unquote(k) for k in settings["required_providers"][0]}
        used = {
            unquote(t).split("_")[0]
            for block in merged(hcl, directory, "resource") + merged(hcl, directory, "data")
            for t in block
        }
        assert used <= pinned, f"{directory}: {used - pinned} not in required_providers"
        for name, spec in settings["required_providers"][0].items():
            if name != "__is_block__":
                assert re.fullmatch(r"~> \d+\.\d+", unquote(spec["version"])), (directory, name)


def test_the_generated_server_secret_is_long_and_plain(hcl: dict[Path, dict]) -> None:
    """Settings wants 32 characters or more; alphanumeric, it needs no quoting anywhere."""
    generated = resources(hcl[Path("config.tf")], "random_password")
    assert generated["secret_key"]["length"] >= 32
    assert generated["secret_key"]["special"] is False
