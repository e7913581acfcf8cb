"""The column kinds a plan can choose, and the one rule of what text each kind holds exactly.

Planning (which kind fits every sampled value) and loading (does this value fit its planned kind)
use the same rules from here, so the two can never disagree.  A kind is chosen only where the
database gives the text back as it was: ``00123``, ``+5``, ``-0``, ``1.`` and integers beyond 64
bits stay text; booleans and dates stay text because their spelling cannot be restored.
"""

from __future__ import annotations

import enum

import pyarrow as pa
import pyarrow.compute as pc

INT_PATTERN = r"^(0|-?[1-9][0-9]*)$"
ZERO_PATTERN = r"^0(\.0+)?([eE][-+]?[0-9]+)?$"  # a float spelling of zero, without a sign
# A float64 holds every integer of up to 15 characters (sign included) exactly: a longer
# integer-looking value in a float column would come back changed, so it is not a float.  So a
# float is a decimal with a fraction or an exponent, or such a short integer (not "-0").
FLOAT_EXACT_DIGITS = 15
FLOAT_PATTERN = (
    r"^(-?(0|[1-9][0-9]*)(\.[0-9]+([eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)"
    rf"|0|[1-9][0-9]{{0,{FLOAT_EXACT_DIGITS - 1}}}|-[1-9][0-9]{{0,{FLOAT_EXACT_DIGITS - 2}}})$"
)
# Values classify() looks at first: one that does not fit rules a kind out without a full scan.
CLASSIFY_PREFIX = 64
INT64_DIGITS = 18  # every integer with at most this many digits fits in 64 bits


class Kind(enum.IntEnum):
    """Column kinds, ordered from narrowest to widest: merging two plans takes the wider one."""

    EMPTY = 0
    INTEGER = 1
    FLOAT = 2
    TEXT = 3


def classify(values: pa.Array) -> Kind:
    """The narrowest kind holding every non-null value of a string array exactly."""
    if values.null_count == len(values):
        return Kind.EMPTY
    for kind in (Kind.INTEGER, Kind.FLOAT):
        head = values.slice(0, CLASSIFY_PREFIX)
        if pc.all(fit_mask(head, kind)).as_py() and pc.all(fit_mask(values, kind)).as_py():
            return kind
    return Kind.TEXT


def fit_mask(values: pa.Array, kind: Kind) -> pa.Array:
    """A boolean array: True where the value is null or holds exactly in ``kind``."""
    if kind in (Kind.TEXT, Kind.EMPTY):
        return pc.scalar(True)
    if kind is Kind.FLOAT:
        ok = pc.match_substring_regex(values, FLOAT_PATTERN)
        return pc.fill_null(pc.and_(ok, _float_holds(values, ok)), True)
    ok = pc.match_substring_regex(values, INT_PATTERN)
    if pc.any(pc.and_(ok, pc.greater(pc.utf8_length(values), INT64_DIGITS))).as_py():
        ok = pc.and_(ok, _int64_mask(values))
    return pc.fill_null(ok, True)


def _float_holds(values: pa.Array, candidates: pa.Array) -> pa.Array:
    """Per float-shaped value: does a float64 hold it, rounded but not changed in kind?

    Beyond the float range a value would become infinity (``1e400``), below it zero
    (``1e-400``); and a negative zero (``-0.0``) comes back as ``0.0`` from SQLite and MariaDB.
    Those stay text, like ``-0`` in an integer column.
    """
    numbers = pc.cast(pc.if_else(candidates, values, "0"), pa.float64())
    zero = pc.equal(numbers, 0.0)
    return pc.and_(
        pc.is_finite(numbers), pc.or_(pc.invert(zero), pc.match_substring_regex(values, ZERO_PATTERN))
    )


def _int64_mask(values: pa.Array) -> pa.Array:
    """Per value: does it fit in 64 bits (only called when some value has 19 digits or more)."""
    low, high = -(2**63), 2**63 - 1
    return pa.array(
        [v is None or (v.lstrip("-").isdigit() and low <= int(v) <= high) for v in values.to_pylist()]
    )


def convert(values: pa.Array, kind: Kind) -> pa.Array:
    """Cast a string array, already filtered by ``fit_mask``, to the Arrow type of ``kind``."""
    if kind is Kind.INTEGER:
        return pc.cast(values, pa.int64())
    if kind is Kind.FLOAT:
        return pc.cast(values, pa.float64())
    return values


def reason(value: str, kind: Kind) -> str:
    """Why ``value`` was rejected from a column of ``kind``, for the rejects file."""
    what = "a 64-bit integer" if kind is Kind.INTEGER else "a number that a float holds exactly"
    return f"{value!r} is not {what}"
