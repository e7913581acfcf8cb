"""DuckDB: INSERT ... SELECT from the Arrow chunk, which DuckDB scans in place (no per-row Python)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from processor.write.chunk import arrow_of


def insert_arrow(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Insert the chunk with one statement that reads the Arrow table directly."""
    # DuckDB resolves an unknown table name to the Python variable of that name in the calling
    # frame (a "replacement scan").  register() would do the same, but DuckDB refuses it while
    # pandas' table-exists query, run through duckdb_engine, still holds an open result.
    _import_chunk = arrow_of(pd_table)  # read by name in the SQL below
    duck = conn.connection.dbapi_connection
    (count,) = duck.execute(
        _insert_sql(conn.dialect.identifier_preparer, pd_table.name, tuple(keys))
    ).fetchone()
    return count


@functools.lru_cache(maxsize=16)
def _insert_sql(preparer: Any, table: str, keys: tuple[str, ...]) -> str:
    columns = ", ".join(preparer.quote(k) for k in keys)
    return f'INSERT INTO {preparer.quote(table)} ({columns}) SELECT * FROM "_import_chunk"'
