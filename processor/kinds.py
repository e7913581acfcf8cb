"""Column types, and the one rule of what text each holds exactly.

Planning (which type fits every sampled value) and loading (does this value fit its column)
use the same rules from here, so the two can never disagree.  A type is chosen only where the
database gives the text back as it was: ``00123``, ``+5``, ``-0``, ``1.`` and integers beyond 64
bits stay text; a float only holds a decimal whose shortest representation as a double is the
same number (``0.1`` yes, ``1234567890123456.7`` no); dates and timestamps only in the ISO
spellings a database prints back.  Files that write numbers with a decimal comma, or dates day
first, say so (``Spelling``: SRC_DECIMAL, SRC_DATE_FORMAT, SRC_TIMESTAMP_FORMAT); their values
are put in the importer's own spelling before the same rules look at them.

Text values are handed to the writers as text wherever the database parses them exactly
(decimals, dates, timestamps); integers, floats and booleans as Arrow numbers; a typed file's
bytes, times of day and intervals (``BINARY``, ``TIME``, ``INTERVAL``) as Arrow's binary,
``time64[us]`` and ``month_day_nano_interval``, which each database's writer sends in its own way.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processor.shapes import Bytes, Decimals, bytes_of, canonical_integers, decimal_places, decimal_shapes

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT_PATTERN = r"^(0|-?[1-9][0-9]*)$"
INT64_DIGITS = 18  # every integer with at most this many digits fits in 64 bits
# A number as a float column may hold it: no "+", no leading zeros, digits after any point.
FLOAT_SHAPE_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
FLOAT_SHAPE = f"^{FLOAT_SHAPE_RE.pattern}$"  # the same, for Arrow's patterns
ZERO_RE = re.compile(r"0(\.0+)?([eE][-+]?[0-9]+)?")  # a spelling of zero without a sign
DECIMAL_SHAPE = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
NEGATIVE_ZERO = r"^-0(\.0+)?$"
# A plain decimal (``DECIMAL_SHAPE``) of at most this many characters has no more digits than a
# float gives back unchanged (DBL_DIG and FLT_DIG), and stays in the range where they hold.
FLOAT_DIGITS = {64: 15, 32: 6}
# ISO dates and timestamps between the years 1000 and 9999, the range every database holds.
DATE_SHAPE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"
TIMESTAMP_SHAPE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
DATE_FORMAT, TIMESTAMP_FORMAT = "%Y-%m-%d", "%Y-%m-%d %H:%M:%S"
BOOLEAN_SPELLINGS = {"true": True, "t": True, "yes": True, "y": True, "1": True}
BOOLEAN_SPELLINGS |= {"false": False, "f": False, "no": False, "n": False, "0": False}
# Values classify() looks at first: one that does not fit rules a type out without a full scan.
CLASSIFY_PREFIX = 64
# The longest value a reject's reason quotes (the rejects file has the whole row).
SHOWN_CHARACTERS = 60


class Kind(enum.Enum):
    """What a column holds; ``ColumnType`` adds its bounds."""

    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOLEAN = "boolean"
    TEXT = "text"
    #: A typed file's bytes (Arrow's binary), a time of day and an interval (a duration, or
    #: months, days and nanoseconds): loaded where the database has an exact type for them.
    BINARY = "binary"
    TIME = "time"
    INTERVAL = "interval"


@dataclass(frozen=True)
class Spelling:
    """How a run's files write numbers and dates where they do not write them as the importer
    reads them by default (a point before the decimals, ISO dates): SRC_DECIMAL, SRC_DATE_FORMAT
    and SRC_TIMESTAMP_FORMAT say so for every file; nothing is guessed.

    A column of a kind it concerns holds a value only as it is said to be written: with a decimal
    comma ``1,5`` is 1.5 and ``1.5`` is no number (a point is neither a decimal mark nor a
    thousands separator then, so ``1.234,5`` stays text); with a date format only dates written
    in it, digit for digit (``1/2/2024`` is not ``01/02/2024``), are dates, and ``31/02/2024``
    none.  Such values are put in the importer's own spelling (``1.5``, ``2024-12-31``) before
    the rules of their kind look at them, and sent to the database so.
    """

    decimal_mark: str = "."
    #: strftime formats of ``%d %m %Y`` (and ``%H %M %S``), as ``settings`` checks them; None: ISO.
    date_format: str | None = None
    timestamp_format: str | None = None

    def spell(self, column: ColumnType) -> ColumnType:
        """``column`` reading its values written this way (a kind this spelling concerns)."""
        if self == PLAIN or column.kind not in (Kind.FLOAT, Kind.DECIMAL, Kind.DATE, Kind.TIMESTAMP):
            return column
        return replace(column, spelling=self)

    def plain(self, kind: Kind, values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
        """``values`` of a column of ``kind`` in the importer's own spelling, and where each is
        written as this spelling says (true for a null; None: every value is)."""
        if kind in (Kind.FLOAT, Kind.DECIMAL) and self.decimal_mark != ".":
            said = pc.fill_null(pc.invert(pc.match_substring(values, ".")), True)
            return pc.replace_substring(values, self.decimal_mark, "."), said
        given = {Kind.DATE: self.date_format, Kind.TIMESTAMP: self.timestamp_format}.get(kind)
        if given is None:
            return values, None
        # strptime rolls 31/02 over to March and takes 1/2 for 01/02: printed back with the
        # same format, only a value written exactly so reads the same.
        parsed = pc.strptime(values, given, "s", error_is_null=True)
        said = pc.or_(pc.is_null(values), pc.fill_null(pc.equal(pc.strftime(parsed, given), values), False))
        return pc.strftime(parsed, DATE_FORMAT if kind is Kind.DATE else TIMESTAMP_FORMAT), said

    def describe(self) -> str:
        """The spelling in words, for the dry run and the log: what differs from the default."""
        parts = []
        if self.decimal_mark != ".":
            parts.append(f"decimal mark {self.decimal_mark!r}")
        if self.date_format is not None:
            parts.append(f"dates {self.date_format}")
        if self.timestamp_format is not None:
            parts.append(f"timestamps {self.timestamp_format}")
        return ", ".join(parts)


PLAIN = Spelling()


@dataclass(frozen=True)
class Foreign:
    """An existing column's type the importer does not plan itself (PostgreSQL's ``uuid``,
    ``jsonb``, ``timestamptz``, an enum, ...).  Values are sent as text (PostgreSQL stages them
    in this type, MySQL/MariaDB as text converted on publish), and only text it holds exactly
    fits: one that matches ``shape``, is one of ``members`` and passes ``check``, whichever are
    given.  The database's module builds it, so its parser's rules stay there."""

    #: The type as the database writes it (PostgreSQL's ``format_type``).
    sql: str
    #: What a value must be, in words (a reject's reason).
    what: str
    #: A pattern (RE2) every value matches.
    shape: str | None = None
    #: The only values there are (an enum's labels, byte for byte).
    members: tuple[str, ...] | None = None
    #: A test of each value matching ``shape``, in Python (a top-level function: it is pickled).
    check: Callable[[str], bool] | None = None
    #: The importer's own type a typed file's values of that kind are checked and sent as, where
    #: the column's type holds them exactly (bytes into ``bytea``, a ``time64`` into ``time``):
    #: their text would be read by the database's own rules, which may not keep them so.
    typed: ColumnType | None = None


class ForeignChecks(TypedDict, total=False):
    """``Foreign``'s tests as keywords: the databases' modules keep tables of them by type."""

    shape: str | None
    members: tuple[str, ...] | None
    check: Callable[[str], bool] | None
    typed: ColumnType | None


@dataclass(frozen=True)
class ColumnType:
    """A column's kind and the bounds its database puts on it.

    Planned columns use the defaults (64-bit integers and floats, unbounded text); an existing
    table's columns bring their own (``SMALLINT``'s range, ``NUMERIC(10,2)``, ``VARCHAR(3)``).
    """

    kind: Kind
    #: INTEGER: the smallest and largest value.
    low: int = INT64_MIN
    high: int = INT64_MAX
    #: FLOAT: 64 (double precision) or 32 (real).
    bits: int = 64
    #: DECIMAL: digits in all and after the point; None: as many as the value has.  FLOAT: the
    #: most significant digits the database prints back (None: all a float has), or with a
    #: scale, digits in all and the decimals the database rounds every value to (MySQL's
    #: ``FLOAT(M,D)``).
    precision: int | None = None
    scale: int | None = None
    #: DECIMAL without a precision: the most digits before and after the point the database
    #: holds at all (PostgreSQL's NUMERIC); None: any number.
    digit_limits: tuple[int, int] | None = None
    #: DECIMAL and FLOAT: no value below zero (MySQL's UNSIGNED).
    nonnegative: bool = False
    #: DATE and TIMESTAMP: the earliest and latest value the column holds (ISO text, which
    #: compares as the times do); None: the ISO range, years 1000 to 9999.
    earliest: str | None = None
    latest: str | None = None
    #: TIMESTAMP: digits of a second's fraction the column keeps (a typed file's, e.g. 6 for
    #: Parquet's microseconds; text is planned whole seconds), and whether it keeps the instant
    #: of a zoned time (PostgreSQL's ``timestamptz``) rather than a wall-clock time.
    fraction: int = 0
    zoned: bool = False
    #: TIME: digits of a second's fraction the column keeps (6: microseconds).
    #: TEXT: the fewest and most characters, the most bytes (UTF-8) a value may have; BINARY: the
    #: fewest and most bytes.
    min_chars: int = 0
    max_chars: int | None = None
    min_bytes: int = 0
    max_bytes: int | None = None
    #: TEXT: a pattern (RE2) matching a value the column cannot hold, and what it says of it.
    forbidden: str | None = None
    #: TEXT: one ASCII character the column cannot hold (``\x00``), looked for with a byte scan
    #: first: most chunks hold none, and then no value needs a look of its own.
    forbidden_character: str = ""
    forbidden_what: str = ""
    #: Whether the column holds NULL (SCHEMA_FILE may say it does not).
    nullable: bool = True
    #: TEXT: an existing column of a type the importer does not plan (``Foreign``).
    foreign: Foreign | None = None
    #: FLOAT, DECIMAL, DATE and TIMESTAMP: how the files write the values (``Spelling.spell``).
    spelling: Spelling = PLAIN

    def fit_mask(self, values: pa.Array) -> pa.Array | None:
        """True where a value is null (if the column is nullable) or this column holds it
        exactly; None: every value fits."""
        plain, said = self.spelling.plain(self.kind, values)
        fits = _FITS[self.kind](self, plain)
        if said is not None:
            fits = said if fits is None else pc.and_(said, fits)
        if self.nullable or values.null_count == 0:
            return fits
        present = pc.is_valid(values)
        return present if fits is None else pc.and_(fits, present)

    def plain(self, values: pa.Array) -> pa.Array:
        """The values in the importer's own spelling (a point before decimals, ISO dates)."""
        return self.spelling.plain(self.kind, values)[0]

    def to_wire(self, values: pa.Array) -> pa.Array:
        """Fitting values as the writers send them: numbers and booleans typed, bytes as Arrow
        binary, times of day as ``time64[us]``, intervals as ``month_day_nano_interval``, the
        rest as text."""
        values = self.plain(values)
        if self.foreign is None and self.kind in _WIRE:
            return _WIRE[self.kind](values)
        if self.kind is Kind.INTEGER:  # unsigned 64-bit integers beyond the signed ones: uint64
            return pc.cast(values, pa.uint64() if self.high > INT64_MAX else pa.int64())
        if self.kind is Kind.FLOAT:
            return pc.cast(values, pa.float64())
        if self.kind is Kind.BOOLEAN:
            true = pc.is_in(pc.utf8_lower(values), pa.array([k for k, v in BOOLEAN_SPELLINGS.items() if v]))
            return pc.if_else(pc.is_valid(values), true, pa.scalar(None, pa.bool_()))
        return values

    def reason(self, value: str | None) -> str:
        """Why ``value`` was rejected from this column, for the rejects file."""
        if value is None:
            return "an empty value, but the column is NOT NULL"
        return f"{_shown(value)!r} is not {self.describe()}"

    def describe(self) -> str:
        """What this column holds, in words."""
        if self.kind is Kind.INTEGER:
            if (self.low, self.high) == (INT64_MIN, INT64_MAX):
                return "a 64-bit integer"
            return f"an integer from {self.low} to {self.high}"
        if self.kind is Kind.FLOAT:
            width = " (32-bit)" if self.bits == 32 else ""
            bounds = f"{_describe_float_bounds(self)}{_sign(self)}{_mark(self)}"
            return f"a number that a float holds exactly{width}{bounds}"
        if self.kind is Kind.DECIMAL:
            return _describe_decimal(self) + _mark(self)
        if self.kind is Kind.DATE:
            written = self.spelling.date_format or "YYYY-MM-DD"
            return f"a valid date written {written}" + _describe_range(self)
        if self.kind is Kind.TIMESTAMP:
            written = self.spelling.timestamp_format or "YYYY-MM-DD HH:MM:SS"
            fraction = f" with at most {self.fraction} digits of a second" if self.fraction else ""
            zone = " (an instant, with its zone)" if self.zoned else ""
            return f"a valid timestamp written {written}{fraction}{zone}" + _describe_range(self)
        if self.kind is Kind.BOOLEAN:
            return "a boolean (true/false, t/f, yes/no, y/n, 1/0)"
        if self.kind is Kind.BINARY and self.foreign is None:
            return "bytes" + _describe_bytes(self)
        if self.kind is Kind.TIME and self.foreign is None:
            digits = f" with at most {self.fraction} digits of a second" if self.fraction else ""
            return f"a time of day written HH:MM:SS{digits}"
        if self.kind is Kind.INTERVAL and self.foreign is None:
            return (
                "an interval written P<months>M<days>DT<seconds>S (each part signed, at most 6 "
                "digits of a second, months and days within 32 bits)"
            )
        return _describe_text(self)


