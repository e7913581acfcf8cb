"""Split one large file into parts that start and end on record boundaries (SPLIT_BYTES).

A line break ends a record unless it lies inside a quoted field.  With ``SRC_QUOTING=csv`` the
scanner counts quotes from the start of the file: in a well-formed file a quote opens or closes
a field (``quotes.py``), so an even count of quotes before a line break means it lies outside
every quoted field, which is exactly how Arrow's parser reads it.  Every quote is checked
against that rule; past the first quote that breaks it (``12" pipe`` in an unquoted field, which
the parser takes literally) the count proves nothing, so no boundary is placed after it: the
rest of the file stays one part.  With ``SRC_QUOTING=none`` every line
break ends a record.  The scan is a few vectorised byte comparisons per block (numpy), done in
the same reading that fingerprints the file.

Boundaries are placed only after ``\\n``; offsets count the text as read (decompressed), and each
part records the physical line it starts on (``\\n``, ``\\r\\n`` and a lone ``\\r`` each end one,
as Python's csv module counts them for rejected rows).  Only encodings in which those bytes are
always those characters are split: UTF-8 and single-byte encodings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from processor.discover import SourceFile
from processor.parts import WHOLE, Part
from processor.quotes import CR, EDGE, LF, QUOTE, beside_quote, first_unsafe_quote
from processor.quotes import splittable_encoding as splittable_encoding
from processor.read import TextFormat, open_bytes, open_part, seekable

#: Bytes read from a compressed stream at a time while its blocks are cut.
STREAM_READ = 1 << 20
#: A compressed file is fed to the workers in decompressed blocks once its compressed size
#: times this (a guess at how far CSV text compresses; gzip reaches 4-10x) exceeds SPLIT_BYTES.
COMPRESSION_GUESS = 4
#: A compressed file's text without a record boundary for this many blocks is not cut further:
#: the run would hold it whole (``stream_blocks``).
HELD_BLOCKS = 4
#: The resolution of ``holds_record_over``: a boundary at least every this many bytes.
SIZE_STEP = 1 << 20
#: The largest block of a compressed file that one task loads.  A block travels inside its task
#: and is held whole by the worker that loads it, so its size bounds the memory of every
#: process; SPLIT_BYTES only decides whether a compressed file is handed out in blocks at all.
BLOCK_BYTES = 8 << 20


@dataclass
class BoundaryScanner:
    """Fed a file's text in order, finds the first record boundary at or after every ``step``
    bytes (past the previous boundary), and the physical line each one starts."""

    step: int
    quoting: str
    delimiter: str
    #: (offset, line) of every boundary found so far.
    boundaries: list[tuple[int, int]] = field(default_factory=list)
    #: Offset of the first quote that breaks the rule (no boundary after it), if one was met.
    unsafe_at: int | None = None
    _offset: int = 0  # offset of the first byte not yet scanned
    _lines: int = 0  # line breaks before it
    _parity: int = 0  # quotes before it, modulo 2
    _previous: int = EDGE
    _carry: bytes = b""  # the last byte fed, scanned once the byte after it is known

    def __post_init__(self) -> None:
        self._target = self.step
        self._beside_quote = beside_quote(self.delimiter)

    def feed(self, data: bytes) -> None:
        """Scan the next bytes of the text (the last one waits for its successor)."""
        if not data:
            return
        data = self._carry + data
        self._carry = data[-1:]
        self._scan(np.frombuffer(data, dtype=np.uint8)[:-1], data[-1])

    def finish(self) -> None:
        """The text has ended: scan the last byte."""
        if self._carry:
            self._scan(np.frombuffer(self._carry, dtype=np.uint8), EDGE)
            self._carry = b""

    def _scan(self, block: np.ndarray, next_byte: int) -> None:
        size = len(block)
        if size == 0:
            return

        def after(indexes: np.ndarray) -> np.ndarray:
            """The byte after each of ``indexes`` (``next_byte`` after the last one)."""
            within = np.minimum(indexes + 1, size - 1)
            return np.where(indexes + 1 < size, block[within].astype(np.int16), next_byte)

        limit = size if self.unsafe_at is None else 0
        quotes = np.flatnonzero(block == QUOTE) if self.quoting == "csv" else np.empty(0, dtype=np.intp)
        if quotes.size and limit:
            unsafe = first_unsafe_quote(
                block, quotes, self._parity, self._previous, next_byte, self._beside_quote
            )
            limit = min(limit, unsafe)
            if limit < size:
                self.unsafe_at = self._offset + limit
        feeds = np.flatnonzero(block == LF)
        returns = np.flatnonzero(block == CR)
        lone_returns = returns[after(returns) != LF]
        if limit:
            self._place(feeds[feeds < limit], quotes, lone_returns, feeds)
        self._parity = (self._parity + quotes.size) & 1
        self._lines += feeds.size + lone_returns.size
        self._offset += size
        self._previous = int(block[-1])

    def _place(
        self, candidates: np.ndarray, quotes: np.ndarray, lone_returns: np.ndarray, feeds: np.ndarray
    ) -> None:
        """Take the boundaries (the byte after a line feed outside quotes) that reach a target."""
        while True:
            first = self._target - self._offset - 1  # the line feed may be the target's last byte
            candidates = candidates[candidates >= max(first, 0)]
            if self.quoting == "csv" and candidates.size:
                inside = (self._parity + np.searchsorted(quotes, candidates)) & 1
                candidates = candidates[inside == 0]
            if not candidates.size:
                return
            at = int(candidates[0]) + 1
            line = 1 + self._lines + int(np.searchsorted(feeds, at) + np.searchsorted(lone_returns, at))
            self.boundaries.append((self._offset + at, line))
            self._target = self._offset + at + self.step
            candidates = candidates[1:]


def file_parts(boundaries: list[tuple[int, int]], checked_to_end: bool = False) -> tuple[Part, ...]:
    """The parts between ``boundaries`` of a file (one part, the whole file, when there are none).

    No boundary follows a quote that breaks the rule, so the parts before the last one have
    their quotes checked; the last one where the scan found none (``checked_to_end``)."""
    if not boundaries:
        return (WHOLE,)
    starts = [(0, 1), *boundaries]
    return tuple(
        Part(
            index=index,
            start=start,
            end=starts[index + 1][0] if index + 1 < len(starts) else None,
            first_line=line,
            last=index + 1 == len(starts),
            quotes_checked=index + 1 < len(starts) or checked_to_end,
        )
        for index, (start, line) in enumerate(starts)
    )


def splits(source: SourceFile, fmt: TextFormat, split_bytes: int) -> bool:
    """Whether a file is split into byte ranges (else it is loaded whole, or in blocks: it is
    small, compressed, or in an encoding whose bytes cannot be scanned)."""
    return seekable(source) and source.size > split_bytes and splittable_encoding(fmt.encoding)


def scanner_for(source: SourceFile, fmt: TextFormat, split_bytes: int) -> BoundaryScanner | None:
    """A scanner for a file to be split into byte ranges, or None: the file is not split."""
    if not splits(source, fmt, split_bytes):
        return None
    return BoundaryScanner(split_bytes, _quoting(source, fmt), source.delimiter)


def _quoting(source: SourceFile, fmt: TextFormat) -> str:
    """How quotes bear on record boundaries: not at all in NDJSON, whose every line is one."""
    return "none" if source.data_format == "ndjson" else fmt.quoting


def feeds_blocks(source: SourceFile, fmt: TextFormat, split_bytes: int) -> bool:
    """Whether a compressed file (or an archive's member) is decompressed once by the run and
    handed out in blocks."""
    return (
        not seekable(source)
        and source.size * COMPRESSION_GUESS > split_bytes
        and splittable_encoding(fmt.encoding)
    )


def stream_blocks(
    source: SourceFile, fmt: TextFormat, split_bytes: int, check: Callable[[], None] = lambda: None
) -> Iterator[Part]:
    """Decompress ``source`` once and yield its text in record-aligned blocks of about
    ``block_bytes(split_bytes)`` (with their bytes).  Past a quote that proves nothing, the rest is one part
    that its task decompresses again up to its start, rather than one block held in memory; so
    is the rest after a record larger than ``HELD_BLOCKS`` blocks (its task's reading finds
    whether it is within the record limit)."""
    step = block_bytes(split_bytes)
    scanner = BoundaryScanner(step, _quoting(source, fmt), source.delimiter)
    pending = bytearray()  # the text from ``start`` on
    start, line, index = 0, 1, 0
    with open_bytes(source) as stream:
        while True:
            check()
            data = stream.read(STREAM_READ)
            if data:
                scanner.feed(data)
                pending += data
            else:
                scanner.finish()
            for offset, next_line in scanner.boundaries:
                cut = offset - start
                block = bytes(pending[:cut])
                yield Part(index, start, offset, line, block, last=False, quotes_checked=True)
                del pending[:cut]
                start, line, index = offset, next_line, index + 1
            scanner.boundaries.clear()
            if scanner.unsafe_at is not None or len(pending) > HELD_BLOCKS * step:
                yield Part(index=index, start=start, first_line=line, last=True)
                return
            if not data:
                yield Part(index, start, None, line, bytes(pending), last=True, quotes_checked=True)
                return


def holds_record_over(source: SourceFile, fmt: TextFormat, part: Part, limit: int, within: int) -> bool:
    """Whether a record that starts within the first ``within`` bytes of ``source`` (or ``part``)
    is larger than ``limit`` bytes, found without holding it: a scanner places a boundary at the
    first record end after every ``SIZE_STEP`` bytes, so a stretch of more than ``limit`` +
    ``SIZE_STEP`` bytes without one holds a larger record.  False where the scan cannot tell (an
    encoding whose bytes cannot be scanned, a quote that proves nothing): Arrow's reading decides."""
    if not splittable_encoding(fmt.encoding):
        return False
    scanner = BoundaryScanner(SIZE_STEP, _quoting(source, fmt), source.delimiter)
    offset = last = 0
    with open_part(source, fmt, part) as stream:
        while data := stream.read(STREAM_READ):
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


def block_bytes(split_bytes: int) -> int:
    """The size of the blocks a compressed file is handed out in."""
    return min(split_bytes, BLOCK_BYTES)


def expected_parts(source: SourceFile, fmt: TextFormat, split_bytes: int) -> int:
    """About how many parts a file makes (to size a pool before profiling)."""
    if feeds_blocks(source, fmt, split_bytes):
        return math.ceil(source.size * COMPRESSION_GUESS / block_bytes(split_bytes))
    if splits(source, fmt, split_bytes):
        return math.ceil(source.size / split_bytes)
    return 1
