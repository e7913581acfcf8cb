"""Arrow IPC files, Feather version 2 (``.arrow``, ``.feather``, ``.ipc``): typed columns, as
Parquet's (``parquet.py``: the same types, the same conversions, the same refusals).

A file is loaded whole (its record batches are not handed out as parts); one that is compressed
or an archive's member is copied to a temporary file first, as a Parquet file is.  Feather
version 1 files and Arrow IPC *streams* are not read: exit 3 naming the file.
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
from processor.sources.parts import WHOLE, Part
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


def read_ipc_batches(
    source: SourceFile, include: Sequence[int] | None, digest: StreamDigest | None
) -> Iterator[pa.RecordBatch]:
    """As ``parquet.read_parquet_batches``, of every record batch of the file."""
    if digest is not None:  # the ledger's fingerprint: the stored bytes, as for any file
        with digest.wrap(open_stored(source)) as raw:
            while raw.read(BLOCK_BYTES):
                pass
    with open_ipc(source) as reader:
        schema = reader.schema
        fields = list(range(len(schema))) if include is None else list(include)
        names = [schema.field(i).name for i in fields]
        yield loaded_batch(source, names, fields, [pa.array([], schema.field(i).type) for i in fields])
        try:
            for index in range(reader.num_record_batches):
                batch = reader.get_batch(index)
                yield loaded_batch(source, names, fields, [batch.column(i) for i in fields])
        except (pa.ArrowException, OSError) as error:
            raise _unreadable(source, error) from None


def locate_ipc_rows(source: SourceFile, records: set[int]) -> dict[int, tuple[int, str]]:
    """Rows (numbered from 1) -> (the row's number, the row as JSON) for the rejects file."""
    found: dict[int, tuple[int, str]] = {}
    with open_ipc(source) as reader:
        first = 1
        for index in range(reader.num_record_batches):
            batch = reader.get_batch(index)
            for record in sorted(r for r in records if first <= r < first + batch.num_rows):
                found[record] = (record, row_json(batch.slice(record - first, 1).to_pylist()[0]))
            first += batch.num_rows
    return found


class ArrowIpcFormat(TypedFileFormat):
    """Arrow IPC files (Feather v2): typed columns named by the schema, loaded whole."""

    name = "arrow"
    suffixes: tuple[str, ...] = (".arrow", ".feather", ".ipc")
    parted = False
    no_columns = "no column in its Arrow schema"

    def parts(self, source: SourceFile, split_bytes: int) -> tuple[Part, ...]:
        return (WHOLE,)

    def row_count(self, source: SourceFile) -> int | None:
        with open_ipc(source) as reader:
            return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))

    def read_header(self, source: SourceFile, fmt: TextFormat, records: int) -> list[str] | None:
        with open_ipc(source) as reader:
            return list(reader.schema.names) or None

    def read_batches(
        self, source: SourceFile, fmt: TextFormat, request: ReadRequest
    ) -> Iterator[pa.RecordBatch]:
        return read_ipc_batches(source, request.include, request.digest)

    def locate_records(
        self, source: SourceFile, fmt: TextFormat, records: set[int], part: Part
    ) -> dict[int, tuple[int, str]]:
        return locate_ipc_rows(source, records)


ARROW_IPC = ArrowIpcFormat()
