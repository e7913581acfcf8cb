"""Quotes as CSV allows them, checked on the raw bytes: the record boundaries of a split file,
and text after a closing quote (``"abc"def``), which is no CSV.

In a well-formed file a quote opens a field (after a delimiter, a line break, the file's start
or, in ``""``, another quote) or closes one (before a delimiter, a line break, the end or
another quote); whether it opens or closes follows from the count of quotes before it.  A
quote that does neither is either text after a closing quote, which Arrow's reader (like
Python's csv module) silently glues to the field while the quotes vanish
(``"Weird Al" Yankovic`` becomes ``Weird Al Yankovic``), or a quote inside an unquoted field
(``12" pipe``), which both read as written.  Telling the two apart takes the record's text:
the vectorised check only finds that a file needs that look (``QuoteCheck``), and ``glued``
looks at one record.
"""

from __future__ import annotations

import codecs
import importlib
from dataclasses import dataclass, field

import numpy as np

QUOTE, LF, CR = ord('"'), ord("\n"), ord("\r")
#: Before the first byte and after the last one.
EDGE = -1
#: Why a record whose text goes on after a closing quote is rejected.
UNCLOSED = (
    "a quote opened here is never closed: the reader would make the rest of the file one field "
    "(SRC_QUOTING=none reads quotes as ordinary characters)"
)
GLUED = (
    'text after a closing quote (as in "abc"def) is not CSV; the reader would drop the quotes '
    "and glue the text on (SRC_QUOTING=none reads quotes as ordinary characters)"
)


def splittable_encoding(encoding: str) -> bool:
    """Whether every ``\\n``, ``\\r``, ``"`` and delimiter byte of text in ``encoding`` is that
    character: UTF-8 (multi-byte sequences use bytes >= 0x80 only) and single-byte encodings."""
    name = codecs.lookup(encoding).name
    if name in ("utf-8", "ascii", "latin-1", "iso8859-1"):
        return True
    try:
        module = importlib.import_module(f"encodings.{name.replace('-', '_')}")
    except ImportError:
        return False
    return hasattr(module, "decoding_table")  # a charmap codec: one byte, one character


def beside_quote(delimiter: str) -> np.ndarray:
    """Whether a byte may stand beside a quote, by its value (EDGE stands as a line feed)."""
    table = np.zeros(256, dtype=bool)
    table[[ord(delimiter), LF, CR, QUOTE]] = True
    return table


def first_unsafe_quote(
    block: np.ndarray, quotes: np.ndarray, parity: int, previous: int, after_last: int, table: np.ndarray
) -> int:
    """The index in ``block`` (bytes) of the first of its ``quotes`` (indexes, ascending) that
    neither opens nor closes a field, else len(block); ``parity``: the count of quotes before the
    block modulo 2, ``previous`` and ``after_last``: the bytes before and after it (or EDGE).

    The quotes alternate between opening (the byte before must fit) and closing (the byte
    after must fit), so each half is checked with one gather and one lookup."""
    size = len(block)
    opening, closing = quotes[parity::2], quotes[1 - parity :: 2]
    behind = block[np.maximum(opening - 1, 0)]
    if opening.size and opening[0] == 0:
        behind[0] = LF if previous == EDGE else previous
    ahead = block[np.minimum(closing + 1, size - 1)]
    if closing.size and closing[-1] == size - 1:
        ahead[-1] = LF if after_last == EDGE else after_last
    bad_opening = opening[~table[behind]]
    bad_closing = closing[~table[ahead]]
    firsts = [int(bad[0]) for bad in (bad_opening, bad_closing) if bad.size]
    return min(firsts) if firsts else size


class QuoteCheck:
    """Fed a text's bytes in order, finds whether any quote neither opens nor closes a field
    (``suspect``); it stops looking at the first one.  One comparison per byte where a block
    holds no quote."""

    def __init__(self, delimiter: str) -> None:
        self.suspect = False
        self._table = beside_quote(delimiter)
        self._parity = 0
        self._previous = EDGE
        self._carry = b""  # the last byte fed, checked once the byte after it is known

    def feed(self, data: bytes) -> None:
        if self.suspect or not data:
            return
        if self._carry:  # alone, not joined to ``data``: a copy of every block cost as much as the check
            self._check(np.frombuffer(self._carry, dtype=np.uint8), data[0])
        self._carry = data[-1:]
        self._check(np.frombuffer(data, dtype=np.uint8)[:-1], data[-1])

    def finish(self) -> None:
        """The text has ended: check its last byte.  A quote left open at the end (an odd number
        of quotes, each opening or closing a field) is suspect too: the reader would make the
        rest of the text one field."""
        if self._carry and not self.suspect:
            self._check(np.frombuffer(self._carry, dtype=np.uint8), EDGE)
        self._carry = b""
        self.suspect = self.suspect or self._parity == 1

    def _check(self, block: np.ndarray, after_last: int) -> None:
        if not len(block):
            return
        quotes = np.flatnonzero(block == QUOTE)
        if quotes.size:
            unsafe = first_unsafe_quote(block, quotes, self._parity, self._previous, after_last, self._table)
            self.suspect = self.suspect or unsafe < len(block)
            self._parity = (self._parity + quotes.size) & 1
        self._previous = int(block[-1])


def quote_fault(text: str, delimiter: str) -> str | None:
    """What is wrong with the quotes of a record's raw text (its line breaks included): GLUED
    where text follows a closing quote, UNCLOSED where a quote is never closed (the record runs
    to the end of the text), else None."""
    at, size = 0, len(text)
    while at < size:
        if text[at] == '"':  # a quoted field: find its closing quote
            at += 1
            while True:
                close = text.find('"', at)
                if close < 0:
                    return UNCLOSED
                if text.startswith('"', close + 1):
                    at = close + 2  # "" is a quote inside the field
                    continue
                at = close + 1
                break
            if at < size and text[at] not in (delimiter, "\r", "\n"):
                return GLUED
            at += 1  # past the delimiter (or the line end)
        else:
            end = text.find(delimiter, at)
            if end < 0:
                return None
            at = end + 1
    return None


@dataclass
class BoundaryScanner:
    """Fed a file's text in order, finds the first record boundary at or after every ``step``
    bytes (past the previous boundary), and the physical line each one starts."""

    step: int
    quoting: str
    delimiter: str
    #: (offset, line) of every boundary found so far.
    boundaries: list[tuple[int, int]] = field(default_factory=list)
    #: Offset of the first quote that breaks the rule (no boundary after it), if one was met; the
    #: end's, where the text ends inside a quoted field.
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
        if self._carry:  # alone, as in ``QuoteCheck.feed``
            self._scan(np.frombuffer(self._carry, dtype=np.uint8), data[0])
        self._carry = data[-1:]
        self._scan(np.frombuffer(data, dtype=np.uint8)[:-1], data[-1])

    def finish(self) -> None:
        """The text has ended: scan the last byte.  A quote left open at the end proves the count
        wrong too: the part after the last boundary is then not taken as checked (``unsafe_at``
        is the end), so that its reading finds the quote."""
        if self._carry:
            self._scan(np.frombuffer(self._carry, dtype=np.uint8), EDGE)
            self._carry = b""
        if self.quoting == "csv" and self._parity and self.unsafe_at is None:
            self.unsafe_at = self._offset

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
