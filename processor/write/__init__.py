"""One writer per dialect and driver, each with pandas' ``to_sql(method=...)`` signature.

A writer is ``(pd_table, conn, keys, data_iter) -> int`` and only ever appends to a table that
already exists with the planned types.  ``DataFrame.to_sql(method=writer)`` works with any of
them; run.py calls them with an ``ArrowChunk`` instead (see ``chunk.py`` for why) and builds
``data_iter`` only for writers that bind Python values, outside the single-writer lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect

from processor.write.chunk import ArrowChunk, arrow_of, python_rows
from processor.write.duckdb import insert_arrow
from processor.write.generic import insert_batches
from processor.write.mysql import load_data
from processor.write.postgresql import copy_csv
from processor.write.sqlite import insert_many

Writer = Callable[[Any, Any, list[str], Iterable[tuple[Any, ...]]], int]


@dataclass(frozen=True)
class WriteMethod:
    """A writer, and whether it binds the Python rows of ``data_iter`` (else it reads the Arrow chunk)."""

    write: Writer
    takes_rows: bool


# Keyed by (dialect, DB-API driver): a fast path uses its driver's own bulk interface.
WRITERS: dict[tuple[str, str], WriteMethod] = {
    ("postgresql", "psycopg2"): WriteMethod(copy_csv, takes_rows=False),
    ("mysql", "mysqldb"): WriteMethod(load_data, takes_rows=False),
    ("mariadb", "mysqldb"): WriteMethod(load_data, takes_rows=False),
    ("sqlite", "pysqlite"): WriteMethod(insert_many, takes_rows=True),
    ("duckdb", "duckdb_engine"): WriteMethod(insert_arrow, takes_rows=False),
}
GENERIC = WriteMethod(insert_batches, takes_rows=True)


def choose_writer(dialect: Dialect) -> WriteMethod:
    """The fast writer for a dialect and driver, or batched multi-row INSERTs for any other."""
    return WRITERS.get((dialect.name, dialect.driver), GENERIC)


__all__ = [
    "GENERIC",
    "WRITERS",
    "ArrowChunk",
    "WriteMethod",
    "Writer",
    "arrow_of",
    "choose_writer",
    "python_rows",
]
