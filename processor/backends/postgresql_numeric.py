"""Exact decimals for PostgreSQL's binary COPY, each value with the scale it was written with.

Binary COPY sends every field as the bytes the column's receive function reads.  An
unconstrained NUMERIC keeps each value's own scale (1.5 stays 1.5, 1.50 stays 1.50), and Arrow's
decimal128 has one scale per column; so a chunk whose values all have the same scale (the usual
case: amounts in pence, areas to two places) goes as decimal128 of that scale, which pgpq
encodes, and any other as ``numeric_recv``'s own form, encoded here with numpy over the whole
column: four 16-bit words (digit count, weight, sign, display scale), then the base-10000
digits, big-endian, in a binary Arrow array that pgpq sends as it is.  Zeros at either end are
the server's to strip, as for its text input.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processor.kinds import DECIMAL_SHAPE
from processor.shapes import bytes_of, decimal_places

POSITIVE, NEGATIVE = 0x0000, 0x4000
#: numeric's limits: a 16-bit weight of base-10000 digits before the point, a display scale
#: of 14 bits after it.
MAX_WHOLE_DIGITS, MAX_SCALE = 4 * 32768, 0x3FFF
#: The digits decimal128 holds.
DECIMAL128_DIGITS = 38


def numeric_for_copy(values: pa.Array) -> pa.Array:
    """``values`` (decimal text, nulls allowed) as an Arrow array that binary COPY stores as the
    same numbers with the same scales.  Anything but a plain decimal, or a number beyond
    numeric's range, is a ValueError: never another value."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    text = pc.cast(values, pa.large_string())
    present = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), dtype=bool)
    whole, scale = (np.where(present, digits, 0) for digits in decimal_places(bytes_of(text)))
    most_whole, most = int(whole.max(initial=0)), int(scale.max(initial=0))
    if most_whole > MAX_WHOLE_DIGITS or most > MAX_SCALE:
        raise ValueError("a decimal has more digits than PostgreSQL's numeric holds")
    if scale.min(where=present, initial=most) == most and most_whole + most <= DECIMAL128_DIGITS:
        # Arrow's cast refuses text that is no number, and a value its scale would round.
        return pc.cast(text, pa.decimal128(DECIMAL128_DIGITS, most))
    shaped = pc.fill_null(pc.match_substring_regex(text, DECIMAL_SHAPE), True)
    if not pc.all(shaped, min_count=0).as_py():  # the digits are read from the bytes below
        raise ValueError("a decimal for binary COPY is not plain decimal text")
    return numeric_binary(text, whole, scale)


def numeric_binary(text: pa.LargeStringArray, whole: np.ndarray, scale: np.ndarray) -> pa.Array:
    """Plain decimal ``text`` as binary ``numeric`` fields, given the digits of each before and
    after its point (``shapes.decimal_places``)."""
    present = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), dtype=bool)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    held = text.buffers()[2]  # None where no value has a character
    data = np.frombuffer(held, dtype=np.uint8) if held is not None else np.zeros(0, np.uint8)
    ends = offsets[1:]
    whole, scale = np.where(present, whole, 0).astype(np.int64), np.where(present, scale, 0).astype(np.int64)
    point = np.where(scale > 0, ends - scale - 1, ends)
    first = point - whole
    negative = present & (first > offsets[:-1])
    whole_groups = np.where(present, (whole + 3) // 4, 0)
    groups = whole_groups + np.where(present, (scale + 3) // 4, 0)
    value_of_group = np.repeat(np.arange(len(text)), groups)
    rank = np.arange(len(value_of_group)) - np.repeat(np.cumsum(groups) - groups, groups)
    digits = _digits(data, first, point, ends, whole_groups, value_of_group, rank)
    # Each field: 4 header words, then its digits; a null is an empty field, marked invalid.
    words = np.where(present, 4 + groups, 0)
    word_offsets = np.zeros(len(text) + 1, dtype=np.int64)
    np.cumsum(words, out=word_offsets[1:])
    out = np.zeros(word_offsets[-1], dtype=np.uint16)
    head = word_offsets[:-1][present]
    out[head] = groups[present]
    out[head + 1] = (whole_groups[present] - 1).astype(np.int16).view(np.uint16)
    out[head + 2] = np.where(negative[present], NEGATIVE, POSITIVE)
    out[head + 3] = scale[present]
    out[word_offsets[:-1][value_of_group] + 4 + rank] = digits
    buffer = pa.py_buffer(out.astype(">u2").tobytes())
    byte_offsets = pa.py_buffer((word_offsets * 2).astype(np.int64).tobytes())
    validity = pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(text), [validity, byte_offsets, buffer])


def _digits(
    data: np.ndarray,
    first: np.ndarray,
    point: np.ndarray,
    ends: np.ndarray,
    whole_groups: np.ndarray,
    value: np.ndarray,
    rank: np.ndarray,
) -> np.ndarray:
    """The base-10000 digits of every value in turn (``value``: whose each group is, ``rank``:
    its place in it): the whole part padded with zeros on the left to a multiple of four
    digits, the fraction on the right."""
    in_whole = rank < whole_groups[value]
    # The offset of each group's first character: before the point, counted back from it (the
    # first group may start before the value, those places being zeros); after it, forward.
    point_of = point[value]
    lead = np.where(
        in_whole, point_of - 4 * (whole_groups[value] - rank), point_of + 1 + 4 * (rank - whole_groups[value])
    )
    low = np.where(in_whole, first[value], point_of + 1)
    high = np.where(in_whole, point_of, ends[value])
    digits = np.zeros(len(value), dtype=np.uint16)
    for place, weight in enumerate((1000, 100, 10, 1)):
        at = lead + place
        inside = (at >= low) & (at < high)
        characters = data[np.where(inside, at, 0)].astype(np.uint16) - ord("0")
        digits += np.where(inside, characters, 0).astype(np.uint16) * np.uint16(weight)
    return digits
