"""Parquet as an input format (issue 21): every Arrow type it maps, kept exactly on each
database; values no column holds rejected with their row; files matched by column name; the
ledger; the dry run; files that are no Parquet.

Oracles: the values written with pyarrow, as Python objects (Decimal, date, datetime, bytes of
text), compared with what each database's own driver returns for plain SQL; the planned SQL
types against the README's table.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import tarfile
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import Database, load, parts_read, user_env
from test_quotes import rejects_of

from processor.sources.formats.parquet import ParquetFormat

UTC = dt.UTC
BIG = Decimal("-1234567890123456789012345678.9012345678")  # 38 digits, scale 10
INSTANT = dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)

#: Column -> (Arrow array of three rows, what each row means: the oracle).
Column = tuple[pa.Array, list[object]]


def same(values: list[object], data_type: pa.DataType) -> Column:
    """A column whose rows mean the Python values they are written from."""
    return pa.array(values, data_type), values


COLUMNS: dict[str, Column] = {
    "id": same([1, 2, 3], pa.int32()),
    "i8": same([-128, 127, None], pa.int8()),
    "i16": same([-32768, 32767, None], pa.int16()),
    "i64": same([2**63 - 1, -(2**63), None], pa.int64()),
    "i53": same([2**53 + 1, 0, None], pa.int64()),
    "u32": same([2**32 - 1, 0, None], pa.uint32()),
    "u64": same([2**63 - 1, 5, None], pa.uint64()),
    "f32": (pa.array([0.1, -2.5, None], pa.float32()), [float(np.float32(0.1)), -2.5, None]),
    "f64": same([0.1, 1e300, None], pa.float64()),
    "dec": same([BIG, Decimal("1.5"), None], pa.decimal128(38, 10)),
    "dec256": same([Decimal("12345678901234567890.12345"), Decimal("0"), None], pa.decimal256(40, 5)),
    "flag": same([True, False, None], pa.bool_()),
    "day": same([dt.date(1, 1, 1), dt.date(9999, 12, 31), None], pa.date32()),
    "day64": same([dt.date(2024, 2, 29), dt.date(1970, 1, 1), None], pa.date64()),
    "at": same([dt.datetime(2024, 1, 2, 3, 4, 5, 123456), dt.datetime(1, 1, 1), None], pa.timestamp("us")),
    "at_ms": same([dt.datetime(2024, 1, 2, 3, 4, 5, 123000), None, None], pa.timestamp("ms")),
    "at_ns": (
        pa.array([1_700_000_000_123_456_000, 0, None], pa.timestamp("ns")),
        [dt.datetime(2023, 11, 14, 22, 13, 20, 123456), dt.datetime(1970, 1, 1), None],
    ),
    "zoned": same(
        [INSTANT, dt.datetime(1999, 12, 31, 23, 0, tzinfo=UTC), None], pa.timestamp("us", "Europe/Paris")
    ),
    "text": same(["Zoë 🎉 ø", "", None], pa.string()),
    "large": same(["00123", " x ", None], pa.large_string()),
    "dict": (pa.array(["b", "a", None]).dictionary_encode(), ["b", "a", None]),
    "items": (pa.array([[1, 2], [], None], pa.list_(pa.int64())), ["[1,2]", "[]", None]),
    "pair": (
        pa.array(
            [{"a": 1, "b": "x"}, {"a": None, "b": "y"}, None],
            pa.struct([("a", pa.int64()), ("b", pa.string())]),
        ),
        ['{"a":1,"b":"x"}', '{"a":null,"b":"y"}', None],
    ),
    "nulls": (pa.nulls(3), [None, None, None]),
}

#: The SQL type each database's table gets (README, "Parquet").
TEXT = {"sqlite": "TEXT", "duckdb": "TEXT", "postgresql": "TEXT", "mariadb": "LONGTEXT"}
PLANNED = {
    "sqlite": {
        "i64": "BIGINT",
        "f64": "DOUBLE",
        "dec": "TEXT",
        "dec256": "TEXT",
        "flag": "BOOLEAN",
        "day": "DATE",
        "at": "DATETIME",
        "zoned": "TEXT",
        "text": "TEXT",
    },
    "duckdb": {
        "i64": "BIGINT",
        "f64": "DOUBLE PRECISION",
        "dec": "NUMERIC(38, 10)",
        "dec256": "TEXT",
        "flag": "BOOLEAN",
        "day": "DATE",
        "at": "TIMESTAMP WITHOUT TIME ZONE",
        "zoned": "TIMESTAMP WITH TIME ZONE",
        "text": "TEXT",
    },
    "postgresql": {
        "i64": "BIGINT",
        "f64": "DOUBLE PRECISION",
        "dec": "NUMERIC",
        "dec256": "NUMERIC",
        "flag": "BOOLEAN",
        "day": "DATE",
        "at": "TIMESTAMP WITHOUT TIME ZONE",
        "zoned": "TIMESTAMP WITH TIME ZONE",
        "text": "TEXT",
    },
    "mariadb": {
        "i64": "BIGINT",
        "f64": "DOUBLE",
        "dec": "NUMERIC(38, 10)",
        "dec256": "NUMERIC(40, 5)",
        "flag": "BOOL",
        "day": "DATE",
        "at": "DATETIME(6)",
        "zoned": "LONGTEXT",
        "text": "LONGTEXT",
    },
}


def write_parquet(path: Path, columns: dict[str, pa.Array], **options: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path, **options)
    return path


def quoted(db: Database, name: str) -> str:
    """A name quoted always (``at``, ``day``, ``text`` are keywords somewhere)."""
    engine = db.engine
    try:
        return engine.dialect.identifier_preparer.quote_identifier(name)
    finally:
        engine.dispose()


def cast_text(db: Database, column: str) -> str:
    """SQL giving a column's value as the database prints it (zoned timestamps: with their offset)."""
    return f"CAST({quoted(db, column)} AS {'CHAR' if db.name == 'mariadb' else 'VARCHAR'})"


