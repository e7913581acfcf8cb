"""--write-schema then SCHEMA_FILE gives back the plan it was written from: every column type the
planner makes (from CSV samples and from a typed file's declared types, timestamps with a
second's fraction or a zone, bytes, times of day and intervals among them) is spelled so that
reading it plans the same type.

Oracles: the database's own catalogue (the two tables' column types, read with plain SQL) and
the rows read back with plain SQL; the spellings themselves as the README lists them.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from conftest import csv_text, load, write
from test_parquet import COLUMNS, cast_text, quoted, write_parquet

from processor.kinds import TIMESTAMP, ColumnProfile, choose_type
from processor.plan.declared import declared_type
from processor.plan.schema_file import apply_schema_file, read_schema_file, write_schema_file
from processor.records import TablePlan

UTC = dt.UTC

#: Timestamps of every unit, plain and zoned, beside test_parquet's columns of every Arrow type.
MOMENTS = {
    "at_s": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None, dt.datetime(1000, 1, 1)], pa.timestamp("s")),
    "at_ms2": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 120000), None, None], pa.timestamp("ms")),
    "zoned_s": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None, None], pa.timestamp("s", "UTC")),
    "zoned_ms": pa.array(
        [dt.datetime(2024, 6, 1, 12, 0, 0, 5000, tzinfo=UTC), None, None], pa.timestamp("ms", "Asia/Tokyo")
    ),
    "zoned_ns": pa.array([1_700_000_000_123_456_000, None, 0], pa.timestamp("ns", "UTC")),
}
#: Bytes, times of day and durations (kinds of their own where the database has the type).
OTHERS = {
    "blob": pa.array([b"\x00\xff", None, b""], pa.binary()),
    "clock": pa.array([dt.time(23, 59, 59, 999999), None, dt.time(0, 0)], pa.time64("us")),
    "lasting": pa.array([dt.timedelta(days=-1, microseconds=5), None, dt.timedelta(0)], pa.duration("us")),
}


def catalogue(db, table: str) -> list[tuple[str, str]]:
    """Each column's full type (with its precision, scale, fraction digits) as the catalogue says."""
    if db.name == "sqlite":
        return [(r[1], r[2]) for r in db._query(f"PRAGMA table_info({db.quote(table)})").rows_list]
    if db.name == "mariadb":
        sql = (
            "SELECT column_name, column_type FROM information_schema.columns "
            f"WHERE table_name = '{table}' AND table_schema = DATABASE() ORDER BY ordinal_position"
        )
    elif db.name == "duckdb":
        sql = (
            "SELECT column_name, data_type FROM duckdb_columns() "
            f"WHERE table_name = '{table}' ORDER BY column_index"
        )
    else:
        sql = (
            "SELECT column_name, data_type || ' ' || coalesce(numeric_precision::text, '') || ' ' || "
            "coalesce(numeric_scale::text, '') || ' ' || coalesce(datetime_precision::text, '') "
            "FROM information_schema.columns "
            f"WHERE table_name = '{table}' AND table_schema = current_schema() ORDER BY ordinal_position"
        )
    return [tuple(r) for r in db._query(sql).rows_list]


def every_value(db, table: str, names: list[str], zoned: set[str]) -> list[tuple[object, ...]]:
    selected = ", ".join(cast_text(db, n) if n in zoned else quoted(db, n) for n in names)
    return db._query(f"SELECT {selected} FROM {quoted(db, table)} ORDER BY {quoted(db, names[0])}").rows_list


def round_trip(db, tmp_path, table: str, pattern: str, **options):
    """Load the folder ``src`` planned (writing its schema), then again into ``<table>_again`` held
    to the written schema; both reports and the schema file's document."""
    schema = tmp_path / "schema.json"
    first = load(tmp_path / "src", db, table, src_file_name=pattern, write_schema=schema, **options)
    assert first.error is None, first.error
    again_table = f"{table}_again"
    again = load(
        tmp_path / "src",
        db,
        again_table,
        src_file_name=pattern,
        schema_file=read_schema_file(schema),
        max_errors=0,
        **options,
    )
    return first, again, again_table, json.loads(schema.read_text())


