"""Issue 21, European files, said, never guessed: SRC_DECIMAL=, reads decimal commas and
SRC_DATE_FORMAT / SRC_TIMESTAMP_FORMAT day-first dates, as exact numbers and dates, on every
database; without the settings such values stay text; a value the setting does not make a number
or a date is text in the sample and a rejected row past it; conflicting settings are exit 2.

Values are read back with each database's own SQL (a cast to text, or the driver's Decimal and
date), and compared as decimals, dates or text byte for byte, never through the importer's rules.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from conftest import load, write

from processor.kinds import DATE, DECIMAL, FLOAT, INTEGER, TIMESTAMP, Kind, Spelling, choose_type, classify

FORMATS = {"src_date_format": "%d/%m/%Y", "src_timestamp_format": "%d/%m/%Y %H:%M:%S"}


def as_text(db, table: str, column: str, order_by: str = "n") -> list[Any]:
    """The column's values as the database itself prints them (its own cast to text)."""
    text = "CHAR" if db.name == "mariadb" else "TEXT"
    sql = f"SELECT CAST({db.quote(column)} AS {text}) FROM {db.quote(table)} ORDER BY {db.quote(order_by)}"
    return [row[0] for row in db._query(sql).rows_list]


def values(db, table: str, column: str) -> list:
    """The column's values as the driver returns them, in key order."""
    sql = f"SELECT {db.quote(column)} FROM {db.quote(table)} ORDER BY {db.quote('n')}"
    return [row[0] for row in db._query(sql).rows_list]


def declared_types(db, table: str) -> dict[str, str]:
    """Each column's type as the database's own catalog names it."""
    if db.name == "sqlite":
        return {
            row[1]: row[2].lower() for row in db._query(f"PRAGMA table_info({db.quote(table)})").rows_list
        }
    schema = "DATABASE()" if db.name == "mariadb" else "current_schema()"
    rows = db._query(
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_name = '{table}' AND table_schema = {schema}"
    ).rows_list
    return {name: kind.lower() for name, kind in rows}


TEXT_TYPES = {"text", "longtext", "varchar"}


def exact(value) -> Decimal:
    assert not isinstance(value, float), f"{value!r} went through a float"
    return Decimal(str(value))


def test_decimal_commas_load_as_exact_numbers(db, table, tmp_path):
    # f: each value is a double's shortest spelling; x: the first is beyond a double's 15 digits.
    write(
        tmp_path / "src",
        "a.csv",
        "n;f;x\n"
        "1;1234,56;12345678901234567890,12345\n"
        "2;-0,5;-0,00001\n"
        "3;0;0\n"
        "4;0,25;1234,5\n"
        "5;-98765,4321;-99999999999999999,99999\n"
        "6;;\n",
    )
    report = load(tmp_path / "src", db, table, src_decimal=",")
    assert report.error is None, report.error
    assert report.rejects == []
    kinds = declared_types(db, table)
    assert kinds["f"] in {"double precision", "double", "float", "real"}
    floats = as_text(db, table, "f")
    assert [None if v is None else Decimal(v) for v in floats] == [
        Decimal("1234.56"),
        Decimal("-0.5"),
        Decimal("0"),
        Decimal("0.25"),
        Decimal("-98765.4321"),
        None,
    ]
    got = values(db, table, "x")
    written = ["12345678901234567890,12345", "-0,00001", "0", "1234,5", "-99999999999999999,99999", None]
    if db.name == "sqlite":
        # No exact decimal type: the column is text, its values as written.
        assert kinds["x"] == "text"
        assert got == written
    else:
        assert kinds["x"].split("(")[0] in {"numeric", "decimal"}, kinds["x"]
        assert [None if v is None else exact(v) for v in got] == [
            Decimal("12345678901234567890.12345"),
            Decimal("-0.00001"),
            Decimal("0"),
            Decimal("1234.5"),
            Decimal("-99999999999999999.99999"),
            None,
        ]