def as_python(value: Any, expected: object) -> object:
    """A value read back, as the Python value the file means (the oracle's kind)."""
    if value is None or expected is None:
        return value
    if isinstance(expected, bool):
        return value if isinstance(value, bool) else {1: True, 0: False, "1": True, "0": False}[value]
    if isinstance(expected, Decimal):
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    if isinstance(expected, dt.datetime) and expected.tzinfo is not None:
        return dt.datetime.fromisoformat(str(value).replace(" ", "T")).astimezone(UTC)
    if isinstance(expected, dt.datetime):
        return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    if isinstance(expected, dt.date):
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    if isinstance(expected, float):
        return float(value)
    return value


def test_parquet_keeps_every_arrow_type_exactly(db, table, tmp_path):
    folder = tmp_path / "src"
    write_parquet(folder / "all.parquet", {name: array for name, (array, _) in COLUMNS.items()})

    report = load(folder, db, table, src_file_name="*.parquet")

    assert report.error is None, report.error
    planned = {c["name"]: c["type"] for c in report.plan}
    assert {name: planned[name] for name in PLANNED[db.name]} == PLANNED[db.name]
    # Times of day, bytes, durations and intervals: test_parquet_types.py.
    for name in ("items", "pair", "nulls", "dict", "large"):
        assert planned[name] == TEXT[db.name], name
    assert db.columns(table) == list(COLUMNS)
    zoned = "zoned"
    selected = ", ".join(cast_text(db, n) if n == zoned else quoted(db, n) for n in COLUMNS)
    rows = db._query(f"SELECT {selected} FROM {quoted(db, table)} ORDER BY {quoted(db, 'id')}").rows_list
    assert len(rows) == 3
    for position, (name, (_, expected)) in enumerate(COLUMNS.items()):
        got = [as_python(row[position], want) for row, want in zip(rows, expected, strict=True)]
        assert got == expected, name
    # Text byte for byte; decimals with their scale where they are text.
    assert rows[0][list(COLUMNS).index("text")].encode() == "Zoë 🎉 ø".encode()
    if planned["dec"] == TEXT[db.name]:
        assert rows[1][list(COLUMNS).index("dec")] == "1.5000000000"


