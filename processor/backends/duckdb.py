"""DuckDB: INSERT ... SELECT from the Arrow chunk, which DuckDB scans in place (no per-row Python)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from processor.backends.chunk import WriteMethod, arrow_of
from processor.backends.embedded import Embedded
from processor.kinds import Kind


class DuckDB(Embedded):
    """DuckDB: names ignore case and have no length limit (duckdb_engine reports PostgreSQL's 63,
    borrowed with its dialect)."""

    name_limit = None

    def writer(self) -> WriteMethod:
        return WriteMethod(insert_arrow, takes_rows=False)

    def existing_kinds(self, table: str) -> dict[str, Kind]:
        # duckdb_engine's reflection runs PostgreSQL's catalog queries, which DuckDB lacks.
        query = sa.text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = :name ORDER BY ordinal_position"
        )
        with self.engine.connect() as conn:
            return {column: _kind_of_name(name) for column, name in conn.execute(query, {"name": table})}


def _kind_of_name(type_name: str) -> Kind:
    """The kind for a column type as information_schema names it (``BIGINT``, ``DOUBLE``)."""
    name = type_name.upper()
    if "INT" in name:
        return Kind.INTEGER
    if any(word in name for word in ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC")):
        return Kind.FLOAT
    return Kind.TEXT


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
