"""What the summary, the JSON summary line and the JSON report tell an operator (issue 20,
"operator polish"): the rejected rows by reason and by column and where they were written; no
published rows claimed by a run that failed after loading; "1 file", "1 row"; and what
``--cleanup`` removed."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

from conftest import csv_text, load, write

from processor.publish.target import staging_name

# The bad rows of the rejects test, each with the reason and column it is rejected for, as the
# test builds them (the oracle): after 20 good rows, so past SAMPLE_ROWS=5 (id and price are
# planned as integers from the sample).
BAD_ROWS = [
    ("21,x,c21", "value_misfit", "price"),
    ("22,y,c22", "value_misfit", "price"),
    ("23,4.5,c23", "value_misfit", "price"),
    ("24,24", "field_count", None),
    ("25,25,c25,extra", "field_count", None),
    ("z,26,c26", "value_misfit", "id"),
    ('27,27,"c"27', "text_after_quote", None),
]
GOOD = 20 + 3  # the 20 rows before the bad ones, and 3 after them


def _rejects_folder(tmp_path: Path) -> Path:
    lines = [f"{i},{i},c{i}" for i in range(1, 21)] + [row for row, _, _ in BAD_ROWS]
    lines += [f"{i},{i},c{i}" for i in range(30, 33)]
    return write(tmp_path / "src", "t.csv", "id,price,code\n" + "\n".join(lines) + "\n").parent


def _expected_counts() -> tuple[dict[str, int], dict[str, int]]:
    by_reason: dict[str, int] = {}
    by_column: dict[str, int] = {}
    for _, kind, column in BAD_ROWS:
        by_reason[kind] = by_reason.get(kind, 0) + 1
        if column:
            by_column[column] = by_column.get(column, 0) + 1
    return by_reason, by_column


def _env(tmp_path: Path, folder: Path, **settings: str) -> dict[str, str]:
    return {"SRC_DATA_FOLDER": str(folder), "DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}", **settings}


def test_the_summary_counts_rejects_by_reason_and_column_and_names_their_file(cli, tmp_path):
    folder = _rejects_folder(tmp_path)
    rejects = tmp_path / "out" / "report.rejects.csv"  # beside the report
    report_path = tmp_path / "out" / "report.json"
    env = _env(
        tmp_path, folder, SAMPLE_ROWS="5", MAX_ERRORS="10", DEST_TABLE="t", REPORT_PATH=str(report_path)
    )
    code, out, err = cli([], env)
    assert code == 0, err
    by_reason, by_column = _expected_counts()
    assert by_reason == {"value_misfit": 4, "field_count": 2, "text_after_quote": 1}
    # The summary's words, in its order: fields, quotes, values (by column, most first).
    expected = (
        f"; 7 rows rejected (2 with the wrong number of fields; 1 with text after a closing quote; "
        f"4 with a value that does not fit its column: 'price' 3, 'id' 1), written to {rejects}\n"
    )
    assert out.startswith(f"imported {GOOD} rows from 1 file into table 't' ")
    assert out.endswith(expected), out
    with rejects.open(newline="") as f:
        written = list(csv.DictReader(f))
    assert sorted(row["text"] for row in written) == sorted(row for row, _, _ in BAD_ROWS)
    report = json.loads(report_path.read_text())
    assert report["rejected"] == len(BAD_ROWS)
    assert report["rejected_by_reason"] == by_reason
    assert report["rejected_by_column"] == by_column
    assert list(report["rejected_by_column"]) == ["price", "id"]  # most first
    assert report["rejects_path"] == str(rejects)
    assert (report["rows"], report["rows_staged"]) == (GOOD, GOOD)
    with sqlite3.connect(tmp_path / "o.db") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (GOOD,)


def test_the_json_summary_line_has_the_reject_counts_and_path(cli, tmp_path):
    folder = _rejects_folder(tmp_path)
    env = _env(tmp_path, folder, SAMPLE_ROWS="5", MAX_ERRORS="10", DEST_TABLE="t", LOG_FORMAT="json")
    code, out, err = cli(["--quiet"], env)
    assert code == 0, err
    summary = json.loads(out.splitlines()[-1])
    by_reason, by_column = _expected_counts()
    assert summary["event"] == "summary"
    assert (summary["rows"], summary["rejected"]) == (GOOD, len(BAD_ROWS))
    assert summary["rejected_by_reason"] == by_reason
    assert summary["rejected_by_column"] == by_column
    # Not given REJECTS_PATH nor REPORT_PATH: <table>.rejects.csv in the working folder.
    assert summary["rejects_path"] == str(Path.cwd() / "t.rejects.csv")
    assert Path(summary["rejects_path"]).is_file()


def test_rejected_ndjson_lines_are_counted_as_invalid_records(cli, tmp_path):
    lines = ['{"a": 1, "b": "x"}', "not json", "[1, 2]", '{"a": 2, "a": 3}', '{"a": 4, "b": "y"}']
    folder = write(tmp_path / "src", "e.jsonl", "\n".join(lines) + "\n").parent
    code, out, err = cli(
        ["--report-path", str(tmp_path / "r.json")],
        _env(tmp_path, folder, SRC_FILE_NAME="*.jsonl", MAX_ERRORS="5"),
    )
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rejected_by_reason"] == {"invalid_record": 3}
    assert report["rejected_by_column"] == {}
    assert "; 3 rows rejected (3 not a JSON object of the columns), written to " in out


def test_no_rejects_no_path(cli, tmp_path):
    folder = write(tmp_path / "src", "t.csv", "a\n1\n").parent
    code, out, _ = cli(["--report-path", str(tmp_path / "r.json")], _env(tmp_path, folder))
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["rejected"], report["rejected_by_reason"], report["rejects_path"]) == (0, {}, None)
    assert "rejected" not in out


# -- a failed run claims no rows --------------------------------------------------------------


def test_a_run_past_max_errors_reports_no_rows_published(cli, tmp_path):
    """100 good rows are written to the staging table in chunks of 10 before the two bad ones
    exceed MAX_ERRORS: the report says 0 rows (published), and 100 staged."""
    rows = [[str(i), str(i)] for i in range(100)] + [["x", "1"], ["y", "2"]]
    folder = write(tmp_path / "src", "t.csv", csv_text(["id", "n"], rows)).parent
    env = _env(tmp_path, folder, SAMPLE_ROWS="10", CHUNK_SIZE="10", MAX_ERRORS="1")
    code, _, err = cli(["--report-path", str(tmp_path / "r.json")], env)
    assert code == 5, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["status"], report["published"]) == ("failed", False)
    assert (report["rows"], report["rows_staged"], report["rejected"]) == (0, 100, 2)
    assert [(f["name"], f["rows"], f["rows_staged"]) for f in report["files"]] == [("t.csv", 0, 100)]
    assert report["rejected_by_column"] == {"id": 2}


def test_a_failed_publish_reports_no_rows_published(db, table, tmp_path):
    """A refresh refused at the publish (MAX_SHRINK) loaded its rows into staging, then dropped
    them: neither the report nor RUNS_TABLE counts them as the table's."""
    write(tmp_path / "full", "t.csv", csv_text(["id"], [[str(i)] for i in range(100)]))
    write(tmp_path / "cut", "t.csv", csv_text(["id"], [[str(i)] for i in range(10)]))
    runs = f"{table}_runs"
    try:
        ok = load(tmp_path / "full", db, table, runs_table=runs)
        assert ok.error is None
        assert (ok.to_json()["rows"], ok.to_json()["files"][0]["rows"]) == (100, 100)
        report_path = tmp_path / "report.json"
        failed = load(
            tmp_path / "cut", db, table, if_exists="replace", report_path=report_path, runs_table=runs
        )
        assert (failed.exit_code, failed.published) == (11, False)
        report = json.loads(report_path.read_text())
        assert (report["status"], report["rows"], report["rows_staged"]) == ("failed", 0, 10)
        assert [(f["rows"], f["rows_staged"]) for f in report["files"]] == [(0, 10)]
        status, count = (db.columns(runs).index(name) for name in ("status", "row_count"))
        recorded = sorted((row[status], row[count]) for row in db.rows(runs))
        assert recorded == [("failed", 0), ("ok", 100)]
    finally:
        if db.name in ("postgresql", "mariadb"):
            db.drop(runs)


