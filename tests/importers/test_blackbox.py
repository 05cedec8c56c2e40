"""`vigil import blackbox`: Prometheus probe jobs (params and relabel styles) and blackbox_exporter
modules of every prober as Vigil targets; intervals and timeouts; names; a note for each thing
that does not map; errors for malformed files; fixtures the real Prometheus and exporter accept,
relabelling that gives what the real Prometheus gives, and the real apply endpoint accepting
what is written."""

from __future__ import annotations

import base64
import functools
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.api.conftest import app, client, db_url, module_client, module_db_url, module_tokens
from tests.support import free_port
from vigil_cli.apply import load_expanded
from vigil_cli.importers import blackbox, render
from vigil_cli.importers.common import InputError, Result
from vigil_cli.main import main

FIXTURES = Path(__file__).parent / "fixtures" / "blackbox"
MALFORMED = FIXTURES / "malformed"
CONFIG = str(FIXTURES / "blackbox.yml")  # the modules the exporter CI has (0.23) accepts
PROMETHEUS = str(FIXTURES / "prometheus.yml")  # probe jobs in the usual styles, and others
NEWER_CONFIG = str(FIXTURES / "blackbox-newer.yml")  # settings of later exporter releases
NEWER = str(FIXTURES / "prometheus-newer.yml")
MINIMAL = str(FIXTURES / "prometheus-minimal.yml")  # no global:, sharding, odd intervals
UTF8 = str(FIXTURES / "prometheus-utf8-labels.yml")  # Prometheus 3's label names
PAIRS = {
    "main": (CONFIG, PROMETHEUS),
    "newer": (NEWER_CONFIG, NEWER),
    "minimal": (CONFIG, MINIMAL),
    "utf8-labels": (CONFIG, UTF8),
}


@functools.cache
def imported(pair: str) -> Result:
    return blackbox.convert(*PAIRS[pair])


def target(pair: str, name: str) -> dict[str, Any]:
    found = [t for t in imported(pair).targets if t["name"] == name]
    assert len(found) == 1, f"{name!r}: {len(found)} targets"
    return found[0]


def options(t: dict[str, Any]) -> dict[str, Any]:
    """A target without what every target has (name, timing, labels): its kind's fields."""
    return {k: v for k, v in t.items() if k not in ("name", "interval_s", "timeout_s", "labels")}


def notes(pair: str) -> list[str]:
    return [str(n) for n in imported(pair).notes]


def http(url: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "http", "url": url, "expected_status": ["2xx"], **fields}


# -- targets per prober and option ---------------------------------------------------------