def test_day_first_dates_and_timestamps_load_as_dates(db, table, tmp_path):
    write(
        tmp_path / "src",
        "a.csv",
        "n;d;t\n"
        "1;31/12/2024;31/12/2024 23:59:59\n"
        "2;29/02/2024;29/02/2024 00:00:00\n"
        "3;01/01/1000;01/01/1000 12:30:05\n"
        "4;;\n",
    )
    report = load(tmp_path / "src", db, table, **FORMATS)
    assert report.error is None, report.error
    assert report.rejects == []
    assert as_text(db, table, "d") == ["2024-12-31", "2024-02-29", "1000-01-01", None]
    assert as_text(db, table, "t") == [
        "2024-12-31 23:59:59",
        "2024-02-29 00:00:00",
        "1000-01-01 12:30:05",
        None,
    ]
    kinds = declared_types(db, table)
    assert kinds["d"] == "date"
    assert kinds["t"] in {"timestamp without time zone", "timestamp", "datetime"}
    if db.name != "sqlite":  # SQLite has no date type: the ISO text is the oracle above
        assert values(db, table, "d")[0] == dt.date(2024, 12, 31)
        assert values(db, table, "t")[0] == dt.datetime(2024, 12, 31, 23, 59, 59)


def test_values_the_settings_do_not_make_numbers_or_dates_past_the_sample_are_rejected(db, table, tmp_path):
    write(
        tmp_path / "src",
        "a.csv",
        "n;x;d\n"
        "1;1,5;31/12/2024\n"
        "2;2,25;01/06/2023\n"
        "3;3,5;31/02/2024\n"  # line 4: no such day
        "4;4.5;02/06/2023\n"  # line 5: a point, with a decimal comma said
        "5;5,75;2/6/2023\n"  # line 6: not written as %d/%m/%Y
        "6;6,5;03/06/2023\n",
    )
    report = load(tmp_path / "src", db, table, src_decimal=",", sample_rows=2, max_errors=3, **FORMATS)
    assert report.error is None, report.error
    assert as_text(db, table, "d") == ["2024-12-31", "2023-06-01", "2023-06-03"]
    assert [Decimal(v) for v in as_text(db, table, "x")] == [Decimal("1.5"), Decimal("2.25"), Decimal("6.5")]
    rejects = [(r.file, r.line, r.text) for r in report.rejects]
    assert rejects == [
        ("a.csv", 4, "3;3,5;31/02/2024"),
        ("a.csv", 5, "4;4.5;02/06/2023"),
        ("a.csv", 6, "5;5,75;2/6/2023"),
    ]
    reasons = [r.reason for r in report.rejects]
    assert reasons[0] == "column 'd': '31/02/2024' is not a valid date written %d/%m/%Y"
    assert reasons[1].startswith("column 'x': '4.5' is not a number that a float holds exactly")
    assert "written with ',' before the decimals" in reasons[1]
    assert reasons[2] == "column 'd': '2/6/2023' is not a valid date written %d/%m/%Y"
    rejects_file = (tmp_path / f"{table}.rejects.csv").read_text(encoding="utf-8")
    assert "a.csv,4," in rejects_file
    assert "3;3,5;31/02/2024" in rejects_file


def test_such_values_in_the_sample_make_the_column_text_as_written(db, table, tmp_path):
    written = {
        "x": ["1,5", "1.5", "1.234,56", "-0,0"],  # a point, a point as a thousands separator, a signed zero
        "d": ["31/12/2024", "31/02/2024", "2024-12-31", "1/2/2024"],  # no such day; ISO; not zero-padded
    }
    rows = "".join(f"{i + 1};{written['x'][i]};{written['d'][i]}\n" for i in range(4))
    write(tmp_path / "src", "a.csv", "n;x;d\n" + rows)
    report = load(tmp_path / "src", db, table, src_decimal=",", **FORMATS)
    assert report.error is None, report.error
    kinds = declared_types(db, table)
    assert kinds["x"] in TEXT_TYPES, kinds
    assert kinds["d"] in TEXT_TYPES, kinds
    assert values(db, table, "x") == written["x"]
    assert values(db, table, "d") == written["d"]


def test_without_the_settings_such_values_stay_text(db, table, tmp_path):
    write(
        tmp_path / "src", "a.csv", "n;x;d;t\n1;1234,56;31/12/2024;31/12/2024 23:59:59\n2;-0,5;01/01/2000;\n"
    )
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    kinds = declared_types(db, table)
    assert all(kinds[c] in TEXT_TYPES for c in "xdt"), kinds
    assert values(db, table, "x") == ["1234,56", "-0,5"]
    assert values(db, table, "d") == ["31/12/2024", "01/01/2000"]
    assert values(db, table, "t") == ["31/12/2024 23:59:59", None]