INTEGER = ColumnType(Kind.INTEGER)
FLOAT = ColumnType(Kind.FLOAT)
DECIMAL = ColumnType(Kind.DECIMAL)
DATE = ColumnType(Kind.DATE)
TIMESTAMP = ColumnType(Kind.TIMESTAMP)
BOOLEAN = ColumnType(Kind.BOOLEAN)
TEXT = ColumnType(Kind.TEXT)
BINARY = ColumnType(Kind.BINARY)
TIME = ColumnType(Kind.TIME, fraction=6)
INTERVAL = ColumnType(Kind.INTERVAL)


def _describe_bytes(column: ColumnType) -> str:
    if column.min_bytes and column.min_bytes == column.max_bytes:
        return f" (exactly {column.max_bytes})"
    return "" if column.max_bytes is None else f" (at most {column.max_bytes})"


def _describe_decimal(column: ColumnType) -> str:
    if column.precision is None and column.digit_limits is not None:
        whole, scale = column.digit_limits
        return f"a decimal of at most {whole} digits before the point and {scale} after{_sign(column)}"
    if column.precision is None:
        return "a decimal number" + _sign(column)
    precision, scale = column.precision, column.scale or 0
    if scale < 0:  # PostgreSQL's NUMERIC(5,-2): multiples of 100 below 10**7
        return f"a multiple of {10**-scale} of at most {precision - scale} digits{_sign(column)}"
    if scale > precision:  # PostgreSQL's NUMERIC(2,5): below 10**-3
        below = Decimal(1).scaleb(precision - scale)
        return f"a decimal below {below} with at most {scale} digits after the point{_sign(column)}"
    bounds = f"at most {precision - scale} digits before the point and {scale} after"
    return f"a decimal of {bounds}{_sign(column)}"


