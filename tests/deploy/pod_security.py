"""The "restricted" Pod Security Standard, as the API server's Pod Security Admission checks it,
for pod templates rendered offline (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
"""

from __future__ import annotations

# Baseline's "safe" sysctls, which restricted keeps (Kubernetes 1.32).
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


def _effective(pod_sc: dict, sc: dict, field: str):
    return sc.get(field, pod_sc.get(field))


def restricted_violations(pod: dict) -> list[str]:
    """What in a pod spec the restricted standard forbids; empty when the pod is admitted."""
    found = [f"{h}: true" for h in HOST_NAMESPACES if pod.get(h)]
    pod_sc = pod.get("securityContext", {})
    for sysctl in pod_sc.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            found.append(f"sysctl {sysctl['name']} is not a safe sysctl")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"} or {"emptyDir"}  # the provider omits an empty emptyDir
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume {volume['name']} is {sorted(kinds)}")
    for c in pod.get("initContainers", []) + pod["containers"]:
        sc = c.get("securityContext", {})
        where = f"container {c['name']}"
        if sc.get("privileged"):
            found.append(f"{where}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation is not false")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            found.append(f"{where}: does not drop ALL capabilities")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{where}: adds {caps['add']}")
        if _effective(pod_sc, sc, "runAsNonRoot") is not True:
            found.append(f"{where}: runAsNonRoot is not true")
        if str(_effective(pod_sc, sc, "runAsUser")) == "0":
            found.append(f"{where}: runs as uid 0")
        seccomp = _effective(pod_sc, sc, "seccompProfile") or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{where}: seccomp profile {seccomp.get('type')}")
        if any(p.get("hostPort") for p in c.get("ports", [])):
            found.append(f"{where}: uses a host port")
    return found
