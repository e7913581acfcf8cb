"""Give a typed file's columns (Parquet's Arrow arrays) their planned types, without text where
the writers take the type as it is.

A column keeps its Arrow numbers where its planned type is the one its file declares:
integers (within the column's range; a uint64 beyond 64-bit signed is a rejected row), floats
(finite ones: NaN and infinity are rejected rows, as their text is from a float column of a CSV
file) and booleans.  Decimals, dates and timestamps become the exact text the writers take for
those types anyway (``kinds.py``): a decimal's digits at its scale, ``YYYY-MM-DD``, and
``YYYY-MM-DD HH:MM:SS.ffffff`` (zoned: the instant in UTC, ``+00:00``).  Dates and timestamps hold
years 1 to 9999; a timestamp's nanoseconds only where they are whole microseconds.

Where the planned type is another (an existing table's column, a database without an exact
decimal type), each value is its exact text (``canonical_text``) and the text rules of
``kinds.py`` decide, as for a CSV file.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processor.kinds import INT64_MAX, ColumnType, Kind, is_bytes_type
from processor.plan.declared import declared_type

#: Arrow's month_day_nano_interval as numpy reads its 16-byte values.
MONTH_DAY_NANO = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanoseconds", "<i8")])
#: Digits of a second's fraction of each unit of a duration.
UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
#: Years 0001 to 9999 at the start of an ISO date or timestamp (Arrow prints others too).
ISO_YEARS = r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-"


def is_typed(values: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a column is a typed file's Arrow values rather than text (or all NULL)."""
    return not (pa.types.is_string(values.type) or pa.types.is_null(values.type))


