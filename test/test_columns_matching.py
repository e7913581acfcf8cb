"""The matching of columns by name (``processor/matching.py``), without a database: which field
of each file each column is read from, and which differences the settings refuse."""

from __future__ import annotations

import pytest

from processor.errors import SchemaError
from processor.plan.matching import match_columns

HEADERS = {"a.csv": ("id", "name", "code"), "b.csv": ("code", "score", "id")}


def test_each_file_reads_its_own_fields_by_name():
    matched = match_columns(list(HEADERS), HEADERS, (), "path", "add", "null")
    assert matched.columns == ("id", "name", "code", "score", "path")
    assert matched.layouts["a.csv"].picks == (0, 1, 2, None)
    assert matched.layouts["b.csv"].picks == (2, None, 0, 1)
    assert matched.layouts["b.csv"].read == (0, 1, 2)
    assert matched.decisions["b.csv"].missing == ("name",)
    assert matched.decisions["b.csv"].added == ("score",)
    assert matched.added == ("score",)


def test_ignored_columns_are_not_read():
    matched = match_columns(list(HEADERS), HEADERS, (), None, "ignore", "null")
    assert matched.columns == ("id", "name", "code")
    assert matched.layouts["b.csv"].read == (0, 2)
    assert matched.ignored == ("score",)


def test_onto_a_table_by_its_folding():
    table = ("t", ["ID", "Name", "Code", "Other"], str.lower)
    matched = match_columns(list(HEADERS), HEADERS, (), None, "add", "null", table)
    # The files' spellings; the table's column no file has, in the table's spelling, NULL.
    assert matched.columns == ("id", "name", "code", "score", "Other")
    assert matched.added == ("score",)
    assert matched.layouts["a.csv"].picks == (0, 1, 2, None, None)
    refused = r"^a\.csv: header does not match the columns of table 't': missing 'Other'"
    with pytest.raises(SchemaError, match=refused):
        match_columns(list(HEADERS), HEADERS, (), None, "add", "fail", table)


def test_src_columns_renamed_and_missing():
    matched = match_columns(list(HEADERS), HEADERS, ("code:c", "name"), None, "fail", "null")
    assert matched.columns == ("c", "name")
    assert matched.layouts["b.csv"].picks == (0, None)
    with pytest.raises(SchemaError, match=r"SRC_COLUMNS names 'nope', which is not in the header of a\.csv"):
        match_columns(list(HEADERS), HEADERS, ("nope",), None, "fail", "null")


def test_a_name_twice_in_one_header_is_refused():
    headers = {"a.csv": ("id", "x", "id")}
    with pytest.raises(SchemaError, match=r"^a\.csv: column 3 \('id'\) repeats the name of column 1$"):
        match_columns(["a.csv"], headers, (), None)
