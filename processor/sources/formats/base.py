"""What the pipeline asks of an input format, so that no stage compares format names.

A format is an object (one per module in this package, listed in the registry of
``__init__.py``) that says what its files are like (a header line? a delimiter? columns named
by each record's keys? cut into byte ranges?) and reads them: a file's column names, batches of
nullable text columns numbered by record, and the text of records that were rejected.  Every
text format gives the pipeline the same text columns, so types are planned and checked by one
rule; a typed format (Parquet) gives Arrow columns of the types its files declare, which the
plan takes as given (``processor/plan/declared.py``) and the load converts without text
(``processor/load/typed.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the readers take these; a format module imports them itself
    import pyarrow as pa

    from processor.records import SourceFile
    from processor.sources.parts import Part
    from processor.sources.text import ReadRequest, TextFormat


class Format(Protocol):
    """An input format: what its files are like, and how to read them."""

    #: Its name (``SourceFile.data_format``; messages name it, e.g. files that mix formats).
    name: str
    #: The data suffixes (after any compression suffix) that discovery gives it, lower case.
    suffixes: tuple[str, ...]
    #: Whether a file's first record may name the columns (SRC_HEADER=false: it is data).
    header_line: bool
    #: Whether the columns are the keys that records give, gathered over every file's first
    #: SAMPLE_ROWS records (one set for all files); else each file has its own header.
    keyed: bool
    #: Whether fields are split on a delimiter: detected per file unless SRC_DELIMITER is set,
    #: and shown in the dry run and the report.
    delimited: bool
    #: Whether a file can be cut at record boundaries into byte ranges (SPLIT_BYTES) and a
    #: compressed one handed out in decompressed blocks (else it is loaded whole).
    splittable: bool
    #: Whether a file large enough to split (SPLIT_BYTES) is cut into parts that the format
    #: itself knows (Parquet's row groups: ``parts``), rather than at record boundaries found
    #: in its text.
    parted: bool
    #: What a file without a single column name lacks, for the SourceError naming it.
    no_columns: str
    #: Whether its columns carry their own types (Parquet), declared rather than sampled; else
    #: every column is nullable text.
    typed: bool

    def default_delimiter(self, suffix: str) -> str:
        """The delimiter a file with the data suffix ``suffix`` has unless SRC_DELIMITER is set."""
        ...

    def boundary_quoting(self, fmt: TextFormat) -> str:
        """How quotes bear on record boundaries when a file is cut: ``csv`` or ``none``."""
        ...

    def parts(self, source: SourceFile, split_bytes: int) -> tuple[Part, ...]:
        """A ``parted`` format's parts of ``source``, of about ``split_bytes`` stored bytes each
        (else the whole file, ``WHOLE``)."""
        ...

    def row_count(self, source: SourceFile) -> int | None:
        """The file's data records where its format stores how many (Parquet's footer), else
        None (the dry run estimates them from the sample's bytes)."""
        ...

    def read_header(self, source: SourceFile, fmt: TextFormat, records: int) -> list[str] | None:
        """The file's column names as written (a keyed format's: the keys of its first
        ``records`` records, 0: all), or None where it has none at all."""
        ...

    def read_batches(
        self, source: SourceFile, fmt: TextFormat, request: ReadRequest
    ) -> Iterator[pa.RecordBatch]:
        """The data records of ``request.part`` as ``processor.sources.read.read_batches``
        describes them."""
        ...

    def locate_records(
        self, source: SourceFile, fmt: TextFormat, records: set[int], part: Part
    ) -> dict[int, tuple[int, str]]:
        """Records (numbered as ``read_batches`` numbers them) -> (first physical line, raw
        text), for the rejects file (error path only; ``records`` is not empty)."""
        ...


class TypedFileFormat:
    """What the formats that carry their own types (Parquet, Arrow IPC) share: columns named by
    the file's schema, no header line, no delimiter, never cut at record boundaries of text."""

    header_line = False
    keyed = False
    delimited = False
    splittable = False
    typed = True

    def default_delimiter(self, suffix: str) -> str:
        return ","  # unused: no field is split on it

    def boundary_quoting(self, fmt: TextFormat) -> str:
        return "none"  # unused: the file is not cut into byte ranges
