"""Parquet and Arrow IPC columns of bytes, times of day, durations and intervals (issue 21): each
in the database's exact type where it has one, as exact text where it has none (README, "Parquet").

Oracles: the values the files are written from, as Python objects (bytes, datetime.time,
datetime.timedelta, ints of months, days and microseconds) or, where the database keeps text,
literal strings; read back with each database's own driver and SQL (PostgreSQL's EXTRACT and
DuckDB's datepart take an interval's fields apart), never through the importer.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from conftest import Database, load

from processor.plan.schema_file import read_schema_file

#: The SQL type a planned column of each kind gets, by database (README's table).
PLANNED = {
    "sqlite": {"bytes": "BLOB", "time": "TEXT", "interval": "TEXT"},
    "duckdb": {"bytes": "BLOB", "time": "TIME", "interval": "INTERVAL"},
    "postgresql": {"bytes": "BYTEA", "time": "TIME WITHOUT TIME ZONE", "interval": "INTERVAL"},
    "mariadb": {"bytes": "LONGBLOB", "time": "TIME(6)", "interval": "LONGTEXT"},
}
#: Databases with a time type, and with an interval type of months, days and microseconds.
TIME_TYPED = {"duckdb", "postgresql", "mariadb"}
INTERVAL_TYPED = {"duckdb", "postgresql"}

BIG = b"\xff" * 70_000  # beyond a 64 KiB BLOB

#: Column -> (Arrow array, the values it means, their text where the database keeps text).
BYTES = {
    "b": pa.array([b"", b"\x00\xff\x00", bytes(range(256)), None], pa.binary()),
    "lb": pa.array([b"a\nb", b'"q",\\N', BIG, None], pa.large_binary()),
    "fb": pa.array([b"\x00\x00\x00", b"abc", b"\xff\xfe\xfd", None], pa.binary(3)),
}
BYTES_MEANT = {
    "b": [b"", b"\x00\xff\x00", bytes(range(256)), None],
    "lb": [b"a\nb", b'"q",\\N', BIG, None],
    "fb": [b"\x00\x00\x00", b"abc", b"\xff\xfe\xfd", None],
}
TIMES = {
    "t_s": pa.array([0, 86_399, 3_723, None], pa.time32("s")),
    "t_ms": pa.array([0, 86_399_999, 1, None], pa.time32("ms")),
    "t_us": pa.array([0, 86_399_999_999, 4, None], pa.time64("us")),
    "t_ns": pa.array([0, 86_399_999_999_000, 5_000, None], pa.time64("ns")),
}
TIMES_MEANT = {
    "t_s": [dt.time(0), dt.time(23, 59, 59), dt.time(1, 2, 3), None],
    "t_ms": [dt.time(0), dt.time(23, 59, 59, 999_000), dt.time(0, 0, 0, 1_000), None],
    "t_us": [dt.time(0), dt.time(23, 59, 59, 999_999), dt.time(0, 0, 0, 4), None],
    "t_ns": [dt.time(0), dt.time(23, 59, 59, 999_999), dt.time(0, 0, 0, 5), None],
}
TIMES_TEXT = {  # ISO, with the unit's digits (Parquet keeps a time32[s] as milliseconds)
    "t_s": ["00:00:00.000", "23:59:59.000", "01:02:03.000", None],
    "t_ms": ["00:00:00.000", "23:59:59.999", "00:00:00.001", None],
    "t_us": ["00:00:00.000000", "23:59:59.999999", "00:00:00.000004", None],
    "t_ns": ["00:00:00.000000000", "23:59:59.999999000", "00:00:00.000005000", None],
}
DURATIONS = {
    "d_s": pa.array([-90_000, 0, 10**9, None], pa.duration("s")),
    "d_ms": pa.array([-1, 1_500, 86_400_000, None], pa.duration("ms")),
    "d_us": pa.array([-1, 259_200_000_001, 0, None], pa.duration("us")),
    "d_ns": pa.array([-1_000, 123_456_789_000, 0, None], pa.duration("ns")),
}
DURATIONS_MEANT = {
    "d_s": [dt.timedelta(seconds=-90_000), dt.timedelta(0), dt.timedelta(seconds=10**9), None],
    "d_ms": [dt.timedelta(milliseconds=-1), dt.timedelta(seconds=1.5), dt.timedelta(days=1), None],
    "d_us": [dt.timedelta(microseconds=-1), dt.timedelta(days=3, microseconds=1), dt.timedelta(0), None],
    "d_ns": [
        dt.timedelta(microseconds=-1),
        dt.timedelta(seconds=123, microseconds=456_789),
        dt.timedelta(0),
        None,
    ],
}
DURATIONS_TEXT = {  # ISO 8601: PT<seconds>S, the seconds without trailing zeros
    "d_s": ["PT-90000S", "PT0S", "PT1000000000S", None],
    "d_ms": ["PT-0.001S", "PT1.5S", "PT86400S", None],
    "d_us": ["PT-0.000001S", "PT259200.000001S", "PT0S", None],
    "d_ns": ["PT-0.000001S", "PT123.456789S", "PT0S", None],
}
I32_MIN, I32_MAX = -(2**31), 2**31 - 1
#: (months, days, nanoseconds) -> (months, days, microseconds) and the text.
INTERVALS = [
    ((-1, 2, -3_000), (-1, 2, -3), "P-1M2DT-0.000003S"),
    ((14, -40, 86_400_000_000_000), (14, -40, 86_400_000_000), "P14M-40DT86400S"),
    ((0, 0, 0), (0, 0, 0), "P0M0DT0S"),
    (
        (I32_MAX, I32_MIN, 9_223_372_036_854_775_000),
        (I32_MAX, I32_MIN, 9_223_372_036_854_775),
        "P2147483647M-2147483648DT9223372036.854775S",
    ),
    (
        (I32_MIN, I32_MAX, -9_223_372_036_854_775_000),
        (I32_MIN, I32_MAX, -9_223_372_036_854_775),
        "P-2147483648M2147483647DT-9223372036.854775S",
    ),
    (None, None, None),
]


def write_parquet(path: Path, columns: dict[str, pa.Array]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def write_feather(path: Path, columns: dict[str, pa.Array]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    feather.write_feather(pa.table(columns), path)
    return path


def intervals_table(ids: list[int]) -> dict[str, pa.Array]:
    return {
        "id": pa.array(ids, pa.int64()),
        "iv": pa.array([given for given, _, _ in INTERVALS], pa.month_day_nano_interval()),
    }


def select(db: Database, table: str, names: list[str]) -> list[tuple[Any, ...]]:
    columns = ", ".join(db.quote(n) for n in names)
    return db._query(f"SELECT {columns} FROM {db.quote(table)} ORDER BY {db.quote('id')}").rows_list


def as_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)  # PostgreSQL's driver gives a memoryview


def as_time(value: Any) -> dt.time | None:
    """MariaDB's driver gives a TIME as a timedelta since midnight."""
    if isinstance(value, dt.timedelta):
        return (dt.datetime(2000, 1, 1) + value).time()
    return value


