"""Every built-in column type of MariaDB 10.11, appended onto: held exactly, or refused up front.

The catalogue below is MariaDB 10.11's list of data types (mariadb.com/kb "Data Types": numeric,
string, date and time, spatial, and the 10.7+ UUID/INET4/INET6; MySQL's JSON is its own
type, MariaDB's an alias of LONGTEXT with a ``json_valid`` CHECK), with each character set class
(Unicode: utf8mb4, utf8mb3, ucs2, utf16, utf32; single-byte: every one the server has, in a test
of its own; multi-byte legacy: sjis, big5).  Each type gets values it must take and values it
must reject; the table is appended in one run, and every value is read back with plain SQL
through the driver (HEX of its bytes, CAST(... AS CHAR) compared as Decimal or as text,
UNIX_TIMESTAMP for instants), never through the importer.  Aliases (BOOL, INT1, MIDDLEINT,
NUMERIC, FIXED, REAL, DOUBLE PRECISION, LONG VARCHAR, NATIONAL CHAR, NVARCHAR, CHARACTER VARYING,
SERIAL) are stored as the types below, whose names information_schema reports; the aliases in
the catalogue show it.

| type (DDL)                     | goes in (byte or number exact)       | a rejected row                |
|--------------------------------|--------------------------------------|-------------------------------|
| TINYINT..BIGINT [UNSIGNED]     | integers in range, plainly written   | out of range, `+5`, `007`     |
|                                | (BIGINT UNSIGNED to 2**64-1)         |                               |
| BOOL (TINYINT(1)), ZEROFILL    | integers (ZEROFILL pads when shown)  | `true`                        |
| DECIMAL(M,D) [UNSIGNED]        | <= M-D digits before the point, <= D | more digits, `-0`, negatives  |
| FLOAT                          | float32 values of <= 6 digits        | `1234567` (shown `1234570`)   |
| DOUBLE, REAL                   | what a double gives back             | `0.1000000000000000055511...` |
| FLOAT(M,D), DOUBLE(M,D)        | <= D decimals, <= M-D digits, exact  | `1.0005` (`1.000`), `1.555`   |
| BIT(n)                         | integers 0 .. 2**n-1                 | `2**n`, `-1`, `b'1'`          |
| YEAR                           | 1901 .. 2155                         | `0`, `24`, `0000`, `1900`     |
| DATE                           | real ISO dates, years 1000..9999     | `2021-02-30`, `0000-00-00`    |
| DATETIME(fsp)                  | `YYYY-MM-DD HH:MM:SS[.f]`, <= fsp    | more decimals, `2021-02-30`   |
|                                | decimals                             |                               |
| TIMESTAMP(fsp)                 | the same, 1970-01-01 00:00:01 ..     | outside the range             |
|                                | 2038-01-19 03:14:07, taken as UTC    |                               |
| TIME(fsp)                      | `[-]HH:MM:SS[.f]` as the server      | `1:02:03`, `839:00:00`,       |
|                                | prints it                            | `-00:00:00`                   |
| CHAR(n), each charset          | the set's characters, no trailing    | `ab `, characters outside     |
|                                | spaces                               | the set                       |
| VARCHAR(n), *TEXT, each charset| the set's characters                 | longer, outside the set       |
| BINARY, VARBINARY, *BLOB       | the text's UTF-8 bytes (BINARY(n):   | longer; shorter for BINARY    |
|                                | exactly n)                           | (zero padded)                 |
| ENUM                           | a member, byte for byte              | `RED`, `red `, `3` (index)    |
| SET                            | members once each, in their order    | `b,a`, `a,a`, `A`, `a,`       |
| JSON (MariaDB)                 | what json_valid takes, byte exact    | `{a:1}`, `NaN`, 32 levels     |
| UUID, INET4, INET6             | the spelling the server prints       | uppercase, `010.0.0.1`, `::a` |
| GEOMETRY, POINT, ... (spatial) | refused before loading: exit 4       |                               |
| YEAR(2), generated columns     | refused before loading: exit 4       |                               |
| text in sjis, big5, gbk, ...   | refused before loading: exit 4       |                               |
"""

from __future__ import annotations

import calendar
import contextlib
import time
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from conftest import csv_text, load, write

from processor.backends import mysql as mysql_backend

pytestmark = pytest.mark.parametrize("db", ["mariadb"], indirect=True)

TEXT_BYTES = "HEX(CONVERT({v} USING utf8mb4))"
NUMBER = "CAST({v} AS CHAR)"
BITS = "CAST({v} + 0 AS CHAR)"


