"""PostgreSQL: COPY fed by Arrow's CSV writer, advisory locks, transactional DDL, SQLSTATE retries."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from processor.backends.base import Backend
from processor.backends.chunk import WriteMethod, arrow_of
from processor.backends.locks import LockCheck, lock_key, release, session_check, wait_for
from processor.errors import driver_error

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
# A table holds at most MaxHeapAttributeNumber columns.
MAX_COLUMNS = 1600


class PostgreSQL(Backend):
    """PostgreSQL: quoted names are case-sensitive and counted in bytes."""

    name_limit = NAME_BYTES
    parameter_limit = 65535
    max_columns = MAX_COLUMNS

    def name_length(self, name: str) -> int:
        return len(name.encode())

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
    columns = ", ".join(preparer.quote(k) for k in keys)
    return f"COPY {preparer.quote(table)} ({columns}) FROM STDIN WITH (FORMAT csv)"
