"""The kind rules as one-line regular expressions agree with the rules spelled out in Python."""

from __future__ import annotations

import math
import re

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.kinds import Kind, classify, fit_mask


def holds_as_float(text: str) -> bool:
    """The rule for FLOAT, step by step: a decimal that float64 gives back exactly."""
    if not re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?", text):
        return False
    if re.fullmatch(r"-?[0-9]+", text):  # an integer spelling: exact, and short enough
        return text != "-0" and len(text) <= 15
    number = float(text)  # not infinity, and zero only when written as an unsigned zero
    return math.isfinite(number) and (number != 0 or bool(re.fullmatch(r"0(\.0+)?([eE][-+]?[0-9]+)?", text)))


NUMBERISH = st.text(alphabet="-+0123456789.eE", max_size=20)


@settings(deadline=None)  # a shared CI machine is no clock
@given(st.lists(NUMBERISH, min_size=1, max_size=30))
def test_float_mask_follows_the_rule(values):
    mask = fit_mask(pa.array(values, pa.string()), Kind.FLOAT).to_pylist()
    assert mask == [holds_as_float(v) for v in values]


def test_float_edges():
    values = ["0", "-0", "0.0", "-0.0", "1.", ".5", "1e5", "1E-5", "1e400", "1e-400", "123456789012345"]
    values += ["1234567890123456", "-12345678901234", "-123456789012345", "007", "+1", "1.5e", None]
    mask = fit_mask(pa.array(values, pa.string()), Kind.FLOAT).to_pylist()
    expected = [True, False, True, False, False, False, True, True, False, False, True]
    expected += [False, True, False, False, False, False, True]
    assert mask == expected


def test_classify_looks_past_the_first_values():
    assert classify(pa.array(["1"] * 100 + ["x"])) is Kind.TEXT
    assert classify(pa.array(["1"] * 100 + ["2.5"])) is Kind.FLOAT
    assert classify(pa.array([None] * 100 + ["2"])) is Kind.INTEGER
    assert classify(pa.array(["x"] + ["1"] * 100)) is Kind.TEXT
