"""The column types a typed file (Parquet) declares, as the importer's kinds: taken as given,
never planned from a sample of text.

Its format's reader has already turned what has no kind of its own into text (a dictionary into
its values, lists, structs and maps into their text), so the Arrow types met here are the ones
with an exact kind: integers, floats, booleans, decimals, dates, timestamps, strings, bytes
(binary, large and fixed-size), times of day, durations and month-day-nanosecond intervals.
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa

from processor.kinds import (
    BINARY,
    BOOLEAN,
    DATE,
    FLOAT,
    INTEGER,
    INTERVAL,
    TEXT,
    TIME,
    TIMESTAMP,
    ColumnProfile,
    ColumnType,
    bounded_decimal,
    is_bytes_type,
)

#: Digits of a second's fraction that a timestamp of each unit has (nanoseconds are kept only
#: where they are whole microseconds: no database here holds more).
FRACTION_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 6}


def declared_type(data_type: pa.DataType) -> ColumnType:
    """The kind a column of ``data_type`` is loaded as (before the database's own bounds)."""
    if pa.types.is_integer(data_type):
        return INTEGER  # 64-bit; a uint64 beyond them is a rejected row
    if pa.types.is_floating(data_type):
        return FLOAT  # a float32 is the same number as a double
    if pa.types.is_boolean(data_type):
        return BOOLEAN
    if pa.types.is_decimal(data_type):
        # A negative scale (multiples of 10**-scale) is a whole number of precision - scale digits.
        scale = max(data_type.scale, 0)
        return bounded_decimal(data_type.precision - data_type.scale + scale, scale)
    if pa.types.is_date(data_type):
        return DATE
    if pa.types.is_timestamp(data_type):
        return replace(TIMESTAMP, fraction=FRACTION_DIGITS[data_type.unit], zoned=data_type.tz is not None)
    if is_bytes_type(data_type):
        return BINARY
    if pa.types.is_time(data_type):
        return TIME  # microseconds; a time64[ns] of a sub-microsecond is a rejected row
    if pa.types.is_duration(data_type) or data_type == pa.month_day_nano_interval():
        return INTERVAL
    return TEXT


def declared_profile(values: pa.ChunkedArray | pa.Array) -> ColumnProfile:
    """What a typed column says of itself: its declared type whatever its values (a column of
    Arrow's null type says nothing: another file's type decides, else it is text)."""
    if pa.types.is_null(values.type):
        return ColumnProfile()
    example = None
    if values.null_count < len(values):
        example = str(values.filter(values.is_valid())[0].as_py())
    return ColumnProfile(
        empty=False,
        integer=False,
        float=False,
        decimal=False,
        date=False,
        timestamp=False,
        example=example,
        declared=declared_type(values.type),
        declared_as=str(values.type),
    )