HTTP = [
    pytest.param(
        "main", "blackbox/https://prometheus.io", http("https://prometheus.io"), id="params-style"
    ),
    pytest.param("main", "example.org", http("http://example.org"), id="no scheme: http://"),
    pytest.param(
        "main",
        "https://api.example.com/health",
        http("https://api.example.com/health", expected_status=[200, 204]),
        id="valid_status_codes",
    ),
    pytest.param(
        "main",
        "https://api.example.com/hook",
        http(
            "https://api.example.com/hook",
            method="POST",
            headers={"Content-Type": "application/json"},
        ),
        id="method, headers (body dropped)",
    ),
    pytest.param(
        "newer",
        "https://api.example.com/upload",
        http("https://api.example.com/upload", method="PUT"),
        id="body_file dropped",
    ),
    pytest.param(
        "main",
        "https://www.example.com/download",
        http(
            "https://www.example.com/download",
            keyword_absent="Could not connect to database",
            keyword="Download the latest version here",
            keyword_regex=True,
        ),
        id="fail_if_body_matches_regexp, fail_if_body_not_matches_regexp",
    ),
    pytest.param(
        "main",
        "https://status.example.com/",
        http(
            "https://status.example.com/",
            keyword_absent="(?:(?i)internal error)|(?:maintenance mode)",
            keyword="status: ok",
            keyword_regex=True,
        ),
        id="several regexps: an alternation, the first",
    ),
    pytest.param(
        "main",
        "http://example.com/old",
        http("http://example.com/old", expected_status=[301, 302], follow_redirects=False),
        id="no_follow_redirects",
    ),
    pytest.param(
        "main",
        "https://example.com/moved",
        http("https://example.com/moved", follow_redirects=False),
        id="follow_redirects false",
    ),
    pytest.param(
        "main",
        "https://intranet.example.com/",
        http("https://intranet.example.com/", verify_tls=False),
        id="tls_config.insecure_skip_verify",
    ),
    pytest.param("main", "https://v6.example.com/", http("https://v6.example.com/"), id="ip6 only"),
    pytest.param(
        "main", "https://v4.example.com/", http("https://v4.example.com/"), id="ip4 preferred"
    ),
    pytest.param(
        "main",
        "https://login.example.com/session",
        http(
            "https://login.example.com/session",
            method="POST",
            headers={
                "Host": "login.example.com",
                "Authorization": "Basic " + base64.b64encode(b"prober:s3cret").decode(),
            },
        ),
        id="basic_auth",
    ),
    pytest.param(
        "main",
        "https://api.example.com/private",
        http(
            "https://api.example.com/private",
            headers={"Authorization": "Bearer literal-token-123"},
        ),
        id="authorization",
    ),
    pytest.param(
        "main",
        "https://api.example.com/env",
        http("https://api.example.com/env", headers={"Authorization": "Bearer ${API_TOKEN}"}),
        id="authorization from ${VAR}",
    ),
    pytest.param(
        "main",
        "https://legacy.example.com/",
        http("https://legacy.example.com/", headers={"Authorization": "Bearer legacy-token-456"}),
        id="bearer_token",
    ),
    pytest.param(
        "newer",
        "https://partner.example.com/feed",
        http(
            "https://partner.example.com/feed",
            headers={"X-Api-Key": "key-789", "Accept-Language": "en-US"},
        ),
        id="http_headers values and secrets (files dropped)",
    ),
    pytest.param(
        "main", "https://files.example.com/", http("https://files.example.com/"), id="auth files"
    ),
    pytest.param(
        "main",
        "https://assets.example.com/app.js",
        http("https://assets.example.com/app.js", headers={"Accept-Encoding": "gzip"}),
        id="compression dropped",
    ),
    pytest.param(
        "main", "https://debug.example.com/", http("https://debug.example.com/"), id="TRACE: GET"
    ),
]


@pytest.mark.parametrize("pair, name, expected", HTTP)
def test_an_http_module_gives_an_http_target(pair: str, name: str, expected: dict) -> None:
    assert options(target(pair, name)) == expected


def tls(host: str, port: int, **fields: Any) -> dict[str, Any]:
    # The exporter fails only an invalid or expired certificate: no days of warning.
    return {"kind": "tls", "host": host, "port": port, "starttls": "none", **fields} | {
        "min_days_valid": 0
    }


def dns(server: str, query_name: str, record_type: str, rcode: str = "NOERROR") -> dict:
    return {
        "kind": "dns",
        "server": server,
        "query_name": query_name,
        "record_type": record_type,
        "expected_rcode": rcode,
    }