@dataclass(frozen=True)
class Type:
    """One row of the catalogue: a column type, values it takes (with what reads back) and values
    it rejects.  ``compare``: bytes (the text's UTF-8 bytes), decimal, string (CAST AS CHAR
    exactly), or epoch (UNIX_TIMESTAMP of the text taken as UTC)."""

    ddl: str
    compare: str
    good: tuple[str, ...] = ()
    bad: tuple[str, ...] = ()
    printed: dict[str, str] = field(default_factory=dict)  # compare=string: what the server prints
    expression: str = ""

    @property
    def read(self) -> str:
        return (
            self.expression
            or {
                "bytes": TEXT_BYTES,
                "decimal": NUMBER,
                "string": NUMBER,
                "epoch": "UNIX_TIMESTAMP({v})",
            }[self.compare]
        )


def integers(ddl: str, low: int, high: int) -> Type:
    return Type(ddl, "decimal", (str(low), str(high), "0", "42"), (str(low - 1), str(high + 1), "+5", "007"))


TIMES = ("2021-01-05 10:11:12", "1000-01-01 00:00:00", "9999-12-31 23:59:59", "2021-03-28 01:30:00")
BAD_TIMES = ("2021-02-30 10:00:00", "2021-01-05T10:11:12", "2021-01-05 10:11:12.5", "0000-00-00 00:00:00")
CATALOGUE = {
    "tinyint": integers("TINYINT", -128, 127),
    "tinyint unsigned": integers("TINYINT UNSIGNED", 0, 255),
    "smallint": integers("SMALLINT", -(2**15), 2**15 - 1),
    "smallint unsigned": integers("SMALLINT UNSIGNED", 0, 2**16 - 1),
    "mediumint": integers("MEDIUMINT", -(2**23), 2**23 - 1),
    "mediumint unsigned": integers("MEDIUMINT UNSIGNED", 0, 2**24 - 1),
    "int": integers("INT", -(2**31), 2**31 - 1),
    "int unsigned": integers("INT UNSIGNED", 0, 2**32 - 1),
    "bigint": integers("BIGINT", -(2**63), 2**63 - 1),
    "bigint unsigned": integers("BIGINT UNSIGNED", 0, 2**64 - 1),
    "int zerofill": Type("INT(6) ZEROFILL", "decimal", ("42", "4294967295"), ("-1", "0042")),
    "bool": Type("BOOL", "decimal", ("1", "0", "-128", "127"), ("true", "128")),
    "decimal": Type(
        "DECIMAL(5,2)", "decimal", ("123.45", "-999.99", "1.5", "0", "7.000"), ("1000", "1.555", "-0", "1e2")
    ),
    "decimal unsigned": Type("DECIMAL(5,2) UNSIGNED", "decimal", ("999.99", "0.01"), ("-1", "-0.5")),
    "decimal 65,30": Type("DECIMAL(65,30)", "decimal", ("1234567890" * 3 + "12345." + "1234567890" * 3,)),
    "float": Type(
        "FLOAT",
        "decimal",
        ("1.5", "123456", "0.1", "3.4e38", "-2.5e-7"),
        ("1234567", "0.1234567", "1e39", "-0"),
    ),
    "float unsigned": Type("FLOAT UNSIGNED", "decimal", ("1.5",), ("-1.5",)),
    "double": Type(
        "DOUBLE",
        "decimal",
        ("0.1", "1.2345678901234567", "1e300", "-5"),
        ("0.1000000000000000055511151231257827", "1e400", "NaN", "-0"),
    ),
    "real": Type("REAL", "decimal", ("2.5",), ("inf",)),
    "float(7,3)": Type(
        "FLOAT(7,3)", "decimal", ("1.234", "9999.999", "-1.5", "0.001", "12"), ("1.0005", "1.2345", "10000")
    ),
    "double(10,2)": Type(
        "DOUBLE(10,2)",
        "decimal",
        ("1.55", "12345678.99", "0.29", "100", "1e2"),
        ("1.555", "123456789", "1e-3", "-0"),
    ),
    "double(10,2) unsigned": Type("DOUBLE(10,2) UNSIGNED", "decimal", ("1.5",), ("-1.5",)),
    "bit(1)": Type("BIT(1)", "decimal", ("0", "1"), ("2", "b'1'"), expression=BITS),
    "bit(5)": Type("BIT(5)", "decimal", ("31", "0"), ("32", "-1"), expression=BITS),
    "bit(64)": Type("BIT(64)", "decimal", (str(2**63 - 1), str(2**64 - 1)), (str(2**64),), expression=BITS),
    "year": Type("YEAR", "decimal", ("1901", "2155", "2024"), ("1900", "2156", "0", "24", "0000")),
    "date": Type(
        "DATE",
        "string",
        ("2021-02-28", "1000-01-01", "9999-12-31"),
        ("2021-02-30", "0000-00-00", "21-01-01", "2021-1-5"),
    ),
    "datetime": Type("DATETIME", "string", TIMES, BAD_TIMES),
    "datetime(6)": Type(
        "DATETIME(6)",
        "string",
        ("2021-01-05 10:11:12", "2021-01-05 10:11:12.5", "9999-12-31 23:59:59.999999"),
        ("2021-01-05 10:11:12.1234567", "2021-02-30 10:00:00.1", "2021-01-05 10:11:12.", "2021-01-05 24:00"),
        {
            "2021-01-05 10:11:12": "2021-01-05 10:11:12.000000",
            "2021-01-05 10:11:12.5": "2021-01-05 10:11:12.500000",
        },
    ),
    "timestamp": Type(
        "TIMESTAMP NULL",
        "epoch",
        ("1970-01-01 00:00:01", "2038-01-19 03:14:07", "2021-03-28 01:30:00", "2021-10-31 01:30:00"),
        ("1970-01-01 00:00:00", "2038-01-19 03:14:08", "1969-12-31 23:59:59", "2021-02-30 10:00:00"),
    ),
    "timestamp(3)": Type(
        "TIMESTAMP(3) NULL",
        "epoch",
        ("2000-01-01 00:00:00.5", "2000-01-01 00:00:00", "1970-01-01 00:00:01.001"),
        ("2000-01-01 00:00:00.1234", "1970-01-01 00:00:00.999", "2038-01-19 03:14:08.0", "2000-02-30 00:00"),
    ),
    "time": Type(
        "TIME",
        "string",
        ("12:34:56", "-01:00:00", "838:59:59", "100:00:00", "00:00:00"),
        ("1:02:03", "839:00:00", "-00:00:00", "12:60:00", "12:34:56.5", "12:34"),
    ),
    "time(2)": Type(
        "TIME(2)",
        "string",
        ("12:00:00.5", "-00:00:00.25"),
        ("12:00:00.123", "838:59:59.5"),
        {"12:00:00.5": "12:00:00.50", "-00:00:00.25": "-00:00:00.25"},
    ),
    "char utf8mb4": Type("CHAR(3) CHARACTER SET utf8mb4", "bytes", ("ab", "日本😀", " a"), ("ab ", "abcd")),
    "char latin1": Type("CHAR(3) CHARACTER SET latin1", "bytes", ("ab", "é€", "ÿ"), ("ab ", "a  ", "日")),
    "char ascii": Type("CHAR(3) CHARACTER SET ascii", "bytes", ("ab", "~"), ("ab ", "é")),
    "char utf8mb3": Type("CHAR(3) CHARACTER SET utf8mb3", "bytes", ("ab", "日本"), ("ab ", "😀")),
    "char ucs2": Type("CHAR(3) CHARACTER SET ucs2", "bytes", ("ab", "日本"), ("ab ", "😀")),
    "char utf16": Type("CHAR(3) CHARACTER SET utf16", "bytes", ("ab", "😀😀"), ("ab ",)),
    "char utf32": Type("CHAR(3) CHARACTER SET utf32", "bytes", ("😀",), ("ab ",)),
    "char cp1251": Type("CHAR(3) CHARACTER SET cp1251", "bytes", ("Жж",), ("ab ", "é")),
    "national char": Type("NATIONAL CHAR(2)", "bytes", ("日",), ("😀", "a ")),
    "varchar utf8mb4": Type("VARCHAR(3) CHARACTER SET utf8mb4", "bytes", ("ab ", "😀😀😀"), ("abcd",)),
    "varchar latin1": Type("VARCHAR(3) CHARACTER SET latin1", "bytes", ("ab ", "€"), ("日", "abcd")),
    "varchar ascii": Type("VARCHAR(3) CHARACTER SET ascii", "bytes", ("a\\b",), ("é",)),
    "varchar utf8mb3": Type("VARCHAR(3) CHARACTER SET utf8mb3", "bytes", ("a ",), ("😀",)),
    "tinytext utf8mb4": Type("TINYTEXT", "bytes", ("é" * 127,), ("é" * 128,)),
    "tinytext latin1": Type("TINYTEXT CHARACTER SET latin1", "bytes", ("é" * 255,), ("é" * 256, "日")),
    "tinytext ucs2": Type("TINYTEXT CHARACTER SET ucs2", "bytes", ("a" * 127,), ("a" * 128,)),
    "text": Type("TEXT", "bytes", ('😀 \\N "q" ',), ()),
    "mediumtext utf8mb3": Type("MEDIUMTEXT CHARACTER SET utf8mb3", "bytes", ("日本 ",), ("😀",)),
    "longtext": Type("LONGTEXT", "bytes", ("NULL", "x" * 70000), ()),
    "binary": Type("BINARY(4)", "bytes", ("abcd", "aéc"), ("ab", "abcde"), expression="HEX({v})"),
    "varbinary": Type("VARBINARY(3)", "bytes", ("ab", "é"), ("abcd", "日本"), expression="HEX({v})"),
    "tinyblob": Type("TINYBLOB", "bytes", ("é" * 127,), ("é" * 128,), expression="HEX({v})"),
    "blob": Type("BLOB", "bytes", ("héllo\\",), (), expression="HEX({v})"),
    "enum": Type(
        "ENUM('red','Green','1','2','it''s','a\\\\b','x,y')",
        "bytes",
        ("red", "Green", "1", "2", "it's", "a\\b", "x,y"),
        ("RED", "green", "red ", " red", "3", "0", "x"),
    ),
    "set": Type(
        "SET('a','b','c')", "bytes", ("a", "a,c", "a,b,c", "c"), ("b,a", "a,a", "A", "a,", ",a", "a, b", "d")
    ),
    "json": Type(
        "JSON",
        "bytes",
        ('{"a": 1}', "[1,2]", '"x"', '{"a":1,"a":2}', "[" * 31 + "]" * 31, '"\\ud83d\\ude00"'),
        ("{a:1}", "NaN", "[1,]", "[" * 32 + "]" * 32, '"\\ud800"'),
    ),
    "uuid": Type(
        "UUID",
        "string",
        ("123e4567-e89b-12d3-a456-426655440000",),
        ("123E4567-E89B-12D3-A456-426655440000", "123e4567e89b12d3a456426655440000", "x"),
    ),
    "inet4": Type("INET4", "string", ("10.0.0.1", "255.255.255.255", "0.0.0.0"), ("010.0.0.1", "256.0.0.1")),
    # Aliases MariaDB spells as the types above (information_schema names those).
    "int1": integers("INT1", -128, 127),
    "middleint": integers("MIDDLEINT", -(2**23), 2**23 - 1),
    "numeric": Type("NUMERIC(4,1)", "decimal", ("999.9",), ("1000", "0.05")),
    "fixed": Type("FIXED(3,0)", "decimal", ("-999",), ("1.5",)),
    "double precision": Type("DOUBLE PRECISION", "decimal", ("0.3",), ("0.30000000000000004441",)),
    "long varchar": Type("LONG VARCHAR", "bytes", ("😀",), ()),
    "nvarchar": Type("NVARCHAR(2)", "bytes", ("日本",), ("😀", "abc")),
    "character varying": Type("CHARACTER VARYING(2) CHARACTER SET latin1", "bytes", ("é ",), ("日",)),
    "inet6": Type(
        "INET6",
        "string",
        ("2001:db8::1", "::", "::1", "fe80::1:2", "2001:db8:0:1::1", "1::"),
        ("2001:DB8::1", "2001:db8:0:0:0:0:0:1", "::ffff:1.2.3.4", "::a:b", "fe80::1%eth0", "1.2.3.4"),
    ),
}
REFUSED = [
    "GEOMETRY",
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
    "VARCHAR(3) CHARACTER SET sjis",
    "TEXT CHARACTER SET big5",
    "YEAR(2)",
    "INT AS (k * 2) VIRTUAL",
    "VARCHAR(5) AS (CONCAT('x', k)) PERSISTENT",
]