def interval_fields(db: Database, table: str, column: str) -> list[tuple[int, ...] | None]:
    """Each row's interval as (months, days, microseconds), taken apart by the database itself."""
    iv = db.quote(column)
    if db.name == "postgresql":
        parts = (
            f"EXTRACT(YEAR FROM {iv}) * 12 + EXTRACT(MONTH FROM {iv}), EXTRACT(DAY FROM {iv}), "
            f"EXTRACT(HOUR FROM {iv}) * 3600000000 + EXTRACT(MINUTE FROM {iv}) * 60000000"
            f" + EXTRACT(MICROSECONDS FROM {iv})"
        )
    else:
        parts = (
            f"datepart('year', {iv}) * 12 + datepart('month', {iv}), datepart('day', {iv}), "
            f"datepart('hour', {iv}) * 3600000000 + datepart('minute', {iv}) * 60000000"
            f" + datepart('microseconds', {iv})"
        )
    rows = db._query(f"SELECT {parts} FROM {db.quote(table)} ORDER BY {db.quote('id')}").rows_list
    return [None if row[0] is None else tuple(int(v) for v in row) for row in rows]


def test_bytes_times_and_durations_keep_their_exact_types(db, table, tmp_path):
    columns = {"id": pa.array([1, 2, 3, 4], pa.int64()), **BYTES, **TIMES, **DURATIONS}
    write_parquet(tmp_path / "src" / "all.parquet", columns)

    report = load(tmp_path / "src", db, table, src_file_name="*.parquet")

    assert report.error is None, report.error
    planned = {c["name"]: c["type"] for c in report.plan}
    want = PLANNED[db.name]
    assert {n: planned[n] for n in BYTES} == dict.fromkeys(BYTES, want["bytes"])
    assert {n: planned[n] for n in TIMES} == dict.fromkeys(TIMES, want["time"])
    assert {n: planned[n] for n in DURATIONS} == dict.fromkeys(DURATIONS, want["interval"])

    rows = select(db, table, list(BYTES))
    for position, name in enumerate(BYTES):
        assert [as_bytes(row[position]) for row in rows] == BYTES_MEANT[name], name
    if db.name == "sqlite":  # bytes, not their text
        kinds = db._query(f"SELECT typeof({db.quote('b')}) FROM {db.quote(table)} ORDER BY 1").rows_list
        assert sorted(k for (k,) in kinds) == ["blob", "blob", "blob", "null"]

    rows = select(db, table, list(TIMES))
    for position, name in enumerate(TIMES):
        got = [row[position] for row in rows]
        if db.name in TIME_TYPED:
            assert [as_time(v) for v in got] == TIMES_MEANT[name], name
        else:
            assert got == TIMES_TEXT[name], name

    rows = select(db, table, list(DURATIONS))
    for position, name in enumerate(DURATIONS):
        got = [row[position] for row in rows]
        expected = DURATIONS_MEANT[name] if db.name in INTERVAL_TYPED else DURATIONS_TEXT[name]
        assert got == expected, name


