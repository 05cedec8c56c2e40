"""Text that PostgreSQL will store: valid UTF-8 and no NUL, whatever a target sent."""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with lone surrogates and NUL characters replaced by U+FFFD.

    A target controls bytes that end up in messages (a redirect's Location, a status reason,
    a header, a certificate field). Python decodes undecodable bytes to lone surrogates
    (surrogateescape), which are not UTF-8, and PostgreSQL's text type refuses both those and
    NUL; one such string would make the database reject the whole row.
    """
    if "\x00" not in text:
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    return _UNSTORABLE.sub(REPLACEMENT, text)