def test_values_no_column_holds_are_rejected_rows_naming_the_row(db, table, tmp_path):
    folder = tmp_path / "src"
    write_parquet(
        folder / "odd.parquet",
        {
            "id": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
            "x": pa.array([1.5, math.nan, math.inf, -math.inf, 2.0, 3.0]),
            "u": pa.array([1, 2, 3, 4, 2**64 - 1, 6], pa.uint64()),
            "t": pa.array([0, 0, 0, 0, 0, 1_000], pa.timestamp("ns")),
        },
    )
    write_parquet(
        folder / "sub.parquet",
        {
            "id": pa.array([7], pa.int64()),
            "x": pa.array([1.0]),
            "u": pa.array([7], pa.uint64()),
            "t": pa.array([1], pa.timestamp("ns")),  # one nanosecond: no database here holds it
        },
    )

    report = load(folder, db, table, src_file_name="*.parquet", max_errors=10)

    assert report.error is None, report.error
    assert sorted(row[0] for row in db.rows(table)) == [1, 6]
    rejects = {(r[0], int(r[1])): r[2] for r in rejects_of(tmp_path, table)}
    assert set(rejects) == {("odd.parquet", n) for n in (2, 3, 4, 5)} | {("sub.parquet", 1)}
    assert "'nan' is not a number that a float holds exactly" in rejects["odd.parquet", 2]
    assert "'inf'" in rejects["odd.parquet", 3]
    assert "'18446744073709551615' is not a 64-bit integer" in rejects["odd.parquet", 5]
    assert "'1970-01-01 00:00:00.000000001'" in rejects["sub.parquet", 1]
    texts = {(r[0], int(r[1])): r[3] for r in rejects_of(tmp_path, table)}
    assert json.loads(texts["odd.parquet", 5])["u"] == 2**64 - 1  # the row, as JSON


def test_a_folder_of_parquet_files_is_matched_by_column_name(db, table, tmp_path):
    folder = tmp_path / "src"
    write_parquet(
        folder / "a.parquet",
        {
            "id": pa.array([1, 2]),
            "amount": pa.array([Decimal("1.10"), None], pa.decimal128(9, 2)),
            "name": pa.array(["x", "y"]),
        },
    )
    write_parquet(
        folder / "b.parquet",
        # Another order, a wider decimal, several row groups.
        {
            "name": pa.array(["z", None, "w"]),
            "amount": pa.array([Decimal("123456.789"), Decimal("-0.001"), None], pa.decimal128(12, 3)),
            "id": pa.array([3, 4, 5]),
        },
        row_group_size=1,
    )

    report = load(folder, db, table, src_file_name="*.parquet")

    assert report.error is None, report.error
    assert db.columns(table) == ["id", "amount", "name"]
    rows = {row[0]: (None if row[1] is None else Decimal(str(row[1])), row[2]) for row in db.rows(table)}
    assert rows == {
        1: (Decimal("1.10"), "x"),
        2: (None, "y"),
        3: (Decimal("123456.789"), "z"),
        4: (Decimal("-0.001"), None),
        5: (None, "w"),
    }


def test_append_skips_an_unchanged_parquet_file_and_loads_a_new_one(tmp_path, table):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'l.db'}")
    folder = tmp_path / "src"
    write_parquet(folder / "a.parquet", {"id": pa.array([1, 2])})
    first = load(folder, db, table, src_file_name="*.parquet", if_exists="append")
    assert first.error is None, first.error
    write_parquet(folder / "b.parquet", {"id": pa.array([3])})

    second = load(folder, db, table, src_file_name="*.parquet", if_exists="append")

    assert second.error is None, second.error
    assert second.skipped == ["a.parquet"]
    assert sorted(row[0] for row in db.rows(table)) == [1, 2, 3]


def test_compressed_and_archived_parquet_files_are_read(tmp_path, table):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'c.db'}")
    folder = tmp_path / "src"
    plain = write_parquet(
        tmp_path / "plain" / "p.parquet", {"id": pa.array([1, 2]), "v": pa.array([0.5, None])}
    )
    folder.mkdir()
    (folder / "p.parquet.gz").write_bytes(gzip.compress(plain.read_bytes()))
    with zipfile.ZipFile(folder / "q.parquet.zip", "w") as archive:
        archive.write(plain, "q.parquet")
    with tarfile.open(folder / "r.tar", "w") as archive:
        archive.add(plain, "inside/r.parquet")

    report = load(folder, db, table, src_file_name="*.parquet.gz")
    zipped = load(folder, db, table + "z", src_file_name="*.zip")
    tarred = load(folder / "r.tar", db, table + "t", src_file_name="**/*.parquet")

    for done in (report, zipped, tarred):
        assert done.error is None, done.error
    for name in (table, table + "z", table + "t"):
        assert sorted(db.rows(name), key=str) == [(1, 0.5), (2, None)]


def test_dry_run_shows_the_parquet_types(cli, tmp_path, table):
    folder = tmp_path / "src"
    write_parquet(
        folder / "a.parquet",
        {"n": pa.array([1], pa.int16()), "d": pa.array([Decimal("1.25")], pa.decimal128(10, 2))},
    )
    env = user_env(
        SRC_DATA_FOLDER=str(folder),
        SRC_FILE_NAME="*.parquet",
        DEST_SQL=f"duckdb:///{tmp_path / 'd.duckdb'}",
        DEST_TABLE=table,
    )

    code, out, err = cli(["--dry-run"], env)

    assert code == 0, err
    assert "BIGINT" in out, out
    assert "NUMERIC(18, 2)" in out, out
    assert "the file's type int16" in out, out
    assert "the file's type decimal128(10, 2)" in out, out


