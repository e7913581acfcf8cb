"""Issue 19, DuckDB and SQLite: every column type an existing table can have is held exactly or
refused before loading (append, merge, delete_rows).

DuckDB: the catalogue below is the class, every logical type of ``duckdb_types()`` (its built-in
types; ``test_the_duckdb_catalogue_is_every_built_in_type`` asks DuckDB for the list, so a type a
later DuckDB adds fails until it has its row).  "held": a value it holds exactly loads, any other
is a rejected row (file, line, reason, raw text); "refused": exit 4 before anything loads, naming
the column, its type and the way out.  Values are read back as ``CAST(v AS VARCHAR)`` through the
``duckdb`` module, byte for byte (numbers as Decimal).

SQLite: a declared type is not a type but an affinity (sqlite.org/datatype3.html, 3.1), chosen by
the rules in their order; the class is every spelling those rules tell apart.  Each is held: the
importer sends what the affinity keeps as it is (an integer to INTEGER, a double to REAL, text
to TEXT and BLOB), and on NUMERIC affinity, which turns text that looks like a number into one
(``007`` into 7, ``1.50`` into 1.5), only doubles, booleans (as 0/1) or ISO dates, which it
leaves alone.  Read back with ``typeof()`` and the stored value through ``sqlite3``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import Database, load, one_value_per_row, write
from conftest import csv_text as _csv

from processor.backends.duckdb_types import column_type as duckdb_column_type
from processor.errors import SchemaError

DUCKDB_CATALOGUE = """
| logical type | column spelled | rule | what is held / why refused |
|---|---|---|---|
| BOOLEAN | BOOLEAN | held | true/false, t/f, yes/no, y/n, 1/0 in any case |
| TINYINT | TINYINT | held | integers without leading zeros, +, -0, within the type's range |
| SMALLINT | SMALLINT | held | as TINYINT |
| INTEGER | INTEGER | held | as TINYINT |
| BIGINT | BIGINT | held | as TINYINT |
| HUGEINT | HUGEINT | held | integers from -2**127 to 2**127-1 as DuckDB prints them (no +, no leading zeros) |
| BIGNUM | BIGNUM | held | as HUGEINT, up to a thousand digits |
| UTINYINT | UTINYINT | held | as TINYINT, not negative |
| USMALLINT | USMALLINT | held | as UTINYINT |
| UINTEGER | UINTEGER | held | as UTINYINT |
| UBIGINT | UBIGINT | held | as UTINYINT |
| UHUGEINT | UHUGEINT | held | as HUGEINT, 0 to 2**128-1 |
| FLOAT | FLOAT | held | decimals whose shortest 32-bit float text is the same number |
| DOUBLE | DOUBLE | held | decimals whose shortest double text is the same number |
| DECIMAL | DECIMAL(10,2) | held | at most p-s digits before the point and s after |
| DATE | DATE | held | ISO YYYY-MM-DD, a real day, years 1000 to 9999 |
| TIMESTAMP | TIMESTAMP | held | ISO YYYY-MM-DD HH:MM:SS[.ffffff], years 1000 to 9999 |
| TIMESTAMP_S | TIMESTAMP_S | held | as TIMESTAMP, whole seconds |
| TIMESTAMP_MS | TIMESTAMP_MS | held | as TIMESTAMP, at most 3 digits after the second |
| TIMESTAMP_NS | TIMESTAMP_NS | held | as TIMESTAMP, at most 9 digits, from 1677-09-22 to 2262-04-11 |
| TIMESTAMP WITH TIME ZONE | TIMESTAMPTZ | held | ISO [.ffffff] with an explicit offset +HH or +HH:MM (no session time zone decides) |
| TIME | TIME | held | HH:MM:SS[.ffffff], no trailing zeros in the fraction |
| TIME_NS | TIME_NS | held | as TIME, 9 digits of a second |
| VARCHAR | VARCHAR(3) | held | any text (DuckDB keeps no length) |
| VARCHAR | JSON | held | valid JSON (no NaN), kept as written |
| UUID | UUID | held | 8-4-4-4-12 lower-case hex (DuckDB prints lower case) |
| BLOB | BLOB | held | ASCII text without a backslash (stored as its bytes) |
| BIT | BIT | held | 0s and 1s |
| ENUM | ENUM('red', 'Green', 'it''s') | held | one of the members, byte for byte |
| INTERVAL | INTERVAL | held | as DuckDB prints it (1 year 2 months 3 days 04:05:06.5), no other spelling |
| TIME WITH TIME ZONE | TIMETZ | held | as TIME with an offset +HH[:MM] up to 15:59, as DuckDB prints it (not +02:00, not -00) |
| TIMESTAMPTZ_NS | TIMESTAMPTZ_NS | refused | nanoseconds and zones not checked |
| LIST | VARCHAR[] | refused | nested values parsed by DuckDB's rules |
| ARRAY | INTEGER[3] | refused | as LIST |
| STRUCT | STRUCT(x INTEGER) | refused | as LIST |
| MAP | MAP(VARCHAR, INTEGER) | refused | as LIST |
| UNION | UNION(x INTEGER, y VARCHAR) | refused | as LIST |
| VARIANT | VARIANT | refused | a value of any type, read by DuckDB's rules |
| GEOMETRY | GEOMETRY | refused | parsed by the spatial rules |
| NULL, TUPLE, TYPE | - | no column | not a type a table's column has |
"""  # noqa: E501


def _duckdb_catalogue() -> list[tuple[str, str, str]]:
    """(logical type, column spelled, rule) of each row."""
    rows = []
    for line in DUCKDB_CATALOGUE.strip().splitlines()[2:]:
        logical, spelled, rule, _ = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((logical, spelled, rule))
    return rows


DUCKDB_RULES = _duckdb_catalogue()


@pytest.fixture
def duck(tmp_path: Path) -> Database:
    return Database("duckdb", f"duckdb:///{tmp_path / 'test.duckdb'}")


def _duck_read(database: Database, sql: str) -> list[tuple[Any, ...]]:
    """Rows through the duckdb module itself (not the importer), in UTC."""
    path = database.url.removeprefix("duckdb:///")
    with contextlib.closing(duckdb.connect(path)) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return [tuple(row) for row in conn.execute(sql).fetchall()]


def test_the_duckdb_catalogue_is_every_built_in_type():
    with contextlib.closing(duckdb.connect()) as conn:
        found = {
            name
            for (name,) in conn.execute(
                "SELECT DISTINCT logical_type FROM duckdb_types() WHERE internal AND schema_name = 'main'"
            ).fetchall()
        }
    listed = set()
    for logical, _, _ in DUCKDB_RULES:
        listed |= set(logical.split(", "))
    assert found == listed


def test_each_duckdb_type_is_held_or_refused_as_the_catalogue_says(duck):
    backend = duck.backend
    try:
        for _logical, spelled, rule in DUCKDB_RULES:
            if rule == "no column":
                continue
            duck.execute('DROP TABLE IF EXISTS "t"')
            duck.execute(f'CREATE TABLE "t" (k INTEGER, v {spelled})')
            if rule == "held":
                assert set(backend.types.existing_types("t")) == {"k", "v"}, spelled
            else:
                with pytest.raises(SchemaError) as refused:
                    backend.types.existing_types("t")
                message = str(refused.value)
                assert "column 'v' has type " in message, spelled
                assert "SCHEMA_FILE" in message, spelled
                assert "SRC_COLUMNS" in message, spelled
    finally:
        backend.dispose()


# (column type, [(value, its text read back as CAST(v AS VARCHAR), or None: a rejected row)])
DUCKDB_CASES: list[tuple[str, list[tuple[str, str | None]]]] = [
    ("BOOLEAN", [("yes", "true"), ("F", "false"), ("maybe", None)]),
    ("TINYINT", [("127", "127"), ("-128", "-128"), ("128", None), ("007", None), ("+1", None)]),
    ("UTINYINT", [("255", "255"), ("256", None), ("-1", None)]),
    ("USMALLINT", [("65535", "65535"), ("65536", None)]),
    ("UINTEGER", [("4294967295", "4294967295"), ("4294967296", None)]),
    (
        "UBIGINT",
        [("18446744073709551615", "18446744073709551615"), ("18446744073709551616", None), ("-0", None)],
    ),
    (
        "HUGEINT",
        [
            ("-9223372036854775808", "-9223372036854775808"),
            ("-170141183460469231731687303715884105728", "-170141183460469231731687303715884105728"),
            ("170141183460469231731687303715884105728", None),
            ("1e3", None),
        ],
    ),
    (
        "UHUGEINT",
        [
            ("12", "12"),
            ("340282366920938463463374607431768211455", "340282366920938463463374607431768211455"),
            ("-12", None),
        ],
    ),
    ("BIGNUM", [("123", "123"), ("1.5", None)]),
    ("FLOAT", [("0.1", "0.1"), ("1.5", "1.5"), ("0.1234567891", None), ("16777217", None)]),
    ("DOUBLE", [("0.1", "0.1"), ("1e300", "1e+300"), ("1234567890123456.7", None), ("NaN", None)]),
    (
        "DECIMAL(10,2)",
        [("12345678.91", "12345678.91"), ("1.5", "1.50"), ("1.005", None), ("123456789", None)],
    ),
    (
        "DECIMAL(38,5)",
        [("123456789012345678901234567890123.12345", "123456789012345678901234567890123.12345")],
    ),
    ("DATE", [("2021-02-28", "2021-02-28"), ("2021-02-29", None), ("0999-01-01", None)]),
    (
        "TIMESTAMP",
        [
            ("2021-01-01 12:00:00", "2021-01-01 12:00:00"),
            ("2021-01-01 12:00:00.5", "2021-01-01 12:00:00.5"),  # microseconds are held
            ("2021-01-01 12:00:00.1234567", None),
        ],
    ),
    ("TIMESTAMP_S", [("2021-01-01 12:00:01", "2021-01-01 12:00:01"), ("2021-01-01T12:00:01", None)]),
    (
        "TIMESTAMP_MS",
        [
            ("2021-01-01 12:00:02", "2021-01-01 12:00:02"),
            ("2021-01-01 12:00:02.125", "2021-01-01 12:00:02.125"),
        ],
    ),
    ("TIMESTAMP_NS", [("2262-04-10 00:00:00", "2262-04-10 00:00:00"), ("2263-01-01 00:00:00", None)]),
    (
        "TIMESTAMPTZ",
        [
            ("2021-01-01 12:00:00+02", "2021-01-01 10:00:00+00"),
            ("2021-01-01 12:00:00-05:30", "2021-01-01 17:30:00+00"),
            ("2021-01-01 12:00:00", None),
            ("2021-02-30 12:00:00+00", None),
            ("now", None),
        ],
    ),
    (
        "TIME",
        [
            ("12:30:00", "12:30:00"),
            ("23:59:59.123456", "23:59:59.123456"),
            ("12:00:00.50", None),
            ("12:00:00.1234567", None),
            ("24:00:00", None),
        ],
    ),
    ("TIME_NS", [("12:00:00.123456789", "12:00:00.123456789"), ("12:00:00.1234567891", None)]),
    ("VARCHAR(3)", [("abcdef", "abcdef"), (" é\t", " é\t"), ("a\x00b", "a\x00b")]),
    (
        "JSON",
        [
            ('{"b": 1,  "a": [2.50]}', '{"b": 1,  "a": [2.50]}'),
            ('"\\u00e9\\ud83d\\ude00"', '"\\u00e9\\ud83d\\ude00"'),
            ("NaN", None),
            ("{a:1}", None),
            ('"\\ud800"', None),
            ("[" * 5000 + "]" * 5000, None),
        ],
    ),
    (
        "UUID",
        [
            ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            ("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", None),
            ("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", None),
        ],
    ),
    ("BLOB", [("abc", "abc"), ("\\x41", None), ("é", None)]),
    ("BIT", [("0101", "0101"), ("012", None)]),
    (
        "ENUM('red', 'Green', 'it''s', '50%', 'a?b $1')",
        [
            ("Green", "Green"),
            ("it's", "it's"),
            ("50%", "50%"),
            ("a?b $1", "a?b $1"),
            ("green", None),
            ("red ", None),
        ],
    ),
]
DUCKDB_NUMBERS = {"FLOAT", "DOUBLE", "DECIMAL(10,2)", "DECIMAL(38,5)"}


def _columns(cases: list[tuple[str, list[tuple[str, str | None]]]]) -> list[str]:
    """A column per case, named c0, c1, ... (the types have quotes and commas)."""
    return [f"c{i}" for i in range(len(cases))]


def _rows(
    cases: list[tuple[str, list[tuple[str, str | None]]]],
) -> tuple[list[list[str]], dict[int, tuple[int, str, str | None]]]:
    """One row per value (the other columns empty); each key's (case, value, expected)."""
    return one_value_per_row([values for _, values in cases])


