"""HTTP(S) checks with aiohttp: a fresh connection each time, so connect failures are seen."""

from __future__ import annotations

import ssl

import aiohttp

from .base import CheckContext, ClaimedTarget, Outcome, failure


def new_session() -> aiohttp.ClientSession:
    # force_close: every check opens its own connection; limit=0: the scheduler bounds concurrency.
    connector = aiohttp.TCPConnector(force_close=True, limit=0, ttl_dns_cache=10)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None),
                                 auto_decompress=True)


def _status_ok(status: int, expected: list | None) -> bool:
    if not expected:
        return 200 <= status < 400
    for rule in expected:
        if isinstance(rule, int) and status == rule:
            return True
        if isinstance(rule, str) and len(rule) == 3 and rule.endswith("xx") and str(status)[0] == rule[0]:
            return True
    return False


async def check_http(target: ClaimedTarget, ctx: CheckContext) -> Outcome:
    settings = target.settings
    try:
        async with ctx.http.request(
            settings.get("method", "GET"),
            target.address,
            headers=settings.get("headers"),
            ssl=None if settings.get("verify_tls", True) else False,
            allow_redirects=settings.get("follow_redirects", True),
            max_redirects=settings.get("max_redirects", 10),
        ) as resp:
            await resp.content.read(64 * 1024)
            if not _status_ok(resp.status, settings.get("expected_status")):
                return failure("status", f"unexpected status {resp.status}", status_code=resp.status)
            return Outcome(ok=True, status_code=resp.status)
    except aiohttp.TooManyRedirects as exc:
        return failure("too_many_redirects", str(exc))
    except aiohttp.ClientConnectorCertificateError as exc:
        return failure("tls", str(exc))
    except aiohttp.ClientConnectorDNSError as exc:
        return failure("dns", str(exc))
    except aiohttp.ClientConnectorError as exc:
        cls = "refused" if isinstance(exc.os_error, ConnectionRefusedError) else "connect"
        return failure(cls, str(exc))
    except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
        return failure("tls", str(exc))
    except aiohttp.ClientError as exc:
        return failure("http", f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        return failure("connect", str(exc))