# -- plurals ----------------------------------------------------------------------------------


SUMMARY_START = r"imported (?P<rows>[\d,]+ rows?) from (?P<files>\d+ files?) into table 't' at \S+ in "


def test_one_file_one_row_one_rejected_row_one_skipped_file(cli, tmp_path):
    folder = tmp_path / "src"
    write(folder, "a.csv", "n,t\n1,x\n2,y,extra\n")
    env = _env(tmp_path, folder, DEST_TABLE="t", MAX_ERRORS="1", LOG_LEVEL="INFO")
    code, out, err = cli([], env)
    assert code == 0, err
    match = re.match(SUMMARY_START, out)
    assert match is not None, out
    assert (match["rows"], match["files"]) == ("1 row", "1 file")
    assert "; 1 row rejected (1 with the wrong number of fields), written to " in out
    assert "1 file to import into table 't'" in err
    assert "a.csv: 1 row (1/1 file)" in err
    write(folder, "b.csv", "n,t\n3,z\n")
    code, out, err = cli([], {**env, "IF_EXISTS": "append"})
    assert code == 0, err
    assert "; 1 file skipped (already loaded)" in out
    assert "rejected" not in out
    assert "1 file already loaded, skipped" in err
    for text in (out, err):
        assert not re.search(r"\b1 (rows|files|staging tables|columns)\b", text), text


