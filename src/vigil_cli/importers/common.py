"""What every importer returns and raises: the Vigil apply document it made, one note per thing
that did not map exactly, and the error for an input it cannot read.

An importer never drops a setting silently: whatever it cannot express is a `Note` (skipped,
or approximated with what was done instead), printed on stderr with the monitor's name and
counted in the summary line. An input it cannot read at all is an `InputError` naming the
file, the line where it knows it, and what was expected; then nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

Severity = Literal["approximated", "skipped", "dropped", "info"]


@dataclass(frozen=True)
class Note:
    """One thing that did not map exactly. `what`: `kuma monitor "db" (type mqtt)`;
    `severity`: approximated (imported differently, `why` says how), skipped (the monitor is
    not imported), dropped (the monitor is imported without this setting), info (it maps
    exactly, but the user should know: a secret written into the file)."""

    what: str
    severity: Severity
    why: str

    def __str__(self) -> str:
        verb = {"approximated": "approximated", "skipped": "skipped", "dropped": "setting dropped"}
        if self.severity == "info":
            return f"{self.what}: {self.why}"
        return f"{self.what}: {self.why}, {verb[self.severity]}"


@dataclass
class Result:
    """An import: the apply document's sections and the notes. `imported` counts targets."""

    targets: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    # Names of targets imported with at least one approximation (counted once each).
    approximated: set[str] = field(default_factory=set)

    def note(self, what: str, severity: Severity, why: str, target: str | None = None) -> None:
        self.notes.append(Note(what, severity, why))
        if severity == "approximated" and target is not None:
            self.approximated.add(target)

    def document(self) -> dict[str, Any]:
        """The `vigil apply` document: only the sections that have items."""
        doc: dict[str, Any] = {}
        for section in ("channels", "targets", "routes"):
            items = getattr(self, section)
            if items:
                doc[section] = items
        return doc

    def summary(self) -> str:
        """`37 imported, 2 approximated, 1 skipped` (targets; channels and routes after)."""
        skipped = sum(1 for n in self.notes if n.severity == "skipped")
        line = (
            f"{len(self.targets)} imported, {len(self.approximated)} approximated, "
            f"{skipped} skipped"
        )
        extras = [
            f"{len(v)} {k}" for k, v in (("channels", self.channels), ("routes", self.routes)) if v
        ]
        return line + (f" (and {', '.join(extras)})" if extras else "")


class InputError(Exception):
    """An input the importer cannot read: `FILE:LINE: what was expected`."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


def load_yaml(path: str | Path) -> Any:
    """A YAML file's content, or an InputError naming the line YAML stopped at."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem or str(exc)
        raise InputError(
            path, f"not valid YAML: {problem}", line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML: {exc}") from None


def line_of(node_or_mark: Any) -> int | None:
    """The 1-based line of a yaml Node or Mark, when there is one."""
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    line = getattr(mark, "line", None)
    return line + 1 if isinstance(line, int) else None
