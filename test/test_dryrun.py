"""The dry run writes nothing and tells the truth about the plan (issue 10); the plan says why a
column has its type (INDEXES and statistics are in test_indexes_and_statistics.py).

Oracles read each database through its driver and catalog: the snapshot of what a dry run must
not change, and the table the printed DDL builds, which must be the table the import builds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import SERVERS, Database, load, user_env, write
from test_publish import index_catalog

from processor.kinds import choose_type, classify, explain
from processor.publish.ledger import LEDGER_TABLE
from processor.publish.target import staging_name

HEADER = "id,zip,amount,day,name\n"
A_CSV = HEADER + "1,00123,1.5,2021-01-01,a\n2,00456,2.25,2021-02-03,b\n"
B_CSV = HEADER + "3,00789,3.5,2021-03-04,c\n4,01000,4.75,2021-04-05,d\n5,02000,5.5,2021-05-06,e\n"


def snapshot(db: Database, table: str, folder: Path) -> object:
    """What a dry run must leave as it was.  A database file: whether it exists, the files
    beside it (no lock file), and every table with its rows.  A shared server: this table's
    tables (it and its staging tables) with their rows, and the ledger's rows for it."""
    if db.name in SERVERS:
        names = {t for t in db.tables() if t == table or t.startswith(staging_name(table, ""))}
        ledger = db.rows(LEDGER_TABLE) if db.exists(LEDGER_TABLE) else []
        held, beside = sorted(repr(r) for r in ledger if table in r), []
    else:
        database = Path(db.url.split("///", 1)[1])
        beside = sorted(os.listdir(database.parent))
        if not database.exists():
            return ("no database file", beside)
        names, held = db.tables(), []
        beside = [name for name in beside if name != database.name + ".wal"]
    return {name: sorted(map(repr, db.rows(name))) for name in sorted(names)}, held, beside


def columns_and_indexes(db: Database, table: str) -> tuple[list[tuple], dict]:
    """The table's columns with their types, and its indexes, from the database's catalog."""
    if db.name == "sqlite":
        columns = [(r[1], r[2], r[3]) for r in db._query(f"PRAGMA table_info('{table}')").rows_list]
    else:
        schema = "DATABASE()" if db.name == "mariadb" else "current_schema()"
        columns = db._query(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            f"WHERE table_schema = {schema} AND table_name = '{table}' ORDER BY ordinal_position"
        ).rows_list
    indexes = {
        name: (unique, tuple(c.strip('"') for c in cols))
        for name, (unique, cols) in index_catalog(db, table).items()
    }
    return columns, indexes


def test_dry_run_of_a_new_table_writes_nothing_and_its_ddl_builds_the_imported_table(db, table, tmp_path):
    folder = tmp_path / "data"
    write(folder, "a.csv", A_CSV)
    write(folder, "b.csv", B_CSV)
    indexes = (("zip",), ("day", "id"))
    before = snapshot(db, table, folder)

    report = load(folder, db, table, dry_run=True, indexes=indexes)

    assert report.error is None
    assert not report.published
    assert snapshot(db, table, folder) == before
    plan = report.dry_run
    assert plan is not None
    assert [(f.name, f.bytes, f.rows, f.exact, f.skipped) for f in plan.files] == [
        ("a.csv", len(A_CSV), 2, True, False),
        ("b.csv", len(B_CSV), 3, True, False),
    ]
    assert plan.estimated_rows == 5
    assert plan.header == ("id", "zip", "amount", "day", "name")
    text_type = "LONGTEXT" if db.name == "mariadb" else "TEXT"
    double = {"postgresql": "DOUBLE PRECISION", "duckdb": "DOUBLE PRECISION"}.get(db.name, "DOUBLE")
    assert [(c.name, c.sql_type) for c in plan.columns] == [
        ("id", "BIGINT"),
        ("zip", text_type),
        ("amount", double),
        ("day", "DATE"),
        ("name", text_type),
    ]
    assert plan.columns[1].reason == "leading zeros in `00123`"
    assert plan.columns[2].reason == "`1.5` is not a whole number; every value is exact as a double"
    assert plan.action == f"table {table!r} does not exist; the import creates it"
    assert plan.write_path
    assert plan.ddl[0].startswith("CREATE TABLE ")
    assert len(plan.ddl) == 3  # the table and its two indexes

    # The printed DDL, run by hand, builds the table the import builds.
    for statement in plan.ddl:
        db.execute(statement)
    by_hand = columns_and_indexes(db, table)
    db.drop(table)
    imported = load(folder, db, table, indexes=indexes)
    assert imported.error is None
    assert columns_and_indexes(db, table) == by_hand
    assert sorted(r[0] for r in db.rows(table)) == [1, 2, 3, 4, 5]