def test_intervals_keep_months_days_and_microseconds_apart(db, table, tmp_path):
    write_feather(tmp_path / "src" / "iv.feather", intervals_table(list(range(1, len(INTERVALS) + 1))))

    report = load(tmp_path / "src", db, table, src_file_name="*.feather")

    assert report.error is None, report.error
    planned = {c["name"]: c["type"] for c in report.plan}
    assert planned["iv"] == PLANNED[db.name]["interval"]
    if db.name in INTERVAL_TYPED:
        assert interval_fields(db, table, "iv") == [fields for _, fields, _ in INTERVALS]
    else:
        assert [v for (v,) in select(db, table, ["iv"])] == [text for _, _, text in INTERVALS]


def test_values_a_type_cannot_hold_exactly_are_rejected_rows(db, table, tmp_path):
    # A nanosecond is no whole microsecond; 10**10 seconds are beyond an Arrow interval's
    # 64-bit nanoseconds.  Where the column is text, each is its exact text.
    write_feather(
        tmp_path / "src" / "odd.feather",
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "t": pa.array([1, 0, 0, 0], pa.time64("ns")),
            "d": pa.array([0, 1, 0, 0], pa.duration("ns")),
            "s": pa.array([0, 0, 10**10, 0], pa.duration("s")),
            "iv": pa.array([(0, 0, 0), (0, 0, 0), (0, 0, 0), (1, 1, 1)], pa.month_day_nano_interval()),
        },
    )

    report = load(tmp_path / "src", db, table, src_file_name="*.feather", max_errors=10)

    assert report.error is None, report.error
    reasons = {r.line: r.reason for r in report.rejects}
    if db.name in TIME_TYPED:
        assert reasons.pop(1) == (
            "column 't': '00:00:00.000000001' is not a time of day written HH:MM:SS with at most 6 "
            "digits of a second"
        )
    if db.name in INTERVAL_TYPED:
        assert reasons.pop(2).startswith("column 'd': 'PT0.000000001S' is not an interval written")
        assert reasons.pop(3).startswith("column 's': 'PT10000000000S' is not an interval written")
        assert reasons.pop(4).startswith("column 'iv': 'P1M1DT0.000000001S' is not an interval written")
    assert reasons == {}
    kept = [row[0] for row in select(db, table, ["id"])]
    assert kept == [n for n in (1, 2, 3, 4) if n not in {r.line for r in report.rejects}]
    if db.name not in INTERVAL_TYPED:
        texts = {row[0]: row[1:] for row in select(db, table, ["id", "d", "s", "iv"])}
        assert [texts[2], texts[3], texts[4]] == [
            ("PT0.000000001S", "PT0S", "P0M0DT0S"),
            ("PT0S", "PT10000000000S", "P0M0DT0S"),
            ("PT0S", "PT0S", "P1M1DT0.000000001S"),
        ]
    if db.name == "sqlite":
        assert select(db, table, ["t"])[0] == ("00:00:00.000000001",)


