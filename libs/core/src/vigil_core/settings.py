"""Typed settings read once from VIGIL_* environment variables (12-factor)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

from .tokens import Keyring


class SettingsError(ValueError):
    """An environment variable holds a value Vigil cannot use."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    # PostgreSQL URL (postgresql://user:pass@host:port/db). Required by api, worker and migrate;
    # `vigil dev` starts an embedded server when it is not set.
    database_url: str | None = None
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    # Every database call is bounded, so a half-open connection or a stuck lock ends in an error
    # that is retried, not in a task that waits for ever: waiting for a pool connection, one
    # call's round trip (client side), one statement and one lock wait (server side).
    db_acquire_timeout_s: float = 10.0
    db_command_timeout_s: float = 60.0
    db_statement_timeout_s: float = 30.0
    db_lock_timeout_s: float = 10.0
    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Authentication (docs/security.md). The server secret keys the stored hashes of tokens and
    # sessions and signs CSRF tokens: from VIGIL_SECRET_KEY or a file (containers' secrets);
    # older keys stay accepted while rotating.
    secret_key: str | None = None
    secret_key_file: str | None = None
    secret_key_previous: str = ""
    # Host names the API answers to (comma-separated; `*.example.com`, `*` for any). Empty: only
    # localhost names when the API listens on loopback, which stops DNS rebinding on a laptop.
    api_allowed_hosts: str = ""
    metrics_public: bool = False
    # Session cookie: Secure when the request came over https ("auto"), or always ("true",
    # behind a TLS-terminating proxy); idle and absolute lifetimes.
    session_cookie_secure: Literal["auto", "true", "false"] = "auto"
    session_idle_timeout_s: float = 43200.0
    session_max_age_s: float = 604800.0
    # Creates the user `admin` with the password in this file while no user exists.
    initial_admin_password_file: str | None = None
    # Worker: the safety-net wake-up when no NOTIFY arrives.
    worker_poll_interval_s: float = 30.0
    worker_concurrency: int = 1000
    worker_claim_batch: int = 500
    worker_result_buffer: int = 100_000
    retention_days: int = 30
    # How long the audit log keeps who changed what (the worker's maintenance deletes older rows).
    audit_retention_days: int = 365
    # Worker (vigil_worker): /metrics and /healthz (port 0 disables), shutdown grace, the claim
    # lookahead, the listener's self-ping period, maintenance period, HTTP body cap, ICMP socket.
    # Loopback outside containers; images and manifests set 0.0.0.0 for Prometheus to scrape.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 9100
    worker_grace_s: float = 20.0
    worker_lookahead_s: float = 0.5
    worker_listener_ping_s: float = 10.0
    worker_maintenance_interval_s: float = 3600.0
    worker_http_body_cap_bytes: int = 1 << 20
    worker_icmp_mode: Literal["auto", "raw", "dgram"] = "auto"
    # Name servers of the checks' lookups: "ip", "ip:port" or "[v6]:port", comma-separated
    # (empty: /etc/resolv.conf), and the longest one lookup may take (within the check's timeout).
    worker_dns_servers: str = ""
    worker_dns_timeout_s: float = 2.0
    # How long one round of the scheduler's queries may take before it backs off and retries.
    worker_db_timeout_s: float = 15.0
    # /healthz fails when results are waiting and no flush has ended (stored or failed) for
    # this long: a writer stuck for good, which a restart cures.
    worker_writer_stall_s: float = 120.0
    # Alerting (docs/alerting.md): how many deliveries one worker sends at once, one attempt's
    # timeout, the lease after which another worker may send a claimed delivery again (longer
    # than the timeout), and the safety-net poll when no NOTIFY arrives.
    worker_alert_concurrency: int = 20
    worker_alert_timeout_s: float = 10.0
    worker_alert_lease_s: float = 60.0
    worker_alert_poll_s: float = 5.0
    # Where people reach the UI (https://vigil.example.com): alerts link to the target's page.
    public_url: str | None = None

    def __post_init__(self) -> None:
        checks = {
            "db_pool_min_size": self.db_pool_min_size >= 0,
            "db_pool_max_size": self.db_pool_max_size >= max(1, self.db_pool_min_size),
            "db_acquire_timeout_s": self.db_acquire_timeout_s > 0,
            "db_command_timeout_s": self.db_command_timeout_s > 0,
            "db_statement_timeout_s": self.db_statement_timeout_s >= 0,
            "db_lock_timeout_s": self.db_lock_timeout_s >= 0,
            "api_port": 1 <= self.api_port <= 65535,
            "worker_poll_interval_s": self.worker_poll_interval_s > 0,
            "worker_concurrency": self.worker_concurrency >= 1,
            "worker_claim_batch": self.worker_claim_batch >= 1,
            "worker_result_buffer": self.worker_result_buffer >= 1,
            "retention_days": self.retention_days >= 1,
            "audit_retention_days": self.audit_retention_days >= 1,
            "worker_metrics_port": 0 <= self.worker_metrics_port <= 65535,
            "worker_grace_s": self.worker_grace_s > 0,
            "worker_lookahead_s": 0 <= self.worker_lookahead_s <= 10,
            "worker_listener_ping_s": self.worker_listener_ping_s > 0,
            "worker_maintenance_interval_s": self.worker_maintenance_interval_s > 0,
            "worker_http_body_cap_bytes": self.worker_http_body_cap_bytes >= 1,
            "worker_dns_timeout_s": 0 < self.worker_dns_timeout_s <= 60,
            "worker_db_timeout_s": self.worker_db_timeout_s > 0,
            "worker_writer_stall_s": self.worker_writer_stall_s > 0,
            "worker_alert_concurrency": 1 <= self.worker_alert_concurrency <= 1000,
            "worker_alert_timeout_s": 0 < self.worker_alert_timeout_s <= 300,
            "worker_alert_lease_s": self.worker_alert_lease_s > self.worker_alert_timeout_s,
            "worker_alert_poll_s": self.worker_alert_poll_s > 0,
            "session_idle_timeout_s": self.session_idle_timeout_s >= 60,
            "session_max_age_s": self.session_max_age_s >= self.session_idle_timeout_s,
            "public_url": self.public_url is None
            or self.public_url.startswith(("http://", "https://")),
        }
        for field, ok in checks.items():
            if not ok:
                raise SettingsError(
                    f"VIGIL_{field.upper()}={getattr(self, field)!r} is out of range"
                )
        try:
            dns_servers(self.worker_dns_servers)
        except ValueError as exc:
            raise SettingsError(
                f"VIGIL_WORKER_DNS_SERVERS={self.worker_dns_servers!r}: {exc}; "
                "expected IP, IP:PORT or [IPv6]:PORT, comma-separated"
            ) from None

    def pool_options(self) -> dict[str, float]:
        """The timeouts of vigil_core.db.create_pool, from these settings."""
        return {
            "acquire_timeout": self.db_acquire_timeout_s,
            "command_timeout": self.db_command_timeout_s,
            "statement_timeout_s": self.db_statement_timeout_s,
            "lock_timeout_s": self.db_lock_timeout_s,
        }

    def keyring(self) -> Keyring:
        """The server secret (and older ones while rotating) as a Keyring."""
        current = self.secret_key
        if self.secret_key_file:
            try:
                current = Path(self.secret_key_file).read_text().strip()
            except OSError as exc:
                raise SettingsError(
                    f"VIGIL_SECRET_KEY_FILE={self.secret_key_file!r} cannot be read: {exc.strerror}"
                ) from None
        if not current:
            raise SettingsError(
                "VIGIL_SECRET_KEY is not set; the API keys token hashes and signs sessions with "
                "it. Make one with `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                " and set VIGIL_SECRET_KEY (or VIGIL_SECRET_KEY_FILE)"
            )
        previous = [k.strip() for k in self.secret_key_previous.split(",") if k.strip()]
        for name, key in [("VIGIL_SECRET_KEY", current)] + [
            ("VIGIL_SECRET_KEY_PREVIOUS", k) for k in previous
        ]:
            if len(key) < MIN_SECRET_KEY_LENGTH:
                raise SettingsError(
                    f"{name} is {len(key)} characters long; use at least "
                    f"{MIN_SECRET_KEY_LENGTH} random characters"
                )
        return Keyring(current.encode(), tuple(k.encode() for k in previous))

    def allowed_hosts(self) -> frozenset[str] | None:
        """Host names the API answers to, lower case; None: any."""
        names = {_host_entry(h) for h in self.api_allowed_hosts.split(",") if h.strip()}
        if "*" in names:
            return None
        if names:
            return frozenset(names)
        if _is_loopback(self.api_host):
            return LOOPBACK_HOSTS
        return None

    def require_database_url(self) -> str:
        if not self.database_url:
            raise SettingsError(
                "VIGIL_DATABASE_URL is not set; set it to a PostgreSQL URL such as "
                "postgresql://vigil:secret@127.0.0.1:5432/vigil"
            )
        return self.database_url