def plain_rows(db, sql: str) -> list[tuple]:
    """Rows through the driver in a session of the server's defaults (no importer code)."""
    engine = sa.create_engine(db.url, connect_args={"charset": "utf8mb4"})
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def expected(kind: Type, value: str) -> object:
    if kind.compare == "bytes":
        return value.encode().hex().upper()
    if kind.compare == "decimal":
        return Decimal(value)
    if kind.compare == "epoch":
        seconds, _, fraction = value.partition(".")
        return calendar.timegm(time.strptime(seconds, "%Y-%m-%d %H:%M:%S")) + Decimal(f"0.{fraction or 0}")
    return kind.printed.get(value, value)


def read_back(kind: Type, stored: object) -> object:
    if kind.compare in ("decimal", "epoch"):
        return Decimal(str(stored))
    return stored


def test_every_type_takes_what_it_holds_and_rejects_the_rest(db, table, tmp_path):
    names = [f"c{i}" for i in range(len(CATALOGUE))]
    columns = ", ".join(f"{n} {kind.ddl}" for n, kind in zip(names, CATALOGUE.values(), strict=True))
    db.execute(f"CREATE TABLE {table} (k INT NOT NULL, {columns})")
    rows: list[list[str]] = []
    good: dict[int, tuple[int, str]] = {}
    bad: dict[int, tuple[int, str]] = {}
    for i, kind in enumerate(CATALOGUE.values()):
        for value, wanted in ((v, good) for v in kind.good):
            line = len(rows) + 2
            wanted[line] = (i, value)
            rows.append([str(line)] + [value if j == i else "" for j in range(len(names))])
        for value in kind.bad:
            line = len(rows) + 2
            bad[line] = (i, value)
            rows.append([str(line)] + [value if j == i else "" for j in range(len(names))])
    write(tmp_path / "src", "a.csv", csv_text(["k", *names], rows))
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=len(rows))
    assert report.error is None, report.error
    rejected = {r.line: r.reason for r in report.rejects}
    everything = {**good, **bad}
    names_of = list(CATALOGUE)
    wrong = {(names_of[i], v) for line, (i, v) in everything.items() if (line in rejected) != (line in bad)}
    assert wrong == set(), "rejected although held, or taken although not held"
    for line, (i, _value) in bad.items():
        assert rejected[line].startswith(f"column 'c{i}': "), rejected[line]
    reads = ", ".join(kind.read.format(v=n) for n, kind in zip(names, CATALOGUE.values(), strict=True))
    stored = {r[0]: r[1:] for r in plain_rows(db, f"SELECT k, {reads} FROM {table}")}
    assert sorted(stored) == sorted(good)
    differ = {}
    for line, (i, value) in good.items():
        kind = list(CATALOGUE.values())[i]
        got = read_back(kind, stored[line][i])
        if got != expected(kind, value):
            differ[(list(CATALOGUE)[i], value)] = got
        others = [v for j, v in enumerate(stored[line]) if j != i]
        assert others == [None] * len(others)
    assert differ == {}


