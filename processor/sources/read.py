"""Reading any source file through its format: the header, the batches of text columns, a
sample, the text of rejected records, rechunked into tables of CHUNK_SIZE rows.

Each call asks the file's format (``processor/sources/formats``) to do the reading; every
text format gives the same nullable text columns, numbered by record; a typed one (Parquet,
Arrow IPC) the Arrow columns of its files' types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from processor.sources.formats import format_of
from processor.sources.parts import WHOLE, Part
from processor.sources.text import InvalidRow, ReadRequest, TextFormat

if TYPE_CHECKING:  # discovery picks each file's format, whose reader this module is
    from processor.records import SourceFile


def read_header(source: SourceFile, fmt: TextFormat, records: int = 0) -> list[str] | None:
    """The header's column names exactly as written, or None for a file with no line at all;
    a keyed format's keys in its first ``records`` records (0: all).  Its format reads it."""
    return format_of(source).read_header(source, fmt, records)


def read_batches(source: SourceFile, fmt: TextFormat, request: ReadRequest) -> Iterator[pa.RecordBatch]:
    """Stream the data rows (after the header) as batches of nullable string arrays (a typed
    format's: of its own types, ``Format.typed``), one per field of ``include`` (default: all
    ``columns`` fields), named by the field's index; a keyed format's fields are its ``keys``.
    Its format reads them (``read_csv_batches``: a delimited file's), passing ragged or
    unreadable records to ``on_invalid`` in record order."""
    return format_of(source).read_batches(source, fmt, request)


def rechunk(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup batches into tables of exactly ``rows`` rows (the last one may be shorter)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - count, batch.num_rows)
            pending.append(batch.slice(0, take))
            batch = batch.slice(take)
            count += take
            if count == rows:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
    if count:
        yield pa.Table.from_batches(pending)


def sample_rows(
    source: SourceFile,
    fmt: TextFormat,
    columns: int,
    rows: int,
    check: Callable[[], None] = lambda: None,
    include: Sequence[int] | None = None,
    on_invalid: Callable[[InvalidRow], None] = lambda row: None,
    keys: Sequence[str] = (),
    quotes: bool = True,
) -> pa.Table:
    """The first ``rows`` data rows (every row when ``rows`` is 0), of the fields ``include``
    (default: all); ``check()`` runs before each block and may raise to stop early; ``quotes``
    as ``read_batches`` takes it.

    Ragged rows are only passed to ``on_invalid`` here; the load rejects them with their lines.
    """
    batches: list[pa.RecordBatch] = []
    taken = 0
    read = read_batches(
        source, fmt, ReadRequest(columns, on_invalid, read_ahead=0, include=include, keys=keys, quotes=quotes)
    )
    for batch in read:
        check()
        if rows and taken + batch.num_rows >= rows:
            batches.append(batch.slice(0, rows - taken))
            taken = rows
            break
        batches.append(batch)
        taken += batch.num_rows
    if batches:  # a typed format's batches (the first may be empty) bring their types
        return pa.Table.from_batches(batches)
    fields = range(columns) if include is None else include
    return pa.Table.from_batches([], schema=pa.schema([(str(i), pa.string()) for i in fields]))


def locate_records(
    source: SourceFile, fmt: TextFormat, records: Iterable[int], part: Part = WHOLE
) -> dict[int, tuple[int, str]]:
    """Map record numbers (the header is record 1; in a part without it, its first record is)
    to (first physical line in the file, raw text).

    A second pass with Python's csv module, run only for rejected rows: Arrow does not track
    physical lines, and quoted fields may span several.  Its format finds them.
    """
    wanted = set(records)
    if not wanted:
        return {}
    return format_of(source).locate_records(source, fmt, wanted, part)


def boundary_quoting(source: SourceFile, fmt: TextFormat) -> str:
    """How quotes bear on record boundaries (``csv`` or ``none``), as the file's format says."""
    return format_of(source).boundary_quoting(fmt)