@pytest.fixture
def both_tables(db, table):
    yield table
    if db.name in ("postgresql", "mariadb"):
        db.drop(f"{table}_again")


def test_a_typed_files_plan_written_and_read_back_plans_the_same_types_and_values(db, both_tables, tmp_path):
    table = both_tables
    columns = {name: array for name, (array, _) in COLUMNS.items()} | MOMENTS | OTHERS
    write_parquet(tmp_path / "src" / "all.parquet", columns)

    first, again, again_table, document = round_trip(db, tmp_path, table, "*.parquet", primary_key=("id",))

    assert again.error is None, again.error
    assert again.rejects == []
    assert again.rows == first.rows == 3
    assert again.plan == first.plan
    assert catalogue(db, again_table) == catalogue(db, table)
    names = list(columns)
    zoned = {n for n in names if n.startswith("zoned")}
    assert every_value(db, again_table, names, zoned) == every_value(db, table, names, zoned)
    spelled = document["columns"]
    assert (spelled["at"], spelled["at_ms"], spelled["at_ns"], spelled["at_s"]) == (
        "timestamp(6)",
        "timestamp(3)",
        "timestamp(6)",
        "timestamp(3)",  # Parquet has no unit of seconds: pyarrow writes them as milliseconds
    )
    if db.name in ("postgresql", "duckdb"):  # a type of their own for a zoned instant
        assert (spelled["zoned"], spelled["zoned_s"], spelled["zoned_ms"]) == (
            "timestamptz(6)",
            "timestamptz(3)",
            "timestamptz(3)",
        )
    else:  # no zoned type: the instant as text, as planned
        assert (spelled["zoned"], spelled["zoned_s"]) == ("text", "text")


def test_a_csv_files_plan_written_and_read_back_plans_the_same_types_and_values(db, both_tables, tmp_path):
    table = both_tables
    header = ["k", "n", "x", "amount", "day", "at", "code", "note"]
    rows = [
        ["1", "-7", "0.5", "1234567890123456.7", "2024-02-29", "2024-01-02 03:04:05", "00123", "Zoë"],
        ["2", "9223372036854775807", "1e300", "0.01", "1000-01-01", "9999-12-31 23:59:59", "x", ""],
        ["3", "", "", "", "", "", "", "a,b"],
    ]
    write(tmp_path / "src", "a.csv", csv_text(header, rows))

    first, again, again_table, document = round_trip(db, tmp_path, table, "*.csv", primary_key=("k",))

    assert again.error is None, again.error
    assert again.rejects == []
    assert again.rows == first.rows == 3
    assert again.plan == first.plan
    assert catalogue(db, again_table) == catalogue(db, table)
    assert every_value(db, again_table, header, set()) == every_value(db, table, header, set())
    assert (document["columns"]["day"], document["columns"]["at"]) == ("date", "timestamp")
    assert document["primary_key"] == ["k"]


def test_values_written_another_way_are_the_runs_setting_not_the_schemas(db, both_tables, tmp_path):
    # A decimal comma and day-first dates: the schema file holds the types, SRC_DECIMAL and
    # SRC_DATE_FORMAT (given again) how this run's files write their values.
    table = both_tables
    write(tmp_path / "src", "a.csv", "k;price;day\n1;1,5;31/12/2024\n2;-0,25;01/02/2024\n")
    options = {"src_delimiter": ";", "src_decimal": ",", "src_date_format": "%d/%m/%Y"}

    _, again, again_table, document = round_trip(db, tmp_path, table, "*.csv", **options)

    assert again.error is None, again.error
    assert again.rejects == []
    assert again.rows == 2
    assert document["columns"]["day"] == "date"
    assert catalogue(db, again_table) == catalogue(db, table)
    rows = db._query(
        f"SELECT {quoted(db, 'price')}, {quoted(db, 'day')} FROM {quoted(db, again_table)} ORDER BY 1"
    ).rows_list
    assert [(Decimal(str(p)), str(d)[:10]) for p, d in rows] == [
        (Decimal("-0.25"), "2024-02-01"),
        (Decimal("1.5"), "2024-12-31"),
    ]