def test_a_file_that_is_no_parquet_fails_with_exit_3_naming_it(cli, tmp_path, table):
    folder = tmp_path / "src"
    write_parquet(folder / "good.parquet", {"id": pa.array([1])})
    (folder / "broken.parquet").write_bytes(b"PAR1 this is not a parquet file at all PAR1")
    env = user_env(
        SRC_DATA_FOLDER=str(folder),
        SRC_FILE_NAME="*.parquet",
        DEST_SQL=f"sqlite:///{tmp_path / 'e.db'}",
        DEST_TABLE=table,
    )

    code, _out, err = cli([], env)

    assert code == 3
    assert "broken.parquet: not a readable Parquet file" in err


def test_a_column_of_a_type_no_kind_holds_is_refused_with_exit_3_naming_it(cli, tmp_path, table):
    import pyarrow.feather as feather

    folder = tmp_path / "src"
    folder.mkdir()
    # An extension type (arrow.uuid over 16 bytes): the importer does not guess what it means.
    uuids = pa.array([bytes(range(16))], pa.uuid())
    feather.write_feather(pa.table({"id": pa.array([1]), "blob": uuids}), folder / "b.feather")
    env = user_env(
        SRC_DATA_FOLDER=str(folder),
        SRC_FILE_NAME="*.feather",
        DEST_SQL=f"sqlite:///{tmp_path / 'b.db'}",
        DEST_TABLE=table,
    )

    code, _out, err = cli([], env)

    assert code == 3
    assert "b.feather: column 'blob' is of Arrow type extension<arrow.uuid>" in err
    assert not Database("sqlite", env["DEST_SQL"]).exists(table)
    # Left out, the other columns load.
    code, _out, err = cli([], {**env, "SRC_COLUMNS": "id"})
    assert code == 0, err
    assert Database("sqlite", env["DEST_SQL"]).rows(table) == [(1,)]


@pytest.mark.parametrize("name", ["x.PARQUET", "x.pq"])
def test_parquet_suffixes_are_found_by_discovery(tmp_path, table, name):
    db = Database("sqlite", f"sqlite:///{tmp_path / 's.db'}")
    write_parquet(tmp_path / "src" / name, {"id": pa.array([1])})
    report = load(tmp_path / "src", db, table, src_file_name="x.*")
    assert report.error is None, report.error
    assert db.rows(table) == [(1,)]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_large_parquet_file_is_loaded_in_parts_of_whole_row_groups(tmp_path, table, workers, monkeypatch):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'g.db'}")
    read_parts = parts_read(monkeypatch, ParquetFormat)
    ids = list(range(1, 1001))
    values = [math.nan if i in (7, 950) else i / 4 for i in ids]  # rejects in the first and a late part
    path = write_parquet(
        tmp_path / "src" / "big.parquet", {"id": pa.array(ids), "v": pa.array(values)}, row_group_size=100
    )
    assert pq.ParquetFile(path).metadata.num_row_groups == 10

    report = load(
        tmp_path / "src",
        db,
        table,
        src_file_name="*.parquet",
        split_bytes=2000,
        workers=workers,
        max_errors=5,
    )

    assert report.error is None, report.error
    loaded = dict(db.rows(table))
    assert sorted(loaded) == [i for i in ids if i not in (7, 950)]
    assert all(loaded[i] == i / 4 for i in loaded)
    rejects = rejects_of(tmp_path, table)
    assert [(r[0], int(r[1]), json.loads(r[3])["id"]) for r in rejects] == [
        ("big.parquet", 7, 7),
        ("big.parquet", 950, 950),
    ]
    if workers == 1:  # loaded inline: the sample's reading (part 0), then one per part
        assert len(set(read_parts)) > 2, read_parts


