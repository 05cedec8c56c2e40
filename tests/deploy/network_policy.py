"""NetworkPolicy semantics, evaluated offline the way the API's model defines them: a pod is
isolated in a direction once any policy of that type selects it, and then only what some rule of
those policies allows gets through. Pods are matched by their labels and their namespace's labels;
addresses outside the cluster by ipBlock. Like Cilium (and unlike Calico), an ipBlock never
matches a pod here, so a rule meant for pods must select them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str]
    namespace_labels: dict[str, str] = field(default_factory=dict)

    def ns_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


def selects(selector: dict, labels: dict) -> bool:
    """A label selector; the empty selector selects everything."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    ops = {
        "In": lambda v, vs: v in vs,
        "NotIn": lambda v, vs: v not in vs,
        "Exists": lambda v, vs: v is not None,
        "DoesNotExist": lambda v, vs: v is None,
    }
    return all(
        ops[e["operator"]](labels.get(e["key"]), e.get("values", []))
        for e in selector.get("matchExpressions", [])
    )


def _policies(docs: list[dict], pod: Pod, direction: str) -> list[dict]:
    return [
        p
        for p in docs
        if p["kind"] == "NetworkPolicy"
        and p["metadata"]["namespace"] == pod.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"]["podSelector"], pod.labels)
    ]


def _port_allowed(rule: dict, port: int, protocol: str) -> bool:
    return not rule.get("ports") or any(
        int(p["port"]) == port and p.get("protocol", "TCP") == protocol for p in rule["ports"]
    )


def _peer_matches(peer: dict, policy_ns: str, other: Pod | str) -> bool:
    if isinstance(other, str):  # an address outside the cluster
        if "ipBlock" not in peer:
            return False
        address = ipaddress.ip_address(other)
        block = ipaddress.ip_network(peer["ipBlock"]["cidr"])
        excepted = [ipaddress.ip_network(e) for e in peer["ipBlock"].get("except", [])]
        return (
            address.version == block.version
            and address in block
            and not any(address.version == e.version and address in e for e in excepted)
        )
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        ns_ok = selects(peer["namespaceSelector"], other.ns_labels())
    else:  # a bare podSelector means pods of the policy's own namespace
        ns_ok = other.namespace == policy_ns
    return ns_ok and selects(peer.get("podSelector", {}), other.labels)


def _allowed(
    docs: list[dict], pod: Pod, direction: str, other: Pod | str, port: int, protocol: str
) -> bool:
    policies = _policies(docs, pod, direction)
    if not policies:
        return True
    peers_key, rules_key = ("from", "ingress") if direction == "Ingress" else ("to", "egress")
    return any(
        _port_allowed(rule, port, protocol)
        and (
            not rule.get(peers_key)
            or any(_peer_matches(peer, pod.namespace, other) for peer in rule[peers_key])
        )
        for p in policies
        for rule in p["spec"].get(rules_key, [])
    )


def connects(
    docs: list[dict], source: Pod, destination: Pod | str, port: int, protocol: str = "TCP"
) -> bool:
    """Whether `source` may open a connection to `destination` (a pod, or an address outside the
    cluster) on `port`: the source's egress and, for a pod, the destination's ingress allow it."""
    if not _allowed(docs, source, "Egress", destination, port, protocol):
        return False
    if isinstance(destination, str):
        return True
    return _allowed(docs, destination, "Ingress", source, port, protocol)
