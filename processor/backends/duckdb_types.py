"""DuckDB's built-in column types: what text each holds exactly, or why it is refused.

An append, merge or delete_rows onto an existing table checks each value against the type of
its column as ``duckdb_columns()`` names it, before any row is written.  Types the importer
plans itself (integers, floats, decimals, dates, whole-second timestamps, booleans, text) keep
their rules with DuckDB's bounds; the others are held where the text DuckDB prints back is the
text sent, or the same value (``UUID`` in lower case, ``TIME``, ``TIMETZ``, ``INTERVAL`` as
DuckDB prints them, ``BIT``, an ``ENUM``'s members, ``JSON``, ``BLOB`` of plain ASCII,
``TIMESTAMP``/``_MS``/``_NS`` with their fractions of a second, ``TIMESTAMPTZ`` with an explicit
offset, so no session time zone reads it, ``HUGEINT``/``UHUGEINT``/``BIGNUM`` beyond 64 bits);
every other type is refused before loading, so no value reaches DuckDB's own casts at the publish.
``test/test_existing_types_duckdb_sqlite.py`` has the whole catalogue.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Unpack

from processor.errors import SchemaError
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
    ColumnType,
    Foreign,
    ForeignChecks,
    bounded_decimal,
    integer_range,
)

# Integer types and (bits, unsigned), carried as Arrow's 64-bit integers.
INTEGER_BITS = {
    "TINYINT": (8, False),
    "SMALLINT": (16, False),
    "INTEGER": (32, False),
    "BIGINT": (64, False),
    "UTINYINT": (8, True),
    "USMALLINT": (16, True),
    "UINTEGER": (32, True),
    "UBIGINT": (64, True),
}
# Integers beyond 64 bits, sent as text that DuckDB casts exactly: the smallest and largest
# value (BIGNUM: any integer; a thousand digits here, far more than a file's column needs).
WIDE_INTEGERS = {
    "HUGEINT": (-(2**127), 2**127 - 1),
    "UHUGEINT": (0, 2**128 - 1),
    "BIGNUM": (-(10**1000) + 1, 10**1000 - 1),
}
INTEGER_SHAPE = "^-?(0|[1-9][0-9]*)$"  # what DuckDB prints: no +, no leading zeros, no -0

# TIMESTAMP_NS counts nanoseconds in 64 bits: 1677-09-21 00:12:43 to 2262-04-11 23:47:16.
PLANNED: dict[str, ColumnType] = {
    "FLOAT": replace(FLOAT, bits=32),
    "DOUBLE": FLOAT,
    "DATE": DATE,
    "TIMESTAMP": replace(TIMESTAMP, fraction=6),  # microseconds, as a typed file's may have
    "TIMESTAMP_S": TIMESTAMP,  # seconds: what the importer's timestamps from text have
    "TIMESTAMP_MS": replace(TIMESTAMP, fraction=3),
    "BOOLEAN": BOOLEAN,
    "VARCHAR": TEXT,  # DuckDB keeps no length: VARCHAR(3) and CHAR(4) are VARCHAR
}
DECIMAL_RE = re.compile(r"DECIMAL\(([0-9]+),([0-9]+)\)")
HEX = "[0-9a-f]"
# What DuckDB prints, so what it reads back the same: lower-case hex, dashes in place.
UUID_SHAPE = f"^{HEX}{{8}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{12}}$"
# A fraction of at most 6 (TIME_NS: 9) digits without trailing zeros (DuckDB prints 12:00:00.5
# for 12:00:00.50, and TIME drops a seventh digit).
TIME_SHAPES = {
    digits: rf"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{0,{digits - 1}}}[1-9])?$"
    for digits in (6, 9)
}
# The range of TIMESTAMP_NS, whose nanoseconds since 1970 fill 64 bits (its 9 digits of a second
# are more than the planned timestamps' microseconds: it is checked as text).
NS_RANGE = ("1677-09-22 00:00:00", "2262-04-11 00:00:00")
DATE_TIME = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
# TIMETZ keeps its offset as written, printing whole hours as +HH (so +02:00 would come back +02)
# and -00 as +00; up to 15:59.
TIMETZ_SHAPE = TIME_SHAPES[6][:-1] + r"([+](0[0-9]|1[0-5])|-(0[1-9]|1[0-5]))(:(0[1-9]|[1-5][0-9]))?$"
# An explicit offset: the instant does not depend on the session's TimeZone.
OFFSET = r"[+-][01][0-9](:[0-5][0-9])?$"
MOMENT_SHAPE = rf"{DATE_TIME}(\.[0-9]{{1,6}})?{OFFSET}"
# Text that casts to the same bytes: ASCII without a backslash (``\x41`` is an escape there,
# and DuckDB refuses other characters).
BLOB_SHAPE = r"^[\x{01}-\x{5b}\x{5d}-\x{7f}]*$"
GENERATED = "a column GENERATED ALWAYS, whose values DuckDB computes: it takes none from a file"
COMPOSITE = "a nested value (list, array, struct, map or union) whose text DuckDB parses by its own rules"
REFUSED = {
    "TIMESTAMPTZ_NS": "its nanoseconds and time zones are not checked here",
    "VARIANT": "a value of any type, whose text DuckDB reads by its own rules",
    "GEOMETRY": "a geometry from its text, parsed by DuckDB's spatial rules",
}


def column_type(data_type: str, enum_members: Callable[[], tuple[str, ...]]) -> ColumnType | str:
    """What a column of ``data_type`` (as ``duckdb_columns()`` writes it) holds exactly, or why
    it cannot be checked (refused before loading).  ``enum_members`` reads an ENUM's labels."""
    if data_type in INTEGER_BITS:
        bits, unsigned = INTEGER_BITS[data_type]
        return replace(INTEGER, low=0, high=2**bits - 1) if unsigned else integer_range(bits)
    if data_type in PLANNED:
        return PLANNED[data_type]
    if data_type == "TIMESTAMP_NS":
        return _ns_timestamp()
    if data_type in WIDE_INTEGERS:
        low, high = WIDE_INTEGERS[data_type]
        shown = f"from {low} to {high}" if data_type != "BIGNUM" else "of at most 1000 digits"
        check = functools.partial(wide_integer_fits, low, high)
        return _foreign(data_type, f"an integer {shown}", shape=INTEGER_SHAPE, check=check)
    decimal = DECIMAL_RE.fullmatch(data_type)
    if decimal:
        return bounded_decimal(int(decimal.group(1)), int(decimal.group(2)))
    if data_type.startswith("ENUM("):
        members = enum_members()
        shown = ", ".join(map(repr, members[:8])) + (", ..." if len(members) > 8 else "")
        return _foreign(data_type, f"one of the members of {shown}, byte for byte", members=members)
    if data_type in FOREIGN:
        what, checks = FOREIGN[data_type]
        return _foreign(data_type, what, **checks)
    if data_type in REFUSED:
        return REFUSED[data_type]
    if data_type.endswith("]") or data_type.startswith(("STRUCT(", "MAP(", "UNION(")):
        return COMPOSITE
    return "a type from an extension or a user-defined type, which the importer cannot check"