def test_the_parts_of_a_parquet_file_are_its_row_groups(tmp_path):
    from processor.sources.discover import discover_files
    from processor.sources.formats import format_of
    from processor.sources.read import read_batches
    from processor.sources.text import ReadRequest, TextFormat

    path = write_parquet(tmp_path / "src" / "g.parquet", {"id": pa.array(range(1, 501))}, row_group_size=100)
    (source,) = discover_files(path.parent, "*.parquet", None)
    parts = format_of(source).parts(source, 1)  # every row group is a part

    assert [p.first_line for p in parts] == [1, 101, 201, 301, 401]
    assert parts[0].start == 0
    assert [p.last for p in parts] == [False, False, False, False, True]
    read = [
        [
            v
            for b in read_batches(source, TextFormat(), ReadRequest(1, lambda row: None, part))
            for v in b.column(0).to_pylist()
        ]
        for part in parts
    ]
    assert read == [list(range(start, start + 100)) for start in (1, 101, 201, 301, 401)]


def test_appending_other_arrow_types_onto_a_table_checks_each_value_by_its_exact_text(db, table, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_parquet(
        first / "a.parquet",
        {
            "id": pa.array([1], pa.int64()),
            "n": pa.array([10], pa.int64()),
            "day": pa.array([dt.date(2024, 1, 1)]),
            "note": pa.array(["x"]),
        },
    )
    created = load(first, db, table, src_file_name="*.parquet")
    assert created.error is None, created.error
    write_parquet(
        second / "b.parquet",
        {
            "id": pa.array([2, 3, 4], pa.int16()),
            "n": pa.array([3.0, 3.5, None]),  # a float column onto BIGINT: 3 fits, 3.5 does not
            "day": pa.array([dt.date(2024, 2, 29), None, None], pa.date64()),
            "note": pa.array([42, None, -7], pa.int64()),  # onto text: the integer's digits
        },
    )

    appended = load(second, db, table, src_file_name="*.parquet", if_exists="append", max_errors=5)

    assert appended.error is None, appended.error
    rows = {row[0]: row[1:] for row in db.rows(table)}
    assert set(rows) == {1, 2, 4}
    assert rows[2][0] == 3
    assert rows[2][2] == "42"
    assert rows[4][2] == "-7"
    (reject,) = rejects_of(tmp_path, table)
    assert reject[:2] == ["b.parquet", "2"]
    assert "'3.5' is not" in reject[2]


@pytest.mark.parametrize("name", ["t.arrow", "t.feather"])
def test_an_arrow_ipc_or_feather_file_loads_with_its_types(tmp_path, table, name):
    import pyarrow.feather as feather

    db = Database("duckdb", f"duckdb:///{tmp_path / 'f.duckdb'}")
    columns = {key: COLUMNS[key][0] for key in ("id", "i64", "dec", "day", "at", "text", "items")}
    (tmp_path / "src").mkdir()
    feather.write_feather(pa.table(columns), tmp_path / "src" / name, chunksize=2)  # two record batches

    report = load(tmp_path / "src", db, table, src_file_name=name)

    assert report.error is None, report.error
    planned = {c["name"]: c["type"] for c in report.plan}
    assert planned["dec"] == "NUMERIC(38, 10)"
    assert planned["at"] == "TIMESTAMP WITHOUT TIME ZONE"
    rows = db.rows(table, order_by="id")
    for position, key in enumerate(columns):
        expected = COLUMNS[key][1]
        assert [as_python(row[position], want) for row, want in zip(rows, expected, strict=True)] == expected


@pytest.mark.filterwarnings("ignore:Feather V1 files are deprecated:DeprecationWarning")
def test_a_feather_version_1_file_is_exit_3_naming_it(cli, tmp_path, table):
    import pyarrow.feather as feather

    (tmp_path / "src").mkdir()
    feather.write_feather(pa.table({"id": pa.array([1])}), tmp_path / "src" / "old.feather", version=1)
    env = user_env(
        SRC_DATA_FOLDER=str(tmp_path / "src"),
        SRC_FILE_NAME="*.feather",
        DEST_SQL=f"sqlite:///{tmp_path / 'v1.db'}",
        DEST_TABLE=table,
    )

    code, _out, err = cli([], env)

    assert code == 3
    assert "old.feather: not a readable Arrow IPC (Feather v2) file" in err


def test_the_dry_run_counts_a_parquet_files_rows_from_its_footer(tmp_path, table):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'r.db'}")
    write_parquet(tmp_path / "src" / "a.parquet", {"id": pa.array(range(1000))}, row_group_size=300)

    report = load(tmp_path / "src", db, table, src_file_name="*.parquet", dry_run=True, sample_rows=10)

    assert report.error is None, report.error
    assert report.dry_run is not None
    (shown,) = report.dry_run.files
    assert (shown.rows, shown.exact) == (1000, True)
    assert not db.exists(table)


