"""The piece of a source file that one load task reads: the whole file, a byte range, or a block.

A file larger than SPLIT_BYTES is loaded as several parts, each starting and ending on a record
boundary (``split.py`` finds them).  A part knows the physical line it starts on, so rejected rows
keep their true line numbers, and whether it holds the header.  Offsets count the file's text as
read, i.e. after decompression; a block of a compressed file carries its decompressed bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True)
class Part:
    """Bytes ``start`` to ``end`` (None: the end of the file) of a file's text, or ``data``."""

    index: int = 0
    start: int = 0
    end: int | None = None
    #: The physical line (1-based) that the part's first byte is on.
    first_line: int = 1
    #: The part's bytes, handed out by the parent that decompressed them (a block of a
    #: compressed file); None: read them from the file.
    data: bytes | None = None
    #: Where the parent wrote those bytes instead, for a worker on this machine to read them
    #: back (``processor/load/blocks.py``).
    spilled: str | None = None
    #: The file's last part: the parent knows how many parts the file has once this one is made.
    last: bool = True
    #: The scan that cut the part found every quote in it opening or closing a field
    #: (``quotes.py``), so its reader need not check them again.
    quotes_checked: bool = False

    @property
    def header(self) -> bool:
        """Whether the part begins with the file's header (only the first one does)."""
        return self.start == 0

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.end is None and self.data is None and self.spilled is None

    def describe(self) -> str:
        """How a log line names this part of a file."""
        if self.whole:
            return ""
        end = "" if self.end is None else f"{self.end:,}"
        return f" (part {self.index + 1}, bytes {self.start:,}-{end}, from line {self.first_line:,})"


WHOLE = Part()


class _Slice(io.RawIOBase):
    """At most ``length`` bytes of ``raw`` from where it stands (``length`` None: all of them)."""

    def __init__(self, raw: IO[bytes], length: int | None) -> None:
        super().__init__()
        self._raw = raw
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = len(buffer) if self._left is None else min(len(buffer), self._left)
        if size <= 0:
            return 0
        data = self._raw.read(size)
        buffer[: len(data)] = data
        if self._left is not None:
            self._left -= len(data)
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


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


def slice_stream(raw: IO[bytes], part: Part, seekable: bool) -> IO[bytes]:
    """``raw`` (opened at its start) narrowed to ``part``: seeked where it can be, else read up to
    the part's start and passed over (a compressed stream)."""
    if part.data is not None:
        raw.close()
        return io.BytesIO(part.data)
    if part.whole:
        return raw
    if seekable:
        raw.seek(part.start)
    else:
        skip = part.start
        while skip:
            passed = raw.read(min(skip, 1 << 20))
            if not passed:
                break
            skip -= len(passed)
    return bounded(raw, None if part.end is None else part.end - part.start)


def bounded(raw: IO[bytes], length: int | None) -> io.BufferedReader:
    """At most ``length`` bytes of ``raw`` from where it stands, buffered; closing it closes ``raw``."""
    return io.BufferedReader(_Slice(raw, length), buffer_size=1 << 20)


def closing_both(outer: IO[bytes], inner: IO[bytes]) -> IO[bytes]:
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
