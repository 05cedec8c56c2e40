"""Parameters shared by several controllers."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar.params import PathParameter

# Ids are Postgres bigints; a larger number is a client error (400), not a database error.
TargetId: TypeAlias = Annotated[
    int, PathParameter(ge=1, le=2**63 - 1, description="The target's id")
]
