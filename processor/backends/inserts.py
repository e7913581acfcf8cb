"""Any database: multi-row INSERT statements, each as large as the driver's parameter limit allows.

One statement of a few hundred rows costs one round trip where pandas' default sends one per row
(or lets SQLAlchemy page by 1,000 rows whatever the column count).  The SQL is built with the
driver's own placeholder style, so this works for every DB-API driver SQLAlchemy knows.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect

from processor.backends.names import formatted, quoted

MAX_ROWS_PER_STATEMENT = 1000  # past this, longer SQL text buys no fewer round trips worth having


def insert_batches_writer(parameter_limit: int) -> Any:
    """A pandas-style writer sending statements of at most ``parameter_limit`` bound values."""

    def insert_batches(
        pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]
    ) -> int:
        return insert_rows(pd_table.name, conn, keys, data_iter, parameter_limit // max(1, len(keys)))

    return insert_batches


def insert_rows(
    table: str, conn: Any, keys: Sequence[str], rows: Iterable[tuple[Any, ...]], max_rows: int
) -> int:
    """Insert ``rows`` with multi-row INSERTs of at most ``max_rows`` rows; return the count."""
    dialect = conn.dialect
    per_statement = max(1, min(max_rows, MAX_ROWS_PER_STATEMENT))
    named = dialect.paramstyle in ("named", "pyformat")
    count = 0
    cursor = conn.connection.cursor()
    try:
        iterator = iter(rows)
        while batch := list(itertools.islice(iterator, per_statement)):
            sql = _insert_sql(dialect, table, tuple(keys), len(batch))
            values = list(itertools.chain.from_iterable(batch))
            cursor.execute(sql, {f"p{i}": v for i, v in enumerate(values)} if named else values)
            count += len(batch)
    finally:
        cursor.close()
    return count


@functools.lru_cache(maxsize=32)
def _insert_sql(dialect: Dialect, table: str, keys: tuple[str, ...], rows: int) -> str:
    paramstyle = dialect.paramstyle
    width = len(keys)
    groups = (
        "(" + ", ".join(_placeholder(paramstyle, row * width + i) for i in range(width)) + ")"
        for row in range(rows)
    )
    columns = ", ".join(quoted(dialect, k) for k in keys)
    # Run with parameters: a % in a name is not a placeholder.
    head = formatted(dialect, f"INSERT INTO {quoted(dialect, table)} ({columns})")
    return f"{head} VALUES {', '.join(groups)}"


def _placeholder(paramstyle: str, index: int) -> str:
    """The ``index``-th (0-based) bound parameter in the driver's placeholder style."""
    return {
        "qmark": "?",
        "format": "%s",
        "numeric": f":{index + 1}",
        "numeric_dollar": f"${index + 1}",
        "named": f":p{index}",
        "pyformat": f"%(p{index})s",
    }[paramstyle]