def test_a_transform_of_parquet_rows_returns_columns_typed_by_the_rules_of_text(tmp_path, table):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'x.db'}")
    module = tmp_path / "doubling.py"
    module.write_text("def double(frame):\n    frame['twice'] = frame['n'] * 2\n    return frame\n")
    write_parquet(
        tmp_path / "src" / "a.parquet",
        {"n": pa.array([1, 2], pa.int32()), "price": pa.array([Decimal("1.10"), None], pa.decimal128(5, 2))},
    )

    report = load(tmp_path / "src", db, table, src_file_name="*.parquet", transform=f"{module}:double")

    assert report.error is None, report.error
    # As a CSV file's text: "1.10" is a number a double holds (its scale is not kept).
    assert [c["type"] for c in report.plan] == ["BIGINT", "DOUBLE", "BIGINT"]
    assert sorted(db.rows(table), key=str) == [(1, 1.1, 2), (2, None, 4)]


def test_a_file_without_rows_or_values_still_declares_its_types(tmp_path, table):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'z.db'}")
    folder = tmp_path / "src"
    write_parquet(folder / "a.parquet", {"id": pa.array([], pa.int64()), "v": pa.array([], pa.float64())})
    write_parquet(folder / "b.parquet", {"id": pa.array([1, 2], pa.int64()), "v": pa.nulls(2)})
    write_parquet(
        folder / "c.parquet",
        {"id": pa.array([3], pa.int32()), "v": pa.array([Decimal(1)], pa.decimal128(3, 0))},
    )

    report = load(folder, db, table, src_file_name="[ab].parquet")
    mixed = load(folder, db, table + "m", src_file_name="*.parquet")

    assert report.error is None, report.error
    assert [c["type"] for c in report.plan] == ["BIGINT", "DOUBLE"]  # b's v has no type: a's decides
    assert sorted(db.rows(table)) == [(1, None), (2, None)]
    assert mixed.error is None, mixed.error
    assert [c["type"] for c in mixed.plan] == ["BIGINT", "TEXT"]  # double in a, decimal in c
    assert sorted(db.rows(table + "m")) == [(1, None), (2, None), (3, "1")]


def test_appending_parquet_onto_a_table_parquet_made_keeps_fractions_and_instants(db, table, tmp_path):
    at = [dt.datetime(2024, 1, 2, 3, 4, 5, 123456), dt.datetime(2024, 1, 2, 3, 4, 5)]
    zoned = [INSTANT, dt.datetime(2000, 1, 1, tzinfo=UTC)]
    for number, folder in enumerate(("first", "second")):
        write_parquet(
            tmp_path / folder / f"{folder}.parquet",
            {
                "id": pa.array([2 * number + 1, 2 * number + 2]),
                "at": pa.array(at, pa.timestamp("us")),
                "zoned": pa.array(zoned, pa.timestamp("us", "Europe/Paris")),
            },
        )
    created = load(tmp_path / "first", db, table, src_file_name="*.parquet")
    assert created.error is None, created.error

    appended = load(tmp_path / "second", db, table, src_file_name="*.parquet", if_exists="append")

    assert appended.error is None, appended.error
    sql = f"SELECT {quoted(db, 'id')}, {quoted(db, 'at')}, {cast_text(db, 'zoned')} FROM {quoted(db, table)}"
    rows = sorted(db._query(sql).rows_list)
    assert [row[0] for row in rows] == [1, 2, 3, 4]
    assert [as_python(row[1], at[0]) for row in rows] == at * 2
    assert [as_python(row[2], zoned[0]) for row in rows] == zoned * 2


def test_a_negative_scale_decimal_loads_as_its_whole_number(tmp_path, table):
    # Parquet cannot store a negative scale (pyarrow refuses to write one); Arrow IPC can.
    import pyarrow.feather as feather

    db = Database("duckdb", f"duckdb:///{tmp_path / 'n.duckdb'}")
    (tmp_path / "src").mkdir()
    values = [Decimal("1.23E+4"), Decimal("-9.9999E+6"), None]
    feather.write_feather(
        pa.table({"hundreds": pa.array(values, pa.decimal128(5, -2))}), tmp_path / "src" / "n.arrow"
    )

    report = load(tmp_path / "src", db, table, src_file_name="*.arrow")

    assert report.error is None, report.error
    assert [c["type"] for c in report.plan] == ["NUMERIC(18, 0)"]  # 7 digits before the point
    assert sorted(db.rows(table), key=str) == [(Decimal("-9999900"),), (Decimal("12300"),), (None,)]
