"""Shapes of numbers in a column of text, read off its bytes with numpy.

Checking that each value of a 5,000-row column is written as the importer reads a number (no
``+5``, ``007``, ``1.``) took Arrow a pattern, or a cast and a print back, per column: 0.2-0.4 ms
each, a third of a worker's checking.  The same answers come from a few passes of numpy over
the column's UTF-8 bytes and offsets, without a value of its own for each row, where the column
holds numbers (a column of text is left to the patterns, which stop at its first letter).
``kinds`` keeps the rules; these are equal to its patterns (``test/test_shapes.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

ZERO, NINE, MINUS, POINT = (ord(c) for c in "09-.")
#: Bytes before the values in ``Bytes.data`` (a running count can look one byte before any
#: value) and after them (a value's first two can be read where it has fewer).
BEFORE, AFTER = 1, 2


@dataclass(frozen=True)
class Bytes:
    """One text array's bytes, its values' first and end positions in them, and which are
    null (None: none is); the bytes are padded with zeros (``BEFORE``, ``AFTER``)."""

    data: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    nulls: np.ndarray | None

    @property
    def lengths(self) -> np.ndarray:
        return self.ends - self.starts


def bytes_of(values: pa.Array | pa.ChunkedArray) -> Bytes:
    """The bytes of a text array (a chunked one's chunks joined, where it has several)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.large_string())  # a view type's bytes are not contiguous
    validity, offsets, data = values.buffers()
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    count = len(values)
    positions = np.frombuffer(offsets, dtype=width)[values.offset : values.offset + count + 1]
    first, last = int(positions[0]), int(positions[-1])
    padded = np.zeros(BEFORE + last - first + AFTER, dtype=np.uint8)
    if data is not None and last > first:
        padded[BEFORE : BEFORE + last - first] = np.frombuffer(data, dtype=np.uint8)[first:last]
    positions = positions.astype(np.int64) - first + BEFORE
    nulls = None
    if values.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        nulls = ~bits[values.offset : values.offset + count].astype(bool)
    return Bytes(padded, positions[:-1], positions[1:], nulls)


def _per_value(text: Bytes, flags: np.ndarray) -> np.ndarray:
    """How many of each value's bytes ``flags`` (one per byte of ``text.data``) marks: a running
    count read at each value's last byte and at the byte before its first (32-bit where it
    fits: four bytes for each byte of text, where a sample's joined columns may hold 10 MB).
    The flags are widened first and summed in place: numpy's cumsum casting each bool as it
    goes, or into its default 64-bit output, took 3.7 and 5.8 times as long."""
    running = flags.astype(np.int32 if len(flags) < 2**31 else np.int64)
    np.cumsum(running, out=running)
    return running[text.ends - 1] - running[text.starts - 1]


def _is_digit(data: np.ndarray) -> np.ndarray:
    return (data - np.uint8(ZERO)) < 10


def canonical_integers(text: Bytes) -> np.ndarray:
    """Per value that Arrow parses as a 64-bit integer (``-?[0-9]+`` or ``0x`` and hex digits):
    whether it is written as the integer prints (no leading zero, no ``-0``, no hex).  Arrow's
    cast back to text and a comparison say the same, at several times the cost."""
    data, starts = text.data, text.starts
    first, second = data[starts], data[starts + 1]
    lengths = text.lengths
    leading = (first > ZERO) & (first <= NINE)
    lone_zero = (first == ZERO) & (lengths == 1)
    negative = (first == MINUS) & (second > ZERO) & (second <= NINE)
    return leading | lone_zero | negative


@dataclass(frozen=True)
class Decimals:
    """Per value: written as ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?`` (``kinds.DECIMAL_SHAPE``), and
    of those, a zero with a minus sign (``-0``, ``-0.00``)."""

    plain: np.ndarray
    negative_zero: np.ndarray


def decimal_shapes(text: Bytes) -> Decimals | None:
    """Which values are plain decimals (a null is none); None where some value does not even
    begin and end with a digit (a sign first aside): a column of text, which a pattern reads
    at less cost, as it stops at the first byte that does not fit where this reads them all."""
    data, starts, ends = text.data, text.starts, text.ends
    digit = _is_digit(data)
    negative = data[starts] == MINUS
    body = starts + negative  # where the digits begin
    numeric = (body < ends) & digit[body] & digit[ends - 1]
    if not (numeric if text.nulls is None else numeric | text.nulls).all():
        return None
    point = data == POINT
    # A byte other than a digit or a point is no decimal's, but for a minus sign first.
    strays = _per_value(text, ~(digit | point)) - negative
    opening, next_byte = data[body], data[body + 1]
    plain = (
        numeric
        & (strays == 0)
        & (_per_value(text, point) <= 1)
        & ~((opening == ZERO) & (body + 1 < ends) & (next_byte != POINT))
    )
    if text.nulls is not None:
        plain &= ~text.nulls
    negative_zero = np.zeros(len(starts), dtype=bool)
    signed = plain & negative
    if signed.any():
        nonzero = digit & (data != ZERO)
        negative_zero = signed & (_per_value(text, nonzero) == 0)
    return Decimals(plain, negative_zero)


def decimal_places(text: Bytes) -> tuple[np.ndarray, np.ndarray]:
    """Per plain decimal (``decimal_shapes``): its digits before the point and after it (a null
    has none), from the position of its point, found once for the whole column."""
    starts, ends = text.starts, text.ends
    points = np.flatnonzero(text.data == POINT)
    point = ends.copy()  # where there is none, the digits before it end with the value
    point[np.searchsorted(ends, points, side="right")] = points  # its value: the first to end past it
    negative = (text.data[starts] == MINUS) & (ends > starts)
    return point - starts - negative, np.maximum(ends - point - 1, 0)