def _check_rejects(report: Any, text: str, expected: dict[int, tuple[int, str, str | None]]) -> None:
    """Exactly the values expected to be rejected are, each with its file, line, reason and text."""
    lines = text.splitlines()
    rejected = {k for k, v in expected.items() if v[2] is None}
    assert sorted(r.line - 1 for r in report.rejects) == sorted(rejected)
    for reject in report.rejects:
        position, value, _ = expected[reject.line - 1]
        assert reject.file == "a.csv"
        assert reject.text == lines[reject.line - 1]
        assert reject.reason.startswith(f"column 'c{position}': {value[:20]!r}"[:-1]), reject.reason
        assert " is not " in reject.reason


def test_append_onto_every_held_duckdb_type_loads_exact_values_and_rejects_the_rest(duck, tmp_path):
    columns = _columns(DUCKDB_CASES)
    definitions = ", ".join(f"{c} {sql}" for c, (sql, _) in zip(columns, DUCKDB_CASES, strict=True))
    duck.execute(f'CREATE TABLE "t" (k INTEGER, {definitions})')
    duck.execute('INSERT INTO "t" (k) VALUES (0)')
    rows, expected = _rows(DUCKDB_CASES)
    text = _csv(["k", *columns], rows)
    write(tmp_path / "src", "a.csv", text)
    report = load(tmp_path / "src", duck, "t", if_exists="append", max_errors=1000)
    assert report.error is None, report.error
    _check_rejects(report, text, expected)
    for position, column in enumerate(columns):
        found = dict(
            _duck_read(duck, f'SELECT k, CAST({column} AS VARCHAR) FROM "t" WHERE {column} IS NOT NULL')
        )
        wanted: dict[int, Any]  # text, or the numbers it stands for
        wanted = {k: v[2] for k, v in expected.items() if v[0] == position and v[2] is not None}
        if DUCKDB_CASES[position][0] in DUCKDB_NUMBERS:
            found = {k: Decimal(v) for k, v in found.items()}
            wanted = {k: Decimal(v) for k, v in wanted.items()}
        assert found == wanted, DUCKDB_CASES[position][0]
    kept = len(expected) - sum(1 for v in expected.values() if v[2] is None)
    assert _duck_read(duck, 'SELECT count(*) FROM "t"') == [(1 + kept,)]


