"""SQLite: the DB-API's own executemany, without SQLAlchemy's per-row parameter processing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def insert_many(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Insert the chunk's rows with one prepared INSERT executed for every row."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(k) for k in keys)
    marks = ", ".join("?" for _ in keys)
    sql = f"INSERT INTO {quote(pd_table.name)} ({columns}) VALUES ({marks})"
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, data_iter)
        return cursor.rowcount
    finally:
        cursor.close()