OTHERS = [
    pytest.param(
        "main",
        "db.internal:5432",
        {"kind": "tcp", "host": "db.internal", "port": 5432},
        id="tcp connect",
    ),
    pytest.param(
        "main",
        "www.example.com:443",
        tls("www.example.com", 443, server_name="www.example.com"),
        id="tcp tls: tls with server_name",
    ),
    pytest.param(
        "main",
        "self-signed.internal:8443",
        tls("self-signed.internal", 8443),
        id="tls insecure_skip_verify (dropped)",
    ),
    pytest.param(
        "main",
        "mail.example.com:587",
        tls("mail.example.com", 587, starttls="smtp"),
        id="SMTP STARTTLS",
    ),
    pytest.param(
        "main",
        "mail.example.com:143",
        tls("mail.example.com", 143, starttls="imap"),
        id="IMAP STARTTLS",
    ),
    pytest.param(
        "main",
        "mail.example.com:110",
        tls("mail.example.com", 110, starttls="pop3"),
        id="POP3 STLS",
    ),
    pytest.param(
        "main",
        "ftp.example.com:21",
        tls("ftp.example.com", 21, starttls="ftp"),
        id="FTP AUTH TLS",
    ),
    pytest.param(
        "newer",
        "db.internal:5433",
        {"kind": "tcp", "host": "db.internal", "port": 5433},
        id="unknown STARTTLS: tcp",
    ),
    pytest.param(
        "main",
        "irc.example.net:6667",
        {"kind": "tcp", "host": "irc.example.net", "port": 6667},
        id="query_response: tcp connect",
    ),
    pytest.param(
        "main", "mq.internal:5671", tls("mq.internal", 5671), id="tls with query_response"
    ),
    pytest.param(
        "main",
        "[2001:db8::10]:22",
        {"kind": "tcp", "host": "2001:db8::10", "port": 22},
        id="tcp to [IPv6]:port",
    ),
    pytest.param("main", "10.0.0.1", {"kind": "icmp", "host": "10.0.0.1"}, id="icmp"),
    pytest.param("main", "2001:db8::1", {"kind": "icmp", "host": "2001:db8::1"}, id="icmp v6"),
    pytest.param(
        "main",
        "core-router.example.com",
        {"kind": "icmp", "host": "core-router.example.com"},
        id="icmp from a group's module label",
    ),
    pytest.param("main", "1.1.1.1", dns("1.1.1.1:53", "www.prometheus.io", "A"), id="dns: port 53"),
    pytest.param("main", "8.8.8.8:53", dns("8.8.8.8:53", "www.prometheus.io", "A"), id="dns"),
    pytest.param(
        "main",
        "[2001:4860:4860::8888]:53",
        dns("[2001:4860:4860::8888]:53", "www.prometheus.io", "A"),
        id="dns over IPv6",
    ),
    pytest.param("main", "9.9.9.9", dns("9.9.9.9:53", "prometheus.io", "SOA"), id="dns SOA"),
    pytest.param("main", "9.9.9.10", dns("9.9.9.10:53", "example.com", "A"), id="dns ANY: A"),
    pytest.param(
        "main",
        "149.112.112.112:5353",
        dns("149.112.112.112:5353", "www.prometheus.io", "AAAA"),
        id="dns over tcp: udp",
    ),
    pytest.param(
        "main",
        "208.67.222.222",
        dns("208.67.222.222:53", "does-not-exist.example.com", "A", "NXDOMAIN"),
        id="dns valid_rcodes: the first",
    ),
    pytest.param(
        "main",
        "208.67.220.220",
        dns("208.67.220.220:53", "1.2.0.192.in-addr.arpa", "A"),
        id="dns PTR: A",
    ),
]


@pytest.mark.parametrize("pair, name, expected", OTHERS)
def test_tcp_icmp_and_dns_modules_give_their_kinds(pair: str, name: str, expected: dict) -> None:
    assert options(target(pair, name)) == expected


# -- intervals and timeouts ----------------------------------------------------------------

TIMING = [
    pytest.param("main", "blackbox/https://prometheus.io", 30, 5, id="global 30s, module 5s"),
    pytest.param("main", "https://api.example.com/hook", 90, 3, id="1m30s, module 3s"),
    pytest.param("main", "https://api.example.com/health", 90, 15, id="scrape_timeout 15s"),
    pytest.param("main", "db.internal:5432", 15, 5, id="15s/15s, module 5s"),
    pytest.param("main", "mq.internal:5671", 15, 14, id="module 30s > 15s scrape: capped"),
    pytest.param("main", "core-router.example.com", 10, 9, id="10s/10s: below the interval"),
    pytest.param("main", "1.1.1.1", 120, 5, id="2m"),
    pytest.param("main", "blackbox_external/https://prometheus.io", 300, 5, id="5m"),
    pytest.param("main", "https://fast.example.com/", 1, 0.5, id="500ms: Vigil's 1s"),
    pytest.param("minimal", "https://example.com", 60, 5, id="default 1m"),
    pytest.param("minimal", "https://often.example.com", 5, 4, id="5s: global 10s timeout cut"),
    pytest.param("minimal", "backup.example.com:22", 86400, 5, id="2d: Vigil's 1d; module 5s"),
    pytest.param("minimal", "host-a.example.com", 3600, 5, id="1h"),
]


@pytest.mark.parametrize("pair, name, interval_s, timeout_s", TIMING)
def test_the_scrape_interval_is_the_check_interval_and_the_timeout_stays_below_it(
    pair: str, name: str, interval_s: float, timeout_s: float
) -> None:
    t = target(pair, name)
    assert (t["interval_s"], t["timeout_s"]) == (interval_s, timeout_s)