def _foreign(sql: str, what: str, **checks: Unpack[ForeignChecks]) -> ColumnType:
    return replace(TEXT, foreign=Foreign(sql=sql, what=what, **checks))


def json_fits(text: str) -> bool:
    """Whether ``text`` is one JSON value by the standard (no NaN or Infinity, no lone surrogate
    such as ``\\ud800``, which DuckDB refuses), which DuckDB's JSON keeps as it is written."""

    def constant(spelled: str) -> None:
        raise ValueError(spelled)

    try:
        found = [json.loads(text, parse_constant=constant)]
    except RecursionError:  # nested deeper than Python's parser goes: not checked, so rejected
        return False
    while found:  # every string and key: a lone surrogate cannot be encoded (a ValueError)
        item = found.pop()
        if isinstance(item, str):
            item.encode()
        elif isinstance(item, list):
            found.extend(item)
        elif isinstance(item, dict):
            found.extend(item)
            found.extend(item.values())
    return True


def moment_fits(text: str) -> bool:
    """Whether ``text`` (``MOMENT_SHAPE``) is a real date and time with an offset below a day."""
    datetime.datetime.fromisoformat(text)
    return True


def interval_fits(text: str) -> bool:
    """Whether ``text`` is an interval exactly as DuckDB prints it (``1 year 2 months -3 days
    04:05:06.5``: years and months from its months, days, then the time, each part left out when
    zero, ``00:00:00`` for none), within its fields' ranges: DuckDB reads other spellings too
    (``14 months``, ``25 hours``), but only its own is checked here."""
    found = INTERVAL_RE.fullmatch(text)
    if found is None:
        return False
    parts = {k: int(v) for k, v in found.groupdict().items() if v is not None and k not in ("f", "ts")}
    months = parts.get("y", 0) * 12 + parts.get("mo", 0)
    days = parts.get("d", 0)
    fraction = (found["f"] or "").ljust(6, "0")
    micros = (parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)) * 10**6 + int(fraction)
    micros = -micros if found["ts"] == "-" else micros
    if max(abs(months), abs(days)) > 2**31 - 1 or abs(micros) > 2**63 - 1:
        return False
    return _printed_interval(months, days, micros) == text


