"""classify_columns (many columns in a few Arrow calls) against its oracle, classify of each
column alone: the same ColumnProfile, field for field, on random tables of mixed columns."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor import kinds
from processor.kinds import CLASSIFY_PREFIX, PLAIN, Spelling, classify, classify_columns
from processor.plan.schema import profile_table

SPELLINGS = [
    PLAIN,
    Spelling(decimal_mark=","),
    Spelling(date_format="%d/%m/%Y", timestamp_format="%d/%m/%Y %H:%M:%S"),
]

integers = st.one_of(
    st.integers(-1000, 1000),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-(2**80), 2**80),  # beyond 64 bits
).map(str)
leading_zeros = st.integers(0, 999).map(lambda n: f"0{n}")
decimals = st.builds(
    lambda whole, fraction, mark: f"{whole}{mark}{fraction}",
    st.integers(-(10**20), 10**20),
    st.text("0123456789", min_size=1, max_size=20),
    st.sampled_from([".", ","]),
)
trailing_zeros = st.builds(
    lambda whole, fraction, zeros: f"{whole}.{fraction}{'0' * zeros}",
    st.integers(-(10**6), 10**6),
    st.text("0123456789", max_size=4),
    st.integers(1, 25),
)
floats = st.floats(allow_nan=True, allow_infinity=True).map(
    lambda f: st.sampled_from([repr(f), f"{f:e}", f"{f:.17g}"])
)
negative_zeros = st.sampled_from(["-0", "-0.0", "-0.000", "0.0", "0", "-0,0", "0e5", "-0e1"])
dates = st.dates().map(
    lambda d: st.sampled_from([d.isoformat(), d.strftime("%d/%m/%Y"), f"{d.day}/{d.month}/{d.year}"])
)
impossible_dates = st.sampled_from(
    ["2021-02-30", "2021-13-01", "0999-01-01", "30/02/2021", "2021-02-29 00:00:00"]
)
timestamps = st.datetimes().map(
    lambda t: st.sampled_from(
        [
            t.strftime("%Y-%m-%d %H:%M:%S"),
            t.strftime("%d/%m/%Y %H:%M:%S"),
            t.isoformat(),
            t.strftime("%Y-%m-%dT%H:%M"),
        ]
    )
)
texts = st.one_of(
    st.text(max_size=12), st.sampled_from(["", " 1", "1 ", "+5", "1.", ".5", "1e5", "NaN", "inf", "é", "١٢"])
)


def value_strategy(kind: str) -> st.SearchStrategy[str]:
    return {
        "integer": integers,
        "zeros": leading_zeros,
        "decimal": decimals,
        "trailing": trailing_zeros,
        "float": floats.flatmap(lambda s: s),
        "negzero": negative_zeros,
        "date": dates.flatmap(lambda s: s),
        "baddate": impossible_dates,
        "timestamp": timestamps.flatmap(lambda s: s),
        "text": texts,
    }[kind]


KINDS = [
    "integer",
    "zeros",
    "decimal",
    "trailing",
    "float",
    "negzero",
    "date",
    "baddate",
    "timestamp",
    "text",
]


@st.composite
def columns(draw: st.DrawFn, rows: int) -> pa.Array:
    """A column of mostly one kind, some nulls, now and then a value of another kind (before or
    after the first CLASSIFY_PREFIX values), or nothing but nulls."""
    if draw(st.integers(0, 9)) == 0:
        return pa.array([None] * rows, pa.string())
    main = draw(st.sampled_from(KINDS))
    other = draw(st.sampled_from(KINDS))
    null_share = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9]))
    values: list[str | None] = []
    for _ in range(rows):
        roll = draw(st.floats(0, 1))
        if roll < null_share:
            values.append(None)
        elif roll > 0.97:
            values.append(draw(value_strategy(other)))
        else:
            values.append(draw(value_strategy(main)))
    return pa.array(values, pa.string())


@st.composite
def tables(draw: st.DrawFn) -> list[pa.Array]:
    rows = draw(st.sampled_from([0, 1, 3, CLASSIFY_PREFIX - 1, CLASSIFY_PREFIX, CLASSIFY_PREFIX + 1, 150]))
    return draw(st.lists(columns(rows), min_size=1, max_size=8))


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(tables(), st.sampled_from(SPELLINGS))
def test_batched_profiles_equal_per_column(table: list[pa.Array], spelling: Spelling) -> None:
    assert classify_columns(table, spelling) == tuple(classify(c, spelling) for c in table)


@settings(max_examples=30, deadline=None)
@given(tables(), st.sampled_from(SPELLINGS))
def test_small_batches_equal_per_column(table: list[pa.Array], spelling: Spelling) -> None:
    """Columns split over several batches (a batch's byte budget of one byte: one each)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kinds, "BATCH_BYTES", 1)
        assert classify_columns(table, spelling) == tuple(classify(c, spelling) for c in table)


def test_sliced_and_large_string_columns() -> None:
    """A column that is a slice of a longer array, and a large_string column (classified alone)."""
    values = ["7", "x", None, "2024-01-31", "1.50", "00", "-0", "12345678901234567890"] * 20
    table = [
        pa.array(values, pa.string()).slice(3, 90),
        pa.array(values, pa.large_string()),
        pa.array(["1", "2", None] * 30, pa.string()).slice(1),
        pa.array(["1.5", "2"] * 40, pa.string()).slice(80),  # empty
    ]
    assert classify_columns(table) == tuple(classify(c) for c in table)


def test_profile_table_keeps_settled_columns() -> None:
    sample = pa.table({"a": pa.array(["1", "2"]), "b": pa.array(["x", None]), "c": pa.array(["1.5", None])})
    settled = frozenset({1})
    assert profile_table(sample, settled) == (
        classify(sample["a"].combine_chunks()),
        kinds.ColumnProfile(),
        classify(sample["c"].combine_chunks()),
    )
    left_out = sample.select(["a", "c"])
    assert profile_table(left_out, settled, left_out=True) == profile_table(sample, settled)


def test_decimal_widths_per_column() -> None:
    """Each column's own widest decimal and significant scale, not its neighbours' in the batch."""
    table = [
        pa.array(["1.500", "-22.0", None, "3"]),
        pa.array(["0.0000000000000000000001", "12345678901234567890123.5"]),
        pa.array(["7", "-0", "10"]),
        pa.array(["1.10", "2.2000"] * 40),
        pa.array(["5", "6"] * 40),
    ]
    found = classify_columns(table)
    assert found == tuple(classify(c) for c in table)
    assert [(p.whole_digits, p.scale, p.significant_scale) for p in found] == [
        (2, 3, 1),
        (23, 22, 22),
        (0, 0, 0),
        (1, 4, 1),
        (1, 0, 0),
    ]
