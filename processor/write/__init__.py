"""One writer per dialect behind pandas' ``to_sql(method=...)`` interface.

A writer is ``(pd_table, conn, keys, data_iter) -> int``: pandas calls it with the chunk's
SQLTable (whose ``frame`` is the DataFrame) and the open SQLAlchemy connection.  Writers only
ever append to a table that already exists with the planned types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.engine import Dialect

from processor.write.postgresql import copy_csv
from processor.write.sqlite import insert_many

Writer = Callable[[Any, Any, list[str], Iterable[tuple[Any, ...]]], int]

# Keyed by (dialect, DB-API driver): a fast path uses its driver's own bulk interface.
WRITERS: dict[tuple[str, str], Writer] = {
    ("postgresql", "psycopg2"): copy_csv,
    ("sqlite", "pysqlite"): insert_many,
}


def choose_writer(dialect: Dialect) -> Writer | None:
    """The fast writer for a dialect and driver, or None for pandas' own portable INSERT path."""
    return WRITERS.get((dialect.name, dialect.driver))
