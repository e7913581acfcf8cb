"""PostgreSQL: COPY fed by Arrow's CSV writer, advisory locks, transactional DDL, SQLSTATE retries."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import URL

from processor.backends.base import Backend
from processor.backends.chunk import WriteMethod, arrow_of
from processor.backends.locks import LockCheck, lock_key, release, session_check, wait_for
from processor.errors import driver_error
from processor.kinds import DECIMAL, ColumnType, Kind

# "needed" quotes every string and no number; nulls are unquoted empty fields.  A string is
# therefore never a lone unquoted `\.` line, which would end COPY's data early.  Numbers
# unquoted also save the server a little parsing against "all_valid".
CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed")
# psycopg2 sends the buffer in pieces of this size; its default of 8 KiB costs a Python call
# per piece.
COPY_PIECE_BYTES = 1 << 20
# SQLSTATEs after which the server has rolled back: serialization_failure, deadlock_detected,
# lock_not_available.
TRANSIENT = {"40001", "40P01", "55P03"}
# Identifiers hold at most NAMEDATALEN - 1 = 63 bytes.
NAME_BYTES = 63
# NUMERIC holds up to 131072 digits before the point and 16383 after.
NUMERIC_WHOLE_DIGITS, NUMERIC_SCALE = 131072, 16383
NUL = r"\x00"
# Drivers built on libpq, which takes client_encoding as a connection parameter.
LIBPQ = {"psycopg2", "psycopg"}


class PostgreSQL(Backend):
    """PostgreSQL: quoted names are case-sensitive and counted in bytes; NUMERIC is exact at
    any precision; text cannot hold a NUL character."""

    name_limit = NAME_BYTES
    parameter_limit = 65535

    @classmethod
    def engine_arguments(cls, url: URL) -> dict[str, Any]:
        # The client speaks UTF-8 whatever PGCLIENTENCODING or the server's default says.
        return {"connect_args": {"client_encoding": "utf8"}} if url.get_driver_name() in LIBPQ else {}

    def name_length(self, name: str) -> int:
        return len(name.encode())

    def decimal_type(self, whole_digits: int, scale: int) -> ColumnType | None:
        # Unconstrained NUMERIC keeps each value's own scale: 1.50 stays 1.50, 1.5 stays 1.5.
        return DECIMAL if whole_digits <= NUMERIC_WHOLE_DIGITS and scale <= NUMERIC_SCALE else None

    def holds(self, column: ColumnType) -> ColumnType:
        if column.kind is Kind.TEXT:
            return replace(
                column, forbidden=NUL, forbidden_what="a NUL character (PostgreSQL text holds none)"
            )
        return column

    def type_of(self, sql_type: sa.types.TypeEngine) -> ColumnType:
        column = super().type_of(sql_type)
        if isinstance(sql_type, sa.CHAR) and column.max_chars:
            # character(n) pads shorter values with spaces: only full-length values come back.
            return replace(column, min_chars=column.max_chars)
        return column

    def writer(self) -> WriteMethod:
        if self.dialect.driver == "psycopg2":
            return WriteMethod(copy_csv, takes_rows=False)
        return super().writer()

    @contextlib.contextmanager
    def import_lock(self, table: str, timeout: int) -> Iterator[LockCheck]:
        """A session-level advisory lock (advisory locks are scoped to the database)."""
        key = int.from_bytes(lock_key("", self.fold_table(table))[:8], "big", signed=True)
        with self.engine.connect() as conn:

            def take() -> bool:
                taken = conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar()
                conn.commit()
                return bool(taken)

            wait_for(take, table, timeout)
            held = (
                "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND objsubid = 1"
                " AND ((classid::bigint << 32) | objid::bigint) = %s"
            )
            try:
                yield session_check(conn, table, held, key)
            finally:
                release(conn, "SELECT pg_advisory_unlock(%s)", key)

    @classmethod
    def is_transient(cls, error: BaseException) -> bool:
        original = driver_error(error)
        return (getattr(original, "pgcode", None) or getattr(original, "sqlstate", None)) in TRANSIENT


def copy_csv(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Load the chunk with one COPY; return the number of rows."""
    arrow = arrow_of(pd_table)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(arrow, sink, CSV_OPTIONS)
    sql = _copy_sql(conn.dialect.identifier_preparer, pd_table.name, tuple(keys))
    with conn.connection.cursor() as cursor:
        cursor.copy_expert(sql, pa.BufferReader(sink.getvalue()), size=COPY_PIECE_BYTES)
    return arrow.num_rows


@functools.lru_cache(maxsize=16)
def _copy_sql(preparer: Any, table: str, keys: tuple[str, ...]) -> str:
    columns = ", ".join(preparer.quote_identifier(k) for k in keys)
    into = f"{preparer.quote_identifier(table)} ({columns})"
    return f"COPY {into} FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')"