def _describe_float_bounds(column: ColumnType) -> str:
    if column.scale is not None and column.precision is not None:
        whole = column.precision - column.scale
        return f" with at most {whole} digits before the point and {column.scale} after"
    if column.precision is not None:
        return f" in {column.precision} significant digits"
    return ""


def _mark(column: ColumnType) -> str:
    mark = column.spelling.decimal_mark
    return "" if mark == "." else f", written with {mark!r} before the decimals (no thousands separators)"


def _sign(column: ColumnType) -> str:
    return ", not negative" if column.nonnegative else ""


def _describe_range(column: ColumnType) -> str:
    if column.earliest is None and column.latest is None:
        return ""
    return f" from {column.earliest or 'the year 1000'} to {column.latest or 'the year 9999'}"


def _describe_text(column: ColumnType) -> str:
    if column.foreign is not None:
        return column.foreign.what
    sizes = []
    if column.min_chars and column.min_chars == column.max_chars:
        sizes.append(f"exactly {column.max_chars} characters")
    elif column.max_chars is not None:
        sizes.append(f"at most {column.max_chars} characters")
    if column.min_bytes and column.min_bytes == column.max_bytes:
        sizes.append(f"exactly {column.max_bytes} bytes (UTF-8)")
    elif column.max_bytes is not None:
        sizes.append(f"at most {column.max_bytes} bytes")
    text = "text" + (" of " + " and ".join(sizes) if sizes else "")
    forbids = column.forbidden or column.forbidden_character
    return text + (f" without {column.forbidden_what}" if forbids else "")


# -- what fits ------------------------------------------------------------------------------------


def _matches(values: pa.Array, pattern: str) -> pa.Array:
    return pc.match_substring_regex(values, pattern)


def _matching(values: pa.Array, pattern: str) -> np.ndarray:
    """``_matches`` as numpy booleans, a null matching nothing."""
    return pc.fill_null(_matches(values, pattern), False).to_numpy(zero_copy_only=False)


def _mask(fits: np.ndarray, nulls: np.ndarray | None) -> pa.Array | None:
    """The fit mask of the values ``fits`` marks and the nulls; None where every value fits."""
    if nulls is not None:
        fits = fits | nulls
    return None if fits.all() else pa.array(fits)


def _fits_integer(column: ColumnType, values: pa.Array) -> pa.Array | None:
    """Integers written as ``INT_PATTERN`` says, within the column's range.

    Where Arrow parses every value as a 64-bit integer, the values are those written as they
    print (no ``007``, ``-0`` or ``0x1F``: ``shapes.canonical_integers``), which costs less than
    the pattern and the length checks; otherwise the pattern decides."""
    try:
        numbers = pc.cast(values, pa.int64())
    except pa.ArrowInvalid:
        return _spelled_integer(column, values)
    text = bytes_of(values)
    ok = canonical_integers(text)
    if (column.low, column.high) != (INT64_MIN, INT64_MAX):
        high = min(column.high, INT64_MAX)  # the numbers are 64-bit signed here
        exact = pc.fill_null(numbers, 0).to_numpy()
        ok &= (exact >= column.low) & (exact <= high)
    return _mask(ok, text.nulls)


def _spelled_integer(column: ColumnType, values: pa.Array) -> pa.Array:
    ok = _matches(values, INT_PATTERN)
    long = pc.fill_null(pc.greater(pc.utf8_length(values), INT64_DIGITS), False)
    if pc.any(pc.and_(ok, long)).as_py():
        # Decided in Python, exactly: they may be beyond 64 bits, or an unsigned column's.
        within = functools.partial(_within, column.low, column.high)
        ok = pc.and_(ok, pc.or_(pc.invert(long), _python_mask(values, pc.and_kleene(ok, long), within)))
    if (column.low, column.high) != (INT64_MIN, INT64_MAX):
        numbers = pc.cast(pc.if_else(pc.and_(ok, pc.invert(long)), values, "0"), pa.int64())
        high = min(column.high, INT64_MAX)  # these have at most 18 digits: 64-bit signed
        inside = pc.and_(pc.greater_equal(numbers, column.low), pc.less_equal(numbers, high))
        ok = pc.and_(ok, pc.or_(long, inside))
    return pc.fill_null(ok, True)


def _within(low: int, high: int, text: str) -> bool:
    return low <= int(text) <= high


def _fits_float(column: ColumnType, values: pa.Array) -> pa.Array | None:
    """Decimals whose shortest float representation is the same number; zero only unsigned.

    Most values are plain decimals of a few digits, which every float gives back: those are
    found by their shape (``DECIMAL_SHAPE``, read off the bytes) and length; the rest that have
    a float's shape (``FLOAT_SHAPE``: exponents, long digit strings) are decided one by one in
    Python, and text is no float.
    """
    text = bytes_of(values)
    shapes = _decimal_shapes(values, text)
    fast = shapes.plain & (text.lengths <= FLOAT_DIGITS[column.bits])
    if column.precision is not None and column.scale is not None:
        # Printed with ``scale`` decimals, a value has up to ``precision`` digits: only where
        # the float holds that many does every value of the bounds read back unchanged.
        shape = _bounded_decimal_shape(column.precision, column.scale)
        short = column.precision <= FLOAT_DIGITS[column.bits]
        fast &= _matching(values, shape) if short else False
    ok = fast & ~shapes.negative_zero
    slow = ~fast if text.nulls is None else ~fast & ~text.nulls
    if slow.any():  # only what a float can be written as: a column of text stays out of Python
        slow &= _matching(values, FLOAT_SHAPE)
    if slow.any():
        exact = _float32_exact if column.bits == 32 else _float64_exact
        if column.precision is not None:  # the database prints fewer digits than a float has
            exact = functools.partial(_printed, column)
        ok |= _python_mask(values, pa.array(slow), exact).to_numpy(zero_copy_only=False)
    return _not_negative(column, values, _mask(ok, text.nulls))


def _not_negative(column: ColumnType, values: pa.Array, fits: pa.Array | None) -> pa.Array | None:
    """``fits`` without the values written with a minus sign, where the column takes none."""
    if not column.nonnegative:
        return fits
    unsigned = pc.invert(pc.fill_null(pc.starts_with(values, "-"), False))
    return unsigned if fits is None else pc.and_(fits, unsigned)


def _decimal_shapes(values: pa.Array, text: Bytes) -> Decimals:
    """``shapes.decimal_shapes``, or where it leaves a column of text to them, the patterns'."""
    found = decimal_shapes(text)
    if found is not None:
        return found
    return Decimals(_matching(values, DECIMAL_SHAPE), _matching(values, NEGATIVE_ZERO))


