"""Parquet (``.parquet``, ``.pq``): columns that carry their own types, read as Arrow arrays.

No text round trip: the plan takes each column's type from the file's schema
(``processor/plan/declared.py``) and the load converts the arrays (``processor/load/typed.py``).
What has no kind of its own is made text here, exactly: a dictionary column is its values; a
list, struct or map its compact JSON (a map as its ``[key, value]`` pairs; decimals, dates and
times inside as JSON strings, bytes as hex).  Bytes (binary, large and fixed-size), times of day,
durations and month-day-nanosecond intervals keep their types (``Kind.BINARY``, ``TIME``,
``INTERVAL``); other interval types are refused (no kind holds them).  The columns are the
schema's top-level fields, matched by name across files; records are numbered by row from 1
(the rejects file names a row by that number, with the row as JSON).  A file larger than
SPLIT_BYTES is loaded in parts of whole row groups, of about SPLIT_BYTES stored bytes each: a
part is the bytes from its first row group's first page to the next part's (``Part.start`` and
``end``), and starts at its first row's number (``Part.first_line``).

A file that is not a plain file on disk (compressed, ``.gz`` say, or an archive's member) is
copied to a temporary file first: Parquet's footer is read before its data, which needs seeking.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from processor.errors import SourceError
from processor.kinds import is_bytes_type
from processor.sources.fingerprint import BLOCK_BYTES
from processor.sources.formats.base import TypedFileFormat
from processor.sources.parts import WHOLE, Part
from processor.sources.text import ReadRequest, TextFormat, open_bytes, open_stored

if TYPE_CHECKING:
    from processor.records import SourceFile
    from processor.sources.fingerprint import StreamDigest

#: Rows per batch read (rechunked to CHUNK_SIZE after).
BATCH_ROWS = 65_536


@contextlib.contextmanager
def seekable_file(source: SourceFile) -> Iterator[Any]:
    """The file's path, or a seekable temporary copy of its bytes where it is compressed or an
    archive's member (a columnar file is read from its footer)."""
    if source.compression is None and source.archive is None:
        yield source.path
        return
    with tempfile.TemporaryFile(prefix="columnar-") as copy:
        with open_bytes(source) as raw:
            shutil.copyfileobj(raw, copy, BLOCK_BYTES)
        copy.seek(0)
        yield copy


@contextlib.contextmanager
def open_parquet(source: SourceFile) -> Iterator[pq.ParquetFile]:
    """The file's Parquet reader; a file that is not one is a SourceError naming it."""
    with seekable_file(source) as where:
        try:
            reader = pq.ParquetFile(where)
        except (pa.ArrowException, OSError) as error:
            raise _unreadable(source, error) from None
        with contextlib.closing(reader):
            yield reader


def _unreadable(source: SourceFile, error: BaseException) -> SourceError:
    return SourceError(f"{source.name}: not a readable Parquet file: {error}")


def as_loaded(source: SourceFile, name: str, values: pa.Array) -> pa.Array:
    """A column as the pipeline takes it: its own type where a kind holds it, else exact text."""
    data_type = values.type
    if pa.types.is_dictionary(data_type):
        values = values.dictionary_decode()
        data_type = values.type
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return pc.cast(values, pa.string())
    if pa.types.is_nested(data_type):
        return pa.array([None if v is None else row_json(v) for v in values.to_pylist()], pa.string())
    if pa.types.is_float16(data_type):
        return pc.cast(values, pa.float32())
    if (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
        or pa.types.is_decimal(data_type)
        or pa.types.is_date(data_type)
        or pa.types.is_timestamp(data_type)
        or pa.types.is_time(data_type)
        or pa.types.is_duration(data_type)
        or data_type == pa.month_day_nano_interval()
        or is_bytes_type(data_type)
        or pa.types.is_string(data_type)
        or pa.types.is_null(data_type)
    ):
        return values
    raise SourceError(
        f"{source.name}: column {name!r} is of Arrow type {data_type}, which no column type "
        "of the importer holds (of the intervals only durations and month_day_nano_interval are "
        "loaded); leave it out with "
        "SRC_COLUMNS"
    )


def row_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def group_offsets(metadata: pq.FileMetaData) -> list[int]:
    """Where each row group's first page starts in the file."""
    offsets = []
    for group in range(metadata.num_row_groups):
        chunks = [metadata.row_group(group).column(i) for i in range(metadata.num_columns)]
        starts = [c.dictionary_page_offset if c.has_dictionary_page else c.data_page_offset for c in chunks]
        offsets.append(min(starts, default=0))
    return offsets