def check_typed(column: ColumnType, values: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """The values as ``apply_plan`` goes on with them (Arrow numbers or booleans where the column
    takes them so, else exact text), and True where one fits (None: all do)."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    data_type = values.type
    column = typed_column(column, data_type)
    if column.foreign is None and column.kind is Kind.INTEGER and pa.types.is_integer(data_type):
        return values, _nullable(column, values, _integer_fits(column, values))
    if column.kind is Kind.FLOAT and pa.types.is_floating(data_type) and _plain_float(column):
        numbers = pc.cast(values, pa.float64())  # float16/32 to a double: the same number
        return numbers, _nullable(column, numbers, pc.fill_null(pc.is_finite(numbers), True))
    if column.kind is Kind.BOOLEAN and pa.types.is_boolean(data_type):
        return values, _nullable(column, values, None)
    if (
        column.kind is Kind.INTERVAL
        and column.foreign is None
        and (pa.types.is_duration(data_type) or data_type == pa.month_day_nano_interval())
    ):
        return _intervals(column, values)
    if column.kind is Kind.BINARY and column.foreign is None and is_bytes_type(data_type):
        values = pc.cast(values, pa.binary())
        return values, column.fit_mask(values)
    if column.kind is Kind.DECIMAL and pa.types.is_decimal(data_type):
        text = canonical_text(values)
        return text, column.fit_mask(text)
    if column.kind is Kind.DATE and pa.types.is_date(data_type):
        text = pc.cast(pc.cast(values, pa.date32()), pa.string())
        return text, _nullable(column, text, _dated(column, text))
    if (
        column.kind is Kind.TIMESTAMP
        and pa.types.is_timestamp(data_type)
        and column.zoned == bool(data_type.tz)
    ):
        return _timestamps(column, values)
    text = canonical_text(values)
    return text, column.fit_mask(text)


def typed_column(column: ColumnType, data_type: pa.DataType) -> ColumnType:
    """The column type a typed file's values of ``data_type`` are checked and sent as: an existing
    column of a type the importer does not plan (``Foreign``) takes values of the kind it holds
    exactly as that kind (``Foreign.typed``), the others as text by its own rules."""
    foreign = column.foreign
    if foreign is None or foreign.typed is None or declared_type(data_type).kind is not foreign.typed.kind:
        return column
    return replace(foreign.typed, nullable=column.nullable)


def typed_wire(column: ColumnType, values: pa.Array) -> pa.Array:
    """Fitting values ``check_typed`` kept as Arrow numbers or booleans, as the writers send them."""
    if column.kind is Kind.INTEGER:
        return pc.cast(values, pa.uint64() if column.high > INT64_MAX else pa.int64())
    if column.kind is Kind.BINARY:
        return pc.cast(values, pa.binary())
    if column.kind is Kind.INTERVAL:  # month_day_nano_interval already (``_intervals``)
        return values
    return pc.cast(values, pa.float64()) if column.kind is Kind.FLOAT else values


def canonical_text(values: pa.Array) -> pa.Array:
    """Each value's exact text: integers' digits, a float's shortest decimal, ``true``/``false``,
    a decimal's digits at its scale (a negative scale's as the whole number), ISO dates,
    timestamps (zoned: in UTC, ``+00:00``) and times of day (with the unit's digits), bytes as
    ``\\x`` and their hex digits (as PostgreSQL writes bytea), durations as ISO 8601's
    ``PT<seconds>S`` and month-day-nanosecond intervals as ``P<months>M<days>DT<seconds>S`` (each
    part with its own sign; the seconds with as many digits as they need, trailing zeros cut)."""
    data_type = values.type
    if is_bytes_type(data_type):
        return pa.array([None if v is None else "\\x" + v.hex() for v in values.to_pylist()], pa.string())
    if pa.types.is_duration(data_type) or data_type == pa.month_day_nano_interval():
        return _interval_text(values)
    if pa.types.is_decimal(data_type) and data_type.scale < 0:
        width = pa.decimal256 if pa.types.is_decimal256(data_type) else pa.decimal128
        values = pc.cast(values, width(min(data_type.precision - data_type.scale, 76), 0))
    if pa.types.is_timestamp(data_type) and data_type.tz is not None:
        # In UTC, its offset written +00:00 (which every database's parser takes, unlike ``Z``).
        text = pc.cast(pc.cast(values, pa.timestamp(data_type.unit, "UTC")), pa.string())
        return pc.replace_substring_regex(text, "Z$", "+00:00")
    return pc.cast(values, pa.string())


def _interval_parts(values: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A duration's or interval's months, days and ticks of 10**-digits seconds (0 where null)."""
    if pa.types.is_duration(values.type):
        ticks = pc.fill_null(pc.cast(values, pa.int64()), 0).to_numpy(zero_copy_only=False)
        zeros = np.zeros(len(values), np.int64)
        return zeros, zeros, ticks, UNIT_DIGITS[values.type.unit]
    data = values.buffers()[1]
    fields = np.frombuffer(
        data, MONTH_DAY_NANO, count=len(values), offset=values.offset * MONTH_DAY_NANO.itemsize
    )
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    months, days, nanos = (np.where(valid, fields[k].astype(np.int64), 0) for k in MONTH_DAY_NANO.names or ())
    return months, days, nanos, 9


def _interval_text(values: pa.Array) -> pa.Array:
    """Durations as ``PT<seconds>S``, intervals as ``P<months>M<days>DT<seconds>S``."""
    months, days, ticks, digits = _interval_parts(values)
    seconds = _seconds_text(ticks, digits)
    if pa.types.is_duration(values.type):
        text = pc.binary_join_element_wise("PT", seconds, "S", "")
    else:
        months_text, days_text = (pc.cast(pa.array(a), pa.string()) for a in (months, days))
        text = pc.binary_join_element_wise("P", months_text, "M", days_text, "DT", seconds, "S", "")
    return pc.if_else(values.is_valid(), text, pa.scalar(None, pa.string()))


def _seconds_text(ticks: np.ndarray, digits: int) -> pa.Array:
    """Ticks of 10**-digits seconds as decimal numbers of seconds, trailing zeros cut."""
    if digits == 0:
        return pc.cast(pa.array(ticks), pa.string())
    unit = 10**digits
    quotient, remainder = np.divmod(ticks, unit)  # floored: -1 tick is -1 and unit - 1
    negative = ticks < 0
    carry = negative & (remainder != 0)
    whole = np.where(negative, -(quotient + carry), quotient)  # no overflow: |quotient| < 2**63 / 10
    fraction = np.where(carry, unit - remainder, remainder)
    decimals = pc.utf8_rtrim(pc.utf8_lpad(pc.cast(pa.array(fraction), pa.string()), digits, "0"), "0")
    point = pc.if_else(pc.equal(decimals, ""), pa.scalar(""), pa.scalar("."))
    sign = pc.if_else(pa.array(negative), pa.scalar("-"), pa.scalar(""))
    return pc.binary_join_element_wise(sign, pc.cast(pa.array(whole), pa.string()), point, decimals, "")


def _intervals(column: ColumnType, values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Durations and intervals as ``month_day_nano_interval`` where each is whole microseconds
    within 64-bit nanoseconds; otherwise, as text, the rule of ``kinds.py`` finds the misfits."""
    months, days, ticks, digits = _interval_parts(values)
    scale = 10 ** (9 - digits)
    limit = INT64_MAX // scale
    within = (ticks <= limit) & (ticks >= -limit)
    nanos = np.where(within, ticks, 0) * scale
    if not (within.all() and (nanos % 1000 == 0).all()):
        text = canonical_text(values)
        return text, column.fit_mask(text)
    fields = np.zeros(len(values), MONTH_DAY_NANO)
    fields["months"], fields["days"], fields["nanoseconds"] = months, days, nanos
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes()) if values.null_count else None
    wire = pa.Array.from_buffers(
        pa.month_day_nano_interval(), len(values), [bitmap, pa.py_buffer(fields.tobytes())], values.null_count
    )
    return wire, _nullable(column, wire, None)


def _plain_float(column: ColumnType) -> bool:
    """A double column that prints every value back (not MySQL's FLOAT(M,D), nor a REAL)."""
    return (
        column.bits == 64 and column.precision is None and not column.nonnegative and column.foreign is None
    )


def _nullable(column: ColumnType, values: pa.Array, fits: pa.Array | None) -> pa.Array | None:
    if column.nullable or values.null_count == 0:
        return fits
    present = pc.is_valid(values)
    return present if fits is None else pc.and_(fits, present)


def _integer_fits(column: ColumnType, values: pa.Array) -> pa.Array | None:
    """Within the column's range, compared in the array's own type (bounds beyond it hold all)."""
    data_type = values.type
    info_low = 0 if pa.types.is_unsigned_integer(data_type) else -(2 ** (data_type.bit_width - 1))
    info_high = 2 ** (data_type.bit_width - (0 if pa.types.is_unsigned_integer(data_type) else 1)) - 1
    checks = []
    if column.low > info_low:
        checks.append(pc.greater_equal(values, pa.scalar(min(column.low, info_high), data_type)))
    if column.high < info_high:
        checks.append(pc.less_equal(values, pa.scalar(max(column.high, info_low), data_type)))
    if not checks:
        return None
    fits = checks[0] if len(checks) == 1 else pc.and_(*checks)
    return pc.fill_null(fits, True)


def _dated(column: ColumnType, text: pa.Array) -> pa.Array:
    """ISO text of years 1 to 9999 within the column's earliest and latest (same shape: compared as text)."""
    fits = pc.match_substring_regex(text, ISO_YEARS)
    if column.earliest is not None:
        fits = pc.and_(fits, pc.greater_equal(text, column.earliest))
    if column.latest is not None:
        fits = pc.and_(fits, pc.less_equal(text, column.latest))
    return pc.fill_null(fits, True)


def _timestamps(column: ColumnType, values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Timestamps as ISO text with the unit's fraction; those the column cannot hold exactly
    (sub-microseconds, more fraction digits than it keeps, years beyond 1-9999) are misfits,
    shown with every digit they have."""
    data_type = values.type
    exact = canonical_text(values)
    micros = values
    fits: pa.Array | None = None
    if data_type.unit == "ns":
        nanos = pc.cast(values, pa.int64())
        fits = pc.equal(pc.subtract(nanos, pc.multiply(pc.divide(nanos, 1000), 1000)), 0)
        micros = pc.cast(pc.cast(pc.divide(nanos, 1000), pa.int64()), pa.timestamp("us", data_type.tz))
    text = canonical_text(micros)
    kept = {"s": 0, "ms": 3, "us": 6, "ns": 6}[data_type.unit]
    if column.fraction < kept:  # an existing column of whole seconds, or fewer digits
        ticks = pc.cast(micros, pa.int64())
        step = 10 ** (6 - column.fraction) // {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 1}[data_type.unit]
        whole = pc.equal(pc.subtract(ticks, pc.multiply(pc.divide(ticks, step), step)), 0)
        fits = whole if fits is None else pc.and_(fits, whole)
    dated = _dated(column, text)
    fits = dated if fits is None else pc.and_(pc.fill_null(fits, True), dated)
    shown = pc.if_else(pc.fill_null(fits, True), text, exact)
    return shown, _nullable(column, shown, fits)
