"""Issue 19, PostgreSQL: every column type an existing table can have is held exactly or refused
before loading (append, merge, delete_rows).

The catalogue below is the class: every type of pg_catalog that a column can have
(``SELECT typname FROM pg_type WHERE typnamespace = 'pg_catalog'::regnamespace AND typtype IN
('b','e','r','m')``, arrays aside), plus enums, domains and types from elsewhere.
``test_the_catalogue_is_every_built_in_type`` asks the server for the list, so a type a later
PostgreSQL adds fails the test until it has its row.  "held": a value the type holds exactly
loads, any other is a rejected row (file, line, reason, raw text); "refused": exit 4 before
anything loads, naming the column, its type and the way out.

Decisions where the type itself rewrites its input: jsonb's documented normalisation
(whitespace, key order, ``1.0e1`` as ``10``) is its meaning and is accepted, but a repeated key
(jsonb keeps only the last) is a rejected row, as a repeated NDJSON key is.  uuid, inet,
macaddr and bytea print their values in one spelling (lower case, the hex of bytea); the value
is the same.  timestamptz and timetz need an explicit offset and timestamp and time must have
none: the session's TimeZone never decides an instant, and an offset is never dropped.  money
holds plain decimals of at most lc_monetary's digits after the point, where the server reads
``1.5`` as one and a half (otherwise refused).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import SERVERS, Database, load, need_server, one_value_per_row, write
from conftest import csv_text as _csv

from processor.backends.postgresql_types import CatalogColumn, column_type
from processor.errors import SchemaError

CATALOGUE = """
| type | rule | what is held / why refused |
|---|---|---|
| bool | held | true/false, t/f, yes/no, y/n, 1/0 in any case |
| int2, int4, int8 | held | integers without leading zeros, +, -0, within the type's range |
| float4, float8 | held | decimals whose shortest float text is the same number |
| numeric | held | any precision and scale: negative scale (multiples of 10**-s), scale beyond the precision |
| money | held | plain decimals, at most lc_monetary's digits after the point (refused where lc_monetary does not read 1.5 as 1.5) |
| date | held | ISO YYYY-MM-DD, a real day |
| timestamp | held | ISO, no offset, at most p digits after the second |
| timestamptz | held | ISO with an offset (Z, +HH, +HH:MM), at most p digits after the second |
| time | held | HH:MM[:SS[.f]], no offset, at most p digits |
| timetz | held | HH:MM[:SS[.f]] with an offset |
| interval | held | PostgreSQL's output style or ISO 8601; a sign on every field if one is negative; INTERVAL with fields (YEAR TO MONTH, ...) refused |
| text, varchar, bpchar, name, char, refcursor | held | text within the length (bpchar(n): exactly n characters; name: 63 bytes; "char": 1 byte), no NUL |
| uuid | held | 8-4-4-4-12 hex digits, either case |
| json | held | valid JSON (no NaN), kept as written |
| jsonb | held | valid JSON without a repeated key, \\u0000 or lone surrogate |
| inet, cidr | held | IPv4/IPv6 with an optional numeric prefix; cidr without host bits |
| macaddr, macaddr8 | held | 6 (8) hex pairs separated by : or - |
| bytea | held | \\x and hex pairs, or text without a backslash (its UTF-8 bytes) |
| bit, varbit | held | 0s and 1s of the declared length |
| oid, xid, cid, xid8 | held | unsigned integers within 32 (64) bits |
| pg_lsn | held | XXXXXXXX/XXXXXXXX in hex |
| arrays of held types | held | one-dimensional {...} literals whose elements each fit |
| enums | held | one of the labels, byte for byte |
| regclass, regcollation, regconfig, regdictionary, regnamespace, regoper, regoperator, regproc, regprocedure, regrole, regtype | refused | names resolved by the session's search_path |
| point, line, lseg, box, path, polygon, circle | held | as PostgreSQL prints them, no spaces; each number a double that reads back as written (a box's corners come back upper right first) |
| int4range, int8range, numrange, daterange, tsrange, tstzrange | held | [lower,upper) literals (or empty) whose bounds each fit the element type, the lower not above the upper |
| int4multirange, int8multirange, nummultirange, datemultirange, tsmultirange, tstzmultirange | held | {range, ...} of such ranges |
| tsvector, tsquery, jsonpath | refused | input rewritten (sorted, deduplicated, normalised) |
| xml | refused | parsed by libxml under the session's xmloption |
| aclitem, gtsvector, int2vector, oidvector, tid, txid_snapshot, pg_snapshot | refused | system types |
| pg_node_tree, pg_ndistinct, pg_dependencies, pg_mcv_list, pg_brin_bloom_summary, pg_brin_minmax_multi_summary | refused | system types |
| domains without CHECK constraints | held | over a built-in type (not an array), an enum, a range or a multirange: what the base type holds, its NOT NULL too |
| domains with CHECK constraints, extension and composite types | refused | constraints and input functions not checked here |
"""  # noqa: E501


def _catalogue() -> dict[str, str]:
    rules = {}
    for line in CATALOGUE.strip().splitlines()[2:]:
        names, rule, _ = (cell.strip() for cell in line.strip("|").split("|"))
        for name in names.split(", "):
            rules[name] = rule
    return rules


RULES = _catalogue()
# Rows of the catalogue that stand for many types, not one of pg_catalog.
CLASSES = {"arrays of held types", "enums", "domains without CHECK constraints"}
CLASSES |= {"domains with CHECK constraints", "extension and composite types"}
SPELLED = {"char": '"char"'}  # the names a column definition needs


@pytest.fixture
def pg() -> Database:
    need_server("postgresql")
    return Database("postgresql", SERVERS["postgresql"])


@pytest.fixture
def names(pg: Database) -> Iterator[dict[str, str]]:
    """A unique table and enum type name, both dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    made = {"table": f"t_{suffix}", "enum": f"e_{suffix}", "domain": f"d_{suffix}"}
    yield made
    for name in [t for t in pg.tables() if made["table"] in t]:
        pg.drop(name)
    pg.execute(f'DROP TYPE IF EXISTS "{made["enum"]}", "{made["domain"]}", "{made["table"]}_pair"')


def _read(pg: Database, sql: str) -> list[tuple[Any, ...]]:
    """Rows through the driver in a session whose TimeZone is UTC (plain SQL, not the importer)."""
    url = sa.make_url(pg.url)
    if url.drivername == "postgresql":  # SQLAlchemy's default driver for it is not installed
        url = url.set(drivername="postgresql+psycopg2")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET TIME ZONE 'UTC'")
            return [tuple(row) for row in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def test_the_catalogue_is_every_built_in_type(pg):
    found = {
        name
        for (name,) in _read(
            pg,
            "SELECT typname FROM pg_type WHERE typnamespace = 'pg_catalog'::regnamespace "
            "AND typtype IN ('b', 'e', 'r', 'm') AND left(typname, 1) <> '_'",
        )
    }
    assert found == set(RULES) - CLASSES


def test_each_built_in_type_is_held_or_refused_as_the_catalogue_says(pg, names):
    table = names["table"]
    backend = pg.backend
    with_arrays = {name for (name,) in _read(pg, "SELECT typname FROM pg_type WHERE typarray <> 0")}
    try:
        for name, rule in RULES.items():
            if name in CLASSES:
                continue
            spelled = SPELLED.get(name, name)
            array = f", a {spelled}[]" if name in with_arrays else ""
            pg.execute(f'DROP TABLE IF EXISTS "{table}"')
            pg.execute(f'CREATE TABLE "{table}" (k int, v {spelled}{array})')
            if rule == "held":
                assert set(backend.types.existing_types(table)) == {"k", "v", "a"}, name
            else:
                with pytest.raises(SchemaError) as refused:
                    backend.types.existing_types(table)
                assert f"column 'v' has type {name}" in str(refused.value).replace('"char"', "char"), name
    finally:
        backend.dispose()


# (column type, [(value, its text read back as col::text, or None: a rejected row)])
CASES: list[tuple[str, list[tuple[str, str | None]]]] = [
    (
        "numeric(5,-2)",
        [
            ("12300", "12300"),
            ("-9999900", "-9999900"),
            ("0", "0"),
            ("12345", None),
            ("12350", None),
            ("99999900", None),
            ("123.45", None),
            ("12300.0", "12300"),
        ],
    ),
    ("numeric(2,5)", [("0.00012", "0.00012"), ("0.000120", "0.00012"), ("0.001", None), ("0.000123", None)]),
    ("numeric(5,2)", [("999.99", "999.99"), ("1.500", "1.50"), ("1.005", None), ("1000", None)]),
    (
        "timestamptz",
        [
            ("2021-01-01 12:00:00+02", "2021-01-01 10:00:00+00"),
            ("2021-06-30T23:59:59.123456Z", "2021-06-30 23:59:59.123456+00"),
            ("2021-01-01 12:00:00+05:30", "2021-01-01 06:30:00+00"),
            ("now", None),
            ("2021-01-01 12:00:00", None),
            ("2021-02-30 00:00:00+00", None),
            ("2021-01-01 12:00:00.1234567+00", None),
            ("2021-01-01 12:00:00+16:00", None),
            ("01/02/2021 12:00:00+00", None),
            ("infinity", "infinity"),
        ],
    ),
    (
        "timestamp(0)",
        [
            ("2021-01-01 12:00:00", "2021-01-01 12:00:00"),
            ("2021-01-01 12:00:00.000", "2021-01-01 12:00:00"),
            ("2021-01-01 12:00:00.5", None),
            ("2021-01-01 12:00:00+02", None),
            ("epoch", None),
            ("2021-01-01 12:00:60", None),
            ("2021-01-01 24:00:00", None),
        ],
    ),
    (
        "timestamp",
        [("2021-01-01 12:00:00.123456", "2021-01-01 12:00:00.123456"), ("2021-01-01 12:00:00.1234567", None)],
    ),
    (
        "time(2)",
        [
            ("12:30", "12:30:00"),
            ("23:59:59.99", "23:59:59.99"),
            ("12:00:00.999", None),
            ("allballs", None),
            ("25:00:00", None),
            ("12:00:00+02", None),
        ],
    ),
    ("timetz", [("12:00:00+02", "12:00:00+02"), ("12:00:00Z", "12:00:00+00"), ("12:00:00", None)]),
    (
        "interval",
        [
            ("1 year 2 mons -3 days +04:05:06.5", "1 year 2 mons -3 days +04:05:06.5"),
            ("P1Y2M3W4DT5H6M7.5S", "1 year 2 mons 25 days 05:06:07.5"),
            ("-1 days -02:00:00", "-1 days -02:00:00"),
            ("-1 days 02:00:00", None),
            ("1 fortnight", None),
            ("@ 1 day", None),
            ("P", None),
            ("PT0.1234567S", None),
        ],
    ),
    ("interval(0)", [("01:00:00", "01:00:00"), ("1 day 00:00:00.5", None)]),
    (
        "json",
        [
            ('{"b": 1, "a": [1, 2.50]}', '{"b": 1, "a": [1, 2.50]}'),
            ('{"a":1,"a":2}', '{"a":1,"a":2}'),
            ("NaN", None),
            ("{a:1}", None),
            ("[1,]", None),
        ],
    ),
    (
        "jsonb",
        [
            ('{"b": 1, "a": [1, 2.50]}', '{"a": [1, 2.50], "b": 1}'),
            ('{"a":1,"a":2}', None),
            ('"\\u0000"', None),
            ('"\\ud800"', None),
            ("NaN", None),
            ("1e100000", None),
        ],
    ),
    (
        "uuid",
        [
            ("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            ("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", None),
            ("xyz", None),
        ],
    ),
    (
        "inet",
        [
            ("10.0.0.1/8", "10.0.0.1/8"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4/128"),
            ("192.168.0.1/32", "192.168.0.1/32"),
            ("10.0.0.256", None),
            ("fe80::1%eth0", None),
            ("1.2.3.4/255.0.0.0", None),
            ("10.0.0.1/33", None),
        ],
    ),
    ("cidr", [("10.0.0.0/8", "10.0.0.0/8"), ("10.0.0.1/8", None)]),
    (
        "macaddr",
        [
            ("08:00:2B:01:02:03", "08:00:2b:01:02:03"),
            ("08-00-2b-01-02-03", "08:00:2b:01:02:03"),
            ("08:00:2b:01:02", None),
            ("08:00-2b:01:02:03", None),
        ],
    ),
    ("macaddr8", [("08:00:2b:01:02:03:04:05", "08:00:2b:01:02:03:04:05"), ("08:00:2b:01:02:03", None)]),
    (
        "bytea",
        [("\\x0102ff", "\\x0102ff"), ("abc", "\\x616263"), ("\\q", None), ("\\x012", None), ("é", None)],
    ),
    ("money", [("1.50", "1.50"), ("-12.3", "-12.30"), ("1.005", None), ("1,000.00", None), ("$1.00", None)]),
    (
        "text[]",
        [
            ('{a,"b c",NULL,"NULL"}', '{a,"b c",NULL,"NULL"}'),
            ("{}", "{}"),
            ("{ a , b }", "{a,b}"),
            ("{a,{b}}", None),
            ("a,b", None),
            ("{a,,b}", None),
            ('{"a}', None),
        ],
    ),
    ("numeric(5,2)[]", [("{1.5,2.25}", "{1.50,2.25}"), ("{1.234}", None), ("{1000}", None)]),
    ("int4[]", [("{1,2,3}", "{1,2,3}"), ("{1,2.5}", None), ("{007}", None)]),
    ("timestamptz[]", [('{"2021-01-01 12:00:00+02"}', '{"2021-01-01 10:00:00+00"}'), ("{now}", None)]),
    ("bit(4)", [("1010", "1010"), ("101", None), ("10101", None), ("1012", None)]),
    ("varbit(4)", [("101", "101"), ("10101", None)]),
    ("oid", [("4294967295", "4294967295"), ("-1", None), ("4294967296", None)]),
    ("xid8", [("18446744073709551615", "18446744073709551615"), ("18446744073709551616", None)]),
    ("pg_lsn", [("16/B374D848", "16/B374D848"), ("16/B374D848/1", None)]),
    ("name", [("n" * 63, "n" * 63), ("n" * 64, None)]),
    ('"char"', [("a", "a"), ("ab", None), ("é", None)]),
    ("character(3)", [("abc", "abc"), ("ab ", "ab "), ("ab", None), ("abcd", None)]),
    ("varchar(3)", [("abc", "abc"), ("abcd", None)]),
    ("float4", [("0.1", "0.1"), ("0.1234567891", None)]),
    ("smallint", [("32767", "32767"), ("32768", None)]),
    ("boolean", [("yes", "true"), ("maybe", None)]),
    (
        "ENUM",
        [
            ("Green", "Green"),
            ("red", "red"),
            ("with space ", "with space "),
            ("RED", None),
            ("green", None),
            ("red ", None),
        ],
    ),
]


def _column(sql: str) -> str:
    """The column of a case: named by its type (``"char"`` as char)."""
    return sql.replace('"', "")


def _create(pg: Database, names: dict[str, str]) -> list[str]:
    """The table with a column per case, named by its type; the column names in order."""
    pg.execute(f"""CREATE TYPE "{names["enum"]}" AS ENUM ('red', 'Green', 'with space ')""")
    types = {"ENUM": f'"{names["enum"]}"'}
    definitions = ", ".join(f'"{_column(sql)}" {types.get(sql, sql)}' for sql, _ in CASES)
    pg.execute(f'CREATE TABLE "{names["table"]}" (k int, {definitions})')
    return [_column(sql) for sql, _ in CASES]


def _rows(columns: list[str]) -> tuple[list[list[str]], dict[int, tuple[str, str, str | None]]]:
    """One row per value (the others empty); each key's (column, value, expected text)."""
    rows, expected = one_value_per_row([values for _, values in CASES[: len(columns)]])
    return rows, {k: (columns[position], value, text) for k, (position, value, text) in expected.items()}


def _readback(column: str) -> str:
    if column == "money":  # its text has lc_monetary's currency symbol; as numeric it is the number
        return f'"{column}"::numeric::text'
    if column.startswith("character("):  # as text it loses its trailing spaces; the driver has them
        return f'"{column}"'
    return f'"{column}"::text'


def test_append_onto_every_held_type_loads_exact_values_and_rejects_the_rest(pg, names, tmp_path):
    table = names["table"]
    columns = _create(pg, names)
    pg.execute(f'INSERT INTO "{table}" (k) VALUES (0)')
    rows, expected = _rows(columns)
    text = _csv(["k", *columns], rows)
    write(tmp_path / "src", "a.csv", text)
    report = load(tmp_path / "src", pg, table, if_exists="append", max_errors=1000)
    assert report.error is None, report.error
    lines = text.splitlines()
    rejected = {k: v for k, v in expected.items() if v[2] is None}
    wrong = {r.line - 1: expected[r.line - 1] for r in report.rejects if r.line - 1 not in rejected}
    missed = {k: v for k, v in rejected.items() if k + 1 not in {r.line for r in report.rejects}}
    assert (wrong, missed) == ({}, {})
    for reject in report.rejects:
        column, value, _ = expected[reject.line - 1]
        assert reject.file == "a.csv"
        assert reject.text == lines[reject.line - 1]
        assert reject.reason.startswith(f"column {column!r}: {value[:20]!r}"[:-1]), reject.reason
        assert " is not " in reject.reason
    for column in columns:
        found = dict(_read(pg, f'SELECT k, {_readback(column)} FROM "{table}" WHERE "{column}" IS NOT NULL'))
        wanted = {k: v[2] for k, v in expected.items() if v[0] == column and v[2] is not None}
        assert found == wanted, column
    assert _read(pg, f'SELECT count(*) FROM "{table}"') == [(1 + len(expected) - len(rejected),)]


def test_negative_scale_numeric_compares_as_decimals(pg, names, tmp_path):
    table = names["table"]
    pg.execute(f'CREATE TABLE "{table}" (k int, n numeric(5,-2))')
    write(tmp_path / "src", "a.csv", "k,n\n1,12345\n2,12300\n3,-100\n")
    report = load(tmp_path / "src", pg, table, if_exists="append", max_errors=5)
    assert report.error is None, report.error
    [reject] = report.rejects
    assert (reject.line, reject.text) == (2, "1,12345")
    assert reject.reason == "column 'n': '12345' is not a multiple of 100 of at most 7 digits"
    assert sorted(_read(pg, f'SELECT k, n FROM "{table}"')) == [(2, Decimal("12300")), (3, Decimal("-100"))]


MERGED = ["timestamptz", "jsonb", "uuid", "text[]", "interval", "ENUM", "inet", "bytea"]


@pytest.mark.parametrize("if_exists", ["merge", "delete_rows"])
def test_merge_and_delete_rows_onto_foreign_types(pg, names, tmp_path, if_exists):
    table, enum = names["table"], names["enum"]
    pg.execute(f"CREATE TYPE \"{enum}\" AS ENUM ('red', 'Green')")
    types = {"ENUM": f'"{enum}"'}
    definitions = ", ".join(f'"{c}" {types.get(c, c)}' for c in MERGED)
    pg.execute(f'CREATE TABLE "{table}" (k int PRIMARY KEY, {definitions})')
    pg.execute(
        f"INSERT INTO \"{table}\" VALUES (1, '2020-01-01 00:00:00+00', '{{}}', "
        "'00000000-0000-0000-0000-000000000000', '{old}', '1 day', 'red', '10.0.0.1', '\\x00'), "
        f"(9, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
    )
    header = ["k", *MERGED]
    rows = [
        [
            "1",
            "2021-01-01 12:00:00+02",
            '{"a": 1}',
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{x,y}",
            "P1D",
            "Green",
            "10.0.0.2/8",
            "\\xff",
        ],
        [
            "2",
            "2021-01-01 12:00:00Z",
            "[]",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12",
            "{}",
            "01:00:00",
            "red",
            "::1",
            "abc",
        ],
        ["3", "2021-01-01 12:00:00", "[]", "", "", "", "", "", ""],  # no offset
        ["4", "", '{"a":1,"a":2}', "", "", "", "", "", ""],
        ["5", "", "", "", "", "", "GREEN", "", ""],
    ]
    write(tmp_path / "src", "a.csv", _csv(header, rows))
    report = load(tmp_path / "src", pg, table, if_exists=if_exists, primary_key=("k",), max_errors=10)
    assert report.error is None, report.error
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [
        (4, "column 'timestamptz'"),
        (5, "column 'jsonb'"),
        (6, "column 'ENUM'"),
    ]
    select = ", ".join(f'"{c}"::text' for c in MERGED)
    found = _read(pg, f'SELECT k, {select} FROM "{table}" ORDER BY k')
    new = [
        (
            1,
            "2021-01-01 10:00:00+00",
            '{"a": 1}',
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{x,y}",
            "1 day",
            "Green",
            "10.0.0.2/8",
            "\\xff",
        ),
        (
            2,
            "2021-01-01 12:00:00+00",
            "[]",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12",
            "{}",
            "01:00:00",
            "red",
            "::1/128",
            "\\x616263",
        ),
    ]
    kept = [(9, *[None] * len(MERGED))] if if_exists == "merge" else []
    assert found == new + kept


def _refusal(pg: Database, names: dict[str, str], tmp_path, definition: str, value: str) -> str:
    table = names["table"]
    pg.execute(f'CREATE TABLE "{table}" (k int, v {definition})')
    pg.execute(f'INSERT INTO "{table}" (k) VALUES (0)')
    write(tmp_path / "src", "a.csv", f"k,v\n1,{value}\n")
    report = load(tmp_path / "src", pg, table, if_exists="append")
    assert report.exit_code == 4, report.error
    assert _read(pg, f'SELECT k FROM "{table}"') == [(0,)]  # nothing loaded
    assert [t for t in pg.tables() if t.startswith("_import_stage_") and table in t] == []
    return str(report.error)


@pytest.mark.parametrize(
    ("definition", "value", "named"),
    [
        ("xml", "<a/>", "xml"),
        ("jsonpath", "$.a", "jsonpath"),
        ("tsquery", "a", "tsquery"),
        ("regclass", "pg_class", "regclass"),
        ("interval year to month", "1 year", "interval year to month"),
        ("tsvector", "a b", "tsvector"),
    ],
)
def test_a_type_that_cannot_be_checked_is_refused_before_loading(
    pg, names, tmp_path, definition, value, named
):
    message = _refusal(pg, names, tmp_path, definition, value)
    assert f"column 'v' has type {named}, which the importer cannot check before loading" in message
    for way_out in ("Nothing was loaded", "SCHEMA_FILE", "SRC_COLUMNS"):
        assert way_out in message


@pytest.mark.parametrize("generated", ["GENERATED ALWAYS AS (k * 2) STORED", "GENERATED ALWAYS AS IDENTITY"])
def test_a_column_generated_always_is_refused_before_loading(pg, names, tmp_path, generated):
    message = _refusal(pg, names, tmp_path, f"int {generated}", "1")
    assert "column 'v' has type integer" in message
    assert "GENERATED ALWAYS, which takes no values from a file" in message


def test_domains_and_user_defined_types_are_refused_before_loading(pg, names, tmp_path):
    pg.execute(f'CREATE DOMAIN "{names["domain"]}" AS int CHECK (VALUE > 0)')
    message = _refusal(pg, names, tmp_path, f'"{names["domain"]}"', "1")
    assert f"has type {names['domain']}" in message
    assert "a domain" in message


def test_composite_types_are_refused_before_loading(pg, names, tmp_path):
    pair = f'"{names["table"]}_pair"'
    pg.execute(f"CREATE TYPE {pair} AS (a int, b int)")
    message = _refusal(pg, names, tmp_path, pair, '"(1,2)"')
    assert "a type from an extension or a user-defined type" in message


def test_money_is_refused_where_lc_monetary_would_read_a_point_otherwise():
    # This server has only the C locales, where lc_monetary reads 1.5 as 1.50 (the append test
    # loads money); where the backend's probe finds otherwise it passes no money type, and the
    # column is refused with the reason.
    column = CatalogColumn("m", "money", -1, False, "money", "b", True, False, (), False)
    assert column_type(column, None) == (
        "its input and rounding follow the server's lc_monetary, which does not read 1.5 as 1.5 here"
    )