def row_group_parts(source: SourceFile, split_bytes: int) -> tuple[Part, ...]:
    """The file's parts: runs of whole row groups of about ``split_bytes`` stored bytes each."""
    with open_parquet(source) as reader:
        metadata = reader.metadata
        offsets = group_offsets(metadata)
        firsts: list[tuple[int, int]] = []  # (first row group, its first row's number)
        size, row = split_bytes, 1
        for group in range(metadata.num_row_groups):
            if size >= split_bytes:
                firsts.append((group, row))
                size = 0
            held = metadata.row_group(group)
            size += sum(held.column(i).total_compressed_size for i in range(held.num_columns))
            row += held.num_rows
    if len(firsts) < 2:
        return (WHOLE,)
    return tuple(
        Part(
            index=index,
            start=0 if index == 0 else offsets[group],
            end=offsets[firsts[index + 1][0]] if index + 1 < len(firsts) else None,
            first_line=row,
            last=index + 1 == len(firsts),
        )
        for index, (group, row) in enumerate(firsts)
    )


def _groups(reader: pq.ParquetFile, part: Part) -> list[int]:
    """The row groups of ``part``: those whose first page is within its bytes."""
    offsets = group_offsets(reader.metadata)
    if part.whole:
        return list(range(len(offsets)))
    return [g for g, at in enumerate(offsets) if part.start <= at and (part.end is None or at < part.end)]


def read_parquet_batches(
    source: SourceFile, include: Sequence[int] | None, part: Part, digest: StreamDigest | None
) -> Iterator[pa.RecordBatch]:
    """The columns ``include`` (by position in the schema; default all) of the row groups of
    ``part`` as batches, named by position; the first batch is empty, so that a file without
    rows still says its types."""
    if digest is not None and part.whole:  # the ledger's fingerprint: the stored bytes, as for any file
        with digest.wrap(open_stored(source)) as raw:
            while raw.read(BLOCK_BYTES):
                pass
    with open_parquet(source) as reader:
        schema = reader.schema_arrow
        fields = list(range(len(schema))) if include is None else list(include)
        names = [schema.field(i).name for i in fields]
        empty = [pa.array([], schema.field(i).type) for i in fields]
        yield loaded_batch(source, names, fields, empty)
        try:
            groups = _groups(reader, part)
            batches = reader.iter_batches(BATCH_ROWS, groups, names, use_threads=False) if groups else ()
            for batch in batches:
                yield loaded_batch(source, names, fields, list(batch.columns))
        except (pa.ArrowException, OSError) as error:
            raise _unreadable(source, error) from None


def loaded_batch(
    source: SourceFile, names: list[str], fields: list[int], columns: list[pa.Array]
) -> pa.RecordBatch:
    """A batch of the typed file's columns ``fields`` (named by position, as every format's
    are), each as it loads (``as_loaded``)."""
    arrays = [as_loaded(source, name, values) for name, values in zip(names, columns, strict=True)]
    return pa.record_batch(arrays, names=[str(i) for i in fields])


def locate_rows(source: SourceFile, records: set[int], part: Part) -> dict[int, tuple[int, str]]:
    """Records of ``part`` (numbered from 1 in it) -> (the row's number in the file, the row as
    JSON) for the rejects file."""
    found: dict[int, tuple[int, str]] = {}
    with open_parquet(source) as reader:
        first = 1
        for group in _groups(reader, part):
            rows = reader.metadata.row_group(group).num_rows
            wanted = sorted(r for r in records if first <= r < first + rows)
            if wanted:
                table = reader.read_row_group(group)
                for record in wanted:
                    row = table.slice(record - first, 1).to_pylist()[0]
                    found[record] = (part.first_line + record - 1, row_json(row))
            first += rows
    return found


class ParquetFormat(TypedFileFormat):
    """Parquet: typed columns named by the schema; no header line, no delimiter."""

    name = "parquet"
    suffixes: tuple[str, ...] = (".parquet", ".pq")
    parted = True
    no_columns = "no column in its Parquet schema"

    def parts(self, source: SourceFile, split_bytes: int) -> tuple[Part, ...]:
        return row_group_parts(source, split_bytes)

    def row_count(self, source: SourceFile) -> int | None:
        with open_parquet(source) as reader:
            return int(reader.metadata.num_rows)

    def read_header(self, source: SourceFile, fmt: TextFormat, records: int) -> list[str] | None:
        with open_parquet(source) as reader:
            return list(reader.schema_arrow.names) or None

    def read_batches(
        self, source: SourceFile, fmt: TextFormat, request: ReadRequest
    ) -> Iterator[pa.RecordBatch]:
        return read_parquet_batches(source, request.include, request.part, request.digest)

    def locate_records(
        self, source: SourceFile, fmt: TextFormat, records: set[int], part: Part
    ) -> dict[int, tuple[int, str]]:
        return locate_rows(source, records, part)


PARQUET = ParquetFormat()
