"""One writer per dialect behind pandas' ``to_sql(method=...)`` interface.

A writer is ``(pd_table, conn, keys, data_iter) -> int``: pandas calls it with the chunk's
SQLTable (whose ``frame`` is the DataFrame) and the open SQLAlchemy connection.  Writers only
ever append to a table that already exists with the planned types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from processor.write.postgresql import copy_csv
from processor.write.sqlite import insert_many

Writer = Callable[[Any, Any, list[str], Iterable[tuple[Any, ...]]], int]

WRITERS: dict[str, Writer] = {
    "postgresql": copy_csv,
    "sqlite": insert_many,
}


def choose_writer(dialect_name: str) -> Writer | None:
    """The fast writer for a dialect, or None for pandas' own portable INSERT path."""
    return WRITERS.get(dialect_name)