def test_an_existing_tables_columns_read_the_said_spelling(db, table, tmp_path):
    db.execute(f"CREATE TABLE {db.quote(table)} (n BIGINT, x DECIMAL(10,2), d DATE)")
    write(tmp_path / "src", "a.csv", "n;x;d\n1;1234,56;31/12/2024\n2;-0,5;01/01/2000\n3;1,555;02/01/2000\n")
    report = load(
        tmp_path / "src",
        db,
        table,
        if_exists="append",
        src_decimal=",",
        src_date_format="%d/%m/%Y",
        max_errors=1,
    )
    assert report.error is None, report.error
    loaded = [Decimal(v) for v in as_text(db, table, "x")]
    if db.name == "sqlite":
        # DECIMAL has NUMERIC affinity in SQLite: it stores doubles, and a double holds 1.555.
        assert loaded == [Decimal("1234.56"), Decimal("-0.5"), Decimal("1.555")]
        assert as_text(db, table, "d") == ["2024-12-31", "2000-01-01", "2000-01-02"]
        assert report.rejects == []
        return
    assert loaded == [Decimal("1234.56"), Decimal("-0.5")]
    assert as_text(db, table, "d") == ["2024-12-31", "2000-01-01"]
    [reject] = report.rejects
    assert (reject.line, reject.text) == (4, "3;1,555;02/01/2000")  # three decimals in a scale of 2
    assert reject.reason == (
        "column 'x': '1,555' is not a decimal of at most 8 digits before the point and 2 after, "
        "written with ',' before the decimals (no thousands separators)"
    )


# -- settings ------------------------------------------------------------------------------------


def _env(tmp_path, **settings: str) -> dict[str, str]:
    return {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": f"sqlite:///{tmp_path / 'out.db'}",
        "DEST_TABLE": "t",
        **settings,
    }


def test_a_decimal_comma_with_a_comma_delimiter_given_is_exit_2(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "n;x\n1;1,5\n")
    code, out, err = cli([], _env(tmp_path, SRC_DECIMAL=",", SRC_DELIMITER=","))
    assert (code, out) == (2, "")
    assert err == "error: SRC_DECIMAL=, needs another field delimiter than ',': set SRC_DELIMITER (e.g. ;)\n"
    assert not (tmp_path / "out.db").exists()


def test_a_decimal_comma_in_files_a_comma_splits_is_exit_2(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "n,x\n1,2\n")
    write(tmp_path / "src", "b.csv", "n;x\n1;2\n")
    code, out, err = cli([], _env(tmp_path, SRC_DECIMAL=","))
    assert (code, out) == (2, "")
    assert err == (
        "error: SRC_DECIMAL=,, but ',' is the field delimiter of a.csv: "
        "set SRC_DELIMITER to the files' delimiter (e.g. ;)\n"
    )
    assert _tables(tmp_path / "out.db") == set()


def _tables(path) -> set[str]:
    import sqlite3

    if not path.exists():
        return set()
    with sqlite3.connect(path) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "SRC_DECIMAL",
            ";",
            "SRC_DECIMAL must be . or , (the character before a number's decimals), got ';'",
        ),
        ("SRC_DECIMAL", "", None),  # empty: unset, the default
        (
            "SRC_DATE_FORMAT",
            "%d/%m/%y",
            "SRC_DATE_FORMAT must hold %d, %m and %Y once each and no other % directive (e.g. %d/%m/%Y), "
            "got '%d/%m/%y'",
        ),
        (
            "SRC_DATE_FORMAT",
            "%d %b %Y",
            "SRC_DATE_FORMAT must hold %d, %m and %Y once each and no other % directive (e.g. %d/%m/%Y), "
            "got '%d %b %Y'",
        ),
        (
            "SRC_TIMESTAMP_FORMAT",
            "%d/%m/%Y %H:%M",
            "SRC_TIMESTAMP_FORMAT must hold %d, %m, %Y, %H, %M and %S once each and no other % directive "
            "(e.g. %d/%m/%Y %H:%M:%S), got '%d/%m/%Y %H:%M'",
        ),
    ],
)
def test_invalid_values_are_exit_2(cli, tmp_path, variable, value, message):
    write(tmp_path / "src", "a.csv", "n;x\n1;2\n")
    code, out, err = cli([], _env(tmp_path, **{variable: value}))
    if message is None:
        assert code == 0, err
        return
    assert (code, out, err) == (2, "", f"error: {message}\n")
    assert not (tmp_path / "out.db").exists()


