"""PostgreSQL: COPY FROM STDIN, fed CSV that Arrow's C++ writer formats (no per-row Python)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

# Quote every value: a lone unquoted `\.` line would otherwise end COPY's data early.
CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")


def copy_csv(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Load the chunk's frame with one COPY; nulls go as unquoted empty fields."""
    frame = pd_table.frame
    buffer = io.BytesIO()
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buffer, CSV_OPTIONS)
    buffer.seek(0)
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(k) for k in keys)
    sql = f"COPY {quote(pd_table.name)} ({columns}) FROM STDIN WITH (FORMAT csv)"
    with conn.connection.cursor() as cursor:
        cursor.copy_expert(sql, buffer)
    return len(frame)