@pytest.mark.parametrize("spelled", [s for _, s, rule in DUCKDB_RULES if rule == "refused"])
def test_a_refused_duckdb_type_is_exit_4_with_the_table_as_it_was(duck, tmp_path, cli, spelled):
    duck.execute(f'CREATE TABLE "t" (k INTEGER, v {spelled})')
    duck.execute('INSERT INTO "t" (k) VALUES (1)')
    write(tmp_path / "src", "a.csv", "k,v\n2,\n")
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": duck.url, "DEST_TABLE": "t"}
    code, _out, err = cli([], {**env, "IF_EXISTS": "append"})
    assert code == 4, err
    assert "column 'v' has type " in err
    assert "nothing was loaded" in err.lower()
    assert _duck_read(duck, 'SELECT k FROM "t"') == [(1,)]


@pytest.mark.parametrize("if_exists", ["merge", "delete_rows"])
def test_merge_and_delete_rows_onto_a_refused_duckdb_type_are_exit_4(duck, tmp_path, cli, if_exists):
    duck.execute('CREATE TABLE "t" (k INTEGER PRIMARY KEY, v VARCHAR[])')
    duck.execute("INSERT INTO \"t\" VALUES (1, ['a'])")
    write(tmp_path / "src", "a.csv", "k,v\n1,\n2,\n")
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": duck.url, "DEST_TABLE": "t"}
    code, _out, err = cli([], {**env, "IF_EXISTS": if_exists, "PRIMARY_KEY": "k"})
    assert code == 4, err
    assert "column 'v' has type VARCHAR[]" in err
    assert _duck_read(duck, 'SELECT k, v FROM "t"') == [(1, ["a"])]