def _printed(column: ColumnType, text: str) -> bool:
    """Whether a float column that prints ``precision`` significant digits, or ``scale``
    decimals (after rounding every value to them), gives ``text`` back as the same number."""
    if not FLOAT_SHAPE_RE.fullmatch(text):
        return False
    number = Decimal(text)
    if number == 0:
        return bool(ZERO_RE.fullmatch(text))
    # The value the database keeps: the double of the text (rounded to the scale, which leaves
    # a value of at most that many decimals as it is), as a float of the column's width.
    with np.errstate(over="ignore"):  # beyond the range: infinity, not a warning
        stored = float(np.float32(float(text))) if column.bits == 32 else float(text)
    if not np.isfinite(stored):
        return False
    if column.scale is None:
        return Decimal(f"{stored:.{column.precision}g}") == number
    if abs(number) >= Decimal(10) ** ((column.precision or 0) - column.scale):
        return False  # beyond FLOAT(M,D)'s M - D digits: out of range
    return Decimal(f"{stored:.{column.scale}f}") == number


def _float64_exact(text: str) -> bool:
    if not FLOAT_SHAPE_RE.fullmatch(text):
        return False
    number = float(text)
    if number == 0:
        return bool(ZERO_RE.fullmatch(text))
    return bool(np.isfinite(number)) and Decimal(repr(number)) == Decimal(text)


def _float32_exact(text: str) -> bool:
    if not FLOAT_SHAPE_RE.fullmatch(text):
        return False
    with np.errstate(over="ignore"):  # beyond the range: infinity, not a warning
        number = np.float32(text)
    if number == 0:
        return bool(ZERO_RE.fullmatch(text))
    shortest = np.format_float_positional(number, unique=True)
    return bool(np.isfinite(number)) and Decimal(shortest) == Decimal(text)


def _fits_decimal(column: ColumnType, values: pa.Array) -> pa.Array | None:
    text = bytes_of(values)
    shapes = _decimal_shapes(values, text)
    ok = shapes.plain & ~shapes.negative_zero
    if column.precision is not None:
        ok &= _matching(values, _bounded_decimal_shape(column.precision, column.scale or 0))
    elif column.digit_limits is not None:
        ok &= _within_digits(text, *column.digit_limits)
    return _not_negative(column, values, _mask(ok, text.nulls))


def _within_digits(text: Bytes, whole: int, scale: int) -> np.ndarray:
    """Whether each plain decimal has at most ``whole`` digits before the point and ``scale``
    after it (counted from the lengths: a pattern cannot count that far).  No value longer than
    the smaller of the two: all are (the usual case, found from the lengths alone)."""
    if not len(text.starts) or text.lengths.max() <= min(whole, scale):
        return np.ones(len(text.starts), dtype=bool)
    before, after = decimal_places(text)
    return (before <= whole) & (after <= scale)


def _bounded_decimal_shape(precision: int, scale: int) -> str:
    """The decimals a NUMERIC(precision, scale) holds without rounding.  Zeros past the scale
    are allowed (1.500 is 1.50 in a NUMERIC(10,2)); a negative scale (PostgreSQL) rounds to
    tens, hundreds, ..., so the last digits before the point must be zeros; a scale beyond the
    precision (PostgreSQL) leaves only fractions below 10**(precision - scale)."""
    if scale < 0:
        return rf"^-?(0|[1-9][0-9]{{0,{precision - 1}}}0{{{-scale}}})(\.0+)?$"
    if scale > precision:
        return rf"^-?0(\.0{{{scale - precision}}}[0-9]{{0,{precision}}}0*|\.0+)?$"
    before = precision - scale
    whole = "0" if before == 0 else f"(0|[1-9][0-9]{{0,{before - 1}}})"
    fraction = rf"(\.[0-9]{{0,{scale}}}0*)?" if scale else r"(\.0+)?"
    return f"^-?{whole}{fraction}$"


def _fits_date(column: ColumnType, values: pa.Array) -> pa.Array:
    return _within_range(column, values, _fits_time(values, DATE_SHAPE, DATE_FORMAT, pa.date32()))


def _fits_timestamp(column: ColumnType, values: pa.Array) -> pa.Array:
    if not column.fraction:
        fits = _fits_time(values, TIMESTAMP_SHAPE, TIMESTAMP_FORMAT, pa.timestamp("s"))
        return _within_range(column, values, fits)
    # A column that keeps a second's fraction (a typed file's): at most that many digits after
    # the seconds, which name a real time as whole seconds do.
    shaped = _matches(values, rf"{TIMESTAMP_SHAPE[:-1]}(\.[0-9]{{1,{column.fraction}}})?$")
    seconds = pc.utf8_slice_codeunits(values, 0, len("YYYY-MM-DD HH:MM:SS"))
    fits = _fits_time(seconds, TIMESTAMP_SHAPE, TIMESTAMP_FORMAT, pa.timestamp("s"))
    return _within_range(column, values, pc.and_(pc.fill_null(shaped, True), fits))


def _within_range(column: ColumnType, values: pa.Array, fits: pa.Array) -> pa.Array:
    """ISO values of one shape compare as text as they do as times."""
    if column.earliest is not None:
        fits = pc.and_(fits, pc.fill_null(pc.greater_equal(values, column.earliest), True))
    if column.latest is not None:
        fits = pc.and_(fits, pc.fill_null(pc.less_equal(values, column.latest), True))
    return fits


def _fits_time(values: pa.Array, shape: str, fmt: str, unit: pa.DataType) -> pa.Array:
    """ISO-shaped values that name a real day and time: parsed and printed, they read the same.

    Arrow's cast parses ISO text strictly and prints it back in the same spelling, but fails
    the whole array at one impossible date; then ``strptime`` decides value by value (it rolls
    2021-02-30 over to March, which the printed text shows)."""
    shaped = _matches(values, shape)
    candidates = pc.if_else(shaped, values, None)
    try:
        printed = pc.cast(pc.cast(candidates, unit), pa.string())
    except pa.ArrowInvalid:
        printed = pc.strftime(pc.strptime(candidates, fmt, "s", error_is_null=True), fmt)
    return pc.fill_null(pc.and_(shaped, pc.fill_null(pc.equal(printed, values), False)), True)


def _fits_boolean(column: ColumnType, values: pa.Array) -> pa.Array:
    spelled = pc.is_in(pc.utf8_lower(values), pa.array(list(BOOLEAN_SPELLINGS)))
    return pc.or_(pc.is_null(values), spelled)


def _sized(measure: Callable[[pa.Array], pa.Array], values: pa.Array, low: int, high: int | None) -> list:
    """Checks that ``measure`` of each value (its characters, its bytes) is within the bounds."""
    if high is None and not low:
        return []
    size = measure(values)
    return [
        *([pc.less_equal(size, high)] if high is not None else []),
        *([pc.greater_equal(size, low)] if low else []),
    ]


def _fits_text(column: ColumnType, values: pa.Array) -> pa.Array | None:
    checks = []
    checks += _sized(pc.utf8_length, values, column.min_chars, column.max_chars)
    checks += _sized(pc.binary_length, values, column.min_bytes, column.max_bytes)
    if column.forbidden is not None:
        checks.append(pc.invert(_matches(values, column.forbidden)))
    if column.forbidden_character and _has_byte(values, column.forbidden_character):
        checks.append(pc.invert(pc.match_substring(values, column.forbidden_character)))
    if column.foreign is not None:
        checks.append(_fits_foreign(column.foreign, values))
    if not checks:
        return None
    ok = checks[0]
    for check in checks[1:]:
        ok = pc.and_(ok, check)
    return pc.fill_null(ok, True)