def test_reasons_name_what_the_column_holds(db, table, tmp_path):
    db.execute(
        f"CREATE TABLE {table} (e ENUM('red','Green'), c CHAR(3) CHARACTER SET latin1, d DOUBLE(10,2), "
        "s SET('a','b'), t TIMESTAMP NULL)"
    )
    write(
        tmp_path / "src",
        "a.csv",
        'e,c,d,s,t\nRED,,,,\n,ab ,,,\n,,1.555,,\n,,,"b,a",\n,,,,1969-12-31 23:59:59\n',
    )
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=10)
    assert report.error is None, report.error
    assert [(r.line, r.reason, r.text) for r in report.rejects] == [
        (2, "column 'e': 'RED' is not one of 'red', 'Green'", "RED,,,,"),
        (
            3,
            "column 'c': 'ab ' is not text of at most 3 characters without trailing spaces (CHAR drops "
            "them) or characters outside latin1",
            ",ab ,,,",
        ),
        (
            4,
            "column 'd': '1.555' is not a number that a float holds exactly with at most 8 digits "
            "before the point and 2 after",
            ",,1.555,,",
        ),
        (
            5,
            "column 's': 'b,a' is not members of 'a', 'b' separated by commas, each once, in this order",
            ',,,"b,a",',
        ),
        (
            6,
            "column 't': '1969-12-31 23:59:59' is not a valid timestamp written YYYY-MM-DD HH:MM:SS "
            "from 1970-01-01 00:00:01 to 2038-01-19 03:14:07",
            ",,,,1969-12-31 23:59:59",
        ),
    ]
    assert plain_rows(db, f"SELECT COUNT(*) FROM {table}") == [(0,)]


