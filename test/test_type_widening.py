"""ON_TYPE_CHANGE=widen (issue 21): an existing column the appended samples no longer fit is widened
in the plan, exactly, inside the publishing transaction; on every database.

The oracle is each test's own data: values read back with the database's own SQL and driver,
numbers compared as Decimal and text as bytes, the rows the table held before compared exactly.
The types are read from the database's catalog, not from the importer.  Where a database cannot
widen inside its all-or-nothing publish (``transactional_ddl``, ``alters_column_types``), the run
is refused before anything loads, and the table is left exactly as it was.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from conftest import Database, csv_text, load, user_env, write

from processor.errors import SchemaError
from processor.kinds import Kind

BEYOND_INT32 = "3000000000"


def write_column(folder: Path, name: str, ids: range, values: list[str]) -> None:
    """A CSV file of (id, v): ``values`` in order, one per id."""
    write(folder, name, csv_text(["id", "v"], [[str(i), v] for i, v in zip(ids, values, strict=True)]))


def values(db: Database, table: str) -> dict[int, Any]:
    """Column v by id, as the driver returns it."""
    rows = db._query(f"SELECT {db.quote('id')}, {db.quote('v')} FROM {db.quote(table)}").rows_list
    return {int(i): v for i, v in rows}


def as_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def as_bytes(value: Any) -> bytes | None:
    return None if value is None else str(value).encode()


def declared_type(db: Database, table: str, column: str) -> str:
    """The column's type as the database's catalog names it."""
    if db.name == "sqlite":
        rows = db._query(f"SELECT type FROM pragma_table_info('{table}') WHERE name = '{column}'").rows_list
    elif db.name == "postgresql":
        rows = db._query(
            f"SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            f"WHERE attrelid = '{table}'::regclass AND attname = '{column}'"
        ).rows_list
    else:
        rows = db._query(
            "SELECT column_type FROM information_schema.columns "
            f"WHERE table_name = '{table}' AND column_name = '{column}' AND table_schema = DATABASE()"
            if db.name == "mariadb"
            else "SELECT data_type FROM information_schema.columns "
            f"WHERE table_name = '{table}' AND column_name = '{column}'"
        ).rows_list
    return str(rows[0][0]).lower()


def can_widen(db: Database) -> bool:
    return db.features.transactional_ddl and db.features.alters_column_types


def has_exact_decimal(db: Database) -> bool:
    """Whether the database has an exact decimal type for 19 digits and 3 decimals (SQLite has none)."""
    backend = db.backend
    try:
        return backend.types.decimal_type(19, 3) is not None
    finally:
        backend.dispose()


def holds_as_float(db: Database, table: str, column: str) -> bool:
    """Whether the importer takes the existing column for a float (SQLite's DECIMAL: NUMERIC affinity)."""
    backend = db.backend
    try:
        return backend.types.existing_types(table)[column].kind is Kind.FLOAT
    finally:
        backend.dispose()


def refusal(db: Database, table: str, columns: str) -> str:
    """The message of a run refused because this database cannot widen in its publish."""
    if not db.features.transactional_ddl:
        return (
            f"ON_TYPE_CHANGE=widen: table {table!r} would widen the columns {columns}, but mysql commits "
            "ALTER TABLE on its own, outside the all-or-nothing publish; nothing was loaded. Change the "
            "columns' types first, or load with IF_EXISTS=replace"
        )
    return (
        f"ON_TYPE_CHANGE=widen: table {table!r} would widen the columns {columns}, but {db.name} cannot "
        "change a column's type in place (its ALTER TABLE has no ALTER COLUMN ... TYPE); nothing was "
        "loaded. Change the columns' types first, or load with IF_EXISTS=replace"
    )


def seeded(db: Database, table: str, tmp_path: Path, first: list[str], **settings: Any) -> dict[int, Any]:
    """The table as a first import of (id, v) = (1.., ``first``) left it; its values read back."""
    write_column(tmp_path / "one", "a.csv", range(1, len(first) + 1), first)
    report = load(tmp_path / "one", db, table, if_exists="append", **settings)
    assert report.error is None, report.error
    return values(db, table)


def refused_and_unchanged(
    db: Database, table: str, report: Any, before: dict[int, Any], type_before: str
) -> None:
    assert report.exit_code == 4
    assert isinstance(report.error, SchemaError)
    assert values(db, table) == before
    assert declared_type(db, table, "v") == type_before
    assert report.columns_widened == []


def test_an_int_column_widens_to_bigint(db, table, tmp_path):
    db.execute(f"CREATE TABLE {db.quote(table)} (id INTEGER, v INTEGER)")
    before = seeded(db, table, tmp_path, ["5", "-7"])
    type_before = declared_type(db, table, "v")
    new = [BEYOND_INT32, "-2147483649", "12"]
    write_column(tmp_path / "two", "b.csv", range(3, 6), new)
    # The default (ON_TYPE_CHANGE=fail), as before: the values the column does not hold are rejected.
    report = load(tmp_path / "two", db, table, if_exists="append", max_errors=5)
    if not report.rejects:  # SQLite's INTEGER affinity keeps 64-bit integers, whatever the declared type
        assert report.error is None, report.error
        assert type_before == "integer"
        assert as_decimal(values(db, table)[3]) == Decimal(BEYOND_INT32)
        return
    assert report.error is None, report.error
    assert sorted(r.line for r in report.rejects) == [2, 3]
    assert values(db, table) == {**before, 5: 12}
    db.execute(f"DELETE FROM {db.quote(table)} WHERE id = 5")
    write_column(tmp_path / "three", "c.csv", range(3, 6), new)
    report = load(tmp_path / "three", db, table, if_exists="append", on_type_change="widen")
    if not can_widen(db):
        assert str(report.error) == refusal(db, table, "'v'")
        refused_and_unchanged(db, table, report, before, type_before)
        return
    assert report.error is None, report.error
    assert report.columns_widened == ["v"]
    assert declared_type(db, table, "v") == "bigint"
    found = values(db, table)
    assert {i: as_decimal(v) for i, v in found.items()} == {
        1: Decimal(5),
        2: Decimal(-7),
        3: Decimal(BEYOND_INT32),
        4: Decimal(-2147483649),
        5: Decimal(12),
    }


def test_an_integer_column_widens_to_an_exact_decimal(db, table, tmp_path):
    big = "9223372036854775807"  # the largest bigint: the decimal must hold it still
    before = seeded(db, table, tmp_path, [big, "-3", ""])
    type_before = declared_type(db, table, "v")
    write_column(tmp_path / "two", "b.csv", range(4, 7), ["2.75", "-0.125", "7"])
    report = load(tmp_path / "two", db, table, if_exists="append", on_type_change="widen")
    if not can_widen(db):
        assert str(report.error) == refusal(db, table, "'v'")
        refused_and_unchanged(db, table, report, before, type_before)
        return
    assert report.error is None, report.error
    assert report.columns_widened == ["v"]
    # Where the database has no exact decimal (SQLite), the next exact step: text.
    assert declared_type(db, table, "v").startswith(
        ("numeric", "decimal") if has_exact_decimal(db) else "text"
    )
    found = {i: as_decimal(v) for i, v in values(db, table).items()}
    assert found == {
        1: Decimal(big),
        2: Decimal(-3),
        3: None,
        4: Decimal("2.75"),
        5: Decimal("-0.125"),
        6: Decimal(7),
    }


def test_a_decimal_column_widens_to_a_wider_decimal(db, table, tmp_path):
    db.execute(f"CREATE TABLE {db.quote(table)} (id INTEGER, v DECIMAL(6,2))")
    before = seeded(db, table, tmp_path, ["1234.50", "-0.25"])
    type_before = declared_type(db, table, "v")
    write_column(tmp_path / "two", "b.csv", range(3, 5), ["123456789.125", "1.5"])
    report = load(tmp_path / "two", db, table, if_exists="append", on_type_change="widen", max_errors=2)
    if holds_as_float(db, table, "v"):  # SQLite: DECIMAL has NUMERIC affinity, a float, exact for these
        assert report.error is None, report.error
        assert report.columns_widened == []
        floats = {i: Decimal(repr(v)) for i, v in values(db, table).items()}
        assert floats == {
            1: Decimal("1234.5"),
            2: Decimal("-0.25"),
            3: Decimal("123456789.125"),
            4: Decimal("1.5"),
        }
        return
    if not can_widen(db):
        assert str(report.error) == refusal(db, table, "'v'")
        refused_and_unchanged(db, table, report, before, type_before)
        return
    assert report.error is None, report.error
    assert report.columns_widened == ["v"]
    assert declared_type(db, table, "v") != type_before
    found = {i: as_decimal(v) for i, v in values(db, table).items()}
    assert found == {
        1: Decimal("1234.5"),
        2: Decimal("-0.25"),
        3: Decimal("123456789.125"),
        4: Decimal("1.5"),
    }


def test_a_number_column_meeting_text_widens_to_text_and_keeps_its_numbers_exactly(db, table, tmp_path):
    before = seeded(db, table, tmp_path, ["12", "-9007199254740993", "0"])
    type_before = declared_type(db, table, "v")
    write_column(tmp_path / "two", "b.csv", range(4, 7), ["n/a", "00123", "caf\u00e9"])
    report = load(tmp_path / "two", db, table, if_exists="append", on_type_change="widen")
    if not can_widen(db):
        assert str(report.error) == refusal(db, table, "'v'")
        refused_and_unchanged(db, table, report, before, type_before)
        return
    assert report.error is None, report.error
    assert report.columns_widened == ["v"]
    assert declared_type(db, table, "v") in ("text", "varchar")
    found = {i: as_bytes(v) for i, v in values(db, table).items()}
    assert found == {
        1: b"12",
        2: b"-9007199254740993",
        3: b"0",
        4: b"n/a",
        5: b"00123",
        6: "caf\u00e9".encode(),
    }


def test_a_float_column_is_refused_not_turned_into_text(db, table, tmp_path):
    before = seeded(db, table, tmp_path, ["1.5", "2.25"])
    type_before = declared_type(db, table, "v")
    write_column(tmp_path / "two", "b.csv", range(3, 4), ["1e400x"])
    report = load(tmp_path / "two", db, table, if_exists="append", on_type_change="widen")
    assert str(report.error).startswith(
        f"ON_TYPE_CHANGE=widen: column 'v' of table {table!r} is a number that a float holds exactly, "
        "and the samples hold `1e400x`; as text its values would read differently from the files"
    )
    refused_and_unchanged(db, table, report, before, type_before)


def test_a_misfit_past_the_samples_is_still_a_rejected_row(db, table, tmp_path):
    before = seeded(db, table, tmp_path, ["1", "2"])
    type_before = declared_type(db, table, "v")
    write_column(tmp_path / "two", "b.csv", range(3, 7), ["3", "4", "five", "6"])
    report = load(
        tmp_path / "two", db, table, if_exists="append", on_type_change="widen", sample_rows=2, max_errors=1
    )
    assert report.error is None, report.error
    assert report.columns_widened == []
    assert [(r.line, r.column) for r in report.rejects] == [(4, "v")]
    assert declared_type(db, table, "v") == type_before
    assert {i: as_decimal(v) for i, v in values(db, table).items()} == {
        **{i: as_decimal(v) for i, v in before.items()},
        3: Decimal(3),
        4: Decimal(4),
        6: Decimal(6),
    }


def test_the_dry_run_shows_each_files_widening_and_the_report_lists_it(db, table, tmp_path):
    seeded(db, table, tmp_path, ["1", "2"])
    type_before = declared_type(db, table, "v")
    write_column(tmp_path / "two", "b.csv", range(3, 5), ["3", "4"])
    write_column(tmp_path / "two", "c.csv", range(5, 7), ["5", "half"])
    report = load(tmp_path / "two", db, table, if_exists="append", on_type_change="widen", dry_run=True)
    if not can_widen(db):
        assert str(report.error) == refusal(db, table, "'v'")
        return
    assert report.error is None, report.error
    plan = report.dry_run
    assert plan is not None
    decisions = {f.name: f.columns.widened for f in plan.files}
    assert decisions == {"b.csv": (), "c.csv": ("v",)}
    assert "    columns: widens 'v'" in plan.text()
    reason = next(c.reason for c in plan.columns if c.name == "v")
    assert reason == "widened (ON_TYPE_CHANGE=widen) from a 64-bit integer: `half`, which is not a number"
    assert len(plan.ddl) > 1  # the staging table's CREATE TABLE, then the change to the table
    assert any(table in statement for statement in plan.ddl[1:])
    assert plan.to_json()["files"][1]["columns"]["widened"] == ["v"]
    assert declared_type(db, table, "v") == type_before  # the dry run changed nothing
    # The run itself: the report lists the widened column (JSON too), and --write-schema its new type.
    out, schema = tmp_path / "report.json", tmp_path / "schema.json"
    report = load(
        tmp_path / "two",
        db,
        table,
        if_exists="append",
        on_type_change="widen",
        report_path=out,
        write_schema=schema,
    )
    assert report.error is None, report.error
    assert json.loads(out.read_text())["columns_widened"] == ["v"]
    assert json.loads(schema.read_text())["columns"] == {"id": "integer", "v": "text"}
    # The ledger keeps working: the files the table holds are skipped; a new one appends as text.
    write_column(tmp_path / "two", "d.csv", range(7, 8), ["007"])
    report = load(tmp_path / "two", db, table, if_exists="append")
    assert report.error is None, report.error
    assert sorted(report.skipped) == ["b.csv", "c.csv"]
    assert {i: as_bytes(v) for i, v in values(db, table).items()} == {
        1: b"1",
        2: b"2",
        3: b"3",
        4: b"4",
        5: b"5",
        6: b"half",
        7: b"007",
    }


def test_a_column_an_index_or_a_view_depends_on_is_refused_before_loading(db, table, tmp_path):
    before = seeded(db, table, tmp_path, ["1", "2"])
    type_before = declared_type(db, table, "v")
    view = f"{table}_v"
    db.execute(f"CREATE INDEX {db.quote(table + '_ix')} ON {db.quote(table)} ({db.quote('v')})")
    db.execute(f"CREATE VIEW {db.quote(view)} AS SELECT {db.quote('v')} FROM {db.quote(table)}")
    try:
        write_column(tmp_path / "two", "b.csv", range(3, 4), ["2.5"])
        report = load(tmp_path / "two", db, table, if_exists="append", on_type_change="widen")
        if can_widen(db):  # PostgreSQL: the view blocks it; DuckDB: the index does
            message = str(report.error)
            assert message.startswith(
                f"ON_TYPE_CHANGE=widen: table {table!r} would widen the columns 'v', but {db.name} changes "
                "no column's type while "
            ), message
            assert ("view" in message) or ("index" in message), message
        else:
            assert str(report.error) == refusal(db, table, "'v'")
        refused_and_unchanged(db, table, report, before, type_before)
    finally:
        db.execute(f"DROP VIEW {db.quote(view)}")


def test_merge_widens_its_columns_too(db, table, tmp_path):
    before = seeded(db, table, tmp_path, ["1", "2"], primary_key=("id",))
    write_column(tmp_path / "two", "b.csv", range(2, 4), ["2.5", "-3"])
    report = load(tmp_path / "two", db, table, if_exists="merge", primary_key=("id",), on_type_change="widen")
    if not can_widen(db):
        assert str(report.error) == refusal(db, table, "'v'")
        assert values(db, table) == before
        return
    assert report.error is None, report.error
    assert report.columns_widened == ["v"]
    assert {i: as_decimal(v) for i, v in values(db, table).items()} == {
        1: Decimal(1),
        2: Decimal("2.5"),
        3: Decimal(-3),
    }


def sqlite_database(tmp_path: Path) -> Database:
    return Database("sqlite", f"sqlite:///{tmp_path / 'rebuilt.db'}")


def test_sqlite_rebuilds_the_table_keeping_its_key_not_null_indexes_and_row_order(tmp_path, table):
    db = sqlite_database(tmp_path)
    seeded(db, table, tmp_path, ["30", "10", "20"], primary_key=("id",), indexes=(("v",),))
    db.execute(f"CREATE INDEX {db.quote('by_v_desc')} ON {db.quote(table)} ({db.quote('v')} DESC)")
    write_column(tmp_path / "two", "b.csv", range(4, 6), ["n/a", "0042"])
    report = load(tmp_path / "two", db, table, if_exists="append", on_type_change="widen")
    assert report.error is None, report.error
    assert report.columns_widened == ["v"]
    assert db._query(f"SELECT sql FROM sqlite_master WHERE name = '{table}'").rows_list == [
        (f'CREATE TABLE "{table}" ("id" BIGINT NOT NULL, "v" TEXT, PRIMARY KEY ("id"))',)
    ]
    indexes = db._query(
        "SELECT name, sql FROM sqlite_master "
        f"WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = '{table}'"
    )
    assert sorted(indexes.rows_list) == [
        ("by_v_desc", f'CREATE INDEX "by_v_desc" ON "{table}" ("v" DESC)'),
        (f"ix_{table}_v", f'CREATE INDEX "ix_{table}_v" ON "{table}" ("v")'),
    ]
    rows = db._query(f"SELECT id, v, typeof(v) FROM {db.quote(table)} ORDER BY rowid").rows_list
    assert rows == [
        (1, "30", "text"),
        (2, "10", "text"),
        (3, "20", "text"),
        (4, "n/a", "text"),
        (5, "0042", "text"),
    ]
    assert not [t for t in db.tables() if t.startswith("_import_stage")]


def test_sqlite_refuses_a_table_its_rebuild_would_not_give_back(tmp_path, table):
    db = sqlite_database(tmp_path)
    q = db.quote
    db.execute(f"CREATE TABLE {q(table)} (id INTEGER, v BIGINT, w TEXT DEFAULT 'x')")
    db.execute(f"CREATE TRIGGER {q(table + '_t')} AFTER INSERT ON {q(table)} BEGIN SELECT 1; END")
    before = seeded(db, table, tmp_path, ["1", "2"], on_missing_columns="null")
    sql = db._query("SELECT sql FROM sqlite_master ORDER BY name").rows_list
    write_column(tmp_path / "two", "b.csv", range(3, 4), ["n/a"])
    report = load(
        tmp_path / "two", db, table, if_exists="append", on_type_change="widen", on_missing_columns="null"
    )
    assert str(report.error) == (
        f"ON_TYPE_CHANGE=widen: table {table!r} would widen the columns 'v', but sqlite changes no column's "
        f"type while trigger {table}_t, default of column w depend on it; nothing was loaded. Change the "
        "columns' types first, or load with IF_EXISTS=replace"
    )
    assert report.exit_code == 4
    assert db._query("SELECT sql FROM sqlite_master ORDER BY name").rows_list == sql
    assert values(db, table) == before


def test_trailing_zeros_a_decimal_column_holds_need_no_widening(db, table, tmp_path):
    db.execute(f"CREATE TABLE {db.quote(table)} (id INTEGER, v DECIMAL(6,2))")
    seeded(db, table, tmp_path, ["1.25"])
    type_before = declared_type(db, table, "v")
    write_column(tmp_path / "two", "b.csv", range(2, 4), ["1.500", "-2.000"])
    report = load(tmp_path / "two", db, table, if_exists="append", on_type_change="widen")
    assert report.error is None, report.error
    assert report.columns_widened == []
    assert declared_type(db, table, "v") == type_before
    found = {
        i: Decimal(repr(v)) if isinstance(v, float) else as_decimal(v) for i, v in values(db, table).items()
    }
    assert found == {1: Decimal("1.25"), 2: Decimal("1.5"), 3: Decimal(-2)}


def test_the_setting_and_its_flag_widen_on_the_command_line(cli, tmp_path):
    database = tmp_path / "cli.db"
    db = Database("sqlite", f"sqlite:///{database}")
    seeded(db, "t", tmp_path, ["1", "2"])
    write_column(tmp_path / "two", "b.csv", range(3, 4), ["n/a"])
    env = user_env(SRC_DATA_FOLDER=str(tmp_path / "two"), DEST_SQL=db.url, DEST_TABLE="t", IF_EXISTS="append")
    code, out, err = cli(["--dry-run", "--on-type-change", "widen"], env)
    assert (code, err) == (0, "")
    assert "    columns: widens 'v'\n" in out
    assert (
        "  v   TEXT    widened (ON_TYPE_CHANGE=widen) from a 64-bit integer: `n/a`, which is not a number\n"
        in out
    )
    code, out, err = cli([], {**env, "ON_TYPE_CHANGE": "widen"})
    assert (code, err) == (0, "")
    assert {i: as_bytes(v) for i, v in values(db, "t").items()} == {1: b"1", 2: b"2", 3: b"n/a"}
    code, out, err = cli([], {**env, "ON_TYPE_CHANGE": "widest"})
    assert code == 2
    assert "ON_TYPE_CHANGE" in err