def test_appending_onto_a_table_of_these_types_keeps_the_values(db, table, tmp_path):
    columns = {
        "id": pa.array(list(range(1, len(INTERVALS) + 1)), pa.int64()),
        "b": pa.array([b"", b"\x00\xff", None, b"x", b"\\x00", b"z"], pa.binary()),
        "t": pa.array([0, 86_399_999_999_000, None, 1_000, 0, 0], pa.time64("ns")),
        "d": pa.array([-1_500_000, 0, None, 1, 2, 3], pa.duration("us")),
        "iv": intervals_table([0] * len(INTERVALS))["iv"],
    }
    write_feather(tmp_path / "first" / "a.feather", columns)
    first = load(tmp_path / "first", db, table, src_file_name="*.feather")
    assert first.error is None, first.error
    before = select(db, table, ["id", "b", "t", "d"])
    (tmp_path / "second").mkdir()
    shutil.copy(tmp_path / "first" / "a.feather", tmp_path / "second" / "b.feather")

    second = load(tmp_path / "second", db, table, src_file_name="*.feather", if_exists="append")

    assert second.error is None, second.error
    assert second.rejects == []
    after = select(db, table, ["id", "b", "t", "d"])
    assert after[0::2] == before  # each row twice, as it was
    assert after[1::2] == before
    meant_bytes = [b"", b"\x00\xff", None, b"x", b"\\x00", b"z"]
    assert [as_bytes(row[1]) for row in after[0::2]] == meant_bytes
    if db.name == "sqlite":
        kinds = db._query(f"SELECT typeof({db.quote('b')}) FROM {db.quote(table)}").rows_list
        assert {k for (k,) in kinds} == {"blob", "null"}
    if db.name in INTERVAL_TYPED:
        fields = [f for _, f, _ in INTERVALS]
        assert interval_fields(db, table, "iv") == [f for f in fields for _ in (0, 1)]
    else:
        texts = [v for (v,) in select(db, table, ["iv"])]
        assert texts == [t for _, _, t in INTERVALS for _ in (0, 1)]


def test_a_written_schema_spells_the_kinds_and_reads_back(db, table, tmp_path):
    frozen = tmp_path / "frozen.json"
    write_parquet(
        tmp_path / "src" / "a.parquet",
        {
            "id": pa.array([1], pa.int64()),
            "b": pa.array([b"\x01"], pa.binary()),
            "t": pa.array([1], pa.time64("us")),
            "d": pa.array([1], pa.duration("us")),
        },
    )
    first = load(tmp_path / "src", db, table, src_file_name="*.parquet", write_schema=frozen)
    assert first.error is None, first.error
    written = json.loads(frozen.read_text())["columns"]
    assert written["b"] == "binary"
    assert written["t"] == ("time" if db.name in TIME_TYPED else "text")
    assert written["d"] == ("interval" if db.name in INTERVAL_TYPED else "text")

    # The same spellings for a CSV file's text: bytes as the text's UTF-8 bytes, ISO times, and
    # intervals as the importer writes them.
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_text("id,b,t,d\n1,zoë,01:02:03.5,P1M-2DT3.5S\n2,,23:59:60,P1M\n")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"columns": {"b": "binary", "t": "time", "d": "interval"}}))
    report = load(
        tmp_path / "csv",
        db,
        table,
        if_exists="replace",
        schema_file=read_schema_file(schema),
        max_errors=5,
    )

    assert report.error is None, report.error
    # No 23:59:60 where there is a time type (where there is none, it is text, as is "P1M").
    assert [r.line for r in report.rejects] == ([3] if db.name in TIME_TYPED else [])
    (_, b, t, d) = select(db, table, ["id", "b", "t", "d"])[0]
    assert as_bytes(b) == "zoë".encode()
    if db.name in TIME_TYPED:
        assert as_time(t) == dt.time(1, 2, 3, 500_000)
    else:
        assert t == "01:02:03.5"
    if db.name in INTERVAL_TYPED:
        assert interval_fields(db, table, "d") == [(1, -2, 3_500_000)]
    else:
        assert d == "P1M-2DT3.5S"