def test_a_type_from_an_extension_is_refused():
    """Types the catalogue does not list (an extension's) are refused, never taken for text."""
    held = duckdb_column_type("INET", lambda: ())
    assert held == "a type from an extension or a user-defined type, which the importer cannot check"


def test_a_generated_duckdb_column_is_exit_4(duck, tmp_path, cli):
    duck.execute('CREATE TABLE "t" (k INTEGER, v INTEGER GENERATED ALWAYS AS (k + 1))')
    duck.execute('INSERT INTO "t" (k) VALUES (1)')
    write(tmp_path / "src", "a.csv", "k,v\n2,3\n")
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": duck.url, "DEST_TABLE": "t"}
    code, _out, err = cli([], {**env, "IF_EXISTS": "append"})
    assert code == 4, err
    assert "column 'v' has type INTEGER" in err
    assert "GENERATED ALWAYS" in err
    assert _duck_read(duck, 'SELECT k, v FROM "t"') == [(1, 2)]


DUCKDB_MERGED = ["UUID", "TIMESTAMPTZ", "ENUM('red', 'Green')", "JSON", "DECIMAL(10,2)"]


@pytest.mark.parametrize("if_exists", ["merge", "delete_rows"])
@pytest.mark.parametrize("key", ["k", "u"])
def test_merge_and_delete_rows_onto_duckdb_types(duck, tmp_path, if_exists, key):
    definitions = ", ".join(f"c{i} {sql}" for i, sql in enumerate(DUCKDB_MERGED))
    duck.execute(f'CREATE TABLE "t" (k INTEGER, u UUID, {definitions}, PRIMARY KEY ({key}))')
    duck.execute(
        "INSERT INTO \"t\" VALUES (1, '00000000-0000-0000-0000-000000000001', "
        "'00000000-0000-0000-0000-000000000000', '2020-01-01 00:00:00+00', 'red', '{}', 1), "
        "(9, '00000000-0000-0000-0000-000000000009', NULL, NULL, NULL, NULL, NULL)"
    )
    header = ["k", "u", *(f"c{i}" for i in range(len(DUCKDB_MERGED)))]
    rows = [
        ["1", "00000000-0000-0000-0000-000000000001", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
         "2021-01-01 12:00:00+02", "Green", '{"a": 1}', "1.25"],
        ["2", "00000000-0000-0000-0000-000000000002", "", "2021-01-01 12:00:00", "", "", ""],  # no offset
        ["3", "00000000-0000-0000-0000-000000000003", "", "", "GREEN", "", "1.255"],
    ]  # fmt: skip
    write(tmp_path / "src", "a.csv", _csv(header, rows))
    report = load(tmp_path / "src", duck, "t", if_exists=if_exists, primary_key=(key,), max_errors=10)
    assert report.error is None, report.error
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [
        (3, "column 'c1'"),
        (4, "column 'c2'"),
    ]
    select = ", ".join(f"CAST(c{i} AS VARCHAR)" for i in range(len(DUCKDB_MERGED)))
    found = _duck_read(duck, f'SELECT k, {select} FROM "t" ORDER BY k')
    new = [(1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "2021-01-01 10:00:00+00", "Green", '{"a": 1}', "1.25")]
    kept = [(9, None, None, None, None, None)] if if_exists == "merge" else []
    assert found == new + kept