def _fits_foreign(foreign: Foreign, values: pa.Array) -> pa.Array:
    ok = pc.is_valid(values)
    if foreign.shape is not None:
        ok = pc.and_(ok, _matches(values, foreign.shape))
    if foreign.members is not None:
        ok = pc.and_(ok, pc.is_in(values, pa.array(foreign.members, pa.string())))
    if foreign.check is not None and pc.any(ok).as_py():
        ok = _python_mask(values, ok, foreign.check)
    return pc.or_(pc.is_null(values), ok)


def _has_byte(values: pa.Array | pa.ChunkedArray, character: str) -> bool:
    """Whether ``character`` (one ASCII character) occurs in the values' bytes at all.  A NUL
    (PostgreSQL's) is found as the smallest byte: one pass without an array of comparisons (a
    third of the time over a column's bytes; 1.4 ms instead of 2.1 ms for a chunk's 94)."""
    code = ord(character)
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is None or not data.size:
            continue
        held = np.frombuffer(data, dtype=np.uint8)
        if held.min() == 0 if code == 0 else code in held:
            return True
    return False


def _fits_binary(column: ColumnType, values: pa.Array) -> pa.Array | None:
    """Text in a column of bytes: its UTF-8 bytes, within the column's bounds."""
    if column.foreign is not None:
        return _fits_text(column, values)
    checks = _sized(pc.binary_length, values, column.min_bytes, column.max_bytes)
    return pc.fill_null(functools.reduce(pc.and_, checks), True) if checks else None


#: A time of day as ISO text: hours 00 to 23; digits past the column's (``fraction``) only as zeros.
TIME_OF_DAY_SHAPE = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]{fraction}$"


def _fits_time_of_day(column: ColumnType, values: pa.Array) -> pa.Array | None:
    if column.foreign is not None:
        return _fits_text(column, values)
    fraction = rf"(\.[0-9]{{1,{column.fraction}}}0*)?" if column.fraction else r"(\.0+)?"
    return pc.fill_null(_matches(values, TIME_OF_DAY_SHAPE.format(fraction=fraction)), True)


def _fits_interval(column: ColumnType, values: pa.Array) -> pa.Array | None:
    if column.foreign is not None:
        return _fits_text(column, values)
    shaped = _matches(values, INTERVAL_SHAPE)
    if not pc.any(shaped).as_py():
        return pc.fill_null(shaped, True)
    return pc.or_(pc.is_null(values), _python_mask(values, shaped, _interval_in_range))


#: An interval as the importer writes it (ISO 8601 with every part, each with its own sign):
#: ``P<months>M<days>DT<seconds>S``; a duration has only ``PT<seconds>S``.
INTERVAL_SHAPE = r"^P(-?[0-9]+M-?[0-9]+D)?T-?[0-9]+(\.[0-9]{1,9})?S$"
INTERVAL_RE = re.compile(r"P(?:(-?[0-9]+)M(-?[0-9]+)D)?T(-?)([0-9]+)(?:\.([0-9]{1,9}))?S")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def interval_parts(text: str) -> tuple[int, int, int] | None:
    """Months, days and nanoseconds of an interval written as ``INTERVAL_SHAPE`` says; None
    where the nanoseconds are not whole microseconds (PostgreSQL's and DuckDB's intervals keep
    microseconds), or a part is beyond Arrow's interval (32-bit months and days, 64-bit
    nanoseconds)."""
    found = INTERVAL_RE.fullmatch(text)
    if found is None:
        return None
    months, days, sign, whole, fraction = found.groups()
    nanos = int(whole) * 10**9 + int((fraction or "").ljust(9, "0"))
    nanos = -nanos if sign else nanos
    parts = (int(months or 0), int(days or 0), nanos)
    if not (INT32_MIN <= parts[0] <= INT32_MAX and INT32_MIN <= parts[1] <= INT32_MAX):
        return None
    # Sent as Arrow's month_day_nano_interval: 64-bit nanoseconds, about 292 years.
    if nanos % 1000 or not INT64_MIN <= nanos <= INT64_MAX:
        return None
    return parts


def _interval_in_range(text: str) -> bool:
    return interval_parts(text) is not None


def _binary_wire(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.binary())


def _time_wire(values: pa.Array) -> pa.Array:
    """ISO times of day as ``time64[us]`` (digits past the microseconds are zeros)."""
    text = pc.utf8_slice_codeunits(values, 0, len("HH:MM:SS.ffffff"))
    stamps = pc.cast(pc.binary_join_element_wise("1970-01-01 ", text, ""), pa.timestamp("us"))
    return pc.cast(stamps, pa.time64("us"))


def _interval_wire(values: pa.Array) -> pa.Array:
    parts = [None if v is None else interval_parts(v) for v in values.to_pylist()]
    return pa.array(parts, pa.month_day_nano_interval())


_WIRE: dict[Kind, Callable[[pa.Array], pa.Array]] = {
    Kind.BINARY: _binary_wire,
    Kind.TIME: _time_wire,
    Kind.INTERVAL: _interval_wire,
}


_FITS: dict[Kind, Callable[[ColumnType, pa.Array], pa.Array | None]] = {
    Kind.INTEGER: _fits_integer,
    Kind.FLOAT: _fits_float,
    Kind.DECIMAL: _fits_decimal,
    Kind.DATE: _fits_date,
    Kind.TIMESTAMP: _fits_timestamp,
    Kind.BOOLEAN: _fits_boolean,
    Kind.TEXT: _fits_text,
    Kind.BINARY: _fits_binary,
    Kind.TIME: _fits_time_of_day,
    Kind.INTERVAL: _fits_interval,
}


def _python_mask(values: pa.Array, which: pa.Array, test: Callable[[str], bool]) -> pa.Array:
    """``test`` run in Python on the few values ``which`` selects; False elsewhere."""
    selected = pc.fill_null(which, False)
    result = np.zeros(len(values), dtype=bool)
    positions = np.flatnonzero(selected.to_numpy(zero_copy_only=False))
    for position, text in zip(positions, pc.filter(values, selected).to_pylist(), strict=True):
        try:
            result[position] = test(text)
        except (ValueError, InvalidOperation, OverflowError):
            result[position] = False
    return pa.array(result)


