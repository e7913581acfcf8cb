"""Side outputs are part of the run (issue 19): a report or rejects file that cannot be written fails
the run before any work, or with the target as it was; rejects are on disk when the table is
published; a full disk is exit 12 and no report is left saying "running".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Database, write
from test_transform_failures import _env, _report


def _leftovers(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("setting", ["REPORT_PATH", "REJECTS_PATH"])
@pytest.mark.parametrize("where", ["below a file", "a directory", "in /proc"])
def test_a_side_output_that_cannot_be_written_fails_before_any_work(tmp_path, cli, setting, where):
    write(tmp_path / "src", "a.csv", "n\n1\nx\n")
    blocker = write(tmp_path, "blocker", "a file where a folder should be")
    (tmp_path / "folder").mkdir()
    path = {
        "below a file": blocker / "new" / "out.csv",
        "a directory": tmp_path / "folder",
        "in /proc": Path("/proc/no-such-folder/out.csv"),
    }[where]
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    before = _leftovers(tmp_path)
    code, out, err = cli([], _env(tmp_path, database, **{setting: str(path)}))
    assert (code, out) == (2, "")
    if where == "below a file":
        assert err == f"error: {setting} cannot be written: {path}: {blocker} is not a directory\n"
    elif where == "a directory":
        assert err == f"error: {setting} cannot be written: {path} is a directory\n"
    else:
        assert err.startswith(f"error: {setting} cannot be written: {path}: ")
    assert _leftovers(tmp_path) == before  # nothing created, the database file neither


def _full_disk(link: Path) -> Path:
    """``link`` leads to /dev/full: every write there fails "No space left on device"."""
    link.symlink_to("/dev/full")
    return link


def test_rejects_the_disk_cannot_hold_fail_the_run_with_the_target_as_it_was(db, table, tmp_path, cli):
    db.execute(f"CREATE TABLE {db.quote(table)} (n INTEGER)")
    db.execute(f"INSERT INTO {db.quote(table)} VALUES (7)")
    write(tmp_path / "src", "a.csv", "n\n1\n2,extra\n3\n")
    rejects = _full_disk(tmp_path / "rejects.csv")
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": db.url,
        "DEST_TABLE": table,
        "IF_EXISTS": "replace",
        "MAX_ERRORS": "5",
        "REJECTS_PATH": str(rejects),
        "REPORT_PATH": str(tmp_path / "report.json"),
    }
    code, out, err = cli([], env)
    assert (code, out) == (12, "")
    assert err == (
        f"error: REJECTS_PATH cannot be written: {rejects}: No space left on device (1 row rejected); "
        "nothing was published\n"
    )
    assert [int(r[0]) for r in db.rows(table)] == [7]
    report = _report(tmp_path / "report.json")
    assert (report["status"], report["exit_code"], report["published"]) == ("failed", 12, False)
    assert report["error"] == err.removeprefix("error: ").rstrip("\n")


def test_rejects_are_on_disk_when_the_table_is_published(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "n\n1\n2,extra\n3\n")
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    env = _env(tmp_path, database, MAX_ERRORS="5", REJECTS_PATH=str(tmp_path / "r" / "rejects.csv"))
    code, _, err = cli([], env)
    assert (code, err) == (0, "")
    assert (tmp_path / "r" / "rejects.csv").read_bytes() == (
        b'file,line,reason,text\r\na.csv,3,"expected 1 field, found 2","2,extra"\r\n'
    )


def test_a_report_the_disk_cannot_hold_at_the_start_is_exit_12(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    _full_disk(tmp_path / "report.json.partial")  # where the report is written before it replaces the old
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    code, out, err = cli([], _env(tmp_path, database, REPORT_PATH=str(tmp_path / "report.json")))
    assert (code, out) == (12, "")
    path = tmp_path / "report.json"
    assert err == f"error: REPORT_PATH cannot be written: {path}: No space left on device\n"
    assert not (tmp_path / "out.db").exists()


# Fills the disk under the report once the run has started (the sample is transformed after the
# report said "running"): the final report cannot be written.
FILL_DISK = """
import pathlib


def fill(frame):
    partial = pathlib.Path(__file__).with_name("report.json.partial")
    if not partial.is_symlink():
        partial.symlink_to("/dev/full")
    return frame
"""


@pytest.mark.parametrize("rows", ["1\n2\n", "1\nx\n"])
def test_a_final_report_the_disk_cannot_hold_is_exit_12_and_no_report_says_running(tmp_path, cli, rows):
    write(tmp_path / "src", "a.csv", "n\n" + rows)
    module = write(tmp_path, "fill.py", FILL_DISK)
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    report = tmp_path / "report.json"
    env = _env(tmp_path, database, REPORT_PATH=str(report), TRANSFORM=f"{module}:fill", SAMPLE_ROWS="1")
    code, out, err = cli([], env)
    problem = f"REPORT_PATH cannot be written: {report}: No space left on device"
    if rows == "1\n2\n":  # published, and the message says so
        assert (code, out) == (12, "")
        assert err.startswith(f"error: {problem}; table 't' was published (run_id '")
        assert [int(r[0]) for r in database.rows("t", "n")] == [1, 2]
    else:  # failed anyway (x is no integer): its own status, the report's failure added
        assert (code, out) == (5, "")
        assert err.startswith("error: a.csv: line 3: ")
        assert err.endswith(f"; and {problem}\n")
        assert "t" not in database.tables()
    assert not report.exists()  # not the report of the run's start, which said "running"
    assert not (tmp_path / "report.json.partial").exists()


def test_a_setting_refused_after_the_report_started_leaves_it_final(tmp_path, cli):
    """REJECTS_PATH is checked once the table is known, after the report said "running"."""
    write(tmp_path / "src", "a.csv", "n\n1\n")
    blocker = write(tmp_path, "blocker", "a file")
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    report = tmp_path / "report.json"
    env = _env(tmp_path, database, REPORT_PATH=str(report), REJECTS_PATH=str(blocker / "r.csv"))
    code, _, err = cli([], env)
    assert code == 2
    path = blocker / "r.csv"
    assert err == f"error: REJECTS_PATH cannot be written: {path}: {blocker} is not a directory\n"
    assert (_report(report)["status"], _report(report)["exit_code"]) == ("failed", 2)
