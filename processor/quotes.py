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

import numpy as np

QUOTE, LF, CR = ord('"'), ord("\n"), ord("\r")
#: Before the first byte and after the last one.
EDGE = -1
#: Why a record whose text goes on after a closing quote is rejected.
GLUED = (
    "text after a closing quote (as in \"abc\"def) is not CSV; the reader would drop the quotes "
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
    """Whether a byte (or EDGE) may stand beside a quote, looked up at the byte's value + 1."""
    table = np.zeros(257, dtype=bool)
    table[[ord(delimiter) + 1, LF + 1, CR + 1, QUOTE + 1, EDGE + 1]] = True
    return table


def first_unsafe_quote(
    block: np.ndarray, quotes: np.ndarray, ahead: np.ndarray, parity: int, previous: int, table: np.ndarray
) -> int:
    """The index in ``block`` of the first of its ``quotes`` (indexes) that neither opens nor
    closes a field, else len(block); ``ahead``: the byte after each quote, ``parity``: the
    count of quotes before the block modulo 2, ``previous``: the byte before it."""
    behind = np.where(quotes > 0, block[np.maximum(quotes - 1, 0)].astype(np.int16), previous)
    opening = ((parity + np.arange(quotes.size)) & 1) == 0
    fits = table[np.where(opening, behind, ahead) + 1]
    bad = np.flatnonzero(~fits)
    return int(quotes[bad[0]]) if bad.size else len(block)


def following(block: np.ndarray, indexes: np.ndarray, after_last: int) -> np.ndarray:
    """The byte after each of ``indexes`` in ``block`` (``after_last`` after its last byte)."""
    size = len(block)
    within = np.minimum(indexes + 1, size - 1)
    return np.where(indexes + 1 < size, block[within].astype(np.int16), after_last)


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
        data = self._carry + data
        self._carry = data[-1:]
        self._check(np.frombuffer(data, dtype=np.uint8)[:-1], data[-1])

    def finish(self) -> None:
        """The text has ended: check its last byte."""
        if self._carry and not self.suspect:
            self._check(np.frombuffer(self._carry, dtype=np.uint8), EDGE)
        self._carry = b""

    def _check(self, block: np.ndarray, after_last: int) -> None:
        if not len(block):
            return
        quotes = np.flatnonzero(block == QUOTE)
        if quotes.size:
            ahead = following(block, quotes, after_last)
            unsafe = first_unsafe_quote(block, quotes, ahead, self._parity, self._previous, self._table)
            self.suspect = unsafe < len(block)
            self._parity = (self._parity + quotes.size) & 1
        self._previous = int(block[-1])


def glued(text: str, delimiter: str) -> bool:
    """Whether a record's raw text (its line breaks included) has text after a closing quote."""
    at, size = 0, len(text)
    while at < size:
        if text[at] == '"':  # a quoted field: find its closing quote
            at += 1
            while True:
                close = text.find('"', at)
                if close < 0:
                    return False  # never closed: the reader's own error, not this one
                if text.startswith('"', close + 1):
                    at = close + 2  # "" is a quote inside the field
                    continue
                at = close + 1
                break
            if at < size and text[at] not in (delimiter, "\r", "\n"):
                return True
            at += 1  # past the delimiter (or the line end)
        else:
            end = text.find(delimiter, at)
            if end < 0:
                return False
            at = end + 1
    return False
