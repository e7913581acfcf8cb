"""RUNS_TABLE on every database: each run is a row of the runs table, read back through the driver;
a runs table that cannot be written is a warning.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

import test_progress
from conftest import load, write
from test_progress import HEADER, _count, _rows

folder = test_progress.folder  # the fixture of test_progress.py: two files of 300 rows


def test_runs_table_records_each_run(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a/t.csv", HEADER + _rows(0, 30))
    runs = f"{table}_runs"
    try:
        first = load(src, db, table, runs_table=runs)
        second = load(src, db, table, runs_table=runs)  # fails: the table exists
        recorded = db.rows(runs, order_by="started_at")
        columns = db.columns(runs)
    finally:
        db.drop(runs)
    assert (first.error, second.exit_code) == (None, 7)
    assert columns == [
        "run_id",
        "started_at",
        "finished_at",
        "status",
        "exit_code",
        "table_name",
        "files",
        "row_count",
        "rejected",
        "seconds",
    ]
    by_id = {row[0]: row for row in recorded}
    assert set(by_id) == {first.run_id, second.run_id}
    ok, failed = by_id[first.run_id], by_id[second.run_id]
    assert [ok[3], int(ok[4]), ok[5], int(ok[6]), int(ok[7]), int(ok[8])] == ["ok", 0, table, 1, 30, 0]
    assert len(db.rows(table)) == int(ok[7])
    assert [failed[3], int(failed[4]), int(failed[7])] == ["failed", 7, 0]
    assert Decimal(str(ok[9])) == Decimal(str(round(first.seconds, 3)))


def test_runs_table_failure_is_a_warning(folder, tmp_path, cli):
    db_path = tmp_path / "o.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE runs (something_else INTEGER NOT NULL)")
    report = tmp_path / "r.json"
    env = {"SRC_DATA_FOLDER": str(folder), "DEST_SQL": f"sqlite:///{db_path}", "DEST_TABLE": "t"}
    code, out, err = cli(["--runs-table", "runs", "--report-path", str(report)], env)
    assert (code, out[:17]) == (0, "imported 600 rows"), err
    [warning] = json.loads(report.read_text())["warnings"]
    assert warning.startswith(
        "RUNS_TABLE 'runs': this run's row could not be written: table runs has no column"
    )
    assert warning in err
    assert _count(db_path, "t") == 600