# -- what the sample says -------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnProfile:
    """What one file's sample says of a column: which kinds hold every value, and the widest
    decimal seen.  Profiles of several files merge into one before a type is chosen.

    The values kept say why (``explain``): the first value seen, the first that is no integer,
    no exact float, no date, and the first that no kind holds at all (found only in a column
    that is text in this file, where the masks cost little more than classifying did).
    """

    empty: bool = True
    integer: bool = True
    float: bool = True
    decimal: bool = True
    whole_digits: int = 0
    scale: int = 0
    date: bool = True
    timestamp: bool = True
    example: str | None = None
    not_integer: str | None = None
    not_float: str | None = None
    not_date: str | None = None
    unfit: str | None = None
    #: Digits after the point but for trailing zeros, which a decimal column of a smaller scale
    #: holds too (``1.500`` fits a scale of 2).
    significant_scale: int = 0
    #: Where every value is an integer: the least and the greatest (ON_TYPE_CHANGE=widen asks
    #: whether an existing integer column's range holds them).
    least: int | None = None
    greatest: int | None = None
    #: The type a typed file (Parquet) gives the column, which no sample changes, and that
    #: type as the file names it (``int64``, ``decimal128(38, 10)``); ``declared_as`` without
    #: ``declared``: files that declare different types (text).
    declared: ColumnType | None = None
    declared_as: str | None = None

    @property
    def settled(self) -> bool:
        """Whether no other sample can change what a plan says of the column: no kind holds
        every value (it is text), and the value that no kind holds, which says why, is known."""
        kinds = self.integer or self.float or self.decimal or self.date or self.timestamp
        return not self.empty and not kinds and self.unfit is not None

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        def first(a: str | None, b: str | None) -> str | None:
            return a if a is not None else b

        return ColumnProfile(
            empty=self.empty and other.empty,
            integer=self.integer and other.integer,
            float=self.float and other.float,
            decimal=self.decimal and other.decimal,
            whole_digits=max(self.whole_digits, other.whole_digits),
            scale=max(self.scale, other.scale),
            date=self.date and other.date,
            timestamp=self.timestamp and other.timestamp,
            example=first(self.example, other.example),
            not_integer=first(self.not_integer, other.not_integer),
            not_float=first(self.not_float, other.not_float),
            not_date=first(self.not_date, other.not_date),
            unfit=first(self.unfit, other.unfit),
            significant_scale=max(self.significant_scale, other.significant_scale),
            least=_bound(min, self.least, other.least),
            greatest=_bound(max, self.greatest, other.greatest),
            **_merge_declared(self, other),
        )


def _merge_declared(a: ColumnProfile, b: ColumnProfile) -> dict[str, Any]:
    """What two files declare of a column together: the one type where they agree (the widest
    of two decimals, the finer of two timestamps' fractions), else none (text), citing both."""
    if a.declared_as is None or b.declared_as is None:  # one says nothing (no values, not typed)
        return {"declared": a.declared or b.declared, "declared_as": a.declared_as or b.declared_as}
    x, y = a.declared, b.declared
    if x is None or y is None:  # an earlier disagreement stays one
        return {"declared": None, "declared_as": a.declared_as if x is None else b.declared_as}
    if x == y:
        return {"declared": x, "declared_as": a.declared_as}
    if x.kind is y.kind is Kind.DECIMAL and x.precision is not None and y.precision is not None:
        scale = max(x.scale or 0, y.scale or 0)
        whole = max(x.precision - (x.scale or 0), y.precision - (y.scale or 0))
        return {"declared": bounded_decimal(whole + scale, scale), "declared_as": a.declared_as}
    if x.kind is y.kind is Kind.TIMESTAMP and x.zoned == y.zoned:
        return {"declared": replace(x, fraction=max(x.fraction, y.fraction)), "declared_as": a.declared_as}
    return {"declared": None, "declared_as": f"{a.declared_as} in one file, {b.declared_as} in another"}


def _bound(pick: Callable[[int, int], int], a: int | None, b: int | None) -> int | None:
    """The least (``min``) or greatest (``max``) of two samples' bounds, either of which may be unknown."""
    if a is None or b is None:
        return b if a is None else a
    return pick(a, b)


def _floats_by_width(integer: bool, decimal: bool, whole_digits: int, scale: int) -> bool:
    """Whether a column's values are all floats a double gives back, known from its widths
    alone, so that the float check need not read them again: integers of at most 15 digits,
    or plain decimals no longer than ``_fits_float``'s fast path takes (a sign, the widest
    whole part, a point and the most decimals within ``FLOAT_DIGITS``); others are looked at."""
    if integer:
        return whole_digits <= FLOAT_DIGITS[64]
    return decimal and 2 + whole_digits + scale <= FLOAT_DIGITS[64]


def classify(values: pa.Array, spelling: Spelling = PLAIN) -> ColumnProfile:
    """The profile of a string array: each kind is tried on the first values, then on all;
    numbers and dates as ``spelling`` says the files write them."""
    if values.null_count == len(values):
        return ColumnProfile()
    decimals, floats_, dates, timestamps = (spelling.spell(k) for k in (DECIMAL, FLOAT, DATE, TIMESTAMP))
    not_integer = _first_misfit(values, (INTEGER,))
    integer = not_integer is None
    decimal = integer or _first_misfit(values, (decimals,)) is None
    whole_digits = scale = significant = 0
    if decimal:
        plain = decimals.plain(values)
        whole_digits, scale = _widest_decimal(plain)
        significant = _significant_scale(plain) if scale else 0
    floated = _floats_by_width(integer, decimal, whole_digits, scale)
    not_float = None if floated else _first_misfit(values, (floats_,))
    floats = not_float is None
    example = _first_value(values)
    not_date = example if decimal else _first_misfit(values, (dates,))  # numbers are no dates
    dated = not_date is None
    timestamp = not decimal and not dated and _first_misfit(values, (timestamps,)) is None
    textual = not (floats or decimal or dated or timestamp)
    least = greatest = None
    if integer:
        bounds = pc.min_max(pc.cast(values, pa.int64()))
        least, greatest = bounds["min"].as_py(), bounds["max"].as_py()
    return ColumnProfile(
        empty=False,
        integer=integer,
        float=floats,
        decimal=decimal,
        whole_digits=whole_digits,
        scale=scale,
        date=dated,
        timestamp=timestamp,
        example=example,
        not_integer=not_integer,
        not_float=not_float,
        not_date=not_date,
        unfit=_first_misfit(values, (INTEGER, decimals, floats_, dates, timestamps)) if textual else None,
        significant_scale=significant,
        least=least,
        greatest=greatest,
    )


def _first_value(values: pa.Array) -> str:
    """The first value that is not null (there is one), found without copying the others."""
    position = 0 if values.null_count == 0 else pc.index(pc.is_valid(values), True).as_py()
    return str(values[position].as_py())


def _first_misfit(values: pa.Array, kinds: tuple[ColumnType, ...]) -> str | None:
    """The first value none of ``kinds`` holds, or None; the first values are tried first, so
    that a misfit among them spares a scan of all."""
    for part in (values.slice(0, CLASSIFY_PREFIX), values):
        masks = [column.fit_mask(part) for column in kinds]
        if any(mask is None for mask in masks):  # a kind holds every value of the part
            continue
        fits = functools.reduce(pc.or_, masks)
        if not pc.all(fits).as_py():
            return str(part[pc.index(fits, False).as_py()].as_py())
    return None


def _widest_decimal(values: pa.Array) -> tuple[int, int]:
    """The most digits before and after the point among decimal-shaped values.

    Read off the strings' offsets and first bytes with numpy (the values are ASCII: bytes are
    characters); Arrow's string kernels, one per step, cost a third of classifying a sample."""
    if len(values) == 0 or values.null_count == len(values):
        return 0, 0
    width = 8 if pa.types.is_large_string(values.type) else 4
    offsets = np.frombuffer(
        values.buffers()[1],
        dtype=np.int64 if width == 8 else np.int32,
        count=len(values) + 1,
        offset=values.offset * width,
    ).astype(np.int64)
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    if len(data) == 0:  # every value is empty
        return 0, 0
    lengths = np.diff(offsets)
    signed = (lengths > 0) & (data[np.minimum(offsets[:-1], len(data) - 1)] == ord("-"))
    point = pc.fill_null(pc.find_substring(values, "."), -1).to_numpy()
    whole = np.where(point < 0, lengths, point) - signed
    fraction = np.where(point < 0, 0, lengths - point - 1)
    if values.null_count:
        present = values.is_valid().to_numpy(zero_copy_only=False)
        whole, fraction = whole[present], fraction[present]
    return int(whole.max()), int(fraction.max())