def test_dry_run_of_an_append_names_the_files_the_ledger_skips(db, table, tmp_path):
    folder = tmp_path / "data"
    write(folder, "a.csv", A_CSV)
    assert load(folder, db, table).error is None
    write(folder, "b.csv", B_CSV)
    before = snapshot(db, table, folder)

    report = load(folder, db, table, dry_run=True, if_exists="append")

    assert report.error is None
    assert snapshot(db, table, folder) == before
    plan = report.dry_run
    assert plan is not None
    assert [(f.name, f.skipped) for f in plan.files] == [("a.csv", True), ("b.csv", False)]
    assert report.skipped == ["a.csv"]
    assert plan.estimated_rows == 3
    assert "the ledger says it holds 1 of the files, which are skipped" in plan.action
    # Rows go through this run's staging table, typed as the existing table's columns.
    assert staging_name(db.backend.fold_table(table), report.run_id) in plan.ddl[0]
    assert {c.reason for c in plan.columns} == {"the existing table's column"}


def test_rows_beyond_the_sample_are_estimated_from_its_bytes_per_row(tmp_path):
    folder = tmp_path / "data"
    for name in ("big1.csv", "big2.csv", "big3.csv"):  # the later files' samples, too, are measured
        write(folder, name, HEADER + "".join(f"{n:04},00123,1.5,2021-01-01,abc\n" for n in range(1000)))
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")

    plan = load(folder, db, "t", dry_run=True, sample_rows=50).dry_run

    assert plan is not None
    assert [planned.exact for planned in plan.files] == [False] * 3
    for planned in plan.files:
        assert planned.rows is not None
        assert 1000 <= planned.rows <= 1010  # every row the same length; the header adds a little
    assert "rows to load: about " in plan.text()


def test_dry_run_on_the_command_line_prints_the_plan_and_writes_it_as_json(cli, tmp_path):
    folder = tmp_path / "data"
    write(folder, "a.csv", A_CSV)
    database = tmp_path / "new.db"
    report_path = tmp_path / "plan.json"
    env = user_env(SRC_DATA_FOLDER=str(folder), DEST_SQL=f"sqlite:///{database}", DEST_TABLE="t")

    code, out, err = cli(["--dry-run", "--report-path", str(report_path)], env)
    code_env, out_env, _ = cli([], {**env, "DRY_RUN": "1"})

    assert (code, code_env, err) == (0, 0, "")
    assert out == out_env
    assert out.startswith(f"dry run: nothing was written to sqlite:///{database}\n")
    assert "  zip     TEXT    leading zeros in `00123`\n" in out
    assert not database.exists()
    saved = json.loads(report_path.read_text(encoding="utf-8"))
    assert saved["status"] == "ok"
    assert saved["dry_run"]["estimated_rows"] == 2
    assert saved["dry_run"]["columns"][1] == {
        "name": "zip",
        "type": "TEXT",
        "reason": "leading zeros in `00123`",
    }
    shown = [line.strip() for line in out.splitlines()]
    assert all(line.strip() in shown for line in saved["dry_run"]["ddl"][0].splitlines())


def test_a_dry_run_does_not_clean_up(cli, tmp_path):
    database = tmp_path / "new.db"
    env = user_env(DEST_SQL=f"sqlite:///{database}", DEST_TABLE="t", DRY_RUN="true")
    assert cli(["--cleanup"], env) == (
        2,
        "",
        "error: --cleanup drops tables, which DRY_RUN never does; a dry run alone names them\n",
    )
    assert not database.exists()


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (["00123", "5"], "leading zeros in `00123`"),
        (["+5"], "a plus sign in `+5`"),
        (["-0"], "a signed zero in `-0`"),
        (["2021-02-30"], "not a real date or time: `2021-02-30`"),
        (["12345678901234567890"], "an integer beyond 64 bits: `12345678901234567890`"),
        (["1", "x"], "`x` is not a number, date or timestamp"),
        ([None], "no values in the sample"),
        (["7", "-3"], "whole numbers within 64 bits, e.g. `7`"),
        (["2021-01-31"], "every value is an ISO date, e.g. `2021-01-31`"),
    ],
)
def test_the_plan_says_why_a_column_has_its_type(values, reason):
    profile = classify(pa.array(values, pa.string()))
    assert explain(profile, choose_type(profile, lambda whole, scale: None)) == reason


def test_a_column_of_several_kinds_across_files_says_so():
    dates, numbers = (classify(pa.array(v, pa.string())) for v in (["2021-01-31"], ["12"]))
    merged = dates.merge(numbers)
    assert explain(merged, choose_type(merged, lambda whole, scale: None)) == (
        "values of different kinds across files, e.g. `2021-01-31` and `12`"
    )