def test_every_planned_type_is_spelled_so_that_reading_it_back_gives_the_same_type(db, tmp_path):
    """Without a load: every type choose_type makes (from text samples and from each Arrow type a
    typed file declares), as this database holds it, written and read back, is the same type."""
    backend = db.backend
    try:
        arrow_types = [
            pa.int8(),
            pa.uint64(),
            pa.float32(),
            pa.float64(),
            pa.bool_(),
            pa.decimal128(10, 2),
            pa.decimal128(38, 10),
            pa.decimal128(5, -2),
            pa.decimal256(40, 5),
            pa.date32(),
            pa.string(),
            *(pa.timestamp(unit) for unit in ("s", "ms", "us", "ns")),
            *(pa.timestamp(unit, "UTC") for unit in ("s", "ms", "us", "ns")),
            pa.binary(),
            pa.large_binary(),
            pa.binary(4),
            pa.time32("s"),
            pa.time64("us"),
            pa.time64("ns"),
            *(pa.duration(unit) for unit in ("s", "ms", "us", "ns")),
            pa.month_day_nano_interval(),
        ]
        declared = [
            ColumnProfile(empty=False, declared=declared_type(t), declared_as=str(t)) for t in arrow_types
        ]
        sampled = [
            ColumnProfile(empty=False, integer=True),
            ColumnProfile(empty=False, integer=False, float=True),
            ColumnProfile(empty=False, integer=False, float=False, decimal=True, whole_digits=16, scale=1),
            ColumnProfile(empty=False, integer=False, float=False, decimal=False, date=True),
            ColumnProfile(empty=False, integer=False, float=False, decimal=False, date=False, timestamp=True),
            ColumnProfile(),
        ]
        chosen = [choose_type(p, backend.types.decimal_type) for p in declared + sampled]
        planned = [backend.types.holds(t) for t in chosen]
        assert any(t.kind is TIMESTAMP.kind and t.fraction for t in planned)
        names = [f"c{i}" for i in range(len(planned))]
        plan = TablePlan(tuple(names), tuple(planned))
        path = tmp_path / "schema.json"
        write_schema_file(path, plan, ())
        read = apply_schema_file(plan, read_schema_file(path), backend)
        for name, before, after in zip(names, plan.types, read.types, strict=True):
            assert after == before, (name, json.loads(path.read_text())["columns"][name])
    finally:
        backend.engine.dispose()


@pytest.mark.parametrize(
    ("spelling", "fraction", "zoned"),
    [
        ("timestamp(3)", 3, False),
        ("TIMESTAMP(6)", 6, False),
        ("timestamptz", 0, True),
        ("timestamptz(6)", 6, True),
    ],
)
def test_timestamp_spellings_are_read(tmp_path, spelling, fraction, zoned):
    schema = read_schema_file(write(tmp_path, "s.json", json.dumps({"columns": {"at": spelling}})))
    ((name, column),) = schema.types
    assert (name, column.kind, column.fraction, column.zoned) == ("at", TIMESTAMP.kind, fraction, zoned)


def test_more_fraction_digits_than_a_microsecond_is_exit_2(tmp_path, cli):
    bad = write(tmp_path, "s.json", '{"columns": {"at": "timestamp(9)"}}')
    code, _, err = cli([], {"SCHEMA_FILE": str(bad)})
    assert code == 2
    assert err.startswith(f"error: SCHEMA_FILE {bad}: column 'at' has type 'timestamp(9)'; known types:")
    assert "timestamp(n), timestamptz, timestamptz(n)" in err