@pytest.mark.parametrize("kind", ["binary", "time", "interval"])
def test_the_dry_run_names_the_files_type(tmp_path, table, kind):
    arrays = {
        "binary": pa.array([b"\x00"], pa.binary()),
        "time": pa.array([1], pa.time64("us")),
        "interval": pa.array([(1, 2, 3_000)], pa.month_day_nano_interval()),
    }
    write_feather(tmp_path / "src" / "a.feather", {"x": arrays[kind]})
    db = Database("sqlite", f"sqlite:///{tmp_path / 'dry.db'}")

    report = load(tmp_path / "src", db, table, src_file_name="*.feather", dry_run=True)

    assert report.error is None, report.error
    assert report.dry_run is not None
    (column,) = report.dry_run.columns
    expected = {"binary": ("BLOB", ""), "time": ("TEXT", "time"), "interval": ("TEXT", "interval")}
    sql, missing = expected[kind]
    assert column.sql_type == sql
    declared = str(arrays[kind].type)
    held = f", which has no exact {missing} type here" if missing else ""
    assert column.reason == f"the file's type {declared}{held}"
    assert not db.exists(table)


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_iso_seconds_postgresql_would_round_are_rejected_rows(db, table, tmp_path):
    # PostgreSQL reads ISO 8601's seconds as a double: 123456789012.345678 would become ...345673.
    db.execute(f"CREATE TABLE {db.quote(table)} (id bigint, iv interval)")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.csv").write_text(
        "id,iv\n1,PT1.000001S\n2,PT123456789012.345678S\n3,PT99999999.999999S\n"
    )

    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=5)

    assert report.error is None, report.error
    assert [r.line for r in report.rejects] == [3]
    assert interval_fields(db, table, "iv") == [(0, 0, 1_000_001), (0, 0, 99_999_999_999_999)]


EXISTING = {
    "postgresql": "id bigint, vb bytea, fb bytea, t0 time(0), t time",
    "mariadb": "id bigint, vb varbinary(3), fb binary(2), t0 time, t time(6)",
}


@pytest.mark.parametrize("db", list(EXISTING), indirect=True)
def test_existing_columns_bound_the_bytes_and_digits_they_take(db, table, tmp_path):
    db.execute(f"CREATE TABLE {db.quote(table)} ({EXISTING[db.name]})")
    write_parquet(
        tmp_path / "src" / "a.parquet",
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "vb": pa.array([b"\x00\xff\x00", b"abcd", b"", None], pa.binary()),
            "fb": pa.array([b"\x00\x01", b"\x00\x01", b"\x00", b"\xff\xff"], pa.binary()),
            "t0": pa.array([3_723_000_000, 3_723_000_000, 3_723_500_000, 0], pa.time64("us")),
            "t": pa.array([86_399_999_999, 0, 0, None], pa.time64("us")),
        },
    )

    report = load(tmp_path / "src", db, table, src_file_name="*.parquet", if_exists="append", max_errors=5)

    assert report.error is None, report.error
    reasons = {r.line: r.reason for r in report.rejects}
    if db.name == "mariadb":  # VARBINARY(3) takes no 4 bytes, BINARY(2) no 1 byte (it would pad it)
        assert reasons == {
            2: "column 'vb': '\\\\x61626364' is not bytes (at most 3)",
            3: "column 'fb': '\\\\x00' is not bytes (exactly 2)",
        }
        expected: list[tuple[Any, ...]] = [
            (1, b"\x00\xff\x00", b"\x00\x01", dt.time(1, 2, 3), dt.time(23, 59, 59, 999_999))
        ]
        expected.append((4, None, b"\xff\xff", dt.time(0), None))
    else:  # time(0) keeps no fraction of a second: 01:02:03.5 would be rounded
        assert reasons == {3: "column 't0': '01:02:03.500000' is not a time of day written HH:MM:SS"}
        expected = [
            (1, b"\x00\xff\x00", b"\x00\x01", dt.time(1, 2, 3), dt.time(23, 59, 59, 999_999)),
            (2, b"abcd", b"\x00\x01", dt.time(1, 2, 3), dt.time(0)),
            (4, None, b"\xff\xff", dt.time(0), None),
        ]
    rows = select(db, table, ["id", "vb", "fb", "t0", "t"])
    got = [(i, as_bytes(vb), as_bytes(fb), as_time(t0), as_time(t)) for i, vb, fb, t0, t in rows]
    assert got == expected
