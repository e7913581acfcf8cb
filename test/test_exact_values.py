"""Exact at the edges (issue 7): numbers, dates, existing column types and server settings.

Every test loads real files into a real database and reads the values back through the driver;
numbers are compared as decimals and text byte for byte, never through the importer's rules.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from conftest import load, write

from processor.database import create_engine
from processor.settings import parse_url


def declared_types(db, table: str) -> dict[str, str]:
    """Each column's type as the database's own catalog names it."""
    if db.name == "sqlite":
        return {row[1]: row[2] for row in db._query(f"PRAGMA table_info({db.quote(table)})").rows_list}
    schema = "DATABASE()" if db.name == "mariadb" else "current_schema()"
    rows = db._query(
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_name = '{table}' AND table_schema = {schema}"
    ).rows_list
    return {name: kind.lower() for name, kind in rows}


def as_decimal(value) -> Decimal:
    assert not isinstance(value, float), f"{value!r} went through a float"
    return Decimal(str(value))


def test_decimals_a_double_would_change_are_exact(db, table, tmp_path):
    values = ["1234567890123456.7", "99999999999999999.5", "-0.25", "3"]
    write(tmp_path / "src", "a.csv", "n,x\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    got = [x for _, x in db.rows(table, order_by="n")]
    assert [as_decimal(x) for x in got] == [Decimal(v) for v in values]
    planned = declared_types(db, table)["x"]
    expected = {"postgresql": "numeric", "mariadb": "decimal", "duckdb": "decimal(19,2)", "sqlite": "TEXT"}
    assert planned == expected[db.name]


def test_a_later_decimal_that_no_longer_fits_is_a_rejected_row(db, table, tmp_path):
    # Planned from the first row only: a decimal no double holds, one digit after the point.
    # PostgreSQL's NUMERIC and SQLite's text hold the late value; a DECIMAL(p,1) cannot.
    write(tmp_path / "src", "a.csv", "n,x\n1,1234567890123456.7\n2,2.25\n")
    report = load(tmp_path / "src", db, table, sample_rows=1, max_errors=1)
    assert report.error is None, report.error
    rows = db.rows(table, order_by="n")
    if db.name in ("mariadb", "duckdb"):
        assert [(n, as_decimal(x)) for n, x in rows] == [(1, Decimal("1234567890123456.7"))]
        [reject] = report.rejects
        assert (reject.file, reject.line, reject.text) == ("a.csv", 3, "2,2.25")
        assert "'2.25' is not a decimal of at most 17 digits before the point and 1 after" in reject.reason
    else:
        assert [(n, as_decimal(x)) for n, x in rows] == [
            (1, Decimal("1234567890123456.7")),
            (2, Decimal("2.25")),
        ]
        assert report.rejects == []


def test_append_into_an_existing_numeric_keeps_every_digit(db, table, tmp_path):
    db.execute(f"CREATE TABLE {db.quote(table)} (n BIGINT, x DECIMAL(30,10))")
    write(tmp_path / "src", "a.csv", "n,x\n1,1234567890123456.78\n2,0.5\n3,-12.0000000001\n")
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=5)
    assert report.error is None, report.error
    rows = db.rows(table, order_by="n")
    if db.name == "sqlite":
        # DECIMAL has NUMERIC affinity in SQLite: it stores numbers as doubles, so only what a
        # double gives back loads.
        assert rows == [(2, 0.5), (3, -12.0000000001)]
        assert [(r.line, r.text) for r in report.rejects] == [(2, "1,1234567890123456.78")]
    else:
        assert [(n, as_decimal(x)) for n, x in rows] == [
            (1, Decimal("1234567890123456.78")),
            (2, Decimal("0.5")),
            (3, Decimal("-12.0000000001")),
        ]
        assert report.rejects == []


def test_iso_dates_and_timestamps_are_typed_and_exact(db, table, tmp_path):
    write(
        tmp_path / "src",
        "a.csv",
        "n,day,at\n1,2021-01-05,2021-01-05 10:11:12\n2,2020-02-29,1999-12-31 23:59:59\n3,,\n",
    )
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    rows = db.rows(table, order_by="n")
    assert [(str(d) if d else d, str(t) if t else t) for _, d, t in rows] == [
        ("2021-01-05", "2021-01-05 10:11:12"),
        ("2020-02-29", "1999-12-31 23:59:59"),
        (None, None),
    ]
    if db.name != "sqlite":  # SQLite has no date type: it keeps the ISO text
        assert isinstance(rows[0][1], dt.date)
        assert isinstance(rows[0][2], dt.datetime)
    kinds = declared_types(db, table)
    expected = {
        "postgresql": ("date", "timestamp without time zone"),
        "mariadb": ("date", "datetime"),
        "duckdb": ("date", "timestamp"),
        "sqlite": ("DATE", "DATETIME"),
    }
    assert (kinds["day"], kinds["at"]) == expected[db.name]


def test_other_date_spellings_stay_text(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n,day\n1,2021-01-05\n2,2021-02-30\n3,05/01/2021\n")
    assert load(tmp_path / "src", db, table).error is None
    assert [d for _, d in db.rows(table, order_by="n")] == ["2021-01-05", "2021-02-30", "05/01/2021"]


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


def test_nul_characters_are_exact_or_rejected(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", b"n,t\n1,a\x00b\n2,ok\n")
    report = load(tmp_path / "src", db, table, max_errors=10)
    assert report.error is None, report.error
    if db.name == "postgresql":  # its text cannot hold a NUL character
        [reject] = report.rejects
        assert (reject.line, reject.text) == (2, "1,a\x00b")
        assert reject.reason == (
            "column 't': 'a\\x00b' is not text without a NUL character (PostgreSQL text holds none)"
        )
        assert db.rows(table) == [(2, "ok")]
    else:
        assert sorted(db.rows(table)) == [(1, "a\x00b"), (2, "ok")]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_client_encoding_setting_does_not_garble_text(db, table, tmp_path, monkeypatch):
    monkeypatch.setenv("PGCLIENTENCODING", "LATIN1")
    write(tmp_path / "src", "a.csv", "n,t\n1,Zoë\n")
    write(tmp_path / "src", "b.csv", "n,t\n2,日本 😀\n")
    report = load(tmp_path / "src", db, table, workers=2)
    assert report.error is None, report.error
    stored = db._query(f"SELECT n, convert_to(t, 'UTF8') FROM {table} ORDER BY n").rows_list
    assert [(n, bytes(b)) for n, b in stored] == [(1, "Zoë".encode()), (2, "日本 😀".encode())]


@pytest.fixture
def lax_server(db):
    """MariaDB with a server default sql_mode that truncates instead of failing."""
    previous = db._query("SELECT @@GLOBAL.sql_mode").rows_list[0][0]
    db.execute("SET GLOBAL sql_mode = ''")
    try:
        yield db
    finally:
        db.execute(f"SET GLOBAL sql_mode = '{previous}'")


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
def test_non_strict_server_never_truncates(lax_server, table, tmp_path):
    db = lax_server
    db.execute(f"CREATE TABLE {table} (n INT, s VARCHAR(3))")
    write(tmp_path / "src", "a.csv", "n,s\n1,ABC\n2,ABCDEF\n")
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=1)
    assert report.error is None, report.error
    assert db.rows(table) == [(1, "ABC")]
    assert [(r.line, r.text) for r in report.rejects] == [(3, "2,ABCDEF")]
    # And the importer's own sessions are strict whatever the server's default.
    engine = create_engine(parse_url(db.url))
    try:
        with pytest.raises(sa.exc.DBAPIError, match="Data too long"), engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO {table} VALUES (3, 'ABCDEFG')")
    finally:
        engine.dispose()
    assert db.rows(table) == [(1, "ABC")]


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
def test_narrow_character_set_columns_reject_what_they_cannot_hold(db, table, tmp_path):
    db.execute(
        f"CREATE TABLE {table} (n INT, s VARCHAR(10) CHARACTER SET latin1, u TEXT CHARACTER SET utf8mb3)"
    )
    write(tmp_path / "src", "a.csv", "n,s,u\n1,Zoë €,ok\n2,日本,ok\n3,x,😀\n")
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=5)
    assert report.error is None, report.error
    assert db.rows(table) == [(1, "Zoë €", "ok")]
    assert [r.line for r in report.rejects] == [3, 4]
    assert "characters outside latin1" in report.rejects[0].reason
    assert "characters outside utf8mb3" in report.rejects[1].reason