def test_the_dry_run_counts_one_column_and_one_row(cli, tmp_path):
    folder = write(tmp_path / "src", "a.csv", "n\n1\n").parent
    code, out, err = cli(["--dry-run"], _env(tmp_path, folder))
    assert code == 0, err
    assert re.search(r"^  a\.csv  4 bytes  1 row  ", out, re.MULTILINE), out
    assert "header: 1 column, planned as" in out


# -- --cleanup --------------------------------------------------------------------------------


def test_cleanup_says_what_it_removed(cli, tmp_path):
    folder = write(tmp_path / "src", "t.csv", "a\n1\n").parent
    env = _env(tmp_path, folder, DEST_TABLE="t")
    assert cli([], env)[0] == 0
    leftover = staging_name("t", "0badc0de")
    with sqlite3.connect(tmp_path / "o.db") as conn:
        conn.execute(f'CREATE TABLE "{leftover}" (a TEXT)')
    destination = f"sqlite:///{tmp_path / 'o.db'}"
    code, out, err = cli(["--cleanup"], env)
    assert (code, out) == (
        0,
        f"cleanup: removed 1 staging table left by interrupted runs into table 't' at {destination}: "
        f"'{leftover}'\n",
    ), err
    with sqlite3.connect(tmp_path / "o.db") as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert leftover not in names
    assert "t" in names
    code, out, _ = cli(["--cleanup"], env)
    assert (code, out) == (
        0,
        f"cleanup: no staging tables left by interrupted runs into table 't' at {destination}; "
        "nothing removed\n",
    )


def test_cleanup_json_summary_line_has_no_import_words(cli, tmp_path):
    folder = write(tmp_path / "src", "t.csv", "a\n1\n").parent
    env = _env(tmp_path, folder, DEST_TABLE="t")
    assert cli([], env)[0] == 0
    code, out, _ = cli(["--cleanup"], {**env, "LOG_FORMAT": "json"})
    assert code == 0
    summary = json.loads(out.splitlines()[-1])
    assert summary["message"].startswith("cleanup: no staging tables left by interrupted runs into table 't'")
    assert "imported" not in summary["message"]