def dns_servers(value: str) -> list[str]:
    """VIGIL_WORKER_DNS_SERVERS as c-ares server strings ("ip:port", "[v6]:port"); [] = system."""
    servers = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        port = "53"
        if item.startswith("["):  # [v6] or [v6]:port
            host, sep, rest = item[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise ValueError(f"{item!r} is not [IPv6]:PORT")
            port = rest[1:] or port
        elif item.count(":") == 1:  # v4:port; a bare IPv6 has more colons and no port
            host, port = item.split(":")
        else:
            host = item
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(
                f"{host!r} is not an IP address (name servers are given by address)"
            ) from None
        if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            raise ValueError(f"{port!r} in {item!r} is not a port (1-65535)")
        # c-ares reads a bare "::1:53" as an IPv6 address, so IPv6 always goes in brackets.
        servers.append(f"[{ip}]:{int(port)}" if ip.version == 6 else f"{ip}:{int(port)}")
    return servers


MIN_SECRET_KEY_LENGTH = 32
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def _host_entry(entry: str) -> str:
    """An allowed host as the Host header spells it: lower case, an IPv6 address in brackets
    (a pod IP from the downward API comes bare)."""
    entry = entry.strip().lower()
    try:
        if ipaddress.ip_address(entry).version == 6:
            return f"[{entry}]"
    except ValueError:
        pass
    return entry


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


PREFIX = "VIGIL_"


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read VIGIL_* variables into Settings; an invalid value raises SettingsError naming it."""
    environ = os.environ if environ is None else environ
    fields = set(Settings.__struct_fields__)
    raw: dict[str, object] = {}
    for key, value in environ.items():
        if key.startswith(PREFIX) and key[len(PREFIX) :].lower() in fields:
            raw[key[len(PREFIX) :].lower()] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_name_variable(str(exc))) from None


def _name_variable(message: str) -> str:
    # msgspec says "... - at `$.field`"; operators know the variable, not the field.
    head, sep, path = message.rpartition(" - at `$.")
    if not sep:
        return f"invalid Vigil setting: {message}"
    field = path.rstrip("`")
    return f"VIGIL_{field.upper()}: {head}"
