"""Exact decimals in PostgreSQL's binary ``numeric`` form, each value with its own scale.

Binary COPY sends every field as the bytes the column's receive function reads, whatever the
Arrow type that carried them.  Arrow's decimal128 has one scale per column, which would turn
1.5 into 1.50 in an unconstrained NUMERIC (it keeps each value's scale); so the checked decimal
text (``-?(0|[1-9][0-9]*)(\\.[0-9]+)?``) is encoded here, with numpy over the whole column,
into ``numeric_recv``'s form: four 16-bit words (digit count, weight, sign, display scale),
then the base-10000 digits, big-endian.  The result is a binary Arrow array that pgpq sends
as it is.  Zeros at either end are the server's to strip, as for its text input.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processor.kinds import DECIMAL_SHAPE

POSITIVE, NEGATIVE = 0x0000, 0x4000
#: numeric's limits: a 16-bit weight of base-10000 digits before the point, a display scale
#: of 14 bits after it.
MAX_WHOLE_DIGITS, MAX_SCALE = 4 * 32768, 0x3FFF


def numeric_binary(values: pa.Array) -> pa.Array:
    """``values`` (decimal text, nulls allowed) as binary ``numeric`` fields.  Anything but a
    plain decimal, or a number beyond numeric's range, is a ValueError: never another value."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    text = pc.cast(values, pa.large_string())
    present = pc.fill_null(pc.is_valid(text), False)
    shaped = pc.fill_null(pc.match_substring_regex(text, DECIMAL_SHAPE), True)
    if not pc.all(shaped, min_count=0).as_py():
        raise ValueError("a decimal for binary COPY is not plain decimal text")
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    held = text.buffers()[2]  # None where no value has a character
    data = np.frombuffer(held, dtype=np.uint8) if held is not None else np.zeros(0, np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    present_mask = np.asarray(present.to_numpy(zero_copy_only=False), dtype=bool)
    negative = np.zeros(len(text), dtype=bool)
    nonempty = present_mask & (ends > starts)
    negative[nonempty] = data[starts[nonempty]] == ord("-")
    first = starts + negative
    point = _points(text, starts, ends)
    whole = point - first
    scale = np.where(point < ends, ends - point - 1, 0)
    if np.any(whole[present_mask] > MAX_WHOLE_DIGITS) or np.any(scale[present_mask] > MAX_SCALE):
        raise ValueError("a decimal has more digits than PostgreSQL's numeric holds")
    whole_groups = np.where(present_mask, (whole + 3) // 4, 0)
    fraction_groups = np.where(present_mask, (scale + 3) // 4, 0)
    groups = whole_groups + fraction_groups
    value_of_group = np.repeat(np.arange(len(text)), groups)
    rank = np.arange(len(value_of_group)) - np.repeat(np.cumsum(groups) - groups, groups)
    digits = _digits(data, first, point, ends, whole_groups, value_of_group, rank)
    # Each field: 4 header words, then its digits; a null is an empty field, marked invalid.
    words = np.where(present_mask, 4 + groups, 0)
    word_offsets = np.zeros(len(text) + 1, dtype=np.int64)
    np.cumsum(words, out=word_offsets[1:])
    out = np.zeros(word_offsets[-1], dtype=np.uint16)
    head = word_offsets[:-1][present_mask]
    out[head] = groups[present_mask]
    out[head + 1] = (whole_groups[present_mask] - 1).astype(np.int16).view(np.uint16)
    out[head + 2] = np.where(negative[present_mask], NEGATIVE, POSITIVE)
    out[head + 3] = scale[present_mask]
    out[word_offsets[:-1][value_of_group] + 4 + rank] = digits
    buffer = pa.py_buffer(out.astype(">u2").tobytes())
    byte_offsets = pa.py_buffer((word_offsets * 2).astype(np.int64).tobytes())
    validity = pa.py_buffer(np.packbits(present_mask, bitorder="little").tobytes())
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(text), [validity, byte_offsets, buffer])


def _points(text: pa.Array, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Where each value's decimal point is (its end where it has none), as offsets in the data."""
    found = pc.fill_null(pc.find_substring(text, "."), -1).to_numpy(zero_copy_only=False)
    return np.where(found >= 0, starts + found, ends)


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
