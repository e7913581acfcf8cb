"""Appending onto an existing table (issue 7): its column types are honoured, its NOT NULL columns
reject empty values before the publish, its boolean columns take boolean spellings.

Every test reads the values back through the driver; numbers are compared as decimals and text
byte for byte, never through the importer's rules.
"""

from __future__ import annotations

from decimal import Decimal

from conftest import load, write
from test_exact_values import as_decimal


def test_existing_column_types_are_honoured(db, table, tmp_path):
    db.execute(
        f"CREATE TABLE {db.quote(table)} "
        "(k INTEGER, small SMALLINT, day DATE, price NUMERIC(5,2), code VARCHAR(3))"
    )
    write(
        tmp_path / "src",
        "a.csv",
        "k,small,day,price,code\n"
        "1,32767,2021-01-05,999.99,abc\n"
        "2,32768,2021-01-05,1.00,abc\n"
        "3,1,2021-02-30,1.00,abc\n"
        "4,1,2021-01-05,1000,abc\n"
        "5,1,2021-01-05,1.5,abcd\n",
    )
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=10)
    assert report.error is None, report.error
    # What each database enforces: SQLite's INTEGER holds 64 bits, its NUMERIC takes 1000 as a
    # number and neither it nor DuckDB bounds a VARCHAR; a date must be a real one everywhere.
    rejected = {"postgresql": {3, 4, 5, 6}, "mariadb": {3, 4, 5, 6}, "duckdb": {3, 4, 5}, "sqlite": {4}}
    assert {r.line for r in report.rejects} == rejected[db.name]
    by_line = {r.line: r.reason for r in report.rejects}
    assert by_line[4] == "column 'day': '2021-02-30' is not a valid date written YYYY-MM-DD"
    if db.name != "sqlite":
        assert by_line[3] == "column 'small': '32768' is not an integer from -32768 to 32767"
        assert by_line[5] == (
            "column 'price': '1000' is not a decimal of at most 3 digits before the point and 2 after"
        )
    loaded = {k for k, *_ in db.rows(table)}
    assert loaded == {line - 1 for line in range(2, 7)} - {line - 1 for line in rejected[db.name]}
    first = next(row for row in db.rows(table) if row[0] == 1)
    price = Decimal(repr(first[3])) if db.name == "sqlite" else as_decimal(first[3])  # SQLite: a double
    assert (first[1], str(first[2]), price, first[4]) == (32767, "2021-01-05", Decimal("999.99"), "abc")


def test_existing_not_null_columns_reject_empty_values_before_the_publish(db, table, tmp_path):
    db.execute(f"CREATE TABLE {db.quote(table)} (k INTEGER NOT NULL, v VARCHAR(10) NOT NULL, w VARCHAR(10))")
    db.execute(f"INSERT INTO {db.quote(table)} VALUES (0, 'kept', NULL)")
    write(tmp_path / "src", "a.csv", "k,v,w\n1,a,\n2,,x\n,c,\n4,d,y\n")
    # MAX_ERRORS=0: the first empty value stops the run, and the table is as it was.
    failed = load(tmp_path / "src", db, table, if_exists="append")
    assert failed.exit_code == 5, failed.error
    assert str(failed.error).startswith(
        "a.csv: line 3: column 'v': an empty value, but the column is NOT NULL"
    )
    assert db.rows(table) == [(0, "kept", None)]
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=10)
    assert report.error is None, report.error
    assert [(r.line, r.reason) for r in report.rejects] == [
        (3, "column 'v': an empty value, but the column is NOT NULL"),
        (4, "column 'k': an empty value, but the column is NOT NULL"),
    ]
    assert sorted(db.rows(table)) == [(0, "kept", None), (1, "a", None), (4, "d", "y")]


def test_existing_boolean_columns_take_boolean_spellings(db, table, tmp_path):
    db.execute(f"CREATE TABLE {db.quote(table)} (k INTEGER, flag BOOLEAN)")
    write(tmp_path / "src", "a.csv", "k,flag\n1,true\n2,F\n3,yes\n4,0\n5,maybe\n6,\n")
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=10)
    assert report.error is None, report.error
    rows = dict(db.rows(table))
    if db.name == "mariadb":  # BOOLEAN is TINYINT(1): it holds small integers, not words
        assert {r.line for r in report.rejects} == {2, 3, 4, 6}
        assert rows == {4: 0, 6: None}
    else:
        assert [r.line for r in report.rejects] == [6]
        assert rows == {1: True, 2: False, 3: True, 4: False, 6: None}
