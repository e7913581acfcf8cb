"""Exact values (issue 7): decimals a double would change, numbers that no longer fit, ISO dates and
timestamps typed and exact, other date spellings kept as text, NUL characters exact or rejected.

Every test loads real files into a real database and reads the values back through the driver;
numbers are compared as decimals and text byte for byte, never through the importer's rules.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from conftest import load, write


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
