"""SQLite: one prepared INSERT run by the driver's executemany, the whole chunk in one transaction.

executemany binds each row in C; measured on 94-column rows it is as fast as multi-row VALUES
statements and as fast per row as the sqlite3 shell's ``.import``.  The journal and synchronous
settings of the user's database are left alone: a chunk is one transaction, so the fsyncs of a
commit are paid once per CHUNK_SIZE rows, and a crash leaves the file consistent.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any


def insert_many(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Insert the chunk's rows (``data_iter``) with one prepared INSERT executed for every row."""
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(
            _insert_sql(conn.dialect.identifier_preparer, pd_table.name, tuple(keys)), data_iter
        )
        return cursor.rowcount
    finally:
        cursor.close()


@functools.lru_cache(maxsize=16)
def _insert_sql(preparer: Any, table: str, keys: tuple[str, ...]) -> str:
    columns = ", ".join(preparer.quote(k) for k in keys)
    return f"INSERT INTO {preparer.quote(table)} ({columns}) VALUES ({', '.join('?' for _ in keys)})"