DURATIONS = [
    ("15s", 15.0),
    ("1m30s", 90.0),
    ("500ms", 0.5),
    ("1h", 3600.0),
    ("2d", 172800.0),
    ("1w", 604800.0),
    ("1y", 31536000.0),
    ("1.5s", 1.5),
    ("300us", 0.0003),
    ("1h2m3s4ms", 3723.004),
    ("0", 0.0),
    ("15", None),
    ("15 seconds", None),
    ("1m 30s", None),
    ("", None),
    ("s", None),
    ("-5s", None),
    (True, None),
]


@pytest.mark.parametrize("text, seconds", DURATIONS, ids=[repr(d[0]) for d in DURATIONS])
def test_go_and_prometheus_durations_are_read(text: object, seconds: float | None) -> None:
    assert blackbox.parse_duration(text) == (pytest.approx(seconds) if seconds else seconds)


# -- labels and names ----------------------------------------------------------------------

LABELS = [
    pytest.param(
        "main",
        "example.org",
        {"job": "blackbox", "env": "prod", "team": "web"},
        id="job and static labels; no instance",
    ),
    pytest.param(
        "main",
        "https://api.example.com/hook",
        {"job": "blackbox_http", "module": "http_post_body"},
        id="a group's module label",
    ),
    pytest.param(
        "main",
        "blackbox_external/https://prometheus.io",
        {"job": "blackbox_external", "probe_site": "external"},
        id="second job",
    ),
    pytest.param(
        "minimal",
        "host-b.example.com",
        {"job": "blackbox_sharded", "host": "host-b", "probe_module": "icmp"},
        id="labels made by relabelling",
    ),
    pytest.param(
        "utf8-labels",
        "https://example.com",
        {
            "job": "blackbox",
            "app.kubernetes.io/name": "shop",
            "owner_email": "ops@example.com",
            "_1st-line": "noc",
        },
        id="label names Vigil does not take, renamed",
    ),
]


@pytest.mark.parametrize("pair, name, labels", LABELS)
def test_the_target_labels_are_the_prometheus_labels(pair: str, name: str, labels: dict) -> None:
    assert target(pair, name)["labels"] == labels


def test_targets_are_named_after_what_they_probe_and_never_twice() -> None:
    names = [t["name"] for t in imported("main").targets]
    assert len(names) == len(set(names))
    assert "https://prometheus.io" not in names, "two jobs probe it: named job/target"
    assert {"blackbox/https://prometheus.io", "blackbox_external/https://prometheus.io"} <= set(
        names
    )
    health = [
        t for t in imported("main").targets if t.get("url") == "https://api.example.com/health"
    ]
    assert [t["name"] for t in health] == [
        "https://api.example.com/health",
        "https://api.example.com/health #2",
    ]
    assert health[1]["keyword"] == "Download the latest version here", "the second module's"


def test_the_sharding_relabel_keeps_this_servers_shard() -> None:
    sharded = [t["name"] for t in imported("minimal").targets if t["kind"] == "icmp"]
    # MD5-based hashmod as Prometheus computes it: host-c.example.com is shard 1.
    assert sharded == ["host-a.example.com", "host-b.example.com", "host-d.example.com"]


# -- notes and the summary -----------------------------------------------------------------

