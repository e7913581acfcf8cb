"""The type rules: what text each column type holds exactly, checked against independent oracles.

The oracles here never call the importer's rules: floats go through numpy's own shortest-digit
printer (Dragon4) and exact fractions, dates through Python's datetime.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.backends import backend_for
from processor.kinds import (
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    TEXT,
    TIMESTAMP,
    ColumnType,
    Kind,
    bounded_decimal,
    choose_type,
    classify,
    classify_columns,
    integer_range,
)
from processor.plan.schema import merge_profiles, plan_types, profile_table

NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def float_gives_back(text: str, bits: int = 64) -> bool:
    """The FLOAT rule, independently: numpy's shortest digits of the nearest float are the same
    number as the text (compared as exact fractions); zero only without a sign."""
    if not NUMBER.fullmatch(text):
        return False
    with np.errstate(over="ignore"):
        nearest = (np.float32 if bits == 32 else np.float64)(text)
    if not np.isfinite(nearest):
        return False
    if nearest == 0:  # exact only if its digits are zeros; no Fraction("0E99999999999"): 10**99999999999
        return not re.search("[1-9]", re.split("[eE]", text)[0]) and not text.startswith("-")
    exact = Fraction(_expand(text) if "e" in text.lower() else text)  # a finite float: a small exponent
    return Fraction(np.format_float_scientific(nearest, unique=True).replace("e", "E")) == exact


def _expand(text: str) -> str:
    mantissa, exponent = re.split("[eE]", text)
    return f"{mantissa}E{int(exponent)}"


def fits(column: ColumnType, values: Sequence[str | None]) -> list[bool]:
    mask = column.fit_mask(pa.array(values, pa.string()))
    return [True] * len(values) if mask is None else mask.to_pylist()


NUMBERISH = st.text(alphabet="-+0123456789.eE", max_size=24)


@settings(deadline=None)  # a shared CI machine is no clock
@given(st.lists(NUMBERISH, min_size=1, max_size=30))
def test_float_mask_follows_the_rule(values):
    assert fits(FLOAT, values) == [float_gives_back(v) for v in values]


@settings(deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False).map(repr), min_size=1, max_size=30))
def test_every_shortest_float_spelling_fits(values):
    values = [v for v in values if NUMBER.fullmatch(v)]  # repr's "1e+16" has a "+" no file writes
    assert fits(FLOAT, values) == [float_gives_back(v) for v in values]


WIDE_DECIMALS = st.builds(
    lambda sign, whole, fraction: f"{sign}{whole}{'.' + fraction if fraction else ''}",
    st.sampled_from(["", "-"]),
    st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,11}", fullmatch=True)),
    st.from_regex(r"([0-9]{0,6}[1-9])?", fullmatch=True),
)


@settings(deadline=None, max_examples=300)
@given(st.lists(st.one_of(st.none(), WIDE_DECIMALS), min_size=1, max_size=6).filter(lambda v: any(v)))
def test_a_column_is_planned_float_exactly_when_every_value_gives_back(values):
    """Decimal columns around the widths where the float check is skipped (``_floats_by_width``:
    at most 15 characters with the sign and the point): ``classify``, alone and batched, says
    float exactly when the independent rule holds for every value."""
    column = pa.array(values, pa.string())
    expected = all(float_gives_back(v) for v in values if v is not None)
    assert classify(column).float == expected
    assert classify_columns([column])[0].float == expected


@pytest.mark.parametrize(
    "values",
    [
        ["1234567890123.4"],  # 15 characters: not looked at again
        ["-123456789012.34", "0.5"],  # 16: looked at, and every one gives back
        ["1234567890123456.7"],
        ["0.1234567890123457", "1.5"],
        ["-999999999999.99"],
        ["99999999999.9999"],
        ["12345678901234567"],  # an integer of 17 digits
    ],
)
def test_the_widths_at_which_floats_are_not_looked_at_again(values):
    column = pa.array(values, pa.string())
    expected = all(float_gives_back(v) for v in values)
    assert classify(column).float == expected
    assert classify_columns([column])[0].float == expected


def test_float_edges():
    cases = {
        "0": True, "-0": False, "0.0": True, "-0.0": False, "1.": False, ".5": False, "1e5": True,
        "1E-5": True, "1e400": False, "1e-400": False, "123456789012345": True, "0.1": True,
        "1.50": True, "1234567890123456.7": False, "99999999999999999.5": False,
        "9007199254740993": False, "007": False, "+1": False, "1.5e": False,
    }  # fmt: skip
    assert fits(FLOAT, list(cases)) == list(cases.values())
    assert fits(FLOAT, [None]) == [True]


def test_32_bit_floats_hold_fewer_digits():
    real = replace(FLOAT, bits=32)
    values = ["0.1", "123456", "1.234567", "16777217", "3.4e38", "3.5e38"]
    assert fits(real, values) == [float_gives_back(v, 32) for v in values] == [
        True, True, True, False, True, False,
    ]  # fmt: skip


def test_integer_ranges():
    values = ["0", "-32768", "32767", "32768", "-32769", str(2**63), "1.0", "007", None]
    assert fits(integer_range(16), values) == [True, True, True, False, False, False, False, False, True]
    assert fits(INTEGER, values) == [True, True, True, True, True, False, False, False, True]
    assert fits(integer_range(8, unsigned=True), ["0", "255", "256", "-1"]) == [True, True, False, False]


def test_decimal_bounds():
    numeric = bounded_decimal(5, 2)  # at most 999.99
    values = ["999.99", "-999.99", "1000", "0.5", "1.555", "1.500", "12", "-0.00", "1.", "+1.5", "1e2"]
    assert fits(numeric, values) == [True, True, False, True, False, True, True, False, False, False, False]
    wide = ["1234567890123456789012345.123456789", "-0.5", "-0", "5"]
    assert fits(DECIMAL, wide) == [True, True, False, True]
    assert fits(bounded_decimal(2, 2), ["0.99", "1.5", "0"]) == [True, False, True]


def iso_day(text: str) -> bool:
    try:
        return dt.date.fromisoformat(text).isoformat() == text and int(text[:4]) >= 1000
    except ValueError:
        return False


def iso_second(text: str) -> bool:
    try:
        parsed = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return parsed.strftime("%Y-%m-%d %H:%M:%S") == text and parsed.year >= 1000


def test_dates_and_timestamps_only_as_printed_back():
    dates = ["2020-02-29", "2021-02-29", "2021-02-30", "2021-13-01", "2021-1-05", "0999-01-01", "20210105"]
    dates += ["2021-01-05 00:00:00", "9999-12-31", "1000-01-01"]
    assert fits(DATE, dates) == [iso_day(d) for d in dates]
    times = ["2021-01-05 10:11:12", "2021-01-05 24:00:00", "2021-01-05 23:59:60", "2021-01-05T10:11:12"]
    times += ["2021-01-05 10:11:12.5", "2021-01-05 10:11", "2021-02-29 10:00:00", "2021-01-05"]
    assert fits(TIMESTAMP, times) == [iso_second(t) for t in times]


def test_text_bounds():
    varchar = replace(TEXT, max_chars=3)
    assert fits(varchar, ["abc", "abcd", "ééé", "", None]) == [True, False, True, True, True]
    nul = replace(TEXT, forbidden_character="\x00", forbidden_what="a NUL")
    assert fits(nul, ["a\x00b", "ab", None]) == [False, True, True]
    assert nul.fit_mask(pa.array(["ab", "cd"])) is None  # no NUL byte anywhere: nothing to look at
    assert nul.fit_mask(pa.array(["", None, ""])) is None  # no bytes at all
    chunked = pa.chunked_array([pa.array(["ab", ""]), pa.array(["", "cd\x00"])])
    found = nul.fit_mask(chunked)
    assert found is not None
    assert found.to_pylist() == [True, True, True, False]  # in a later chunk, last
    assert fits(nul, ["\x00", "\x01", "\x7f"]) == [False, True, True]
    tab = replace(TEXT, forbidden_character="\t", forbidden_what="a tab")
    assert fits(tab, ["a\tb", "ab\x00", None]) == [False, True, True]
    assert tab.fit_mask(pa.array(["ab", "\x00"])) is None
    trailing = replace(TEXT, forbidden=" $", forbidden_what="trailing spaces")
    assert fits(trailing, ["a ", "a", " a"]) == [False, True, True]
    assert TEXT.fit_mask(pa.array(["x"])) is None  # unbounded text checks nothing


def decimal_type(whole_digits: int, scale: int) -> ColumnType:
    return bounded_decimal(whole_digits + scale, scale)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["00123"], TEXT),
        (["+5"], TEXT),
        (["-0"], TEXT),
        (["0", "-7", "42"], INTEGER),
        ([str(2**63 - 1)], INTEGER),
        ([str(-(2**63))], INTEGER),
        ([str(2**63)], TEXT),  # beyond 64 bits: an identifier, not a quantity
        ([str(-(2**63) - 1)], TEXT),
        (["1e5"], FLOAT),
        (["1.5", "2"], FLOAT),
        (["1.5", "123456789012345"], FLOAT),
        (["1.5", "9007199254740993"], bounded_decimal(17, 1)),  # 2**53 + 1: no float holds it
        (["1234567890123456.7", "-2.25"], bounded_decimal(18, 2)),
        (["99999999999999999.5"], bounded_decimal(18, 1)),
        (["1.5", "-0"], TEXT),
        (["1."], TEXT),
        ([".5"], TEXT),
        (["1", None], INTEGER),
        ([None, None], TEXT),
        (["x", "1"], TEXT),
        (["2021-01-05", "1999-12-31", None], DATE),
        (["2021-01-05", "2021-02-30"], TEXT),
        (["2021-01-05 10:11:12", None], TIMESTAMP),
        (["2021-01-05", "2021-01-05 10:11:12"], TEXT),  # a date would come back with a time
        (["true", "false"], TEXT),  # spelled booleans cannot be given back
    ],
)
def test_planned_type(values, expected):
    assert choose_type(classify(pa.array(values, pa.string())), decimal_type) == expected


def test_classify_looks_past_the_first_values():
    def planned(values):
        return choose_type(classify(pa.array(values, pa.string())), lambda w, s: None).kind

    assert planned(["1"] * 100 + ["x"]) is Kind.TEXT
    assert planned(["1"] * 100 + ["2.5"]) is Kind.FLOAT
    assert planned([None] * 100 + ["2"]) is Kind.INTEGER
    assert planned(["x"] + ["1"] * 100) is Kind.TEXT
    assert planned(["1.5"] * 100 + ["1234567890123456.7"]) is Kind.TEXT  # no exact decimal here


VALUES: list[str | None] = ["1", "-7", "2.5", "-0.25", "1e5", "x", "2021-01-05", "2021-01-05 10:11:12"]
VALUES += ["2021-02-30", "-0", "007", "12345678901234567", "1234567890123456.75", None]
VALUE = st.sampled_from(VALUES)
FILES = st.lists(st.lists(st.tuples(VALUE, VALUE, VALUE), min_size=1, max_size=4), min_size=1, max_size=4)


@pytest.mark.slow
@pytest.mark.parametrize("url", ["sqlite://", "mysql://root@localhost/none"])
@settings(max_examples=300, deadline=None)
@given(files=FILES, first=st.integers(min_value=1, max_value=3))
def test_settled_columns_are_not_classified_again_and_the_plan_stays(url, files, first):
    """The run classifies the first files' samples in full and passes over, in the others, the
    columns those settled as text: the plan (types, and the reasons it cites) is the plan from
    every column of every sample, on SQLite (no decimal type) and MySQL (bounded decimals)."""
    backend = backend_for(sa.create_engine(url))  # no connection is made
    samples = [
        pa.table([pa.array(c, pa.string()) for c in zip(*rows, strict=True)], list("abc")) for rows in files
    ]
    names = samples[0].column_names
    everything = plan_types(names, [profile_table(s) for s in samples], backend)
    merged = merge_profiles([profile_table(s) for s in samples[:first]], len(names))
    settled = frozenset(i for i, column in enumerate(merged) if column.settled)
    skipping = [profile_table(s, settled if n >= first else frozenset()) for n, s in enumerate(samples)]
    assert plan_types(names, skipping, backend) == everything
    # Where the later samples were read without the settled columns, the same.
    unsettled = [i for i in range(len(names)) if i not in settled]
    narrowed = [profile_table(s.select(unsettled), settled, left_out=True) for s in samples[first:]]
    assert plan_types(names, skipping[:first] + narrowed, backend) == everything
