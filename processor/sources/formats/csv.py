"""Delimited text (``.csv``, ``.tsv``, and any suffix no other format claims), read with
Arrow's streaming CSV reader; Python's csv module reads the header and, for rejected rows
only, finds their physical lines.

Parsing uses Arrow's streaming CSV reader (it is several times faster than pandas' C engine and
reports ragged rows with their text instead of padding them).  Every field is read as text and
only an empty field, or a NA_VALUES marker, is null; typing happens later, against the plan.
Line numbers cost a second pass, so they are looked up only for rows that were rejected.
"""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from processor.errors import SourceError, first_line
from processor.sources.fingerprint import StreamDigest
from processor.sources.pacing import PacedStream
from processor.sources.parts import WHOLE, Part
from processor.sources.quotes import (
    GLUED,
    UNCLOSED,
    BoundaryScanner,
    QuoteCheck,
    quote_fault,
    splittable_encoding,
)
from processor.sources.text import (
    BLOCK_BYTES,
    DAMAGED,
    MAX_BLOCK_BYTES,
    InvalidRow,
    ReadRequest,
    TextFormat,
    bounded_lines,
    damaged,
    open_part,
    open_text,
    reading_error,
    undecodable,
)

if TYPE_CHECKING:  # discovery picks each file's format, whose reader this module is
    from processor.records import SourceFile


# A record larger than its block (BLOCK_BYTES, processor/sources/text.py) makes the file be read
# again with larger blocks, up to the record limit (MAX_BLOCK_BYTES).
MIN_AHEAD_BLOCKS = 3
# Arrow's message for a record that spans more than two blocks.
STRADDLING = "straddling object straddles two block boundaries"
# Arrow's message for input without a record (a part of a file holding only blank lines).
EMPTY = "Empty CSV file"
# The resolution of holds_record_over: a record boundary is looked for every this many bytes.
SIZE_STEP = 1 << 20


def _csv_reader(stream: Iterable[str], source: SourceFile, fmt: TextFormat) -> Iterator[list[str]]:
    if fmt.quoting == "none":
        return csv.reader(stream, delimiter=source.delimiter, quoting=csv.QUOTE_NONE)
    return csv.reader(stream, delimiter=source.delimiter)


@contextlib.contextmanager
def _any_field_size() -> Iterator[None]:
    """Lift Python's csv limit on a field's size (128 KiB) while rejected rows are looked up: a
    field that Arrow read must be found for a rejected row's text.  The header keeps the limit
    (no database names a column in 128 KiB, and a quote never closed would read the whole file)."""
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def read_csv_header(source: SourceFile, fmt: TextFormat) -> list[str] | None:
    """A delimited file's first record, its fields exactly as written (None: no line at all)."""
    try:
        with open_text(source, fmt) as stream:
            return next(_csv_reader(bounded_lines(stream, source), source, fmt), None)
    except csv.Error as exc:
        raise SourceError(f"{source.name}: line 1: unreadable header: {exc}") from exc
    except (UnicodeDecodeError, *DAMAGED, pa.ArrowException) as exc:
        # The text layer decodes ahead of the csv module, so the bad bytes may lie after line 1.
        raise reading_error(source, fmt, exc) from exc


