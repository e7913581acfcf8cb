"""Numbers' shapes read off a text column's bytes (``processor/shapes.py``) against Python's
own reading of each value: a regular expression of the documented rule, ``int`` and
``Decimal``, value by value.  Arrays come sliced, chunked, with nulls and as ``large_string``,
as Arrow hands them to the checks."""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kinds import float_gives_back  # numpy's shortest digits, exact fractions

from processor.kinds import DECIMAL, FLOAT, INTEGER, ColumnType
from processor.shapes import bytes_of, canonical_integers, decimal_places, decimal_shapes

PLAIN = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
SIGNED_ZERO = re.compile(r"-0(\.0+)?")

DIGITS = list("0123456789")
EDGES = ["1.", ".5", "-", "-.5", "0.", "00.5", "-0", "-0.0", "0.0", "1.2.3", "1-2", "--1", "+1", "", "é1"]
ALPHABET = "-+0123456789.xXeE é"
NUMBERISH = st.one_of(st.text(alphabet=ALPHABET, max_size=10), st.sampled_from(EDGES))
# Values that begin and end with a digit, as a number column's do: read off their bytes.
MIDDLES = st.one_of(st.text(alphabet=ALPHABET, max_size=8), st.sampled_from(["0.", ".", ".2.", "-"]))
NUMBER_ENDED = st.builds(
    lambda sign, first, rest: f"{sign}{first}{rest}",
    st.sampled_from(["", "-"]),
    st.sampled_from(DIGITS),
    st.one_of(st.just(""), st.builds(lambda middle, last: middle + last, MIDDLES, st.sampled_from(DIGITS))),
)
INTEGERISH = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.sampled_from(["0", "-0", "00", "007", "-07", "0x1F", "0X0", "9", "-9", "10"]),
)


def _arrays(values: list[str | None], skip: int, large: bool, split: int) -> pa.Array | pa.ChunkedArray:
    """``values`` as Arrow may hold them: after ``skip`` leading values (a slice), in two chunks
    (``split``), as ``large_string``."""
    array = pa.array(["9", *values] if skip else values, pa.large_string() if large else pa.string())
    if skip:
        array = array.slice(1)
    if 0 < split < len(array):
        return pa.chunked_array([array.slice(0, split), array.slice(split)])
    return array


ARRAYS = dict(skip=st.integers(0, 1), large=st.booleans(), split=st.integers(0, 5))


@settings(deadline=None)
@given(values=st.lists(st.one_of(st.none(), NUMBER_ENDED), max_size=40), **ARRAYS)
def test_plain_decimals_and_signed_zeros_as_python_reads_them(values, skip, large, split):
    shapes = decimal_shapes(bytes_of(_arrays(values, skip, large, split)))
    assert shapes is not None
    assert shapes.plain.tolist() == [v is not None and PLAIN.fullmatch(v) is not None for v in values]
    expected = [v is not None and SIGNED_ZERO.fullmatch(v) is not None for v in values]
    assert shapes.negative_zero.tolist() == expected


@settings(deadline=None)
@given(values=st.lists(st.one_of(st.none(), NUMBER_ENDED, NUMBERISH), max_size=40), **ARRAYS)
def test_the_digits_before_and_after_the_point_of_each_plain_decimal(values, skip, large, split):
    """Counted by Python on each plain decimal's text, split at its point (PostgreSQL's limits on
    numeric and the choice of one scale for a chunk read these)."""
    whole, scale = decimal_places(bytes_of(_arrays(values, skip, large, split)))
    for value, before, after in zip(values, whole.tolist(), scale.tolist(), strict=True):
        if value is not None and PLAIN.fullmatch(value):
            digits, _, fraction = value.lstrip("-").partition(".")
            assert (before, after) == (len(digits), len(fraction)), value


@settings(deadline=None)
@given(values=st.lists(st.one_of(st.none(), NUMBER_ENDED, NUMBERISH), min_size=1, max_size=40), **ARRAYS)
def test_a_column_of_text_is_left_to_the_patterns(values, skip, large, split):
    ended = [v is None or re.fullmatch(r"-?[0-9](.*[0-9])?", v, re.DOTALL) is not None for v in values]
    shapes = decimal_shapes(bytes_of(_arrays(values, skip, large, split)))
    assert (shapes is not None) == all(ended)


@settings(deadline=None)
@given(values=st.lists(st.one_of(st.none(), INTEGERISH), max_size=40), **ARRAYS)
def test_integers_written_as_they_print(values, skip, large, split):
    text = bytes_of(_arrays(values, skip, large, split))
    canonical = canonical_integers(text)
    if text.nulls is not None:
        canonical |= text.nulls
    expected = [v is None or (re.fullmatch(r"-?[0-9]+", v) is not None and str(int(v)) == v) for v in values]
    assert canonical.tolist() == expected


def _fits(column: ColumnType, array: pa.Array | pa.ChunkedArray) -> list[bool]:
    mask = column.fit_mask(array)
    return [True] * len(array) if mask is None else pc.fill_null(mask, True).to_pylist()


def _an_integer(v: str) -> bool:
    """What an integer column holds: a 64-bit integer written as Python prints it."""
    return re.fullmatch(r"-?[0-9]+", v) is not None and str(int(v)) == v and -(2**63) <= int(v) < 2**63


def _a_decimal(v: str) -> bool:
    """What a decimal column holds: a plain decimal, but a zero with a minus sign."""
    return PLAIN.fullmatch(v) is not None and not (v.startswith("-") and Decimal(v) == 0)


@pytest.mark.parametrize(
    ("column", "holds"), [(INTEGER, _an_integer), (DECIMAL, _a_decimal), (FLOAT, float_gives_back)]
)
@settings(deadline=None)
@given(values=st.lists(st.one_of(st.none(), INTEGERISH, NUMBER_ENDED, NUMBERISH), max_size=40), **ARRAYS)
def test_a_number_column_holds_what_python_reads_exactly(column, holds, values, skip, large, split):
    fits = _fits(column, _arrays(values, skip, large, split))
    assert fits == [v is None or holds(v) for v in values]


def test_a_column_of_nulls_and_an_empty_one():
    for array in (pa.array([None, None], pa.string()), pa.array([], pa.string())):
        shapes = decimal_shapes(bytes_of(array))
        assert shapes is not None
        assert not shapes.plain.any()
        assert _fits(INTEGER, array) == [True] * len(array)
        assert _fits(DECIMAL, array) == [True] * len(array)
