"""Delimited text (``.csv``, ``.tsv``, and any suffix no other format claims), read by
``processor/sources/read.py`` with Arrow's CSV reader and Python's csv module."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from processor.sources.read import locate_csv_records, read_csv_batches, read_csv_header

if TYPE_CHECKING:
    import pyarrow as pa

    from processor.sources.discover import SourceFile
    from processor.sources.fingerprint import StreamDigest
    from processor.sources.parts import Part
    from processor.sources.read import InvalidRow, TextFormat


class CsvFormat:
    """Delimited text with a header line (unless SRC_HEADER=false); ``.tsv`` is tab-separated."""

    name = "csv"
    suffixes: tuple[str, ...] = (".csv", ".tsv")
    header_line = True
    keyed = False
    delimited = True
    splittable = True
    no_columns = "line 1: no header"

    def default_delimiter(self, suffix: str) -> str:
        return "\t" if suffix == ".tsv" else ","

    def boundary_quoting(self, fmt: TextFormat) -> str:
        return fmt.quoting

    def read_header(self, source: SourceFile, fmt: TextFormat, records: int) -> list[str] | None:
        return read_csv_header(source, fmt)

    def read_batches(
        self,
        source: SourceFile,
        fmt: TextFormat,
        columns: int,
        on_invalid: Callable[[InvalidRow], None],
        part: Part,
        digest: StreamDigest | None,
        read_ahead: int,
        include: Sequence[int] | None,
        keys: Sequence[str],
        quotes: bool,
    ) -> Iterator[pa.RecordBatch]:
        return read_csv_batches(source, fmt, columns, on_invalid, part, digest, read_ahead, include, quotes)

    def locate_records(
        self, source: SourceFile, fmt: TextFormat, records: set[int], part: Part
    ) -> dict[int, tuple[int, str]]:
        return locate_csv_records(source, fmt, records, part)


CSV = CsvFormat()