def read_csv_batches(source: SourceFile, fmt: TextFormat, request: ReadRequest) -> Iterator[pa.RecordBatch]:
    """``read_batches`` of a delimited file.

    Rows with too few or too many fields, and rows with text after a closing quote (unless not
    ``quotes``: a sample, which the load reads again), are passed to ``on_invalid`` (in record
    order, each before the batch that would have held it) and left out; ``digest`` fingerprints
    a whole file on the way; ``read_ahead`` bytes at most are read beyond the batches taken (a
    sample takes few).  Arrow parses a record only if it fits in about one block; after a
    larger one the file is read again from its start with blocks four times as large, skipping
    what was passed on, so that every row and invalid row comes once, numbered as in the whole
    file (or ``part``, whose records are numbered from 1, the header's number where it has the
    header).
    """
    columns, part, digest, read_ahead, include = (
        request.columns,
        request.part,
        request.digest,
        request.read_ahead,
        request.include,
    )
    screen = _Screen(source, fmt, part, request.on_invalid, request.quotes)
    consumed = 0  # Arrow's rows passed on or screened out
    block = BLOCK_BYTES
    try:
        while True:
            check = screen.quote_check()
            try:
                parsed = _parse(
                    source, fmt, columns, block, screen.handle, part, digest, read_ahead, include, check
                )
                for batch in _after(consumed, parsed):
                    first, consumed = consumed, consumed + batch.num_rows
                    kept = screen.screened(batch, first, check)
                    if kept.num_rows:
                        yield kept
                screen.pass_on()
                return
            except _RecordTooLarge as error:
                if block >= MAX_BLOCK_BYTES or _record_over_limit(source, fmt, part, error.reached):
                    record = int(_holds_header(source, part)) + consumed + len(screen.skipped)
                    raise _too_large(source, fmt, record, part) from None
                block *= 4
    finally:
        screen.close()


class _Screen:
    """What ``read_batches`` leaves out of one file (or part) beside Arrow's ragged rows: rows
    with text after a closing quote (``quotes.py``), which Arrow would read with the quotes
    dropped.  A vectorised check of the bytes Arrow reads (``QuoteCheck``) finds whether any
    quote breaks the rule; only from then on are records looked at one by one, and the rows of
    those that do left out of the batches.  Invalid rows are held and passed on in record
    order, so that a reader of ``on_invalid`` can number the rows it is given."""

    def __init__(
        self,
        source: SourceFile,
        fmt: TextFormat,
        part: Part,
        on_invalid: Callable[[InvalidRow], None],
        quotes: bool = True,
    ) -> None:
        self._source, self._fmt, self._part = source, fmt, part
        self._on_invalid = on_invalid
        self._first = 2 if _holds_header(source, part) else 1  # the record of the first data row
        #: Every record Arrow skipped so far (ragged), in order.
        self.skipped: list[int] = []
        self._held: list[InvalidRow] = []
        self._watching = quotes and fmt.quoting == "csv"
        # Bytes that may not be the characters they look like (UTF-16): every record is looked at.
        self._looking = self._watching and not splittable_encoding(fmt.encoding)
        self._glued: _GluedRecords | None = None

    def quote_check(self) -> QuoteCheck | None:
        """A check for one reading of the file, where quotes are to be watched at all (not in
        a part whose quotes the scan that cut it checked)."""
        if not self._watching or self._looking or self._part.quotes_checked:
            return None
        return QuoteCheck(self._source.delimiter)

    def handle(self, row: pacsv.InvalidRow) -> str:
        """Arrow's invalid row handler: skip it, and pass it on in its turn."""
        if not self.skipped or row.number > self.skipped[-1]:  # not one an earlier reading passed on
            self.skipped.append(row.number)
            self._held.append(InvalidRow(record=row.number, fields=row.actual_columns))
        return "skip"

    def screened(self, batch: pa.RecordBatch, first: int, check: QuoteCheck | None) -> pa.RecordBatch:
        """``batch`` (Arrow's rows ``first`` on) less its rows with text after a closing quote;
        the invalid rows up to its last one are passed on."""
        if not batch.num_rows:
            return batch
        self._looking = self._looking or (check is not None and check.suspect)
        if not self._looking:
            self._pass_on_to(int(self._records(np.array([first + batch.num_rows - 1]))[0]))
            return batch
        records = self._records(np.arange(first, first + batch.num_rows))
        if self._glued is None:
            self._glued = _GluedRecords(self._source, self._fmt, self._part)
        glued = self._glued.upto(int(records[-1]))
        out = np.isin(records, glued)
        self._held += [InvalidRow(record=record, fields=0, reason=GLUED) for record in records[out].tolist()]
        self._pass_on_to(int(records[-1]))
        return batch.filter(pa.array(~out)) if out.any() else batch

    def _records(self, rows: np.ndarray) -> np.ndarray:
        """The record numbers of Arrow's rows ``rows`` (0-based, as Arrow gave them): each row's
        number, pushed back by every skipped record at or before it."""
        base = rows + self._first
        skipped = np.asarray(self.skipped, dtype=np.int64)
        records = base
        while True:
            pushed = base + np.searchsorted(skipped, records, side="right")
            if np.array_equal(pushed, records):
                return records
            records = pushed

    def _pass_on_to(self, last: int) -> None:
        """Pass on the held invalid rows up to record ``last``, in record order."""
        self._held.sort(key=lambda row: row.record)
        ready = [row for row in self._held if row.record <= last]
        self._held = self._held[len(ready) :]
        for row in ready:
            self._on_invalid(row)

    def pass_on(self) -> None:
        """The reading has ended: pass on every invalid row held."""
        self._pass_on_to(sys.maxsize)

    def close(self) -> None:
        if self._glued is not None:
            self._glued.close()


