"""Read source files as text: the header, a sample, and bounded chunks of string columns.

Parsing uses Arrow's streaming CSV reader (it is several times faster than pandas' C engine and
reports ragged rows with their text instead of padding them).  Every field is read as text and
only an empty field, or a NA_VALUES marker, is null; typing happens later, against the plan.
Line numbers cost a second pass, so they are looked up only for rows that were rejected.
``read_header``, ``read_batches`` and ``locate_records`` ask each file's format
(``processor/sources/formats``); the delimited-text reader they reach for CSV is this module's.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import io
import lzma
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, cast

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from isal import igzip, isal_zlib

from processor.errors import SourceError, first_line
from processor.sources.archive import open_member
from processor.sources.fingerprint import StreamDigest
from processor.sources.inflate import open_zip_member
from processor.sources.pacing import PacedStream
from processor.sources.parts import WHOLE, Part, bounded, slice_stream
from processor.sources.quotes import (
    GLUED,
    UNCLOSED,
    BoundaryScanner,
    QuoteCheck,
    quote_fault,
    splittable_encoding,
)

if TYPE_CHECKING:  # discovery picks each file's format, whose reader this module is
    from processor.sources.discover import SourceFile

# isal's stub declares ``error: Exception`` (an instance); it is the class of ISA-L's errors.
ISAL_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]
# What a damaged or truncated compressed file raises while it is read (BadGzipFile is an
# OSError; a truncated stream ends in EOFError; ISA-L's inflate raises its own error).
DAMAGED = (OSError, EOFError, zlib.error, ISAL_ERROR, lzma.LZMAError, zipfile.BadZipFile)
# Arrow parses a block of this many bytes at a time; rechunk() joins blocks into CHUNK_SIZE rows.
# Its streaming reader queues up to 32 blocks ahead on an I/O thread (not configurable), so the
# block size sets that read-ahead's memory: 32 MB here.  4 MB blocks parsed ~10% faster but held
# a worker near 330 MB on a large file.
BLOCK_BYTES = 1 << 20
# A record larger than its block makes the file be read again with larger blocks, up to this:
# beyond it is more likely a quote that is never closed than a record.
MAX_BLOCK_BYTES = 256 << 20
# Characters of a line that Python's csv or json module reads, read at a time (bounded_lines).
LINE_PIECE = 1 << 20
# Blocks read ahead of the consumer: Arrow's 32 at the default size, fewer at larger ones.
READ_AHEAD_BYTES = 32 * BLOCK_BYTES
MIN_AHEAD_BLOCKS = 3
# Arrow's message for a record that spans more than two blocks.
STRADDLING = "straddling object straddles two block boundaries"
# Arrow's message for input without a record (a part of a file holding only blank lines).
EMPTY = "Empty CSV file"
# The byte-order marks that an encoding's own decoder keeps as a character (U+FEFF), dropped
# from a file's start (``utf-16``, ``utf-32`` and ``utf-8-sig`` read and drop theirs).
BYTE_ORDER_MARKS = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}
# A file's encoding as its first bytes' byte-order mark names it (longest first: UTF-32-LE's
# begins with UTF-16-LE's).
MARKED_ENCODINGS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Bytes of a file's start looked at to guess its encoding (error path only).
GUESS_BYTES = 1 << 16
# The resolution of holds_record_over: a record boundary is looked for every this many bytes.
SIZE_STEP = 1 << 20


@dataclass(frozen=True)
class TextFormat:
    """How every source file's text is read: the parts of the format that are set per run."""

    quoting: str = "csv"
    encoding: str = "utf-8"
    na_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class InvalidRow:
    """A row Arrow could not split into the header's number of fields."""

    record: int
    fields: int
    #: Why it is no row, where that is not its number of fields (an NDJSON line).
    reason: str = ""