NOTES = [
    # (pair, the note's start, what it says, how it ends)
    (
        "main",
        'blackbox module "http_post_body"',
        "http.body: Vigil's API does not expose a request body",
        "setting dropped",
    ),
    (
        "newer",
        'blackbox module "http_body_file"',
        "http.body_file: Vigil's API does not",
        "setting dropped",
    ),
    ("main", 'blackbox module "http_status"', "http.valid_http_versions:", "setting dropped"),
    (
        "main",
        'blackbox module "http_keywords_many"',
        "2 regexps combined into one alternation",
        "approximated",
    ),
    (
        "main",
        'blackbox module "http_keywords_many"',
        "only the first, 'status: ok', is kept",
        "approximated",
    ),
    ("main", 'blackbox module "http_insecure"', "http.tls_config.ca_file:", "setting dropped"),
    ("main", 'blackbox module "http_insecure"', "http.tls_config.server_name:", "setting dropped"),
    ("main", 'blackbox module "http_insecure"', "http.tls_config.min_version:", "setting dropped"),
    ("main", 'blackbox module "http_ip6_only"', "probes over IPv6 only", "setting dropped"),
    ("main", 'blackbox module "http_response_checks"', "http.fail_if_not_ssl:", "setting dropped"),
    (
        "main",
        'blackbox module "http_response_checks"',
        "http.fail_if_header_matches:",
        "setting dropped",
    ),
    (
        "main",
        'blackbox module "http_response_checks"',
        "http.fail_if_header_not_matches:",
        "setting dropped",
    ),
    (
        "newer",
        'blackbox module "http_json_cel"',
        "http.fail_if_body_json_not_matches_cel: Vigil's JSON rules are JMESPath",
        "setting dropped",
    ),
    (
        "main",
        'blackbox module "http_basic_auth"',
        "http.basic_auth: its secret is written into the output",
        "before committing",
    ),
    (
        "main",
        'blackbox module "http_bearer"',
        "http.authorization: its secret is written",
        "before committing",
    ),
    (
        "main",
        'blackbox module "http_legacy_bearer"',
        "http.bearer_token: its secret is written",
        "before committing",
    ),
    (
        "newer",
        'blackbox module "http_header_secrets"',
        "http.http_headers.X-Api-Key: its secret is written",
        "before committing",
    ),
    (
        "newer",
        'blackbox module "http_header_secrets"',
        "http.http_headers.X-From-File.files:",
        "setting dropped",
    ),
    (
        "main",
        'blackbox module "http_credential_files"',
        "http.basic_auth: a secret read from a file",
        "setting dropped",
    ),
    ("main", 'blackbox module "http_compression"', "http.compression:", "setting dropped"),
    ("main", 'blackbox module "http_compression"', "http.body_size_limit:", "setting dropped"),
    ("main", 'blackbox module "http_oauth_proxy"', "http.oauth2:", "setting dropped"),
    ("main", 'blackbox module "http_oauth_proxy"', "http.proxy_url:", "setting dropped"),
    (
        "main",
        'blackbox module "http_trace"',
        "http.method TRACE: not a method Vigil sends; GET",
        "approximated",
    ),
    ("newer", 'blackbox module "http_http3"', "http.enable_http3:", "setting dropped"),
    ("newer", 'blackbox module "http_http3"', "http.enable_http2:", "setting dropped"),
    (
        "main",
        'blackbox module "tls_insecure"',
        "tcp.tls_config.insecure_skip_verify: Vigil's tls kind always verifies",
        "setting dropped",
    ),
    ("main", 'blackbox module "smtp_starttls"', "upgrades with SMTP STARTTLS", "approximated"),
    ("main", 'blackbox module "imap_starttls"', "upgrades with IMAP STARTTLS", "approximated"),
    (
        "newer",
        'blackbox module "postgresql_ssl"',
        "a STARTTLS exchange of a protocol Vigil cannot tell",
        "approximated",
    ),
    (
        "main",
        'blackbox module "irc_banner"',
        "tcp.query_response (4 steps): Vigil's tcp kind connects only",
        "setting dropped",
    ),
    (
        "main",
        'blackbox module "rabbitmq_tls"',
        "tcp.query_response (2 steps): Vigil's tls kind checks",
        "setting dropped",
    ),
    ("main", 'blackbox module "rabbitmq_tls"', "tcp.tls_config.ca_file:", "setting dropped"),
    ("main", 'blackbox module "tcp_ip4_only"', "probes over IPv4 only", "setting dropped"),
    ("main", 'blackbox module "tcp_ip4_only"', "tcp.source_ip_address:", "setting dropped"),
    ("main", 'blackbox module "icmp_tuned"', "icmp.payload_size:", "setting dropped"),
    ("main", 'blackbox module "icmp_tuned"', "icmp.dont_fragment:", "setting dropped"),
    ("main", 'blackbox module "icmp_tuned"', "icmp.ttl:", "setting dropped"),
    (
        "main",
        'blackbox module "dns_udp"',
        "dns.validate_answer_rrs: Vigil compares record values",
        "setting dropped",
    ),
    ("main", 'blackbox module "dns_udp"', "dns.validate_authority_rrs:", "setting dropped"),
    (
        "main",
        'blackbox module "dns_default_type"',
        "dns.query_type ANY (the exporter's default)",
        "approximated",
    ),
    (
        "main",
        'blackbox module "dns_tcp"',
        "dns.transport_protocol tcp: Vigil asks over UDP",
        "approximated",
    ),
    (
        "main",
        'blackbox module "dns_nxdomain"',
        "Vigil expects one rcode; NXDOMAIN is kept",
        "approximated",
    ),
    ("main", 'blackbox module "dns_ptr"', "dns.query_type PTR", "approximated"),
    ("main", 'blackbox module "dns_ptr"', "dns.query_class:", "setting dropped"),
    ("main", 'blackbox module "dns_ptr"', "dns.recursion_desired:", "setting dropped"),
    ("main", 'blackbox target "grpc.example.com:443"', "prober grpc", "skipped"),
    ("newer", 'blackbox target "/run/app.sock"', "prober unix", "skipped"),
    ("newer", 'blackbox target "wss://ws.example.com/"', "prober websocket", "skipped"),
    (
        "main",
        'blackbox target "https://missing.example.com/"',
        "module 'http_3xx' is not in the blackbox configuration",
        "skipped",
    ),
    ("main", 'blackbox target "ftp://files.example.com/"', "is not an http(s) URL", "skipped"),
    ("main", 'blackbox target "no-port.internal"', "is not host:port", "skipped"),
    ("main", 'blackbox target "dns.google"', "Vigil takes a name server by IP address", "skipped"),
    (
        "main",
        'blackbox target "1.0.0.1"',
        "dns.dns_over_tls: Vigil queries plain DNS only",
        "skipped",
    ),
    ("main", 'blackbox target "1.0.0.2"', "dns.valid_rcodes NOTIMP", "skipped"),
    (
        "main",
        'prometheus job "blackbox_misconfigured" target "https://forgotten.example.com/"',
        "no __param_target",
        "skipped",
    ),
    (
        "main",
        'prometheus job "blackbox_discovered"',
        "dns_sd_configs, file_sd_configs: its targets are discovered",
        "skipped",
    ),
    (
        "main",
        'prometheus job "blackbox_tcp"',
        "1 static target dropped by its relabel_configs",
        "not imported",
    ),
    (
        "minimal",
        'prometheus job "blackbox_sharded"',
        "1 static target dropped by its relabel_configs",
        "not imported",
    ),
    (
        "main",
        'prometheus job "blackbox_tcp" (targets ',
        "a 15s timeout is not below the 15s interval",
        "approximated",
    ),
    ("main", 'prometheus job "blackbox_fast"', "scrape_interval 500ms", "approximated"),
    (
        "minimal",
        'prometheus job "blackbox_daily"',
        "scrape_interval 48h: Vigil checks every 1s to 1d",
        "approximated",
    ),
    (
        "main",
        'blackbox target "https://prometheus.io" (job "blackbox")',
        "also probed by job blackbox_external",
        "approximated",
    ),
    (
        "main",
        'blackbox target "https://api.example.com/health"',
        "named 'https://api.example.com/health #2'",
        "approximated",
    ),
    (
        "utf8-labels",
        'prometheus job "blackbox"',
        "label 'owner email' is named 'owner_email'",
        "approximated",
    ),
]