def test_the_dry_run_and_the_report_show_the_settings(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "n;x;d\n1;1234,56;31/12/2024\n")
    report = tmp_path / "report.json"
    env = _env(
        tmp_path, SRC_DECIMAL=",", SRC_DATE_FORMAT="%d/%m/%Y", REPORT_PATH=str(report), LOG_LEVEL="INFO"
    )
    code, out, err = cli(["--dry-run"], env)
    assert code == 0, err
    assert "INFO numbers and dates read as written: decimal mark ',', dates %d/%m/%Y\n" in err
    lines = out.splitlines()
    assert "numbers and dates read as written: decimal mark ',', dates %d/%m/%Y" in lines
    assert any(line.split()[:2] == ["d", "DATE"] and "a date written %d/%m/%Y" in line for line in lines), out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["settings"]["SRC_DECIMAL"] == ","
    assert data["settings"]["SRC_DATE_FORMAT"] == "%d/%m/%Y"
    assert data["settings"]["SRC_TIMESTAMP_FORMAT"] is None
    assert data["dry_run"]["spelling"] == "decimal mark ',', dates %d/%m/%Y"


def test_a_decimal_comma_for_ndjson_files_is_exit_2(cli, tmp_path):
    write(tmp_path / "src", "a.ndjson", '{"n": 1, "x": 1.5}\n')
    env = _env(tmp_path, SRC_DECIMAL=",", SRC_FILE_NAME="*.ndjson")
    code, out, err = cli([], env)
    assert (code, out) == (2, "")
    assert err == (
        "error: SRC_DECIMAL=, is for delimited text files; the numbers of a.ndjson are written with a "
        "point: leave SRC_DECIMAL unset\n"
    )


def test_a_pool_of_workers_plans_and_loads_alike(db, table, tmp_path):
    # Two files sampled and loaded by worker processes: the spelling crosses to them.
    for name, first in (("a.csv", 1), ("b.csv", 3)):
        rows = "".join(f"{n};{n},5;0{n}/01/2024\n" for n in (first, first + 1))
        write(tmp_path / "src", name, "n;x;d\n" + rows)
    report = load(tmp_path / "src", db, table, workers=2, src_decimal=",", src_date_format="%d/%m/%Y")
    assert report.error is None, report.error
    assert [Decimal(v) for v in as_text(db, table, "x")] == [Decimal(f"{n}.5") for n in range(1, 5)]
    assert as_text(db, table, "d") == [f"2024-01-0{n}" for n in range(1, 5)]


# -- one rule for planning and loading ------------------------------------------------------------

EUROPEAN = Spelling(",", "%d/%m/%Y", "%d/%m/%Y %H:%M:%S")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("1234,56", Kind.FLOAT),
        ("-0,5", Kind.FLOAT),
        ("12345678901234567890,5", Kind.DECIMAL),
        ("7", Kind.INTEGER),
        ("1.5", Kind.TEXT),
        ("1.234,56", Kind.TEXT),
        ("1,2,3", Kind.TEXT),
        ("-0,0", Kind.TEXT),
        ("01,5", Kind.TEXT),
        ("1,", Kind.TEXT),
        ("31/12/2024", Kind.DATE),
        ("29/02/2023", Kind.TEXT),
        ("1/2/2024", Kind.TEXT),
        ("2024-12-31", Kind.TEXT),
        ("01/01/0999", Kind.TEXT),
        ("31/12/2024 23:59:59", Kind.TIMESTAMP),
        ("31/12/2024 24:00:00", Kind.TEXT),
    ],
)
def test_the_plan_and_the_load_read_a_value_alike(value, kind):
    values = pa.array([value])
    chosen = EUROPEAN.spell(choose_type(classify(values, EUROPEAN), lambda whole, scale: DECIMAL))
    assert chosen.kind is kind
    for planned in (INTEGER, FLOAT, DECIMAL, DATE, TIMESTAMP):
        column = EUROPEAN.spell(planned)
        fits = column.fit_mask(values)
        assert (fits is None or fits[0].as_py()) is (planned.kind is kind or _also(planned.kind, kind)), (
            planned
        )


def _also(planned: Kind, chosen: Kind) -> bool:
    """A value of ``chosen`` that a column of ``planned`` holds too (an integer is a decimal...)."""
    return (chosen, planned) in {
        (Kind.INTEGER, Kind.FLOAT),
        (Kind.INTEGER, Kind.DECIMAL),
        (Kind.FLOAT, Kind.DECIMAL),
    }