@pytest.mark.parametrize("if_exists", ["append", "merge", "delete_rows"])
def test_enum_members_are_byte_exact_on_every_write_onto_a_table(db, table, tmp_path, if_exists):
    db.execute(f"CREATE TABLE {table} (k INT PRIMARY KEY, e ENUM('red','Green') NOT NULL)")
    db.execute(f"INSERT INTO {table} VALUES (0, 'Green')")
    write(tmp_path / "src", "a.csv", "k,e\n1,red\n2,RED\n3,green\n4,red \n5,Green\n")
    key = {"primary_key": ("k",)} if if_exists == "merge" else {}
    report = load(tmp_path / "src", db, table, if_exists=if_exists, max_errors=10, **key)
    assert report.error is None, report.error
    assert [r.line for r in report.rejects] == [3, 4, 5]
    kept = [] if if_exists == "delete_rows" else [(0, "Green")]
    stored = plain_rows(db, f"SELECT k, HEX(e) FROM {table} ORDER BY k")
    assert stored == [(k, v.encode().hex().upper()) for k, v in [*kept, (1, "red"), (5, "Green")]]


@pytest.mark.parametrize("ddl", REFUSED)
def test_a_type_without_a_rule_is_refused_before_loading(db, table, tmp_path, ddl):
    db.execute(f"CREATE TABLE {table} (k INT, g {ddl})")
    db.execute(f"INSERT INTO {table} (k) VALUES (1)")
    write(tmp_path / "src", "a.csv", "k,g\n2,x\n")
    report = load(tmp_path / "src", db, table, if_exists="append")
    assert report.exit_code == 4, report.error
    message = str(report.error)
    assert f"column 'g' of table '{table}' is " in message
    assert ddl.split("(")[0].split(" ")[0] in message.upper()
    assert "SCHEMA_FILE" in message
    assert "SRC_COLUMNS" in message
    assert "nothing was loaded" in message
    assert plain_rows(db, f"SELECT k FROM {table}") == [(1,)]