def open_bytes(source: SourceFile, digest: StreamDigest | None = None) -> IO[bytes]:
    """Open a source file for reading, decompressing it on the fly; ``digest`` fingerprints the
    stored bytes as they are read (not a .zip's: its member is read, not the whole archive; an
    archive's member: its own bytes)."""
    try:
        if source.compression == "zip":
            return _open_zip_member(source)
        raw = open_stored(source)
        if digest is not None:
            raw = digest.wrap(raw)
        if source.compression == "gzip":  # ISA-L's inflate: a third of zlib's CPU, the same text
            # typeshed does not declare GzipFile (IGzipFile's base) an IO[bytes]; it is one.
            return _closing_both(cast(IO[bytes], igzip.IGzipFile(fileobj=raw, mode="rb")), raw)
        if source.compression == "bz2":
            return _closing_both(bz2.BZ2File(raw), raw)
        if source.compression == "xz":
            return _closing_both(lzma.LZMAFile(raw), raw)
        if source.compression == "zstd":
            return pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "zstd")
        return raw
    except OSError as exc:
        raise SourceError(f"{source.name}: cannot be opened: {exc.strerror or exc}") from exc


def open_stored(source: SourceFile) -> IO[bytes]:
    """A source file's bytes as stored (still compressed if it is): the file, or its archive's member."""
    if source.archive is not None and source.member is not None:
        return open_member(source.path, source.archive, source.member, source.offset, source.size)
    return open(source.path, "rb")  # closed with what reads it


def seekable(source: SourceFile) -> bool:
    """Whether a part of the file can be reached by seeking (not decompressing up to it)."""
    return source.compression is None and source.archive is None


def hashed_while_read(source: SourceFile) -> bool:
    """Whether reading ``source`` through ``open_bytes`` reads (and can fingerprint) all of its
    stored bytes: not a .zip, whose member is read rather than the archive."""
    return source.compression != "zip"


def _closing_both(outer: IO[bytes], inner: IO[bytes]) -> IO[bytes]:
    """``outer``, a decompressor reading ``inner``, made to close ``inner`` too (the standard
    library's decompressors leave a file object they were given open)."""
    close_outer = outer.close

    def close() -> None:
        try:
            close_outer()
        finally:
            inner.close()

    outer.close = close  # type: ignore[method-assign]
    return outer


def _open_zip_member(source: SourceFile) -> IO[bytes]:
    try:
        archive = zipfile.ZipFile(source.path)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{source.name}: cannot be opened: {exc}") from exc
    # Closing the archive now leaves its file open until a member's stream from it is closed.
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            held = len(members)
            raise SourceError(f"{source.name}: a .zip source must hold exactly one file, it holds {held}")
        return open_zip_member(source.path, archive, members[0])


def open_part(
    source: SourceFile, fmt: TextFormat, part: Part = WHOLE, digest: StreamDigest | None = None
) -> IO[bytes]:
    """Open the bytes of one part of a source file (all of it by default), decompressed, less
    the file's byte-order mark; ``digest`` fingerprints a whole file on the way."""
    if part.data is not None:
        opened: IO[bytes] = io.BytesIO(part.data)
    else:
        opened = open_bytes(source, digest if part.whole else None)
        opened = slice_stream(opened, part, seekable=seekable(source))
    mark = BYTE_ORDER_MARKS.get(codecs.lookup(fmt.encoding).name)
    return _without_mark(opened, mark) if mark and part.header else opened


def _without_mark(raw: IO[bytes], mark: bytes) -> IO[bytes]:
    """``raw`` less ``mark`` where it starts with it (seen through a buffer, without reading on)."""
    buffered = raw if isinstance(raw, io.BufferedReader) else bounded(raw, None)
    if buffered.peek(len(mark))[: len(mark)] == mark:
        buffered.read(len(mark))
    return buffered


def open_text(
    source: SourceFile,
    fmt: TextFormat,
    part: Part = WHOLE,
    errors: str = "strict",
    digest: StreamDigest | None = None,
) -> IO[str]:
    """Open a source file (or a part of it) as text for Python's csv and json modules; ``errors``
    as ``open`` takes it; ``digest`` as ``open_part`` takes it."""
    return _text(open_part(source, fmt, part, digest), fmt, errors)