class _GluedRecords:
    """The records of a file (or part) with text after a closing quote, found in order as far as
    asked, by Python's csv module (whose records are Arrow's) and ``quotes.quote_fault``; a quote
    never closed is a SourceError naming its line."""

    def __init__(self, source: SourceFile, fmt: TextFormat, part: Part) -> None:
        self._source, self._fmt = source, fmt
        self._delimiter = source.delimiter
        self._stream = open_text(source, fmt, part)
        self._lines = _LineRecorder(self._stream, part.first_line)
        self._rows = _csv_reader(self._lines, source, fmt)
        self._record = 0
        self._found: list[int] = []

    def upto(self, last: int) -> list[int]:
        """Every such record up to record ``last``."""
        try:
            self._read_to(last)
        except (UnicodeDecodeError, *DAMAGED) as exc:  # it may read ahead of Arrow, which reports these
            raise reading_error(self._source, self._fmt, exc) from exc
        return self._found

    def _read_to(self, last: int) -> None:
        with _any_field_size():
            while self._record < last:
                row = next(self._rows, None)
                if row is None:
                    self._record = sys.maxsize
                    break
                if row:  # blank lines are no records (see read_batches)
                    self._record += 1
                    text = self._lines.text()
                    fault = quote_fault(text, self._delimiter) if '"' in text else None
                    if fault is GLUED:
                        self._found.append(self._record)
                    elif fault is UNCLOSED:  # the last record: it runs to the end of the text
                        raise SourceError(f"{self._source.name}: line {self._lines.first_line}: {UNCLOSED}")
                self._lines.start_record()

    def close(self) -> None:
        self._stream.close()


class _Watched:
    """``raw``, whose bytes ``check`` sees before the reader does."""

    def __init__(self, raw: IO[bytes], check: QuoteCheck) -> None:
        self._raw = raw
        self._check = check

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._check.feed(data)
        else:
            self._check.finish()
        return data


class _RecordTooLarge(Exception):
    """Arrow met a record that does not fit in its block, having read ``reached`` bytes."""

    def __init__(self, reached: int) -> None:
        super().__init__(reached)
        self.reached = reached


def _record_over_limit(source: SourceFile, fmt: TextFormat, part: Part, reached: int) -> bool:
    """Before a reading with larger blocks: whether the record that did not fit (it starts within
    the first ``reached`` bytes) is larger than the limit.  Larger blocks would hold it in
    memory several times over only to fail; a scan in small pieces finds it first."""
    try:
        return holds_record_over(source, fmt, part, MAX_BLOCK_BYTES, reached)
    except DAMAGED as exc:
        raise damaged(source, exc) from exc