@pytest.mark.parametrize("if_exists", ["merge", "delete_rows"])
def test_refused_on_merge_and_delete_rows_too(db, table, tmp_path, if_exists):
    db.execute(f"CREATE TABLE {table} (k INT PRIMARY KEY, g POINT)")
    db.execute(f"INSERT INTO {table} (k) VALUES (1)")
    write(tmp_path / "src", "a.csv", "k,g\n2,x\n")
    key = {"primary_key": ("k",)} if if_exists == "merge" else {}
    report = load(tmp_path / "src", db, table, if_exists=if_exists, **key)
    assert report.exit_code == 4, report.error
    assert "column 'g'" in str(report.error)
    assert plain_rows(db, f"SELECT k FROM {table}") == [(1,)]


HOSTILE_SESSION = (
    "SET sql_mode='NO_BACKSLASH_ESCAPES,PAD_CHAR_TO_FULL_LENGTH,ANSI_QUOTES,PIPES_AS_CONCAT', "
    "time_zone='+05:00'"
)
ODD_TEXT = ["hello", "C:\\path\\n", 'say "hi"', "it's", "two\nlines", "\\N", "tab\there"]


@pytest.fixture(params=["load data", "inserts"])
def write_path(request, monkeypatch):
    """Both MariaDB write paths: LOAD DATA LOCAL INFILE, and the INSERTs of a server without it."""
    if request.param == "inserts":
        refusing = mysql_backend.ServerLimits(local_infile=False, max_packet=64 * 1024)
        monkeypatch.setattr(mysql_backend, "_server_limits", lambda conn: refusing)
    return request.param


@pytest.mark.parametrize("rows", [1, len(ODD_TEXT)])
def test_the_session_is_the_importers_whatever_the_url_sets(db, table, tmp_path, write_path, rows):
    url = f"{db.url}{'&' if '?' in db.url else '?'}init_command={quote(HOSTILE_SESSION)}"
    db.execute(
        f"CREATE TABLE {table} (k INT, t TEXT, c CHAR(5), ts TIMESTAMP NULL, n INT AUTO_INCREMENT UNIQUE, "
        "u BIGINT UNSIGNED)"
    )
    values = ODD_TEXT[:rows]
    big = str(2**64 - 1)
    rows_written = [
        [str(i), v, "ab", "2021-03-28 01:30:00", str(i - 1), big] for i, v in enumerate(values, 1)
    ]
    write(tmp_path / "src", "a.csv", csv_text(["k", "t", "c", "ts", "n", "u"], rows_written))
    report = load(tmp_path / "src", db, table, if_exists="append", dest_sql=url)
    assert report.error is None, report.error
    stored = plain_rows(
        db,
        f"SELECT k, HEX(CONVERT(t USING utf8mb4)), HEX(c), UNIX_TIMESTAMP(ts), n, CAST(u AS CHAR) "
        f"FROM {table} ORDER BY k",
    )
    epoch = calendar.timegm(time.strptime("2021-03-28 01:30:00", "%Y-%m-%d %H:%M:%S"))
    assert stored == [
        (i, v.encode().hex().upper(), b"ab".hex().upper(), epoch, i - 1, big) for i, v in enumerate(values, 1)
    ]