def _text(raw: IO[bytes], fmt: TextFormat, errors: str = "strict") -> IO[str]:
    encoding = "utf-8-sig" if fmt.encoding == "utf-8" else fmt.encoding
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")


def bounded_lines(stream: IO[str], source: SourceFile, first_line: int = 1) -> Iterator[str]:
    """The lines of ``stream`` (numbered from ``first_line``) for Python's csv and json modules,
    which would read a line whole however long: one longer than the record limit is a
    SourceError once that much of it is read, in pieces (never the whole line at once)."""
    number = first_line
    while piece := stream.readline(LINE_PIECE):
        pieces, size = [piece], len(piece)
        while len(piece) == LINE_PIECE and piece[-1] not in "\r\n":
            piece = stream.readline(LINE_PIECE)
            pieces.append(piece)
            size += len(piece)
            if size > MAX_BLOCK_BYTES:
                raise SourceError(f"{source.name}: line {number} is longer than {MAX_BLOCK_BYTES >> 20} MiB")
        yield "".join(pieces)
        number += 1


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


def read_header(source: SourceFile, fmt: TextFormat, records: int = 0) -> list[str] | None:
    """The header's column names exactly as written, or None for a file with no line at all;
    a keyed format's keys in its first ``records`` records (0: all).  Its format reads it."""
    return source.format.read_header(source, fmt, records)


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


def read_batches(
    source: SourceFile,
    fmt: TextFormat,
    columns: int,
    on_invalid: Callable[[InvalidRow], None],
    part: Part = WHOLE,
    digest: StreamDigest | None = None,
    read_ahead: int = READ_AHEAD_BYTES,
    include: Sequence[int] | None = None,
    keys: Sequence[str] = (),
    quotes: bool = True,
) -> Iterator[pa.RecordBatch]:
    """Stream the data rows (after the header) as batches of nullable string arrays, one per
    field of ``include`` (default: all ``columns`` fields), named by the field's index; a keyed
    format's fields are its ``keys``.  Its format reads them (``read_csv_batches``: a delimited
    file's), passing ragged or unreadable records to ``on_invalid`` in record order."""
    return source.format.read_batches(
        source, fmt, columns, on_invalid, part, digest, read_ahead, include, keys, quotes
    )


def read_csv_batches(
    source: SourceFile,
    fmt: TextFormat,
    columns: int,
    on_invalid: Callable[[InvalidRow], None],
    part: Part = WHOLE,
    digest: StreamDigest | None = None,
    read_ahead: int = READ_AHEAD_BYTES,
    include: Sequence[int] | None = None,
    quotes: bool = True,
) -> Iterator[pa.RecordBatch]:
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
    screen = _Screen(source, fmt, part, on_invalid, quotes)
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
        raise _damaged(source, exc) from exc


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
            raise _damaged(source, exc) from exc
        finally:
            stream.close()  # before the reader is dropped, which waits for its reading thread


def _holds_header(source: SourceFile, part: Part) -> bool:
    """Whether ``part`` begins with a header line, which is no row."""
    return part.header and source.has_header


def _too_large(source: SourceFile, fmt: TextFormat, record: int, part: Part) -> SourceError:
    """A record too large to parse, somewhere after ``record`` of ``part`` (error path only)."""
    first, text = locate_records(source, fmt, [record], part).get(record, (part.first_line - 1, ""))
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
        return _undecodable(source, fmt)
    return SourceError(f"{source.name}: unreadable CSV: {message}")


def reading_error(source: SourceFile, fmt: TextFormat, exc: BaseException) -> SourceError:
    """The SourceError of text that cannot be decoded, or of a file that cannot be read."""
    return _undecodable(source, fmt) if isinstance(exc, UnicodeDecodeError) else _damaged(source, exc)


