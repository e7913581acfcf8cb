"""PostgreSQL: COPY FROM STDIN, fed CSV that Arrow's C++ writer formats (no per-row Python)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from processor.write.chunk import arrow_of

# "needed" quotes every string and no number; nulls are unquoted empty fields.  A string is
# therefore never a lone unquoted `\.` line, which would end COPY's data early.  Numbers
# unquoted also save the server a little parsing against "all_valid".
CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed")
# psycopg2 sends the buffer in pieces of this size; its default of 8 KiB costs a Python call
# per piece.
COPY_PIECE_BYTES = 1 << 20


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
