"""The verdict table: blackbox_exporter's prober test cases (v0.23.0 prober/*_test.go) as Vigil targets.

Each case is one target as a user would configure it in Vigil (kind, address, the HTTP
target's settings) with Vigil's correct verdict and error class. blackbox_exporter gets the
module that `blackbox_module` derives from the same settings, and must reach the same verdict,
unless the case carries `differs`: the reason, written for a user, why Vigil is right to answer
the opposite way on purpose.

Addresses are templates over `Loopback.urls` (servers.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# The error-class vocabulary of Vigil's checks (docs/worker.md).
ERROR_CLASSES = frozenset(
    {
        "timeout",
        "dns",
        "refused",
        "reset",
        "disconnected",
        "connect",
        "tls",
        "http",
        "status",
        "keyword",
        "body_too_large",
        "too_many_redirects",
        "redirect",
        "decode",
        "url",
        "internal",
        "unsupported",
        "json",
        "slow",
        "expiring",
        "nxdomain",
        "servfail",
        "mismatch",
        "missed",
        "push_down",
    }
)
BODY_CAP = 1 << 20  # VIGIL_WORKER_HTTP_BODY_CAP_BYTES' default; blackbox gets it as body_size_limit

DEFAULT_STATUS = (
    "Vigil's default expected_status is 2xx and 3xx, blackbox's is 2xx. "
    "A URL that answers with a redirect (followed or not) is up unless the target "
    'says otherwise; expected_status ["2xx"] is the strict choice.'
)
FIXED_LIMIT = (
    "blackbox_exporter follows at most 10 redirects whatever the module "
    "says; Vigil honours the target's max_redirects."
)
CAP = (
    "Vigil reads at most the first 1 MiB of a (decoded) body and judges body rules on it; "
    "a page longer than that is not down for its length. blackbox's body_size_limit fails "
    "the probe on any longer body, even when the rule was already decided."
)
DECODE = (
    "Vigil asks for compressed bodies (Accept-Encoding) and decodes them as a "
    "browser does; a body that does not decode is broken for every client, so it is "
    "`decode`. blackbox reads the raw bytes unless a module sets `compression`."
)


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    address: str  # a template over Loopback.urls, e.g. "{http}/status/200"
    ok: bool  # Vigil's verdict
    error_class: str | None = None  # Vigil's error class (None when ok)
    settings: dict[str, Any] = field(default_factory=dict)  # the HTTP target's settings
    differs: str | None = None  # why blackbox's verdict is the opposite one
    status: int | None = None  # Vigil's status_code, when the case is about it
    hits: int | None = None  # requests the HTTP app must see from Vigil's one check
    prime: str | None = None  # an address Vigil checks first on the same session (state leaks)
    blackbox: dict[str, Any] = field(default_factory=dict)  # merged into the derived http module
    timeout_s: float = 5.0
    source: str = ""  # the blackbox test it re-creates, or the issue line it proves


def http(id: str, address: str, ok: bool, error_class: str | None = None, **kw: Any) -> Case:
    return Case(id=id, kind="http", address=address, ok=ok, error_class=error_class, **kw)


CASES: list[Case] = [
    # -- TestHTTPStatusCodes ----------------------------------------------------------------
    *(
        http(
            f"status-{code}",
            f"{{http}}/status/{code}",
            ok,
            None if ok else "status",
            status=code,
            source="TestHTTPStatusCodes",
        )
        for code, ok in [
            (200, True),
            (201, True),
            (299, True),
            (404, False),
            (500, False),
            (503, False),
        ]
    ),
    http(
        "status-300-default",
        "{http}/status/300",
        True,
        status=300,
        differs=DEFAULT_STATUS,
        source="TestHTTPStatusCodes {300, [], false}",
    ),
    *(
        http(
            f"status-{code}-in-{'-'.join(map(str, want))}",
            f"{{http}}/status/{code}",
            ok,
            None if ok else "status",
            settings={"expected_status": want},
            status=code,
            source="TestHTTPStatusCodes",
        )
        for code, want, ok in [
            (404, [200, 404], True),
            (200, [200, 404], True),
            (201, [200, 404], False),
            (404, [404], True),
            (200, [404], False),
        ]
    ),
    http(
        "status-404-in-4xx",
        "{http}/status/404",
        True,
        settings={"expected_status": ["4xx"]},
        status=404,
        source="expected_status classes (valid_status_codes 400..499)",
    ),
    http(
        "status-500-not-in-2xx-4xx",
        "{http}/status/500",
        False,
        "status",
        settings={"expected_status": ["2xx", "4xx"]},
        status=500,
        source="expected_status classes",
    ),
    # -- redirects: TestRedirectFollowed, TestRedirectNotFollowed, TestRedirectionLimit ------
    http(
        "redirect-followed",
        "{http}/chain/1/0",
        True,
        status=200,
        hits=2,
        source="TestRedirectFollowed",
    ),
    http(
        "redirect-not-followed-302-expected",
        "{http}/chain/1/0",
        True,
        status=302,
        hits=1,
        settings={"follow_redirects": False, "expected_status": [302]},
        source="TestRedirectNotFollowed",
    ),
    http(
        "redirect-not-followed-default-status",
        "{http}/chain/1/0",
        True,
        status=302,
        hits=1,
        settings={"follow_redirects": False},
        differs=DEFAULT_STATUS,
        source="TestRedirectNotFollowed without valid_status_codes",
    ),
    http(
        "redirect-chain-10-limit-10",
        "{http}/chain/10/0",
        True,
        status=200,
        hits=11,
        source="TestRedirectionLimit: exactly N at limit N passes",
    ),
    http(
        "redirect-chain-11-limit-10",
        "{http}/chain/11/0",
        False,
        "too_many_redirects",
        hits=11,
        source="TestRedirectionLimit: the N+1-th is not followed",
    ),
    http(
        "redirect-chain-2-limit-2",
        "{http}/chain/2/0",
        True,
        status=200,
        hits=3,
        settings={"max_redirects": 2},
        source="issue 12: N redirects allowed at limit N",
    ),
    http(
        "redirect-chain-3-limit-2",
        "{http}/chain/3/0",
        False,
        "too_many_redirects",
        hits=3,
        settings={"max_redirects": 2},
        differs=FIXED_LIMIT,
        source="issue 12: the N+1-th fails",
    ),
    http(
        "redirect-limit-0-302-expected",
        "{http}/chain/1/0",
        True,
        status=302,
        hits=1,
        settings={"max_redirects": 0, "expected_status": [302]},
        source="issue 12: max_redirects 0 follows none (blackbox: follow_redirects false)",
    ),
    http(
        "redirect-loop-limit-0",
        "{http}/loop",
        True,
        status=302,
        hits=1,
        settings={"max_redirects": 0},
        differs=DEFAULT_STATUS,
        source="issue 12: max_redirects 0 on a loop asks once, never hammers",
    ),
    http(
        "redirect-loop",
        "{http}/loop",
        False,
        "too_many_redirects",
        hits=11,
        source="TestRedirectionLimit (a loop)",
    ),
    http(
        "redirect-to-tls-insecure",
        "{http}/redirect-to?url={https_self_signed}/status/200",
        True,
        status=200,
        settings={"verify_tls": False},
        source="TestRedirectToTLSHostWorks",
    ),
    http(
        "cookie-kept-within-redirect-chain",
        "{http}/cookie/set",
        True,
        status=200,
        hits=2,
        source="TestCookieJar",
    ),
    http(
        "cookie-not-kept-between-checks",
        "{http}/cookie/check",
        False,
        "status",
        status=400,
        prime="{http}/cookie/set",
        source="issue 12: no cookies carried between runs",
    ),
    # -- method and headers: TestPost, TestHTTPHeaders ---------------------------------------
    http(
        "post", "{http}/post-only", True, settings={"method": "POST"}, status=200, source="TestPost"
    ),
    http(
        "get-where-post-required",
        "{http}/post-only",
        False,
        "status",
        status=400,
        source="TestPost (inverted)",
    ),
    http(
        "headers-and-host",
        "{http}/headers",
        True,
        status=200,
        settings={
            "headers": {
                "Host": "my-secret-vhost.com",
                "User-Agent": "unsuspicious-user",
                "Accept-Language": "en-US",
            }
        },
        source="TestHTTPHeaders",
    ),
    # -- body rules: TestFailIfBodyMatchesRegexp, TestFailIfBodyNotMatchesRegexp -------------
    http(
        "absent-keyword-found",
        "{http}/body/db-down",
        False,
        "keyword",
        settings={"keyword_absent": "could not connect to database"},
        source="TestFailIfBodyMatchesRegexp one regex, match",
    ),
    http(
        "absent-keyword-not-found",
        "{http}/body/download",
        True,
        settings={"keyword_absent": "could not connect to database"},
        source="TestFailIfBodyMatchesRegexp one regex, no match",
    ),
    http(
        "absent-keyword-found-with-keyword",
        "{http}/body/internal-error",
        False,
        "keyword",
        settings={"keyword": "error", "keyword_absent": "internal error"},
        source="TestFailIfBodyMatchesRegexp multiple regexes, match",
    ),
    http(
        "keyword-missing",
        "{http}/body/db-down",
        False,
        "keyword",
        settings={"keyword": "Download the latest version here"},
        source="TestFailIfBodyNotMatchesRegexp",
    ),
    http(
        "keyword-found",
        "{http}/body/download",
        True,
        settings={"keyword": "Download the latest version here"},
        source="TestFailIfBodyNotMatchesRegexp",
    ),
    http(
        "keyword-found-absent-holds",
        "{http}/body/download-copyright",
        True,
        settings={"keyword": "Copyright 2015", "keyword_absent": "internal error"},
        source="TestFailIfBodyNotMatchesRegexp multiple regexes",
    ),
    http(
        "keyword-missing-second-rule",
        "{http}/body/download",
        False,
        "keyword",
        settings={"keyword": "Copyright 2015"},
        source="TestFailIfBodyNotMatchesRegexp",
    ),
    # -- the body cap: TestMaxResponseLength --------------------------------------------------
    http(
        "under-cap-keyword",
        f"{{http}}/big?size={BODY_CAP - 1}&head=needle",
        True,
        settings={"keyword": "needle"},
        source="TestMaxResponseLength short",
    ),
    http(
        "over-cap-no-rule",
        f"{{http}}/big?size={2 * BODY_CAP}",
        True,
        differs=CAP,
        source="TestMaxResponseLength long",
    ),
    http(
        "over-cap-keyword-missing",
        f"{{http}}/big?size={2 * BODY_CAP}",
        False,
        "body_too_large",
        settings={"keyword": "needle"},
        source="TestMaxResponseLength long",
    ),
    http(
        "over-cap-keyword-within-cap",
        f"{{http}}/big?size={2 * BODY_CAP}&head=needle",
        True,
        settings={"keyword": "needle"},
        differs=CAP,
        source="TestMaxResponseLength long",
    ),
    http(
        "gzip-over-cap-keyword-missing",
        "{http}/encoded/gzip-over-cap",
        False,
        "body_too_large",
        settings={"keyword": "needle"},
        blackbox={"compression": "gzip"},
        source="TestMaxResponseLength long compressed: the cap is on the decoded size",
    ),
    # -- encodings: TestContentLength, TestHandlingOfCompressionSetting -----------------------
    # Vigil decodes what it can; where a case has a body rule, blackbox's module sets
    # `compression` so that both read the decoded text.
    http(
        "gzip-keyword",
        "{http}/encoded/gzip",
        True,
        settings={"keyword": "hello gzip world"},
        blackbox={"compression": "gzip"},
        source="TestHandlingOfCompressionSetting gzip",
    ),
    http(
        "gzip-no-rule",
        "{http}/encoded/gzip",
        True,
        source="TestHandlingOfCompressionSetting compressed content without compression setting",
    ),
    http(
        "gzip-not-gzip-keyword",
        "{http}/encoded/gzip-not-gzip",
        False,
        "decode",
        settings={"keyword": "plain text"},
        blackbox={"compression": "gzip"},
        source="issue 12: Content-Encoding gzip that is not gzip",
    ),
    http(
        "gzip-not-gzip-no-rule",
        "{http}/encoded/gzip-not-gzip",
        False,
        "decode",
        differs=DECODE,
        source="issue 12: Content-Encoding gzip that is not gzip",
    ),
    http("brotli-no-rule", "{http}/encoded/br", True, source="TestContentLength brotli"),
    http(
        "brotli-keyword",
        "{http}/encoded/br",
        True,
        settings={"keyword": "hello brotli world"},
        blackbox={"compression": "br"},
        source="TestHandlingOfCompressionSetting brotli",
    ),
    http(
        "deflate-keyword",
        "{http}/encoded/deflate",
        True,
        settings={"keyword": "hello deflate world"},
        blackbox={"compression": "deflate"},
        source="TestHandlingOfCompressionSetting deflate",
    ),
    http(
        "unknown-encoding",
        "{http}/encoded/unknown",
        True,
        source="TestContentLength unknown content-encoding",
    ),
    http(
        "identity-encoding",
        "{http}/encoded/identity",
        True,
        settings={"keyword": "hello world"},
        source="TestContentLength identity",
    ),
    # -- framing --------------------------------------------------------------------------------
    http(
        "http-1.0-close-delimited",
        "{http10}/",
        True,
        settings={"keyword": "hello from http/1.0"},
        status=200,
        source="an HTTP/1.0 answer without Content-Length",
    ),
    http(
        "chunked-keyword-across-chunks",
        "{http}/chunked",
        True,
        settings={"keyword": "chunked world"},
        source="a chunked answer",
    ),
    # -- connection faults after connect --------------------------------------------------------
    http(
        "reset-after-accept",
        "{reset_after_accept}/",
        False,
        "reset",
        source="issue 12 fault zoo: reset right after accept",
    ),
    http(
        "reset-while-reading-body",
        "{reset_in_body}/",
        False,
        "reset",
        source="issue 12: a reset while reading is `reset`",
    ),
    http(
        "closed-while-reading-body",
        "{fin_in_body}/",
        False,
        "disconnected",
        source="a body shorter than its Content-Length",
    ),
    http(
        "closed-without-answer",
        "{closed_without_answer}/",
        False,
        "disconnected",
        source="TestFailIfNotSSLLogMsg's bad server",
    ),
    http(
        "garbage-instead-of-http",
        "{garbage}/",
        False,
        "http",
        source="issue 12 fault zoo: garbage instead of HTTP",
    ),
    http(
        "hangs-after-accept",
        "{hang}/",
        False,
        "timeout",
        timeout_s=1.0,
        source="issue 12 fault zoo: headers never come",
    ),
    http("http-closed-port", "http://{closed}/", False, "refused", source="nothing listens"),
    # -- TLS: TestFailIfSelfSignedCA, TestSucceedIfSelfSignedCA, expired, wrong host ---------
    http(
        "tls-self-signed-verified",
        "{https_self_signed}/status/200",
        False,
        "tls",
        source="TestFailIfSelfSignedCA",
    ),
    http(
        "tls-self-signed-insecure",
        "{https_self_signed}/status/200",
        True,
        settings={"verify_tls": False},
        source="TestSucceedIfSelfSignedCA",
    ),
    http(
        "tls-expired-verified",
        "{https_expired}/status/200",
        False,
        "tls",
        source="an expired certificate",
    ),
    http(
        "tls-expired-insecure",
        "{https_expired}/status/200",
        True,
        settings={"verify_tls": False},
        source="an expired certificate, verification off",
    ),
    http(
        "tls-wrong-host-verified",
        "{https_wrong_host}/status/200",
        False,
        "tls",
        source="a certificate for another host",
    ),
    http(
        "tls-wrong-host-insecure",
        "{https_wrong_host}/status/200",
        True,
        settings={"verify_tls": False},
        source="a certificate for another host, verification off",
    ),
    # -- TestTCPConnection, TestTCPConnectionFails ------------------------------------------------
    Case("tcp-listening", "tcp", "{tcp}", True, source="TestTCPConnection"),
    Case("tcp-listening-ipv6", "tcp", "{tcp6}", True, source="TestTCPConnection on ::1"),
    Case("tcp-closed-port", "tcp", "{closed}", False, "refused", source="TestTCPConnectionFails"),
    # -- ICMP (TestProbeICMPDurationRTTPresentOnSuccess) -----------------------------------------
    Case("icmp-127.0.0.1", "icmp", "127.0.0.1", True, source="ProbeICMP 127.0.0.1"),
    Case("icmp-::1", "icmp", "::1", True, source="ProbeICMP ::1"),
]


def _statuses(rules: list[int | str]) -> list[int]:
    """Vigil's expected_status (codes and "2xx" classes) as blackbox's list of codes."""
    codes: list[int] = []
    for rule in rules:
        if isinstance(rule, int):
            codes.append(rule)
        else:
            base = int(rule[0]) * 100
            codes.extend(range(base, base + 100))
    return codes


def blackbox_module(case: Case, address: str, ca_file: str) -> dict[str, Any]:
    """The blackbox_exporter 0.23 module closest to the case's Vigil settings.

    ca_file trusts the test CA, so blackbox fails the expired and wrong-host certificates for
    that reason alone. Vigil cannot be given a CA (it uses the system store), so for it those
    certificates are also untrusted; both verdicts are still the user's "TLS is broken".
    """
    timeout = f"{case.timeout_s:g}s"
    ip = "ip6" if "::1" in address else "ip4"  # blackbox resolves even a literal per protocol
    if case.kind in ("tcp", "icmp"):
        return {
            "prober": case.kind,
            "timeout": timeout,
            case.kind: {"preferred_ip_protocol": ip, "ip_protocol_fallback": False},
        }
    s = case.settings
    module: dict[str, Any] = {
        "preferred_ip_protocol": ip,
        "body_size_limit": f"{BODY_CAP}B",
        "tls_config": {"ca_file": ca_file},
    }
    if "method" in s:
        module["method"] = s["method"]
    if "headers" in s:
        module["headers"] = s["headers"]
    if "expected_status" in s:
        module["valid_status_codes"] = _statuses(s["expected_status"])
    if "keyword" in s:
        module["fail_if_body_not_matches_regexp"] = [re.escape(s["keyword"])]
    if "keyword_absent" in s:
        module["fail_if_body_matches_regexp"] = [re.escape(s["keyword_absent"])]
    if s.get("verify_tls") is False:
        module["tls_config"]["insecure_skip_verify"] = True
    if s.get("follow_redirects") is False or s.get("max_redirects") == 0:
        module["follow_redirects"] = False
    module.update(case.blackbox)
    return {"prober": "http", "timeout": timeout, "http": module}