# Every spelling SQLite's affinity rules tell apart (datatype3.html, 3.1 and 3.1.1's examples,
# and the words that reach a rule of their own): (declared type, affinity, [(value, typeof, the
# stored value as Python reads it, or None: a rejected row)]).
SQLITE_CASES: list[tuple[str, str, list[tuple[str, str | None, object]]]] = [
    ("INT", "integer", [("7", "integer", 7), ("007", None, None), ("1.5", None, None)]),
    (
        "INTEGER",
        "integer",
        [("-9223372036854775808", "integer", -(2**63)), ("9223372036854775808", None, None)],
    ),
    ("TINYINT", "integer", [("300", "integer", 300), ("+1", None, None)]),
    ("UNSIGNED BIG INT", "integer", [("9223372036854775807", "integer", 2**63 - 1), ("1e3", None, None)]),
    ("INT8", "integer", [("-5", "integer", -5), ("-0", None, None)]),
    ("FLOATING POINT", "integer", [("12", "integer", 12), ("1.5", None, None)]),  # "INT" comes first
    (
        "CHARACTER(20)",
        "text",
        [("007", "text", "007"), ("1.50", "text", "1.50"), ("x" * 30, "text", "x" * 30)],
    ),
    ("VARCHAR(3)", "text", [("1e3", "text", "1e3"), ("  é ", "text", "  é ")]),
    ("NATIVE CHARACTER(70)", "text", [("+5", "text", "+5")]),
    ("CLOB", "text", [("-0", "text", "-0")]),
    ("TEXT", "text", [("0x10", "text", "0x10"), ("a\x00b", "text", "a\x00b")]),
    ("BLOB", "blob", [("007", "text", "007"), ("1.50", "text", "1.50")]),
    ("", "blob", [("00123", "text", "00123")]),
    ("REAL", "real", [("1.5", "real", 1.5), ("1", "real", 1.0), ("0.1", "real", 0.1), ("007", None, None)]),
    ("DOUBLE PRECISION", "real", [("1e300", "real", 1e300), ("1234567890123456.7", None, None)]),
    ("FLOAT", "real", [("-2.25", "real", -2.25), ("NaN", None, None), ("-0", None, None)]),
    (
        "NUMERIC",
        "numeric",
        [("1.50", "real", 1.5), ("7", "integer", 7), ("1e3", "integer", 1000), ("007", None, None)],
    ),
    (
        "DECIMAL(10,2)",
        "numeric",
        [("1.25", "real", 1.25), ("0.1", "real", 0.1), ("12345678901234567890", None, None)],
    ),
    ("BOOLEAN", "numeric", [("yes", "integer", 1), ("F", "integer", 0), ("maybe", None, None)]),
    (
        "DATE",
        "numeric",
        [("2021-02-28", "text", "2021-02-28"), ("2021-02-29", None, None), ("20210228", None, None)],
    ),
    (
        "DATETIME",
        "numeric",
        [("2021-02-28 12:00:00", "text", "2021-02-28 12:00:00"), ("2021-02-28", None, None)],
    ),
    ("TIMESTAMP", "numeric", [("2021-02-28 23:59:59", "text", "2021-02-28 23:59:59"), ("12", None, None)]),
    ("STRING", "numeric", [("abc", "text", "abc"), ("12abc", "text", "12abc"), ("12", None, None)]),
    ("JSON", "numeric", [('{"a": 1}', "text", '{"a": 1}'), ("1.5", None, None), (" 0x10", "text", " 0x10")]),
    ("TIME", "numeric", [("12:30:00", "text", "12:30:00"), ("1230", None, None)]),
    ("ANY", "numeric", [("inf", "text", "inf"), ("1e5", None, None)]),
]


