"""What the sections of apply share: their queries, unique names, and references by name."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from vigil_core.db import Conn, load_queries

from ..errors import FieldError

Q = load_queries(__package__)


def duplicates(section: str, names: Sequence[str]) -> dict[int, FieldError]:
    """By index, each item whose name an earlier one has (`targets[3].name: repeats the name
    of targets[1]`)."""
    first: dict[str, int] = {}
    errors = {}
    for i, name in enumerate(names):
        if name in first:
            errors[i] = FieldError(
                f"{section}[{i}].name", f"repeats the name of {section}[{first[name]}]"
            )
        else:
            first[name] = i
    return errors


async def stored_ids(
    conn: Conn, query: str, references: Iterable[str], in_document: set[str], pruned: bool
) -> dict[str, int]:
    """The ids of the stored items that references name outside the document, held until
    commit. None when the section is pruned: what the document does not hold goes."""
    outside = sorted(set(references) - in_document)
    if pruned or not outside:
        return {}
    return {r["name"]: r["id"] for r in await conn.fetch(query, outside)}


def unknown(field: str, what: str, references: Sequence[str], known: set[str]) -> list[FieldError]:
    """`routes[0].channels: no channel named "x"`, once per name that is not known."""
    missing = dict.fromkeys(r for r in references if r not in known)
    return [FieldError(field, f"no {what} named {json.dumps(name)}") for name in missing]