def _printed_interval(months: int, days: int, micros: int) -> str:
    """An interval as DuckDB's ``CAST(... AS VARCHAR)`` writes it."""
    years, months = int(months / 12), months - 12 * int(months / 12)  # both toward zero
    parts = [
        f"{n} {unit}{'' if abs(n) == 1 else 's'}"
        for n, unit in ((years, "year"), (months, "month"), (days, "day"))
        if n
    ]
    if micros or not parts:
        sign, micros = ("-" if micros < 0 else ""), abs(micros)
        seconds, fraction = divmod(micros, 10**6)
        clock = f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        parts.append(clock + (f".{fraction:06d}".rstrip("0") if fraction else ""))
    return " ".join(parts)


def wide_integer_fits(low: int, high: int, text: str) -> bool:
    """An integer within ``low`` and ``high`` (``INTEGER_SHAPE``), not ``-0``."""
    return text != "-0" and len(text) <= 1001 and low <= int(text) <= high


def timestamp_fits(text: str) -> bool:
    """Whether ``text`` (``timestamp_shape``) is a real date and time of years 1000 to 9999
    (Python reads at most 6 digits of a fraction: the check reads the first 6, the shape bounds
    the rest)."""
    whole, _, fraction = text.partition(".")
    datetime.datetime.fromisoformat(whole + ("." + fraction[:6].ljust(6, "0") if fraction else ""))
    return True


def ns_timestamp_fits(text: str) -> bool:
    """A TIMESTAMP_NS: a real date and time within its range (ISO text compares as times do)."""
    return timestamp_fits(text) and NS_RANGE[0] <= text <= NS_RANGE[1]


def _ns_timestamp() -> ColumnType:
    """TIMESTAMP_NS: ISO text with at most 9 digits of a second, within its range (passed as
    text, which DuckDB casts exactly; TIMESTAMP, TIMESTAMP_MS and TIMESTAMP_S are the planned
    timestamp with their fractions)."""
    shape = rf"{DATE_TIME}(\.[0-9]{{1,9}})?$"
    what = (
        "a valid timestamp written YYYY-MM-DD HH:MM:SS[.f], at most 9 digits after the second, "
        f"from {NS_RANGE[0]} to {NS_RANGE[1]}"
    )
    return _foreign("TIMESTAMP_NS", what, shape=shape, check=ns_timestamp_fits)


# An interval's parts, as DuckDB prints them (``interval_fits`` checks the rest).
INTERVAL_RE = re.compile(
    r"((?P<y>-?[0-9]{1,10}) years? ?)?((?P<mo>-?[0-9]{1,2}) months? ?)?((?P<d>-?[0-9]{1,10}) days? ?)?"
    r"((?P<ts>-?)(?P<h>[0-9]{2,10}):(?P<m>[0-5][0-9]):(?P<s>[0-5][0-9])(\.(?P<f>[0-9]{1,6}))?)?"
)
FOREIGN: dict[str, tuple[str, ForeignChecks]] = {
    "INTERVAL": (
        "an interval as DuckDB prints it (1 year 2 months 3 days 04:05:06.5: no part that is zero, "
        "14 months as 1 year 2 months)",
        {"check": interval_fits, "typed": INTERVAL},
    ),
    "UUID": ("a UUID in lower-case hex (8-4-4-4-12)", {"shape": UUID_SHAPE}),
    "TIME": ("a time HH:MM:SS[.ffffff] (no trailing zeros)", {"shape": TIME_SHAPES[6], "typed": TIME}),
    "TIME_NS": ("a time HH:MM:SS[.fffffffff] (no trailing zeros)", {"shape": TIME_SHAPES[9]}),
    "TIME WITH TIME ZONE": (
        "a time HH:MM:SS[.ffffff] (no trailing zeros) with an offset +HH[:MM] up to 15:59 (not -00)",
        {"shape": TIMETZ_SHAPE},
    ),
    "BIT": ("a bit string of 0s and 1s", {"shape": "^[01]+$"}),
    "JSON": ("a JSON value", {"check": json_fits}),
    "BLOB": ("ASCII text without a backslash (stored as its bytes)", {"shape": BLOB_SHAPE, "typed": BINARY}),
    "TIMESTAMP WITH TIME ZONE": (
        "a valid timestamp written YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM] (with its offset)",
        {"shape": MOMENT_SHAPE, "check": moment_fits},
    ),
}


def refused(table: str, column: str, data_type: str, why: str) -> SchemaError:
    """The error for a column whose type ``column_type`` cannot check."""
    return SchemaError(
        f"table {table!r}: column {column!r} has type {data_type}, which the importer cannot check "
        f"before loading: {why}. Nothing was loaded; load the file into a new DEST_TABLE (SCHEMA_FILE "
        "chooses its types, SRC_COLUMNS picks and renames the file's columns) and move the rows with "
        "SQL, or change the column's type"
    )