@pytest.fixture
def lite(tmp_path: Path) -> Database:
    return Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")


def _lite_read(database: Database, sql: str) -> list[tuple[Any, ...]]:
    """Rows through the sqlite3 module itself (not the importer)."""
    path = database.url.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


def test_the_sqlite_cases_have_the_affinity_sqlite_gives_them(lite):
    """SQLite is the oracle of the affinities: what each column stores for the text '1.50' and
    the integer 3 (INTEGER and NUMERIC affinity store alike; they differ only in CAST)."""
    definitions = ", ".join(f'"c{i}" {sql}' for i, (sql, _, _) in enumerate(SQLITE_CASES))
    lite.execute(f'CREATE TABLE "t" ({definitions})')
    columns = ", ".join(f'"c{i}"' for i in range(len(SQLITE_CASES)))
    for value in ("'1.50'", "3"):
        lite.execute(f'INSERT INTO "t" ({columns}) VALUES ({", ".join([value] * len(SQLITE_CASES))})')
    types = ", ".join(f"typeof(c{i})" for i in range(len(SQLITE_CASES)))
    text, integer = _lite_read(lite, f'SELECT {types} FROM "t" ORDER BY rowid')
    behaviour = {
        ("text", "text"): "text",
        ("text", "integer"): "blob",
        ("real", "real"): "real",
        ("real", "integer"): "integer or numeric",
    }
    found = [behaviour[pair] for pair in zip(text, integer, strict=True)]
    wanted = [a if a in ("text", "blob", "real") else "integer or numeric" for _, a, _ in SQLITE_CASES]
    assert found == wanted