@pytest.mark.parametrize(
    "pair, start, says, end", NOTES, ids=[f"{n[1].split()[2]} {n[2][:40]}" for n in NOTES]
)
def test_everything_that_does_not_map_has_its_note(
    pair: str, start: str, says: str, end: str
) -> None:
    found = [n for n in notes(pair) if n.startswith(start) and says in n and n.endswith(end)]
    assert len(found) == 1, "\n".join(notes(pair))


def test_a_modules_note_is_said_once_and_names_its_targets() -> None:
    (line,) = [n for n in notes("main") if "dns.validate_answer_rrs" in n]
    assert line.startswith(
        'blackbox module "dns_udp" (targets 1.1.1.1, 8.8.8.8:53, [2001:4860:4860::8888]:53): '
    )


def test_jobs_that_are_no_probes_are_one_line() -> None:
    assert (
        "prometheus: 3 jobs are not probe jobs, ignored (prometheus, node, blackbox_exporter)"
        in (notes("main"))
    )


SILENT = [
    pytest.param("fail_if_ssl", id="fail_if_ssl: false (the default)"),
    pytest.param("enable_http2", id="enable_http2: true (the default)"),
    pytest.param('"http_ip4_preferred"', id="a preferred protocol with fallback"),
    pytest.param('"http_unused"', id="a module no job uses"),
    pytest.param('blackbox module "icmp"', id="icmp ttl 64 (the default)"),
    pytest.param('blackbox module "http_bearer_env"', id="a secret that is a ${VAR}"),
    pytest.param('"https://v4.example.com/"', id="an exact target"),
]


