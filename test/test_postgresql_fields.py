"""Intervals go to PostgreSQL in binary COPY as ``interval``'s own fields (pgpq encodes none).

Oracles: ``struct.pack`` of each value's microseconds, days and months in the order and widths
PostgreSQL's documentation gives for ``interval_recv`` (not the module's numpy layout); and, on
the server, each stored value taken apart by PostgreSQL's own ``EXTRACT``.
"""

from __future__ import annotations

import random
import struct

import pyarrow as pa
import pyarrow.feather as feather
import pytest
from conftest import load
from hypothesis import given
from hypothesis import strategies as st

from processor.backends.postgresql_fields import interval_fields

I32 = st.integers(-(2**31), 2**31 - 1)
MICROSECONDS = st.integers(-(2**63 // 1000), (2**63 - 1) // 1000)  # within 64-bit nanoseconds
INTERVALS = st.one_of(st.none(), st.tuples(I32, I32, MICROSECONDS))


def expected_field(value: tuple[int, int, int] | None) -> bytes | None:
    if value is None:
        return None
    months, days, microseconds = value
    return struct.pack(">qii", microseconds, days, months)


@given(st.lists(INTERVALS, max_size=40), st.integers(0, 5), st.integers(0, 5))
def test_each_interval_is_its_microseconds_days_and_months_big_endian(values, head, tail):
    as_nanoseconds = [None if v is None else (v[0], v[1], v[2] * 1000) for v in values]
    padding = [(1, 2, 3000)]
    whole = pa.array(padding * head + as_nanoseconds + padding * tail, pa.month_day_nano_interval())
    sliced = whole.slice(head, len(values))  # a chunk is often a slice of a larger batch

    fields = interval_fields(sliced)

    assert fields.to_pylist() == [expected_field(v) for v in values]


def test_a_part_of_a_microsecond_is_refused_not_rounded():
    values = pa.array([(0, 0, 1000), (0, 0, 1001)], pa.month_day_nano_interval())
    with pytest.raises(ValueError, match="part of a microsecond"):
        interval_fields(values)
    # Beside a null, whose slot may hold anything, the same.
    nulls = pa.array([None, (0, 0, 999)], pa.month_day_nano_interval())
    with pytest.raises(ValueError, match="part of a microsecond"):
        interval_fields(nulls)


def test_only_intervals_are_encoded():
    with pytest.raises(TypeError, match="month_day_nano_interval"):
        interval_fields(pa.array([1, 2], pa.int64()))


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_intervals_over_many_chunks_load_through_binary_copy(db, table, tmp_path):
    rng = random.Random(7)
    bound = 2**31 - 1
    values = [
        None
        if i % 5 == 3
        else (rng.randint(-bound, bound), rng.randint(-bound, bound), rng.randint(-(10**15), 10**15))
        for i in range(40)
    ]
    columns = {
        "id": pa.array(range(40), pa.int64()),
        "iv": pa.array(
            [None if v is None else (v[0], v[1], v[2] * 1000) for v in values], pa.month_day_nano_interval()
        ),
    }
    (tmp_path / "src").mkdir()
    feather.write_feather(pa.table(columns), tmp_path / "src" / "iv.feather")

    report = load(tmp_path / "src", db, table, src_file_name="*.feather", chunk_size=7)

    assert report.error is None, report.error
    assert report.write_paths == ["binary COPY from Arrow (pgpq, psycopg2)"]
    iv = db.quote("iv")
    parts = (
        f"EXTRACT(YEAR FROM {iv}) * 12 + EXTRACT(MONTH FROM {iv}), EXTRACT(DAY FROM {iv}), "
        f"EXTRACT(HOUR FROM {iv}) * 3600000000 + EXTRACT(MINUTE FROM {iv}) * 60000000"
        f" + EXTRACT(MICROSECONDS FROM {iv})"
    )
    rows = db._query(f"SELECT {parts} FROM {db.quote(table)} ORDER BY {db.quote('id')}").rows_list
    assert [None if row[0] is None else tuple(int(v) for v in row) for row in rows] == values
