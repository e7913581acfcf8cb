"""What a writer writes: one chunk's typed rows, from the pipeline as Arrow or from pandas' ``to_sql``.

Writers keep pandas' ``method=`` signature ``(pd_table, conn, keys, data_iter) -> int`` so that
``DataFrame.to_sql(method=writer)`` works.  The pipeline calls them directly with an
``ArrowChunk`` instead, because ``to_sql`` first turns every value into a Python object (pandas
io/sql.py, ``SQLTable.insert_data``): about a second per 100,000 rows of 94 columns that the bulk
writers (COPY, LOAD DATA) never use.  Writers that do bind Python values get them as ``data_iter``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

Writer = Callable[[Any, Any, list[str], Iterable[tuple[Any, ...]]], int]


@dataclass(frozen=True)
class WriteMethod:
    """A writer, whether it binds the Python rows of ``data_iter`` (else it reads the Arrow
    chunk), and what it does in words (the write path a dry run names).  ``streams``: it also
    takes a ``RecordBatchReader`` for the chunk, reading many chunks in one statement
    (``backends/stream.py``)."""

    write: Writer
    takes_rows: bool
    label: str
    streams: bool = False


@dataclass(frozen=True)
class ArrowChunk:
    """Stands in for pandas' SQLTable: the target table's name and the rows to append (a
    stream of chunks, for a writer that ``streams``)."""

    name: str
    arrow: pa.Table | pa.RecordBatchReader


def arrow_of(pd_table: Any) -> pa.Table:
    """The chunk's rows as an Arrow table, whichever caller handed them over."""
    rows = arrow_or_stream_of(pd_table)
    assert isinstance(rows, pa.Table), "a stream of chunks for a writer that does not stream"
    return rows


def arrow_or_stream_of(pd_table: Any) -> pa.Table | pa.RecordBatchReader:
    """The chunk's rows as an Arrow table, or the stream of chunks (``WriteMethod.streams``)."""
    if isinstance(pd_table, ArrowChunk):
        return pd_table.arrow
    return pa.Table.from_pandas(pd_table.frame, preserve_index=False)


def python_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """The rows as tuples of Python values (ints stay exact ints, nulls are None)."""
    return list(zip(*(column.to_pylist() for column in table.columns), strict=True))