@pytest.mark.parametrize("fragment", SILENT)
def test_what_maps_exactly_has_no_note(fragment: str) -> None:
    assert not [n for n in notes("main") if fragment in n]


SUMMARIES = [
    pytest.param("main", "46 imported, 18 approximated, 9 skipped", id="main"),
    pytest.param("newer", "5 imported, 1 approximated, 2 skipped", id="newer"),
    pytest.param("minimal", "6 imported, 2 approximated, 0 skipped", id="minimal"),
]


@pytest.mark.parametrize("pair, summary", SUMMARIES)
def test_the_summary_counts_targets(pair: str, summary: str) -> None:
    assert imported(pair).summary() == summary


# -- malformed input -----------------------------------------------------------------------

ERRORS = [
    pytest.param("blackbox-syntax.yml", 4, "not valid YAML", id="blackbox.yml: YAML"),
    pytest.param("blackbox-no-modules.yml", 2, "expected `modules:`", id="no modules"),
    pytest.param("blackbox-bad-prober.yml", 5, "prober must be one of http, tcp", id="prober"),
    pytest.param("blackbox-bad-timeout.yml", 4, "'5 seconds' is not a duration", id="timeout"),
    pytest.param("blackbox-bad-regexp.yml", 7, "'(unclosed' is not a regular", id="regexp"),
    pytest.param("blackbox-dns-no-query-name.yml", 7, "needs query_name", id="dns query_name"),
    pytest.param("blackbox-headers-list.yml", 6, "http.headers must be a mapping", id="headers"),
    pytest.param("prometheus-syntax.yml", 6, "not valid YAML", id="prometheus.yml: YAML"),
    pytest.param(
        "prometheus-no-scrape-configs.yml", 1, "expected `scrape_configs:`", id="no scrape_configs"
    ),
    pytest.param("prometheus-bad-interval.yml", 4, "'15' is not a duration", id="interval"),
    pytest.param("prometheus-bad-relabel.yml", 10, "action must be one of", id="relabel action"),
    pytest.param("prometheus-duplicate-job.yml", 6, "'blackbox' is used twice", id="job twice"),
    pytest.param("prometheus-targets-not-a-list.yml", 5, "targets must be a list", id="targets"),
    pytest.param("prometheus-no-job-name.yml", 2, "with a job_name", id="no job_name"),
]


@pytest.mark.parametrize("file, line, message", ERRORS)
def test_a_malformed_file_is_an_error_naming_file_and_line(
    file: str, line: int, message: str
) -> None:
    bad = str(MALFORMED / file)
    args = (bad, MINIMAL) if file.startswith("blackbox") else (CONFIG, bad)
    with pytest.raises(InputError) as caught:
        blackbox.convert(*args)
    assert (caught.value.path, caught.value.line) == (bad, line)
    assert message in caught.value.message


# -- the command ---------------------------------------------------------------------------


@pytest.fixture
def quiet_main(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() configures structlog to print to the sys.stderr of the moment, capsys's, which is
    # closed after the test: the API app of the tests below would then log into a closed file.
    monkeypatch.setattr("vigil_cli.main.configure_logging", lambda *args: None)


def test_the_command_writes_the_file_with_the_notes_and_summary_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quiet_main: None
) -> None:
    out = tmp_path / "vigil.yaml"
    argv = ["import", "blackbox", "--config", CONFIG, "--prometheus", PROMETHEUS, "-o", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "vigil import blackbox: 46 imported, 18 approximated, 9 skipped"
    assert len(err) == len(imported("main").notes) + 1
    text = out.read_text()
    assert "&id" not in text, "no YAML anchors: each target stands on its own"
    assert [t["name"] for t in yaml.safe_load(text)["targets"]] == [
        t["name"] for t in imported("main").targets
    ]


def test_the_command_writes_nothing_for_a_malformed_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quiet_main: None
) -> None:
    out = tmp_path / "vigil.yaml"
    bad = str(MALFORMED / "prometheus-bad-relabel.yml")
    argv = ["import", "blackbox", "--config", CONFIG, "--prometheus", bad, "-o", str(out)]
    assert main(argv) == 2
    assert f"{bad}:10: action must be one of" in capsys.readouterr().err
    assert not out.exists()


