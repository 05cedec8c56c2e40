"""The Terraform module read as the Kubernetes objects it would apply, and both sides (module and
kustomize overlay) put into one comparable normal form.

No Terraform binary or provider can be installed here, so `tfparse` (HashiCorp's HCL library
with the expression evaluator of Aqua's defsec) evaluates the module: variables and their
defaults, locals, `count`, functions and references. It leaves out `dynamic` blocks, so the
module keeps them for inputs the compared configuration leaves off (test_terraform checks those
blocks against kustomize/components/initial-admin separately). `to_objects` then renames the
provider's schema into the Kubernetes API's: snake_case becomes camelCase, and repeated blocks
named in the singular (`container`, `port`, `volume_mount`) become the list fields they fill.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .conftest import TFPARSE, run, uv_tool

# The kubernetes_* resources the module uses, as the objects the provider creates.
KINDS = {
    "kubernetes_namespace_v1": ("v1", "Namespace"),
    "kubernetes_config_map_v1": ("v1", "ConfigMap"),
    "kubernetes_secret_v1": ("v1", "Secret"),
    "kubernetes_service_v1": ("v1", "Service"),
    "kubernetes_deployment_v1": ("apps/v1", "Deployment"),
    "kubernetes_stateful_set_v1": ("apps/v1", "StatefulSet"),
    "kubernetes_job_v1": ("batch/v1", "Job"),
    "kubernetes_horizontal_pod_autoscaler_v2": ("autoscaling/v2", "HorizontalPodAutoscaler"),
    "kubernetes_pod_disruption_budget_v1": ("policy/v1", "PodDisruptionBudget"),
    "kubernetes_network_policy_v1": ("networking.k8s.io/v1", "NetworkPolicy"),
}
# Arguments that steer Terraform (or the provider's waiting) and are no part of the object.
TERRAFORM_ONLY = {
    "__tfmeta",
    "id",
    "count",
    "for_each",
    "depends_on",
    "lifecycle",
    "provider",
    "timeouts",
    "wait_for_rollout",
    "wait_for_completion",
    "wait_for_default_service_account",
}
# The provider names a repeated block in the singular; the API field is the plural list.
BLOCKS = {
    "container": "containers",
    "init_container": "initContainers",
    "port": "ports",
    "volume": "volumes",
    "volume_mount": "volumeMounts",
    "sysctl": "sysctls",
    "metric": "metrics",
    "toleration": "tolerations",
    "volume_claim_template": "volumeClaimTemplates",
}
# Attributes whose API name is not plain camelCase.
ATTRIBUTES = {"cluster_ip": "clusterIP"}
# Those plurals are not the provider's names: a block spelled so would be rejected by it
# (NetworkPolicy rules do say `ports`).
NOT_PROVIDER_NAMES = {re.sub(r"(?<!^)(?=[A-Z])", "_", v).lower() for v in BLOCKS.values()} - {
    "ports"
}
# API fields that hold lists; tfparse gives a single block as an object.
LISTS = {
    "containers",
    "initContainers",
    "ports",
    "volumes",
    "volumeMounts",
    "env",
    "envFrom",
    "sysctls",
    "metrics",
    "tolerations",
    "volumeClaimTemplates",
    "items",
    "ingress",
    "egress",
    "from",
    "to",
    "matchExpressions",
}
# Attributes whose keys are data (label names, setting names), never renamed.
MAPS = {"labels", "annotations", "matchLabels", "data", "requests", "limits", "nodeSelector"}
# A name kustomize's generators (and the module, for ConfigMaps) end with a content hash.
HASHED = re.compile(r"^(?P<base>.+)-[a-z0-9]{10}$")

DUMP = (
    "import json, sys, tfparse; "
    "print(json.dumps(tfparse.load_from_path(sys.argv[1], vars_paths=[sys.argv[2]]), default=str))"
)


def evaluate(module: Path, tfvars: Path) -> dict[str, list[dict]]:
    """tfparse's evaluation of `module` with the variables in `tfvars`: resources by type."""
    # tfparse resolves the variables file against the module's directory.
    result = run(
        uv_tool(TFPARSE, "python", "-c", DUMP, str(module), os.path.relpath(tfvars, module))
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def camel(name: str, *, block: bool) -> str:
    assert name == name.lower(), f"{name}: the provider's names are snake_case"
    assert name not in NOT_PROVIDER_NAMES, f"{name}: the provider calls this block in the singular"
    renamed = BLOCKS.get(name) if block else ATTRIBUTES.get(name)
    if renamed:
        return renamed
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _resolve(ref: dict, index: dict[str, dict]) -> Any:
    """A reference tfparse left unevaluated (another resource's attribute): followed into that
    resource when the module declares it, else a placeholder naming it (random_password)."""
    parts = ref["__attribute__"].split(".")
    address = ".".join(parts[:2])
    if address not in index:
        return f"<{ref['__attribute__']}>"
    node: Any = index[address]
    for part in parts[2:]:
        if part.startswith("["):
            i = int(part.strip("[]"))
            node = node[i] if isinstance(node, list) else node  # one block: [0] is itself
        else:
            node = node[part]
    return node


def _convert(value: Any, index: dict[str, dict], *, key: str = "", kind: str = "") -> Any:
    if isinstance(value, dict) and "__attribute__" in value:
        return _resolve(value, index)
    if isinstance(value, dict):
        if key in MAPS or (kind == "Service" and key == "selector"):
            return {k: _convert(v, index) for k, v in value.items() if k != "__tfmeta"}
        out = {}
        for k, v in value.items():
            if k in TERRAFORM_ONLY:
                continue
            is_block = isinstance(v, dict) or (
                bool(v) and isinstance(v, list) and isinstance(v[0], dict)
            )
            field = camel(k, block=is_block)
            converted = _convert(v, index, key=field, kind=kind)
            if field in LISTS and not isinstance(converted, list):
                converted = [converted]
            out[field] = converted
        return out
    if isinstance(value, list):
        return [_convert(v, index, key=key, kind=kind) for v in value]
    return value


def to_objects(evaluated: dict[str, list[dict]]) -> list[dict]:
    """Every kubernetes_* resource of an evaluated module as the Kubernetes object it applies."""
    index = {
        r["__tfmeta"]["path"].split("[")[0]: r
        for resources in evaluated.values()
        for r in resources
        if isinstance(r, dict) and "__tfmeta" in r
    }
    objects = []
    for resource_type, resources in evaluated.items():
        if not resource_type.startswith("kubernetes_"):
            continue
        assert resource_type in KINDS, f"{resource_type}: not modelled in terraform_objects.KINDS"
        api_version, kind = KINDS[resource_type]
        for resource in resources:
            objects.append(
                {"apiVersion": api_version, "kind": kind, **_convert(resource, index, kind=kind)}
            )
    return objects


def _scalar(value: Any) -> Any:
    # The provider takes numbers as strings in places (run_as_user, min_available, ports).
    if isinstance(value, bool) or value is None:
        return value
    return str(value)


def _walk(value: Any, rename: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, rename) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, rename) for v in value]
    if isinstance(value, str):
        return rename.get(value, value)
    return _scalar(value)


def normal_form(objects: list[dict], *, hashed_kinds: set[str]) -> dict[tuple[str, str], dict]:
    """Objects by (kind, name), with generated names' hash suffixes dropped (in the objects of
    `hashed_kinds`, which must carry one, and wherever they are referenced) and scalars as text."""
    rename = {}
    for obj in objects:
        if obj["kind"] in hashed_kinds:
            name = obj["metadata"]["name"]
            match = HASHED.match(name)
            assert match, (
                f"{obj['kind']} {name} has no content hash: changing it would not roll pods"
            )
            rename[name] = match["base"]
    out = {}
    for obj in objects:
        normal = _walk(obj, rename)
        key = (normal["kind"], normal["metadata"]["name"])
        assert key not in out, f"two {key}"
        out[key] = normal
    return out
