"""Regular expressions as Vigil runs them: RE2 (google-re2), one home for compiling them.

RE2 matches in time linear in the text whatever the pattern (no backtracking), so a target's
body cannot make a keyword rule hang; it has no backreferences or lookaround. The API validates
patterns with compile_re2, the worker compiles them with it, and the importers check theirs.
"""

from __future__ import annotations

from typing import Any

import re2

# RE2 reports a bad pattern as an exception; without this, also as a line on stderr.
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


class PatternError(ValueError):
    """A pattern RE2 does not accept; str() is RE2's reason."""


def compile_re2(pattern: str) -> Any:
    """The compiled RE2 pattern; raises PatternError with RE2's reason."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(str(reason)) from None
