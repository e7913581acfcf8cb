"""DuckDB: INSERT ... SELECT from the Arrow chunk, which DuckDB scans in place (no per-row Python)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from processor.backends.chunk import WriteMethod, arrow_of
from processor.backends.embedded import Embedded
from processor.kinds import (
    BOOLEAN,
    DATE,
    FLOAT,
    TEXT,
    TIMESTAMP,
    ColumnType,
    bounded_decimal,
    integer_range,
)

# DECIMAL holds 38 digits; 18 fit in 8 bytes.
DECIMAL_DIGITS, DECIMAL_ROOM = 38, 18
# Integer types and (bits, unsigned); HUGEINT's 128 bits load as far as 64 bits reach.
INTEGER_BITS = {
    "TINYINT": (8, False),
    "SMALLINT": (16, False),
    "INTEGER": (32, False),
    "BIGINT": (64, False),
    "HUGEINT": (64, False),
    "UTINYINT": (8, True),
    "USMALLINT": (16, True),
    "UINTEGER": (32, True),
    "UBIGINT": (64, True),
}


class DuckDB(Embedded):
    """DuckDB: names ignore case and have no length limit (duckdb_engine reports PostgreSQL's 63,
    borrowed with its dialect)."""

    name_limit = None

    def writer(self) -> WriteMethod:
        return WriteMethod(insert_arrow, takes_rows=False)

    def decimal_type(self, whole_digits: int, scale: int) -> ColumnType | None:
        if whole_digits + scale > DECIMAL_DIGITS:
            return None
        # Room for wider numbers than the sample's, up to the 18 digits stored in 8 bytes.
        return bounded_decimal(min(DECIMAL_DIGITS, max(DECIMAL_ROOM, whole_digits + scale)), scale)

    def existing_types(self, table: str) -> dict[str, ColumnType]:
        # duckdb_engine's reflection runs PostgreSQL's catalog queries, which DuckDB lacks.
        query = sa.text(
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = :name AND table_schema = current_schema() ORDER BY ordinal_position"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query, {"name": table}).all()
        return {column: _type_of_name(name, precision, scale) for column, name, precision, scale in rows}


def _type_of_name(type_name: str, precision: int | None, scale: int | None) -> ColumnType:
    """What a column holds, from its type as information_schema names it (``DECIMAL(18,3)``)."""
    name = type_name.upper().split("(")[0]
    if name in INTEGER_BITS:
        return integer_range(*INTEGER_BITS[name])
    if name in ("FLOAT", "REAL", "FLOAT4"):
        return replace(FLOAT, bits=32)
    if name in ("DOUBLE", "FLOAT8"):
        return FLOAT
    if name in ("DECIMAL", "NUMERIC") and precision is not None:
        return bounded_decimal(precision, scale or 0)
    return {"DATE": DATE, "TIMESTAMP": TIMESTAMP, "BOOLEAN": BOOLEAN}.get(name, TEXT)


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
    columns = ", ".join(preparer.quote_identifier(k) for k in keys)
    return f'INSERT INTO {preparer.quote_identifier(table)} ({columns}) SELECT * FROM "_import_chunk"'