def _significant_scale(values: pa.Array) -> int:
    """The most digits after the point among decimal-shaped values, less their trailing zeros."""
    point = pc.find_substring(values, ".")
    trimmed = pc.utf8_rtrim(pc.if_else(pc.greater_equal(point, 0), values, None), characters="0")
    digits = pc.subtract(pc.subtract(pc.utf8_length(trimmed), point), 1)
    found = pc.max(digits).as_py()
    return max(0, found or 0)


def choose_type(profile: ColumnProfile, decimal_type: Callable[[int, int], ColumnType | None]) -> ColumnType:
    """The narrowest type holding every value of every file's sample.

    ``decimal_type(whole_digits, scale)`` is the database's exact decimal type for such values,
    or None where it has none (the column is then text).  Integers beyond 64 bits stay text
    (they are identifiers more often than quantities) unless the column also holds fractions.
    A type a typed file declares is taken as it is (a decimal: where the database has an exact
    one); files that declare different types make text.
    """
    if profile.declared is not None:
        declared = profile.declared
        if declared.kind is Kind.DECIMAL and declared.precision is not None:
            whole, scale = declared.precision - (declared.scale or 0), declared.scale or 0
            return decimal_type(whole, scale) or TEXT
        return declared
    if profile.declared_as is not None:
        return TEXT
    if profile.empty:
        return TEXT
    if profile.integer:
        return INTEGER
    if profile.float:
        return FLOAT
    if profile.decimal and profile.scale > 0:
        return decimal_type(profile.whole_digits, profile.scale) or TEXT
    if profile.date:
        return DATE
    if profile.timestamp:
        return TIMESTAMP
    return TEXT


def explain(profile: ColumnProfile, chosen: ColumnType) -> str:
    """Why ``choose_type`` chose ``chosen`` for ``profile``, in a few words with a sampled value
    (the dry run's plan shows it: "leading zeros in `00123`")."""
    kind = chosen.kind
    if profile.declared is not None:
        held = (
            ""
            if kind is profile.declared.kind
            else f", which has no exact {profile.declared.kind.value} type here"
        )
        return f"the file's type {profile.declared_as}{held}"
    if profile.declared_as is not None:
        return f"the files' types differ: {profile.declared_as}"
    if profile.empty:
        return "no values in the sample"
    if kind is Kind.INTEGER:
        return f"whole numbers within 64 bits, e.g. {_quoted(profile.example)}"
    if kind is Kind.FLOAT:
        return f"{_quoted(profile.not_integer)} is not a whole number; every value is exact as a double"
    if kind is Kind.DECIMAL:
        return f"{_quoted(profile.not_float)} is not exact as a double"
    if kind in (Kind.DATE, Kind.TIMESTAMP):
        given = chosen.spelling.date_format if kind is Kind.DATE else chosen.spelling.timestamp_format
        written = f"a {kind.value} written {given}" if given else f"an ISO {kind.value}"
        return f"every value is {written}, e.g. {_quoted(profile.example)}"
    if profile.decimal and profile.scale == 0:
        return f"an integer beyond 64 bits: {_quoted(profile.not_integer)}"
    if profile.decimal:
        return f"no exact decimal type here holds {_quoted(profile.not_float)}"
    if profile.unfit is not None:
        return _why_not_a_value(profile.unfit)
    examples = f"{_quoted(profile.not_integer)} and {_quoted(profile.not_date)}"
    return f"values of different kinds across files, e.g. {examples}"


def _why_not_a_value(value: str) -> str:
    """Why text: what keeps ``value`` from being a number, a date or a timestamp."""
    shown = _quoted(value)
    if re.fullmatch(r"-?0[0-9]+(\.[0-9]*)?", value):
        return f"leading zeros in {shown}"
    if re.fullmatch(r"\+[0-9.]+", value):
        return f"a plus sign in {shown}"
    if re.fullmatch(r"-0(\.0*)?", value):
        return f"a signed zero in {shown}"
    if re.fullmatch(r"-?[0-9]+\.", value):
        return f"no digits after the point in {shown}"
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9:]+)?", value):
        return f"not a real date or time: {shown}"
    return f"{shown} is not a number, date or timestamp"


def _quoted(value: str | None) -> str:
    """A sampled value as a plan shows it: in backquotes, shortened, on one line."""
    return "`" + _shown(value).replace("\r", "\\r").replace("\n", "\\n") + "`"


def _shown(value: str | None) -> str:
    text = value or ""
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "..."


def bounded_decimal(precision: int, scale: int) -> ColumnType:
    """A DECIMAL(precision, scale) column type."""
    return replace(DECIMAL, precision=precision, scale=scale)


def integer_range(bits: int, unsigned: bool = False) -> ColumnType:
    """An integer column of ``bits`` bits (values beyond 64 bits are not loaded as integers)."""
    if unsigned:
        return replace(INTEGER, low=0, high=min(2**bits - 1, INT64_MAX))
    return replace(INTEGER, low=-(2 ** (bits - 1)), high=2 ** (bits - 1) - 1)


def is_bytes_type(data_type: pa.DataType) -> bool:
    """Whether ``data_type`` is one of Arrow's types of bytes (binary, large, fixed-size, view)."""
    return (
        pa.types.is_binary(data_type)
        or pa.types.is_large_binary(data_type)
        or pa.types.is_fixed_size_binary(data_type)
        or pa.types.is_binary_view(data_type)
    )


# -- many columns at once -------------------------------------------------------------------------

# The most bytes of text one batch of ``classify_columns`` joins into one array: Arrow's string
# offsets are 32-bit, and a batch's copy and its checks' arrays stay small beside its sample
# (64 MiB took a run of SAMPLE_ROWS=0 on a 24 MB file from 265 to 350 MB; a sample of 10,000
# rows of 94 columns is about two batches).
BATCH_BYTES = 8 << 20
# A column of more bytes than this (a sample of SAMPLE_ROWS=0) is classified alone: the fixed
# cost of its compute calls is nothing beside its values, and joining it would copy it.
ALONE_BYTES = 1 << 20


def classify_columns(columns: Sequence[pa.Array], spelling: Spelling = PLAIN) -> tuple[ColumnProfile, ...]:
    """``classify`` of each column, the same profiles in a few Arrow calls for all of them.

    Each check ``classify`` makes of a column is made here once over the columns that need it,
    joined into one array (a batch of at most ``BATCH_BYTES``), and read back per column from
    the columns' offsets in it: the fixed cost of a compute call, not the values, is most of
    classifying a sample of a few thousand rows of ~90 columns.  The checks are made on the same
    values in the same order (the first ``CLASSIFY_PREFIX`` values, then all), so the values a
    profile cites are the same; columns other than ``string`` are classified one by one."""
    profiles: list[ColumnProfile | None] = [None] * len(columns)
    batch: list[int] = []
    size = 0

    def flush() -> None:
        for i, profile in zip(batch, _classify_batch([columns[i] for i in batch], spelling), strict=True):
            profiles[i] = profile
        batch.clear()

    for i, values in enumerate(columns):
        if values.null_count == len(values):
            profiles[i] = ColumnProfile()
        elif not pa.types.is_string(values.type) or _text_bytes(values) > ALONE_BYTES:
            profiles[i] = classify(values, spelling)
        else:
            nbytes = _text_bytes(values)
            if batch and size + nbytes > BATCH_BYTES:
                flush()
                size = 0
            batch.append(i)
            size += nbytes
    if batch:
        flush()
    return tuple(p for p in profiles if p is not None)


