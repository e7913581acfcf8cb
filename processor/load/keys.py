"""A key found twice (PRIMARY_KEY, merge's and a created table's): which rows hold it.

The staging table refuses a second row with a key it holds, so the database finds the clash;
these say where it is.  A worker whose chunk was refused finds the key among the chunk's own
rows, or the chunk's row whose key the staging table already holds (from another chunk or
file); the run then reads the files again for the other row of that key.  All of it runs only
once the write has failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from processor.backends import Backend
from processor.errors import SchemaError

#: Keys looked up in the staging table per query (a bound parameter each, or one per column).
LOOKUP_BATCH = 200

Key = tuple[Any, ...]
Place = tuple[str, int]  # (file, line)


class KeyFoundTwice(SchemaError):
    """Two rows of the run have the same key; ``other`` is the other row's file and line, once known."""

    def __init__(
        self,
        message: str,
        detail: str = "",
        names: Sequence[str] = (),
        key: Key = (),
        where: Place = ("", 0),
        other: Place | None = None,
    ) -> None:
        super().__init__(message, detail)
        self.names, self.key, self.where, self.other = tuple(names), key, where, other

    @classmethod
    def at(cls, names: Sequence[str], key: Key, where: Place, other: Place | None) -> KeyFoundTwice:
        return cls(_describe(names, key, where, other), "", names, key, where, other)

    def found_other(self, other: Place) -> None:
        self.other = other
        self.message = _describe(self.names, self.key, self.where, other)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.detail, self.names, self.key, self.where, self.other))


def _describe(names: Sequence[str], key: Key, where: Place, other: Place | None) -> str:
    if len(names) == 1:
        shown = f"{names[0]} = {key[0]!r}"
    else:
        shown = f"({', '.join(names)}) = ({', '.join(repr(v) for v in key)})"
    before = f"{other[0]}: line {other[1]}" if other else "another row, which the database takes as equal"
    return (
        f"{where[0]}: line {where[1]}: PRIMARY_KEY {shown} was found before, in {before}; "
        "each key may occur once (nothing was published)"
    )


def key_values(typed: pa.Table, names: Sequence[str]) -> list[Key]:
    """Each row's key, as the typed values the writers send."""
    return list(zip(*(typed.column(name).to_pylist() for name in names), strict=True))


def twin_rows(keys: Sequence[Key]) -> tuple[int, int] | None:
    """The first two rows with the same key, if any."""
    seen: dict[Key, int] = {}
    for row, key in enumerate(keys):
        if key in seen:
            return seen[key], row
        seen[key] = row
    return None


def stored_row(backend: Backend, staging: str, names: Sequence[str], keys: Sequence[Key]) -> int | None:
    """The first row whose key the staging table already holds (as the database compares keys)."""
    with backend.engine.connect() as conn:
        return stored_row_on(staging, names, keys, conn)


def stored_row_on(staging: str, names: Sequence[str], keys: Sequence[Key], conn: Connection) -> int | None:
    """``stored_row`` on the connection ``conn`` (the run's one writer's, handed this function)."""
    table = sa.table(staging, *(sa.column(name) for name in names))
    columns = [table.c[name] for name in names]

    def held(batch: Sequence[Key]) -> bool:
        query = sa.select(*columns).where(_among(columns, batch)).limit(1)
        return conn.execute(query).first() is not None

    for start in range(0, len(keys), LOOKUP_BATCH):
        batch = keys[start : start + LOOKUP_BATCH]
        if held(batch):
            return start + next(row for row, key in enumerate(batch) if held([key]))
    return None


def _among(columns: list[Any], keys: Sequence[Key]) -> Any:
    """``key IN (...)``, of one column or a row of several."""
    if len(columns) == 1:
        return columns[0].in_([key[0] for key in keys])
    return sa.tuple_(*columns).in_(list(keys))
