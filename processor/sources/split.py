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

from processor.records import SourceFile
from processor.sources.formats import format_of
from processor.sources.parts import Part
from processor.sources.quotes import BoundaryScanner
from processor.sources.quotes import splittable_encoding as splittable_encoding
from processor.sources.read import boundary_quoting
from processor.sources.text import TextFormat, open_bytes, seekable

#: Bytes read from a compressed stream at a time while its blocks are cut.
STREAM_READ = 1 << 20
#: A compressed file is fed to the workers in decompressed blocks once its compressed size
#: times this (a guess at how far CSV text compresses; gzip reaches 4-10x) exceeds SPLIT_BYTES.
COMPRESSION_GUESS = 4
#: A compressed file's text without a record boundary for this many blocks is not cut further:
#: the run would hold it whole (``stream_blocks``).
HELD_BLOCKS = 4
#: The largest block of a compressed file that one task loads.  A block travels inside its task
#: and is held whole by the worker that loads it, and by the run until its task is done (two
#: tasks per worker are in flight), so its size bounds the memory of every process; SPLIT_BYTES
#: only decides whether a compressed file is handed out in blocks at all.  4 MiB rather than 8
#: took the benchmark's 83 MB ``.gz`` file from 187-208 MB to 148-163 MB in every process (DuckDB's
#: writer 394-412 to 357-362 MB) in the same time: as many statements (a block is now one chunk of
#: about 3,500 of its rows, where one of 8 MiB made a chunk of 5,000 and one of about 2,000).
BLOCK_BYTES = 4 << 20


def splits(source: SourceFile, fmt: TextFormat, split_bytes: int) -> bool:
    """Whether a file is split into byte ranges (else it is loaded whole, or in blocks: it is
    small, compressed, in an encoding whose bytes cannot be scanned, or in a format that is not cut);
    a ``parted`` format's file into the parts its format knows (``Format.parts``)."""
    data_format = format_of(source)
    if data_format.parted:
        return seekable(source) and source.size > split_bytes
    return (
        data_format.splittable
        and seekable(source)
        and source.size > split_bytes
        and splittable_encoding(fmt.encoding)
    )


def scanner_for(source: SourceFile, fmt: TextFormat, split_bytes: int) -> BoundaryScanner | None:
    """A scanner for a file to be split into byte ranges, or None: the file is not split (or
    its format knows its parts)."""
    if format_of(source).parted or not splits(source, fmt, split_bytes):
        return None
    return BoundaryScanner(split_bytes, boundary_quoting(source, fmt), source.delimiter)


def feeds_blocks(source: SourceFile, fmt: TextFormat, split_bytes: int) -> bool:
    """Whether a compressed file (or an archive's member) is decompressed once by the run and
    handed out in blocks."""
    return (
        format_of(source).splittable
        and not seekable(source)
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
    scanner = BoundaryScanner(step, boundary_quoting(source, fmt), source.delimiter)
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