def _after(rows: int, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches, less their first ``rows`` rows."""
    for batch in batches:
        if rows >= batch.num_rows:
            rows -= batch.num_rows
            continue
        yield batch.slice(rows)
        rows = 0


def _parse(
    source: SourceFile,
    fmt: TextFormat,
    columns: int,
    block: int,
    handle: Callable[[pacsv.InvalidRow], str],
    part: Part,
    digest: StreamDigest | None,
    read_ahead: int,
    include: Sequence[int] | None,
    check: QuoteCheck | None,
) -> Iterator[pa.RecordBatch]:
    """One reading of the file (or ``part``) with Arrow, in blocks of ``block`` bytes, its bytes
    fed to ``check`` as Arrow reads them."""
    names = [str(i) for i in range(columns)]
    # Fields not included are split off but never converted (SRC_COLUMNS).
    wanted = names if include is None else [names[i] for i in include]
    read_options = pacsv.ReadOptions(
        use_threads=False,  # rows' record numbers are known only when reading on one thread
        block_size=block,
        column_names=names,
        # Not skip_rows: that skips physical lines, so a header with a quoted line break would
        # leave its tail behind as a data row.  skip_rows_after_names skips one parsed record.
        skip_rows_after_names=1 if _holds_header(source, part) else 0,
        encoding=fmt.encoding if fmt.encoding != "utf-8" else "utf8",
    )
    parse_options = pacsv.ParseOptions(
        delimiter=source.delimiter,
        quote_char='"' if fmt.quoting == "csv" else False,
        newlines_in_values=fmt.quoting == "csv",
        ignore_empty_lines=True,  # a blank line is no row, also in a one-column file
        invalid_row_handler=handle,
    )
    convert_options = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in wanted},
        include_columns=wanted,
        null_values=["", *fmt.na_values],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    with open_part(source, fmt, part, digest) as raw:
        watched = raw if check is None else _Watched(raw, check)
        stream = PacedStream(watched, ahead=max(MIN_AHEAD_BLOCKS, read_ahead // block))
        try:
            with stream.asking():
                reader = pacsv.open_csv(stream, read_options, parse_options, convert_options)
            while True:
                with stream.asking():
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        return
                yield batch
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            # First: a record too large for the block is no header-only file, and _header_only's
            # csv module would read that record whole as one line.  (A file smaller than the
            # block that ends without a line break straddles too: it is looked at below.)
            straddling = isinstance(exc, pa.ArrowInvalid) and STRADDLING in str(exc)
            if straddling and stream.bytes_read >= block:
                raise _RecordTooLarge(stream.bytes_read) from exc
            if isinstance(exc, pa.ArrowInvalid) and _holds_header(source, part) and _header_only(source, fmt):
                return  # Arrow cannot skip a header that no line break ends: there are no rows
            if isinstance(exc, pa.ArrowInvalid) and not _holds_header(source, part) and EMPTY in str(exc):
                return  # a part of blank lines only
            raise _read_error(source, fmt, exc) from exc
        except DAMAGED as exc:
            raise damaged(source, exc) from exc
        finally:
            stream.close()  # before the reader is dropped, which waits for its reading thread


def _holds_header(source: SourceFile, part: Part) -> bool:
    """Whether ``part`` begins with a header line, which is no row."""
    return part.header and source.header  # a CSV file's first record, unless SRC_HEADER=false


def _too_large(source: SourceFile, fmt: TextFormat, record: int, part: Part) -> SourceError:
    """A record too large to parse, somewhere after ``record`` of ``part`` (error path only)."""
    first, text = locate_csv_records(source, fmt, {record}, part).get(record, (part.first_line - 1, ""))
    line = first + text.count("\n")
    return SourceError(
        f"{source.name}: a record after line {line} is larger than {MAX_BLOCK_BYTES >> 20} MiB, "
        "or a quote there is never closed"
    )


def _header_only(source: SourceFile, fmt: TextFormat) -> bool:
    """Whether the file holds no record after its header (error path only).

    Read within the csv module's field size limit: that there is a record at all is the
    answer, and a quote never closed would otherwise read on to the end of the file.
    """
    try:
        with open_text(source, fmt) as stream:
            records = _csv_reader(stream, source, fmt)
            return next(records, None) is not None and next(records, None) is None
    except (UnicodeDecodeError, csv.Error, *DAMAGED):
        return False


def _read_error(source: SourceFile, fmt: TextFormat, exc: Exception) -> SourceError:
    """Turn a parse failure into a one-line error naming the file and, where found, the line."""
    message = first_line(exc)
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in message:
        return undecodable(source, fmt)
    return SourceError(f"{source.name}: unreadable CSV: {message}")


def locate_csv_records(
    source: SourceFile, fmt: TextFormat, wanted: set[int], part: Part = WHOLE
) -> dict[int, tuple[int, str]]:
    """``locate_records`` of a delimited file (``wanted``: not empty)."""
    found: dict[int, tuple[int, str]] = {}
    last = max(wanted)
    with open_text(source, fmt, part) as stream, _any_field_size():
        lines = _LineRecorder(stream, part.first_line)
        record = 0
        for row in _csv_reader(lines, source, fmt):
            if row:  # blank lines are no records (see read_batches)
                record += 1
                if record in wanted:
                    found[record] = (lines.first_line, lines.text().rstrip("\r\n"))
                if record >= last:
                    break
            lines.start_record()
    return found


class _LineRecorder:
    """Feeds lines to csv.reader while remembering which physical lines the current record used."""

    def __init__(self, stream: IO[str], first_line: int = 1) -> None:
        self._stream = stream
        self._number = first_line - 1
        self._lines: list[str] = []
        self.first_line = first_line

    def __iter__(self) -> _LineRecorder:
        return self

    def __next__(self) -> str:
        line = next(self._stream)
        self._number += 1
        self._lines.append(line)
        return line

    def text(self) -> str:
        return "".join(self._lines)

    def start_record(self) -> None:
        self._lines = []
        self.first_line = self._number + 1


def holds_record_over(source: SourceFile, fmt: TextFormat, part: Part, limit: int, within: int) -> bool:
    """Whether a record that starts within the first ``within`` bytes of ``source`` (or ``part``)
    is larger than ``limit`` bytes, found without holding it: a scanner places a boundary at the
    first record end after every ``SIZE_STEP`` bytes, so a stretch of more than ``limit`` +
    ``SIZE_STEP`` bytes without one holds a larger record.  False where the scan cannot tell (an
    encoding whose bytes cannot be scanned, a quote that proves nothing): Arrow's reading decides."""
    if not splittable_encoding(fmt.encoding):
        return False
    scanner = BoundaryScanner(SIZE_STEP, CSV.boundary_quoting(fmt), source.delimiter)
    offset = last = 0
    with open_part(source, fmt, part) as stream:
        while data := stream.read(SIZE_STEP):
            scanner.feed(data)
            offset += len(data)
            if scanner.boundaries:
                last = scanner.boundaries[-1][0]
                scanner.boundaries.clear()
            if scanner.unsafe_at is not None or last >= within:
                return False
            if offset - last > limit + SIZE_STEP:
                return True
    return False


class CsvFormat:
    """Delimited text with a header line (unless SRC_HEADER=false); ``.tsv`` is tab-separated."""

    name = "csv"
    suffixes: tuple[str, ...] = (".csv", ".tsv")
    header_line = True
    keyed = False
    delimited = True
    splittable = True
    no_columns = "line 1: no header"
    typed = False
    parted = False

    def default_delimiter(self, suffix: str) -> str:
        return "\t" if suffix == ".tsv" else ","

    def boundary_quoting(self, fmt: TextFormat) -> str:
        return fmt.quoting

    def parts(self, source: SourceFile, split_bytes: int) -> tuple[Part, ...]:
        return (WHOLE,)  # cut at record boundaries of its text instead (``split.py``)

    def row_count(self, source: SourceFile) -> int | None:
        return None  # counted only by reading it all

    def read_header(self, source: SourceFile, fmt: TextFormat, records: int) -> list[str] | None:
        return read_csv_header(source, fmt)

    def read_batches(
        self, source: SourceFile, fmt: TextFormat, request: ReadRequest
    ) -> Iterator[pa.RecordBatch]:
        return read_csv_batches(source, fmt, request)

    def locate_records(
        self, source: SourceFile, fmt: TextFormat, records: set[int], part: Part
    ) -> dict[int, tuple[int, str]]:
        return locate_csv_records(source, fmt, records, part)


CSV = CsvFormat()
