"""Exact decimals for PostgreSQL's binary COPY, each value with the scale it was written with.

Binary COPY sends every field as the bytes the column's receive function reads.  An
unconstrained NUMERIC keeps each value's own scale (1.5 stays 1.5, 1.50 stays 1.50), and Arrow's
decimal128 has one scale per column.  Every value goes in ``numeric_recv``'s own form: four
16-bit words (digit count, weight, sign, display scale), then the base-10000 digits,
big-endian, in a binary Arrow array that pgpq sends as it is (``postgresql_fields``).  Zeros
at either end are the server's to strip, as for its text input.  A chunk whose values all
have one scale and at most 15 digits (the usual case: amounts in pence, areas to two places)
is read as doubles, which hold such numbers exactly once scaled to integers, and each value
gets the same number of digits (``fixed_numeric``: a few numpy passes, a third of Arrow's
decimal128 cast and pgpq's encoding of it); one of longer values goes as decimal128 of its
scale, which pgpq encodes; any other is encoded from its text (``numeric_binary``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processor.backends.postgresql_fields import fixed_width_fields
from processor.kinds import DECIMAL_SHAPE
from processor.shapes import MINUS, NINE, POINT, ZERO, bytes_of, decimal_places

POSITIVE, NEGATIVE = 0x0000, 0x4000
#: numeric's limits: a 16-bit weight of base-10000 digits before the point, a display scale
#: of 14 bits after it.
MAX_WHOLE_DIGITS, MAX_SCALE = 4 * 32768, 0x3FFF
#: The digits decimal128 holds.
DECIMAL128_DIGITS = 38
#: The digits a double holds exactly through a parse and a scaling (``scaled_integers``).
EXACT_DIGITS = 15


def numeric_for_copy(values: pa.Array) -> pa.Array:
    """``values`` (decimal text, nulls allowed) as an Arrow array that binary COPY stores as the
    same numbers with the same scales.  Anything but a plain decimal, or a number beyond
    numeric's range, is a ValueError: never another value."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    text = pc.cast(values, pa.large_string())
    present = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), dtype=bool)
    scaled = scaled_integers(text, present)
    if scaled is not None:
        return fixed_numeric(*scaled, present)
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


def scaled_integers(text: pa.LargeStringArray, present: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Decimal ``text`` whose values all have the same scale s and at most ``EXACT_DIGITS``
    digits, as the integers they are in units of 10**-s, and s; None: any other text.

    A double parsed from such a value (Arrow rounds correctly) and multiplied by 10**s (exact
    for s <= 22) is within a quarter of the integer (two roundings of at most 2**-53 of a
    number below 10**15), which ``rint`` gives back exactly.  The scale is the first value's,
    found at the same place from the end in every other; only digits, points and minus signs
    are read (no exponent, no ``inf``), and the cast refuses any other arrangement of them
    (``/`` among them)."""
    offsets, data = _offsets_and_bytes(text)
    starts, ends = offsets[:-1][present], offsets[1:][present]
    if not len(starts) or not (ends > starts).all():
        return None
    used = data[offsets[0] : offsets[-1]]
    if used.min() < MINUS or used.max() > NINE:  # between them only "/" is no digit, point or sign
        return None
    first = bytes(data[starts[0] : ends[0]])
    scale = len(first) - first.find(b".") - 1 if b"." in first else 0
    if scale:
        point = ends - scale - 1
        if not ((point > starts) & (data[np.maximum(point, 0)] == POINT)).all():
            return None
    elif (used == POINT).any():
        return None
    lengths = ends - starts - (scale > 0)  # the digits, and a minus sign where there is one
    if lengths.max() > EXACT_DIGITS:
        signed = (data[starts] == MINUS).astype(np.int64)  # and a zero before a point (0.5)
        lengths -= signed + ((scale > 0) & (data[starts + signed] == ZERO))
        if lengths.max() > EXACT_DIGITS:
            return None
    doubles = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    return np.rint(np.where(present, doubles, 0.0) * 10.0**scale).astype(np.int64), scale


def fixed_numeric(integers: np.ndarray, scale: int, present: np.ndarray) -> pa.Array:
    """Integers in units of 10**-scale (below 10**15) as binary ``numeric`` fields of one
    width: the whole part's base-10000 digits (as many as the largest value needs), then the
    fraction's, shifted to fill its last digit (scale 2: ``.25`` is the digit 2500)."""
    shift = -scale % 4
    magnitudes = np.abs(integers) * 10**shift
    fraction_digits = (scale + 3) // 4
    digits = fraction_digits + 1  # the whole part has one digit at least (a zero, maybe)
    while 10_000**digits <= int(magnitudes.max(initial=0)):
        digits += 1
    words = np.empty((4 + digits, len(integers)), dtype=np.uint16)  # a field's words: a column
    words[0] = digits
    words[1] = digits - fraction_digits - 1  # the weight: base-10000 places before the first
    words[2] = np.where(integers < 0, NEGATIVE, POSITIVE)
    words[3] = scale
    for place in range(3 + digits, 3, -1):
        rest = magnitudes // 10_000
        words[place] = magnitudes - rest * 10_000
        magnitudes = rest
    fields = words.T.astype(">u2", order="C")  # each field's words together, big-endian
    return fixed_width_fields(fields.view(np.uint8), present)


def numeric_binary(text: pa.LargeStringArray, whole: np.ndarray, scale: np.ndarray) -> pa.Array:
    """Plain decimal ``text`` as binary ``numeric`` fields, given the digits of each before and
    after its point (``shapes.decimal_places``)."""
    present = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), dtype=bool)
    offsets, data = _offsets_and_bytes(text)
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


def _offsets_and_bytes(text: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """The array's value offsets (one more than its values) and its bytes, as numpy views of
    its buffers (no copy, unlike ``shapes.bytes_of``, which pads them)."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    held = text.buffers()[2]  # None where no value has a character
    return offsets, np.frombuffer(held, dtype=np.uint8) if held is not None else np.zeros(0, np.uint8)


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