def test_the_checks_travel_to_worker_processes(db, table, tmp_path):
    """The checks of an existing table's types (Python functions among them) reach a pool's workers."""
    db.execute(
        f"CREATE TABLE {table} (k INT, e ENUM('red'), j JSON, d DATETIME(6), i INET6, f FLOAT(7,3), t TIME)"
    )
    header = "k,e,j,d,i,f,t\n"
    good = '1,red,"{""a"": 1}",2021-01-05 10:11:12.5,::1,1.5,10:00:00\n'
    write(tmp_path / "src", "a.csv", header + good + "2,RED,,,,,\n")
    write(tmp_path / "src", "b.csv", header + "3,,NaN,,,,\n4,,,2021-02-30 00:00:00.1,,,\n5,,,,::A,1.0005,\n")
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=10, workers=2)
    assert report.error is None, report.error
    rejected = sorted((r.file, r.line) for r in report.rejects)
    assert rejected == [("a.csv", 3), ("b.csv", 2), ("b.csv", 3), ("b.csv", 4)]
    assert plain_rows(
        db, f"SELECT k, e, j, CAST(d AS CHAR), CAST(i AS CHAR), CAST(f AS CHAR), CAST(t AS CHAR) FROM {table}"
    ) == [(1, "red", '{"a": 1}', "2021-01-05 10:11:12.500000", "::1", "1.500", "10:00:00")]


def sampled_numbers(seed: int) -> list[str]:
    """Decimals of 1 to 9 significant digits and 0 to 5 decimals, some with exponents: around the
    limits of FLOAT's 6 printed digits and of (M,D)'s rounding."""
    import random

    rng = random.Random(seed)
    values: set[str] = set()
    while len(values) < 240:
        digits, decimals = rng.randint(1, 9), rng.randint(0, 5)
        number = Decimal(rng.randrange(10 ** (digits - 1), 10**digits)).scaleb(-decimals)
        values.add(str(-number if rng.random() < 0.2 else number))
    values |= {"1.5e3", "2.5e-2", "1e2", "0.5", "0"}
    return sorted(values)


@pytest.mark.parametrize("ddl", ["FLOAT", "FLOAT(7,3)", "DOUBLE(10,2)", "FLOAT(12,4)"])
def test_floats_take_exactly_what_the_server_gives_back(db, table, tmp_path, ddl):
    """Two-sided: every value taken reads back as the same number, and every value rejected,
    written by plain SQL into the same type, would have read back otherwise (or been refused)."""
    db.execute(f"CREATE TABLE {table} (k INT, v {ddl})")
    values = sampled_numbers(len(ddl))
    write(tmp_path / "src", "a.csv", csv_text(["k", "v"], [[str(i), v] for i, v in enumerate(values)]))
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=len(values))
    assert report.error is None, report.error
    rejected = {int(r.text.split(",")[0]) for r in report.rejects}
    stored = dict(plain_rows(db, f"SELECT k, CAST(v AS CHAR) FROM {table}"))
    assert sorted(stored) == sorted(set(range(len(values))) - rejected)
    assert {values[k]: s for k, s in stored.items() if Decimal(s) != Decimal(values[k])} == {}
    scratch = f"{table}_direct"
    db.execute(f"CREATE TABLE {scratch} (k INT, v {ddl})")
    try:
        for k in sorted(rejected):
            with contextlib.suppress(sa.exc.DBAPIError):  # out of range: the server refuses it
                db.execute(f"INSERT INTO {scratch} VALUES ({k}, '{values[k]}')")
        direct = dict(plain_rows(db, f"SELECT k, CAST(v AS CHAR) FROM {scratch}"))
    finally:
        db.drop(scratch)
    assert {values[k]: s for k, s in direct.items() if Decimal(s) == Decimal(values[k])} == {}
    assert 10 < len(rejected) < len(values) - 10  # both sides are exercised


# Characters to try in every single-byte character set: every character of these Python codecs'
# 256 bytes (an oracle of their own, not the server's map), and a few none of them has.
CODECS = [
    "latin1", "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
    "koi8_r", "koi8_u", "mac_roman", "mac_latin2", "cp437", "cp850", "cp852", "cp866", "iso8859_2",
    "iso8859_7", "iso8859_9", "iso8859_13", "tis_620", "hp_roman8",
]  # fmt: skip


def candidate_characters() -> list[str]:
    found = {bytes([b]).decode(codec, errors="ignore") for codec in CODECS for b in range(1, 256)}
    # Line ends are left out: Python's csv module writes a lone \r unquoted, which ends a record.
    return sorted(c for c in found | {"日", "😀", "\u0530", "\ufffd"} if len(c) == 1 and c not in "\r\n")