@pytest.mark.parametrize("workers", [1, 2])
def test_append_onto_every_sqlite_affinity_stores_exact_values_and_rejects_the_rest(lite, tmp_path, workers):
    """Through both write paths (the run's own sqlite3, ADBC in worker processes)."""
    definitions = ", ".join(f'"c{i}" {sql}' for i, (sql, _, _) in enumerate(SQLITE_CASES))
    lite.execute(f'CREATE TABLE "t" (k INTEGER, {definitions})')
    lite.execute('INSERT INTO "t" (k) VALUES (0)')
    cases = [(sql, [(value, typeof) for value, typeof, _ in values]) for sql, _, values in SQLITE_CASES]
    rows, expected = _rows(cases)
    columns = _columns(cases)
    text = _csv(["k", *columns], rows)
    write(tmp_path / "src", "a.csv", text)
    report = load(tmp_path / "src", lite, "t", if_exists="append", max_errors=1000, workers=workers)
    assert report.error is None, report.error
    _check_rejects(report, text, expected)
    for position, column in enumerate(columns):
        stored = _lite_read(
            lite, f'SELECT k, typeof("{column}"), "{column}" FROM "t" WHERE "{column}" IS NOT NULL'
        )
        values = {v: (typeof, held) for v, typeof, held in SQLITE_CASES[position][2] if typeof is not None}
        wanted = {k: values[v[1]] for k, v in expected.items() if v[0] == position and v[2] is not None}
        found = {k: (typeof, value) for k, typeof, value in stored}
        assert {k: t for k, (t, _) in found.items()} == {k: t for k, (t, _) in wanted.items()}, column
        for k, (typeof, value) in found.items():
            held = wanted[k][1]
            if typeof == "text":  # byte for byte
                assert isinstance(held, str), column
                assert value.encode() == held.encode(), column
            elif SQLITE_CASES[position][0] == "BOOLEAN":  # SQLite's booleans are 1 and 0
                assert value == held, column
            else:  # the number the CSV wrote, compared as decimals
                assert Decimal(repr(value)) == Decimal(expected[k][1]), column
                assert value == held, column
    kept = len(expected) - sum(1 for v in expected.values() if v[2] is None)
    assert _lite_read(lite, 'SELECT count(*) FROM "t"') == [(1 + kept,)]


def test_a_strict_sqlite_table_keeps_text_in_any_and_its_values_exactly(lite, tmp_path):
    lite.execute('CREATE TABLE "t" (k INTEGER, i INT, r REAL, s TEXT, a ANY) STRICT')
    rows = [["1", "7", "1.5", "007", "007"], ["2", "1.5", "", "", "1.50"], ["3", "", "x", "", " 1e3"]]
    text = _csv(["k", "i", "r", "s", "a"], rows)
    write(tmp_path / "src", "a.csv", text)
    report = load(tmp_path / "src", lite, "t", if_exists="append", max_errors=10)
    assert report.error is None, report.error
    assert [(r.line, r.text, r.reason.split(":")[0]) for r in report.rejects] == [
        (3, "2,1.5,,,1.50", "column 'i'"),
        (4, "3,,x,, 1e3", "column 'r'"),
    ]
    stored = _lite_read(lite, 'SELECT k, typeof(i), i, typeof(r), r, typeof(s), s, typeof(a), a FROM "t"')
    assert stored == [(1, "integer", 7, "real", 1.5, "text", "007", "text", "007")]


@pytest.mark.parametrize("if_exists", ["append", "merge", "delete_rows"])
def test_a_strict_sqlite_blob_column_is_exit_4_with_the_table_as_it_was(lite, tmp_path, cli, if_exists):
    lite.execute('CREATE TABLE "t" (k INTEGER PRIMARY KEY, v BLOB) STRICT')
    lite.execute("INSERT INTO \"t\" VALUES (1, x'00')")
    write(tmp_path / "src", "a.csv", "k,v\n1,abc\n2,\n")
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": lite.url, "DEST_TABLE": "t"}
    code, _out, err = cli([], {**env, "IF_EXISTS": if_exists, "PRIMARY_KEY": "k"})
    assert code == 4, err
    assert "column 'v' has type BLOB in a STRICT table" in err
    assert "SCHEMA_FILE" in err
    assert _lite_read(lite, 'SELECT k, v FROM "t"') == [(1, b"\x00")]


# Text SQLite's NUMERIC affinity might take for a number; each must stay as it is, or be rejected.
NUMBER_LIKE = [
    " 12 ",
    "1e5",
    ".5",
    "5.",
    "+5",
    "-0",
    "inf",
    "Infinity",
    "NaN",
    "0x10",
    "1_000",
    "\u0661\u0662",
]
NUMBER_LIKE += ["12abc", "\t12", "1e", "e5", "-.5e-3", "--5", "1.5.", "\x0c12", "\x0b12", "\u00a012", "1e999"]
NUMBER_LIKE += ["-", ".", "0012", "1.0", "12\x00", "1e+", "1E-2", " .5 ", "12\r", "١"]