# -- the real tools ------------------------------------------------------------------------


def system_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian's prometheus, prometheus-blackbox-exporter)")
    return path


@pytest.mark.parametrize("file", [PROMETHEUS, MINIMAL, NEWER], ids=Path)
def test_prometheus_accepts_the_fixtures(file: str) -> None:
    done = subprocess.run(
        [system_tool("promtool"), "check", "config", file], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_exporter_accepts_the_fixture_modules() -> None:
    # blackbox-newer.yml holds settings of releases after the installed one: not checked.
    exporter = system_tool("prometheus-blackbox-exporter")
    done = subprocess.run(
        [exporter, f"--config.file={CONFIG}", "--config.check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def prometheus_probes(file: str, tmp_path: Path) -> list[tuple]:
    """What a real Prometheus, started on `file`, asks the exporter: (job, target, module,
    labels without instance, interval, timeout) of each active target with a target param."""
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            system_tool("prometheus"),
            f"--config.file={file}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        active = _settled_targets(f"http://127.0.0.1:{port}/api/v1/targets", process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    probes = []
    for t in active:
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(t["scrapeUrl"]).query)
        if "target" in params:
            labels = {k: v for k, v in t["labels"].items() if k != "instance"}
            probes.append(
                (
                    labels["job"],
                    params["target"][0],
                    params.get("module", [blackbox.DEFAULT_MODULE])[0],
                    json.dumps(labels, sort_keys=True),
                    blackbox.parse_duration(t["scrapeInterval"]),
                    blackbox.parse_duration(t["scrapeTimeout"]),
                )
            )
    return sorted(probes)


def _settled_targets(url: str, process: subprocess.Popen) -> list[dict]:
    """The active targets once two reads a second apart agree (discovery runs at start)."""
    deadline, last = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        assert process.poll() is None, "prometheus exited (see prometheus.log)"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                active = json.load(resp)["data"]["activeTargets"]
        except OSError:
            active = None
        if active and last is not None and len(active) == len(last):
            return active
        last = active
        time.sleep(1)
    raise AssertionError("prometheus showed no stable targets within 60 s")


@pytest.mark.parametrize("file", [PROMETHEUS, MINIMAL], ids=Path)
def test_relabelling_gives_what_the_real_prometheus_gives(file: str, tmp_path: Path) -> None:
    mine = sorted(
        (
            p.job,
            p.target,
            p.module,
            json.dumps(p.labels, sort_keys=True),
            p.interval_s,
            p.timeout_s,
        )
        for p in blackbox.read_probes(file, Result())
    )
    assert mine == prometheus_probes(file, tmp_path)


# -- the real apply endpoint ---------------------------------------------------------------


async def apply(client: Any, pair: str, dry_run: bool) -> dict[str, Any]:
    config, prometheus = PAIRS[pair]
    text = render(imported(pair), "blackbox", [config, prometheus], "vigil.yaml")
    doc = load_expanded(text, "vigil.yaml", {"API_TOKEN": "token-from-the-environment"})
    resp = await client.post("/api/v1/apply", json=doc, params={"dry_run": str(dry_run).lower()})
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize("pair", list(PAIRS))
async def test_the_apply_endpoint_accepts_the_written_file(client: Any, pair: str) -> None:
    result = await apply(client, pair, dry_run=True)
    assert sorted(result["created"]) == sorted(t["name"] for t in imported(pair).targets)


async def test_applying_the_file_again_changes_nothing(client: Any) -> None:
    first = await apply(client, "main", dry_run=False)
    again = await apply(client, "main", dry_run=True)
    assert len(first["created"]) == 46
    assert (again["created"], again["updated"]) == ([], []), "the file is in the stored form"
    assert sorted(again["unchanged"]) == sorted(first["created"])