def _text_bytes(values: pa.Array) -> int:
    """The bytes of a string array's offsets and characters."""
    return values.buffers()[1].size + (values.buffers()[2].size if values.buffers()[2] else 0)


@dataclass
class _Joined:
    """Columns joined into one array, each at ``starts[k]`` for ``lengths[k]`` values."""

    values: pa.Array
    starts: np.ndarray
    lengths: np.ndarray

    @classmethod
    def of(cls, parts: Sequence[pa.Array]) -> _Joined:
        lengths = np.array([len(p) for p in parts], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return cls(pa.concat_arrays(list(parts)), starts, lengths)

    def first(self, mask: np.ndarray) -> list[int | None]:
        """Per column: the position (in the joined array) of its first value where ``mask`` is true."""
        hits = np.flatnonzero(mask)
        at = np.searchsorted(hits, self.starts)
        found: list[int | None] = []
        for k, position in enumerate(at):
            inside = position < len(hits) and hits[position] < self.starts[k] + self.lengths[k]
            found.append(int(hits[position]) if inside else None)
        return found

    def text(self, position: int | None) -> str | None:
        return None if position is None else str(self.values[position].as_py())

    def greatest(self, numbers: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(numbers, self.starts)


def _first_misfits(columns: Sequence[pa.Array], kinds: tuple[ColumnType, ...]) -> list[str | None]:
    """``_first_misfit`` of each column: the prefixes of all are tried at once, then the whole of
    those whose prefix held no misfit."""
    found: list[str | None] = [None] * len(columns)
    pending = list(range(len(columns)))
    for whole in (False, True):
        if whole:  # a column no longer than the prefix was tried whole already
            pending = [i for i in pending if found[i] is None and len(columns[i]) > CLASSIFY_PREFIX]
        if not pending:
            break
        joined = _Joined.of([columns[i] if whole else columns[i].slice(0, CLASSIFY_PREFIX) for i in pending])
        masks = [column.fit_mask(joined.values) for column in kinds]
        if any(mask is None for mask in masks):  # a kind holds every value tried
            continue
        fits = pc.fill_null(functools.reduce(pc.or_, masks), True)
        misfit = ~fits.to_numpy(zero_copy_only=False)
        for i, position in zip(pending, joined.first(misfit), strict=True):
            found[i] = joined.text(position)
    return found


def _classify_batch(columns: Sequence[pa.Array], spelling: Spelling) -> list[ColumnProfile]:
    """``classify`` of string columns that each hold a value, step by step for all of them."""
    n = len(columns)
    decimals, floats_, dates, timestamps = (spelling.spell(k) for k in (DECIMAL, FLOAT, DATE, TIMESTAMP))
    not_integer = _first_misfits(columns, (INTEGER,))
    integer = [m is None for m in not_integer]
    decimal = list(integer)
    others = [i for i in range(n) if not integer[i]]
    for i, misfit in zip(others, _first_misfits([columns[i] for i in others], (decimals,)), strict=True):
        decimal[i] = misfit is None
    least: list[int | None] = [None] * n
    greatest: list[int | None] = [None] * n
    integers = [i for i in range(n) if integer[i]]
    if integers:
        joined = _Joined.of([columns[i] for i in integers])
        numbers = pc.cast(joined.values, pa.int64())
        present = numbers.is_valid().to_numpy(zero_copy_only=False)
        raw = pc.fill_null(numbers, 0).to_numpy()
        lows = np.minimum.reduceat(np.where(present, raw, INT64_MAX), joined.starts)
        highs = joined.greatest(np.where(present, raw, INT64_MIN))
        for k, i in enumerate(integers):
            least[i], greatest[i] = int(lows[k]), int(highs[k])
    # An integer column's values are written as their numbers are printed (no sign on zero, no
    # leading zeros): its widest value has the digits of its least or greatest.
    whole_digits = [
        len(str(max(-low, high))) if low is not None and high is not None else 0
        for low, high in zip(least, greatest, strict=True)
    ]
    scale, significant = [0] * n, [0] * n
    fractional = [i for i in range(n) if decimal[i] and not integer[i]]
    if fractional:
        joined = _Joined.of([columns[i] for i in fractional])
        plain = decimals.plain(joined.values)
        widest, fraction, digits = (joined.greatest(w) for w in _decimal_widths(plain))
        for k, i in enumerate(fractional):
            whole_digits[i], scale[i] = int(widest[k]), int(fraction[k])
            significant[i] = max(0, int(digits[k])) if scale[i] else 0
    not_float: list[str | None] = [None] * n
    floats_asked = [
        i for i in range(n) if not _floats_by_width(integer[i], decimal[i], whole_digits[i], scale[i])
    ]
    for i, misfit in zip(
        floats_asked, _first_misfits([columns[i] for i in floats_asked], (floats_,)), strict=True
    ):
        not_float[i] = misfit
    examples = [_first_value(values) for values in columns]  # each holds a value
    not_date: list[str | None] = [examples[i] if decimal[i] else None for i in range(n)]
    dates_asked = [i for i in range(n) if not decimal[i]]
    for i, misfit in zip(
        dates_asked, _first_misfits([columns[i] for i in dates_asked], (dates,)), strict=True
    ):
        not_date[i] = misfit
    timestamp = [False] * n
    stamps_asked = [i for i in range(n) if not decimal[i] and not_date[i] is not None]
    for i, misfit in zip(
        stamps_asked, _first_misfits([columns[i] for i in stamps_asked], (timestamps,)), strict=True
    ):
        timestamp[i] = misfit is None
    floats = [m is None for m in not_float]
    textual = [i for i in range(n) if not (floats[i] or decimal[i] or not_date[i] is None or timestamp[i])]
    unfit: list[str | None] = [None] * n
    every_kind = (INTEGER, decimals, floats_, dates, timestamps)
    for i, misfit in zip(textual, _first_misfits([columns[i] for i in textual], every_kind), strict=True):
        unfit[i] = misfit
    return [
        ColumnProfile(
            empty=False,
            integer=integer[i],
            float=floats[i],
            decimal=decimal[i],
            whole_digits=whole_digits[i],
            scale=scale[i],
            date=not_date[i] is None,
            timestamp=timestamp[i],
            example=examples[i],
            not_integer=not_integer[i],
            not_float=not_float[i],
            not_date=not_date[i],
            unfit=unfit[i],
            significant_scale=significant[i],
            least=least[i],
            greatest=greatest[i],
        )
        for i in range(n)
    ]


def _decimal_widths(values: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per decimal-shaped value (``_widest_decimal``, ``_significant_scale``): its digits before
    the point, after it, and after it less trailing zeros (-1 without a point); a null counts 0,
    0 and -1 (the greatest of a column's is its values', each column holding one)."""
    text = bytes_of(values)
    whole, fraction = decimal_places(text)
    if text.nulls is not None:
        whole, fraction = np.where(text.nulls, 0, whole), np.where(text.nulls, 0, fraction)
    dotted = fraction > 0  # a plain decimal's point has digits after it
    zeros = np.zeros(len(whole), np.int64)
    left = np.flatnonzero(dotted)  # values whose k-th last digit may be a zero
    k = 1
    while len(left):
        left = left[text.data[text.ends[left] - k] == ord("0")]
        zeros[left] += 1
        k += 1
        left = left[fraction[left] >= k]
    return whole, fraction, np.where(dotted, fraction - zeros, -1)