def test_numeric_affinity_text_is_stored_as_written_or_rejected(lite, tmp_path):
    """SQLite itself is the oracle: what a STRING column stores is the text byte for byte."""
    lite.execute('CREATE TABLE "t" (k INTEGER, v STRING)')
    rows = [[str(k), value] for k, value in enumerate(NUMBER_LIKE, start=1)]
    write(tmp_path / "src", "a.csv", _csv(["k", "v"], rows))
    report = load(tmp_path / "src", lite, "t", if_exists="append", max_errors=1000, src_delimiter=",")
    assert report.error is None, report.error
    stored = _lite_read(lite, 'SELECT k, typeof(v), v FROM "t"')
    assert {k: (t, v.encode()) for k, t, v in stored} == {
        k: ("text", NUMBER_LIKE[k - 1].encode()) for k, _, _ in stored
    }
    assert {"12abc", "inf", "0x10", "1e", "12\x00"} <= {v for _, _, v in stored}
    rejected = {NUMBER_LIKE[r.line - 2] for r in report.rejects}
    assert {" 12 ", "1e5", ".5", "5.", "+5", "1.0", "0012", "\t12", "1e999"} <= rejected


SQLITE_MERGED = ["NUMERIC", "DATE", "BOOLEAN", "VARCHAR(2)", ""]


@pytest.mark.parametrize("if_exists", ["merge", "delete_rows"])
def test_merge_and_delete_rows_onto_sqlite_affinities(lite, tmp_path, if_exists):
    definitions = ", ".join(f'"c{i}" {sql}' for i, sql in enumerate(SQLITE_MERGED))
    lite.execute(f'CREATE TABLE "t" (k INTEGER PRIMARY KEY, {definitions})')
    lite.execute(
        "INSERT INTO \"t\" VALUES (1, 9, '2000-01-01', 0, 'old', 'old'), (9, NULL, NULL, NULL, NULL, NULL)"
    )
    header = ["k", *(f"c{i}" for i in range(len(SQLITE_MERGED)))]
    rows = [["1", "1.50", "2021-01-01", "true", "007", "1.50"], ["2", "007", "", "", "", ""]]
    write(tmp_path / "src", "a.csv", _csv(header, rows))
    report = load(tmp_path / "src", lite, "t", if_exists=if_exists, primary_key=("k",), max_errors=10)
    assert report.error is None, report.error
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [(3, "column 'c0'")]
    select = ", ".join(f"typeof(c{i}), c{i}" for i in range(len(SQLITE_MERGED)))
    found = _lite_read(lite, f'SELECT k, {select} FROM "t" ORDER BY k')
    new = [(1, "real", 1.5, "text", "2021-01-01", "integer", 1, "text", "007", "text", "1.50")]
    kept = [(9, *["null", None] * len(SQLITE_MERGED))] if if_exists == "merge" else []
    assert found == new + kept


@pytest.mark.parametrize("if_exists", ["append", "merge", "delete_rows"])
def test_a_named_duckdb_enum_type_takes_its_members(duck, tmp_path, if_exists):
    """A type made with CREATE TYPE is the catalogue's ENUM(...) in duckdb_columns()."""
    duck.execute("CREATE TYPE mood AS ENUM ('ok', 'sad', 'meh')")
    duck.execute('CREATE TABLE "t" (k mood PRIMARY KEY, v INTEGER)')
    duck.execute("INSERT INTO \"t\" VALUES ('meh', 1), ('sad', 0)")
    write(
        tmp_path / "src",
        "a.csv",
        "k,v\nok,2\nsad,3\nOK,4\n" if if_exists != "append" else "k,v\nok,2\nOK,4\n",
    )
    report = load(tmp_path / "src", duck, "t", if_exists=if_exists, primary_key=("k",), max_errors=5)
    assert report.error is None, report.error
    assert [r.text for r in report.rejects] == ["OK,4"]
    found = _duck_read(duck, 'SELECT CAST(k AS VARCHAR), v FROM "t" ORDER BY v')
    wanted = {
        "append": [("sad", 0), ("meh", 1), ("ok", 2)],
        "merge": [("meh", 1), ("ok", 2), ("sad", 3)],
        "delete_rows": [("ok", 2), ("sad", 3)],
    }
    assert found == wanted[if_exists]
