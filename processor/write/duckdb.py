"""DuckDB: INSERT ... SELECT from the Arrow chunk, which DuckDB scans in place (no per-row Python)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from processor.write.chunk import arrow_of

# Registered on the writing connection only, for the length of one INSERT.
VIEW = "_import_chunk"


def insert_arrow(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Insert the chunk by registering it as a view and selecting from it."""
    arrow = arrow_of(pd_table)
    duck = conn.connection.dbapi_connection
    duck.register(VIEW, arrow)
    try:
        duck.execute(_insert_sql(conn.dialect.identifier_preparer, pd_table.name, tuple(keys)))
    finally:
        duck.unregister(VIEW)
    return arrow.num_rows


@functools.lru_cache(maxsize=16)
def _insert_sql(preparer: Any, table: str, keys: tuple[str, ...]) -> str:
    columns = ", ".join(preparer.quote(k) for k in keys)
    return f"INSERT INTO {preparer.quote(table)} ({columns}) SELECT * FROM {preparer.quote(VIEW)}"