def test_every_single_byte_character_set_takes_exactly_its_characters(db, table, tmp_path):
    """Two-sided, per character set the server has with one byte per character: each character
    taken reads back as its bytes; each rejected one, written by plain SQL in a non-strict
    session, would have come back as another character (``?``) or not at all."""
    query = "SELECT CHARACTER_SET_NAME FROM information_schema.CHARACTER_SETS WHERE MAXLEN = 1 ORDER BY 1"
    charsets = [cs for (cs,) in plain_rows(db, query) if cs != "binary"]
    assert {"latin1", "ascii", "cp1251", "latin2", "koi8r", "macroman"} <= set(charsets)
    columns = ", ".join(f"c_{cs} VARCHAR(1) CHARACTER SET {cs}" for cs in charsets)
    db.execute(f"CREATE TABLE {table} (k INT, {columns})")
    characters = candidate_characters()
    rows = [[str(len(charsets) * i + j)] + [""] * j + [c] + [""] * (len(charsets) - j - 1)
            for i, c in enumerate(characters) for j in range(len(charsets))]  # fmt: skip
    write(tmp_path / "src", "a.csv", csv_text(["k", *(f"c_{cs}" for cs in charsets)], rows))
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=len(rows))
    assert report.error is None, report.error
    rejected = {int(r.text.split(",")[0]) for r in report.rejects}
    reads = ", ".join(f"HEX(CONVERT(c_{cs} USING utf8mb4))" for cs in charsets)
    stored = {r[0]: r[1:] for r in plain_rows(db, f"SELECT k, {reads} FROM {table}")}
    assert set(stored) == set(range(len(rows))) - rejected
    changed = {
        (charsets[k % len(charsets)], characters[k // len(charsets)])
        for k, values in stored.items()
        if values[k % len(charsets)] != characters[k // len(charsets)].encode().hex().upper()
    }
    assert changed == set()
    # The rejected ones, by plain SQL: a non-strict session stores what it can.
    engine = sa.create_engine(db.url, connect_args={"charset": "utf8mb4"})
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET SESSION sql_mode = ''")
            conn.exec_driver_sql(f"DELETE FROM {table}")
            for k in sorted(rejected):
                column = f"c_{charsets[k % len(charsets)]}"
                conn.exec_driver_sql(
                    f"INSERT INTO {table} (k, {column}) VALUES (%s, %s)", (k, characters[k // len(charsets)])
                )
            direct = {r[0]: r[1:] for r in conn.exec_driver_sql(f"SELECT k, {reads} FROM {table}")}
    finally:
        engine.dispose()
    kept = {
        (charsets[k % len(charsets)], characters[k // len(charsets)])
        for k, values in direct.items()
        if values[k % len(charsets)] == characters[k // len(charsets)].encode().hex().upper()
    }
    assert kept == set(), "rejected, although the character set holds it"
    assert len(rejected) > len(characters)  # both sides are exercised


def test_types_are_read_from_the_named_table_alone(db, table, tmp_path):
    """With lower_case_table_names=0 the server keeps `t` and `T` apart (and information_schema
    may compare their names ignoring case): the types are those of the table named."""
    twin = table.upper()
    db.execute(f"CREATE TABLE {table} (k INT, v ENUM('a'))")
    if plain_rows(db, "SELECT @@lower_case_table_names") == [(0,)]:  # else there is no twin to have
        db.execute(f"CREATE TABLE {twin} (k INT, v VARCHAR(5), w INT)")
    try:
        write(tmp_path / "src", "a.csv", "k,v\n1,a\n2,b\n")
        report = load(tmp_path / "src", db, table, if_exists="append", max_errors=5)
        assert report.error is None, report.error
        assert [(r.line, r.reason) for r in report.rejects] == [(3, "column 'v': 'b' is not one of 'a'")]
        assert plain_rows(db, f"SELECT k, v FROM {table}") == [(1, "a")]
    finally:
        if twin in db.tables():
            db.drop(twin)


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_refused_type_is_one_line_and_exit_4(db, table, tmp_path, cli, dry_run):
    db.execute(f"CREATE TABLE {table} (k INT, g GEOMETRY)")
    write(tmp_path / "src", "a.csv", "k,g\n1,x\n")
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": db.url, "DEST_TABLE": table}
    code, _out, err = cli(["--dry-run"] if dry_run else [], {**env, "IF_EXISTS": "append"})
    assert code == 4
    assert err.count("\n") == 1
    assert err.startswith(f"error: column 'g' of table '{table}' is GEOMETRY, whose values the")
    assert "Traceback" not in err
    assert plain_rows(db, f"SELECT COUNT(*) FROM {table}") == [(0,)]
