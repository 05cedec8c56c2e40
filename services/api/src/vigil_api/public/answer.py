"""A rendered public answer and how it goes out: one body per cache TTL, its ETag, a gzip copy
made once with it, `If-None-Match` answered with 304, and the cache headers.

The ETag is weak (W/"..."): the gzip and the plain body are the same representation to a
cache, and a weak tag may stand for both. It is a hash of the content, so a page that did not
change keeps its tag across renders and revalidations stay 304.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field

from litestar import Request, Response

GZIP_MIN_BYTES = 1400  # below one packet, compressing saves nothing
# A body is compressed when it changes, not per render (`previous`), so the usual level.
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    max_age_s: int
    headers: dict[str, str] = field(default_factory=dict)
    gzipped: bytes | None = None


def rendered(
    body: bytes,
    media_type: str,
    max_age_s: int,
    headers: dict[str, str] | None = None,
    previous: Rendered | None = None,
) -> Rendered:
    """The answer for `body`, with its tag and (when worth it) its gzip copy; `previous` when
    it holds the same body and headers (nothing changed since the last render: no compressing)."""
    if previous is not None and previous.body == body and previous.headers == (headers or {}):
        return previous
    etag = 'W/"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    packed = gzip.compress(body, GZIP_LEVEL, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
    return Rendered(body, media_type, etag, max_age_s, dict(headers or {}), packed)


def matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2) of each tag in an If-None-Match list, or `*`."""
    if not if_none_match:
        return False
    mine = etag.removeprefix("W/")
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == mine:
            return True
    return False


def accepts_gzip(accept_encoding: str | None) -> bool:
    for part in (accept_encoding or "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            return not (params.strip().startswith("q=") and _zero(q))
    return False


def _zero(q: str) -> bool:
    try:
        return float(q) == 0
    except ValueError:
        return False


def _wanted(request: Request) -> tuple[str | None, str | None]:
    """If-None-Match and Accept-Encoding, read from the raw headers (request.headers builds a
    parsed copy of them all, a visible share of an answer from the cache)."""
    if_none_match = accept_encoding = None
    for name, value in request.scope["headers"]:
        if name == b"if-none-match":
            if_none_match = value.decode("latin-1")
        elif name == b"accept-encoding":
            accept_encoding = value.decode("latin-1")
    return if_none_match, accept_encoding


def send(request: Request, answer: Rendered) -> Response:
    headers = {
        **answer.headers,
        "etag": answer.etag,
        "cache-control": f"public, max-age={answer.max_age_s}",
        "vary": "accept-encoding",
    }
    if_none_match, accept_encoding = _wanted(request)
    if matches(if_none_match, answer.etag):
        return Response(content=b"", status_code=304, headers=headers)
    body = answer.body
    if answer.gzipped is not None and accepts_gzip(accept_encoding):
        body = answer.gzipped
        headers["content-encoding"] = "gzip"
    if request.scope["method"] == "HEAD":
        # The GET's headers, its length included, and no body (RFC 9110 9.3.2).
        headers["content-length"] = str(len(body))
        body = b""
    return Response(content=body, media_type=answer.media_type, headers=headers)
