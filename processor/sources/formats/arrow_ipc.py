"""Arrow IPC files, Feather version 2 (``.arrow``, ``.feather``, ``.ipc``): typed columns, as
Parquet's (``parquet.py``: the same types, the same conversions, the same refusals).

A file larger than SPLIT_BYTES is loaded in parts of whole record batches, as a Parquet file is
in parts of whole row groups: a part is the bytes from one record batch's message to the next
part's first (``batch_offsets``), and its rejected rows keep their row number in the file.  One
that is compressed or an archive's member is loaded whole, from a temporary copy, as a Parquet
file is.  Feather version 1 files and Arrow IPC *streams* (which have no footer to reach a batch
by) are not read: exit 3 naming the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from processor.errors import SourceError
from processor.sources.fingerprint import BLOCK_BYTES
from processor.sources.formats.base import TypedFileFormat
from processor.sources.formats.parquet import loaded_batch, row_json, seekable_file
from processor.sources.parts import Part, file_parts
from processor.sources.text import ReadRequest, TextFormat, open_stored

if TYPE_CHECKING:
    from processor.records import SourceFile
    from processor.sources.fingerprint import StreamDigest


@contextlib.contextmanager
def open_ipc(source: SourceFile) -> Iterator[pa.ipc.RecordBatchFileReader]:
    """The file's Arrow IPC reader; a file that is not one is a SourceError naming it."""
    with seekable_file(source) as where:
        try:
            reader = pa.ipc.open_file(where)
        except (pa.ArrowException, OSError) as error:
            raise _unreadable(source, error) from None
        yield reader


def _unreadable(source: SourceFile, error: BaseException) -> SourceError:
    return SourceError(f"{source.name}: not a readable Arrow IPC (Feather v2) file: {error}")


#: An IPC file's first bytes before its messages: ``ARROW1`` and two bytes of padding.
MAGIC_BYTES = 8


def batch_offsets(source: SourceFile) -> list[tuple[int, int]]:
    """Each record batch of a plain (seekable) IPC file, in the footer's order: where its
    message starts in the file, and its rows.  The messages are walked from the start of the
    memory-mapped file, which reads no batch's body."""
    try:
        with pa.memory_map(str(source.path)) as mapped:
            reader = pa.ipc.open_file(mapped)
            rows = [reader.get_batch(i).num_rows for i in range(reader.num_record_batches)]
            mapped.seek(MAGIC_BYTES)
            messages = pa.ipc.MessageReader.open_stream(mapped)
            starts: list[int] = []
            while len(starts) < len(rows):
                at = mapped.tell()
                if messages.read_next_message().type == "record batch":
                    starts.append(at)
    except (pa.ArrowException, OSError, StopIteration) as error:
        raise _unreadable(source, error) from None
    return list(zip(starts, rows, strict=True))


def record_batch_parts(source: SourceFile, split_bytes: int) -> tuple[Part, ...]:
    """The file's parts: runs of whole record batches of about ``split_bytes`` bytes each."""
    offsets = batch_offsets(source)
    firsts: list[tuple[int, int]] = []  # (the first batch's offset, its first row's number)
    row = 1
    for index, (at, rows) in enumerate(offsets):
        if not firsts or at - firsts[-1][0] >= split_bytes:
            firsts.append((0 if index == 0 else at, row))
        row += rows
    return file_parts(firsts[1:], checked_to_end=True)  # no quotes to check in a typed file


def _batches(source: SourceFile, reader: pa.ipc.RecordBatchFileReader, part: Part) -> list[int]:
    """The record batches of ``part``: those whose message starts within its bytes."""
    if part.whole:
        return list(range(reader.num_record_batches))
    offsets = [at for at, _ in batch_offsets(source)]
    return [i for i, at in enumerate(offsets) if part.start <= at and (part.end is None or at < part.end)]


def read_ipc_batches(
    source: SourceFile, include: Sequence[int] | None, part: Part, digest: StreamDigest | None
) -> Iterator[pa.RecordBatch]:
    """As ``parquet.read_parquet_batches``, of the record batches of ``part``."""
    if digest is not None and part.whole:  # the ledger's fingerprint: the stored bytes, as for any file
        with digest.wrap(open_stored(source)) as raw:
            while raw.read(BLOCK_BYTES):
                pass
    with open_ipc(source) as reader:
        schema = reader.schema
        fields = list(range(len(schema))) if include is None else list(include)
        names = [schema.field(i).name for i in fields]
        yield loaded_batch(source, names, fields, [pa.array([], schema.field(i).type) for i in fields])
        try:
            for index in _batches(source, reader, part):
                batch = reader.get_batch(index)
                yield loaded_batch(source, names, fields, [batch.column(i) for i in fields])
        except (pa.ArrowException, OSError) as error:
            raise _unreadable(source, error) from None


def locate_ipc_rows(source: SourceFile, records: set[int], part: Part) -> dict[int, tuple[int, str]]:
    """Rows of ``part`` (numbered from 1 in it) -> (the row's number in the file, the row as
    JSON) for the rejects file."""
    found: dict[int, tuple[int, str]] = {}
    with open_ipc(source) as reader:
        first = 1
        for index in _batches(source, reader, part):
            batch = reader.get_batch(index)
            for record in sorted(r for r in records if first <= r < first + batch.num_rows):
                row = batch.slice(record - first, 1).to_pylist()[0]
                found[record] = (part.first_line + record - 1, row_json(row))
            first += batch.num_rows
    return found


class ArrowIpcFormat(TypedFileFormat):
    """Arrow IPC files (Feather v2): typed columns named by the schema, in parts of whole record
    batches."""

    name = "arrow"
    suffixes: tuple[str, ...] = (".arrow", ".feather", ".ipc")
    parted = True
    no_columns = "no column in its Arrow schema"

    def parts(self, source: SourceFile, split_bytes: int) -> tuple[Part, ...]:
        return record_batch_parts(source, split_bytes)

    def row_count(self, source: SourceFile) -> int | None:
        with open_ipc(source) as reader:
            return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))

    def read_header(self, source: SourceFile, fmt: TextFormat, records: int) -> list[str] | None:
        with open_ipc(source) as reader:
            return list(reader.schema.names) or None

    def read_batches(
        self, source: SourceFile, fmt: TextFormat, request: ReadRequest
    ) -> Iterator[pa.RecordBatch]:
        return read_ipc_batches(source, request.include, request.part, request.digest)

    def locate_records(
        self, source: SourceFile, fmt: TextFormat, records: set[int], part: Part
    ) -> dict[int, tuple[int, str]]:
        return locate_ipc_rows(source, records, part)


ARROW_IPC = ArrowIpcFormat()