def _undecodable(source: SourceFile, fmt: TextFormat) -> SourceError:
    line, text = find_undecodable_line(source, fmt.encoding)
    where = f"line {line}: " if line else ""
    with open_bytes(source) as stream:
        head = stream.read(GUESS_BYTES)
    likely = likely_encoding(head, text, fmt.encoding)
    hint = f" (it looks like {likely}: SRC_ENCODING={likely})" if likely else ""
    return SourceError(
        f"{source.name}: {where}bytes not valid {fmt.encoding}; set SRC_ENCODING to the files' encoding{hint}"
    )


def likely_encoding(head: bytes, line: bytes, named: str) -> str | None:
    """The encoding a file's first bytes (``head``) and a line that ``named`` could not decode
    (``line``) suggest, if not ``named``: the one a byte-order mark names; UTF-16 where every
    other byte is NUL (text mostly ASCII); else the first of UTF-8, cp1252 and latin-1 that
    decodes the line (latin-1 decodes any bytes)."""
    guess = next((name for mark, name in MARKED_ENCODINGS if head.startswith(mark)), None)
    if guess is None:
        guess = _nul_pattern(head)
    if guess is None:
        guess = next((name for name in ("utf-8", "cp1252", "latin-1") if _decodes(line, name)), None)
    return None if guess is None or codecs.lookup(guess).name == codecs.lookup(named).name else guess


def _nul_pattern(head: bytes) -> str | None:
    """utf-16-le (-be) where most odd (even) bytes, and few others, are NUL."""
    even, odd = head[0::2], head[1::2]
    if len(odd) < 2:
        return None
    if odd.count(0) > len(odd) // 2 and even.count(0) < len(even) // 8:
        return "utf-16-le"
    if even.count(0) > len(even) // 2 and odd.count(0) < len(odd) // 8:
        return "utf-16-be"
    return None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _damaged(source: SourceFile, exc: BaseException) -> SourceError:
    """A file that cannot be read to its end: a damaged or truncated compressed file."""
    what = getattr(exc, "strerror", None) or first_line(exc)
    return SourceError(f"{source.name}: cannot be read: {what}")


def find_undecodable_line(source: SourceFile, encoding: str) -> tuple[int | None, bytes]:
    """The first physical line whose bytes do not decode in ``encoding``, and its bytes (error
    path only); (None, b"") where none is found line by line (a multi-byte encoding)."""
    with open_bytes(source) as stream:
        for number, raw in enumerate(stream, start=1):
            if not _decodes(raw, encoding):
                return number, raw
    return None, b""


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
        source, fmt, columns, on_invalid, read_ahead=0, include=include, keys=keys, quotes=quotes
    )
    for batch in read:
        check()
        if rows and taken + batch.num_rows >= rows:
            batches.append(batch.slice(0, rows - taken))
            taken = rows
            break
        batches.append(batch)
        taken += batch.num_rows
    fields = range(columns) if include is None else include
    schema = pa.schema([(str(i), pa.string()) for i in fields])
    return pa.Table.from_batches(batches, schema=schema)


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
    return source.format.locate_records(source, fmt, wanted, part)


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


def boundary_quoting(source: SourceFile, fmt: TextFormat) -> str:
    """How quotes bear on record boundaries (``csv`` or ``none``), as the file's format says."""
    return source.format.boundary_quoting(fmt)


def holds_record_over(source: SourceFile, fmt: TextFormat, part: Part, limit: int, within: int) -> bool:
    """Whether a record that starts within the first ``within`` bytes of ``source`` (or ``part``)
    is larger than ``limit`` bytes, found without holding it: a scanner places a boundary at the
    first record end after every ``SIZE_STEP`` bytes, so a stretch of more than ``limit`` +
    ``SIZE_STEP`` bytes without one holds a larger record.  False where the scan cannot tell (an
    encoding whose bytes cannot be scanned, a quote that proves nothing): Arrow's reading decides."""
    if not splittable_encoding(fmt.encoding):
        return False
    scanner = BoundaryScanner(SIZE_STEP, boundary_quoting(source, fmt), source.delimiter)
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
