"""The report tells the truth (issue 7): invalid settings replace an old report (also from a flag, also
as a JSON log line), a report path that cannot be written fails before any work, a report says
"running" until the run ends.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import Database, load, write
from test_progress import HEADER, _rows

from processor.backends import backend_for
from processor.backends.database import create_engine
from processor.settings import parse_url


def old_report(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"status": "ok"}\n')
    return path


def test_invalid_settings_replace_the_report(cli, tmp_path):
    report = old_report(tmp_path / "report.json")
    code, out, err = cli([], {"WORKERS": "abc", "REPORT_PATH": str(report)})
    assert (code, out, err) == (2, "", "error: WORKERS must be a positive integer, got 'abc'\n")
    data = json.loads(report.read_text())
    assert {k: data[k] for k in ("status", "exit_code", "error", "published", "rows")} == {
        "status": "failed",
        "exit_code": 2,
        "error": "WORKERS must be a positive integer, got 'abc'",
        "published": False,
        "rows": 0,
    }
    assert list(Path.cwd().iterdir()) == []  # nothing else written


def test_invalid_settings_as_a_json_log_line_and_a_report_from_a_flag(cli, tmp_path):
    report = old_report(tmp_path / "report.json")
    code, out, err = cli(
        ["--report-path", str(report), "--if-exists", "sometimes"],
        {"LOG_FORMAT": "json", "DEST_SQL": "postgresql://u:Pw9x@h/db"},
    )
    assert (code, out) == (2, "")
    (line,) = err.splitlines()
    record = json.loads(line)
    message = "IF_EXISTS must be one of fail, replace, append, merge, delete_rows; got 'sometimes'"
    assert (record["level"], record["message"]) == ("ERROR", message)
    data = json.loads(report.read_text())
    assert (data["status"], data["exit_code"], data["error"], data["destination"]) == (
        "failed",
        2,
        message,
        None,
    )
    assert "Pw9x" not in report.read_text()


def test_unknown_flag_is_an_invalid_setting_with_a_report(cli, tmp_path):
    report = old_report(tmp_path / "report.json")
    code, out, err = cli(["--report-path", str(report), "--wokers", "2"], {})
    assert (code, out, err) == (2, "", "error: unrecognized arguments: --wokers 2\n")
    assert json.loads(report.read_text())["error"] == "unrecognized arguments: --wokers 2"


def test_report_path_that_cannot_be_written_fails_before_any_work(cli, tmp_path):
    blocker = write(tmp_path, "blocker", "a file where a folder should be")
    write(tmp_path / "src", "a.csv", "n\n1\n")
    db_path = tmp_path / "o.db"
    code, out, err = cli(
        [],
        {
            "SRC_DATA_FOLDER": str(tmp_path / "src"),
            "DEST_SQL": f"sqlite:///{db_path}",
            "REPORT_PATH": str(blocker / "report.json"),
        },
    )
    assert (code, out) == (2, "")
    path = blocker / "report.json"
    assert err == f"error: REPORT_PATH cannot be written: {path}: {blocker} is not a directory\n"
    assert not db_path.exists()


def test_report_says_running_until_the_run_ends(tmp_path):
    """A run waiting for the import lock: its report already replaced the last one."""
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    write(tmp_path / "src", "a.csv", "n\n1\n")
    report_path = old_report(tmp_path / "report.json")
    engine = create_engine(parse_url(db.url))
    finished = []
    with backend_for(engine).import_lock("t", timeout=0):
        run = threading.Thread(
            target=lambda: finished.append(
                load(tmp_path / "src", db, "t", lock_timeout=120, report_path=report_path)
            )
        )
        run.start()
        deadline = time.monotonic() + 60
        while json.loads(report_path.read_text())["status"] == "ok" and time.monotonic() < deadline:
            time.sleep(0.05)
        running = json.loads(report_path.read_text())
    run.join()
    engine.dispose()
    assert (running["status"], running["exit_code"], running["published"]) == ("running", None, False)
    assert finished[0].error is None, finished[0].error
    final = json.loads(report_path.read_text())
    assert (final["status"], final["exit_code"], final["published"], final["rows"]) == ("ok", 0, True, 1)
    assert final["run_id"] == running["run_id"]


def test_report_numbers_match_the_table(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a/t.csv", HEADER + _rows(0, 40) + "40,ragged\n" + _rows(41, 9))
    write(src, "b/t.csv", HEADER + _rows(100, 25))
    report_path = tmp_path / "out" / "report.json"
    report = load(src, db, table, max_errors=1, report_path=report_path)
    assert report.error is None, report.error
    data = json.loads(report_path.read_text())
    stored = db.rows(table)
    files = {f["name"]: f for f in data["files"]}
    assert set(files) == {"a/t.csv", "b/t.csv"}
    for name, expected_written in (("a/t.csv", 49), ("b/t.csv", 25)):
        written = sum(1 for row in stored if (int(row[0]) < 100) == (name == "a/t.csv"))
        assert files[name]["rows"] == written == expected_written
        assert files[name]["bytes"] == (src / name).stat().st_size
        assert files[name]["rows_read"] == written + files[name]["rejected"]
        assert files[name]["write_path"] in data["write_path"]
    assert files["a/t.csv"]["rejected"] == data["rejected"] == 1
    assert data["rows"] == len(stored) == 74
    assert data["rows_read"] == 75
    assert sum(Decimal(str(row[2])) for row in stored) == sum(
        Decimal(i) + Decimal("0.25") for i in [*range(40), *range(41, 50), *range(100, 125)]
    )
    assert [c["name"] for c in data["plan"]] == ["id", "name", "amount"]
    assert data["plan"][0]["type"] in ("BIGINT", "INTEGER")
    assert set(data["phases"]) == {"discover", "sample", "load", "publish", "statistics"}
    assert all(seconds >= 0 for seconds in data["phases"].values())
    (path,) = data["write_path"]
    assert path.startswith(
        {
            "sqlite": "executemany INSERT",
            "duckdb": "INSERT ... SELECT from the Arrow chunk",
            "postgresql": "binary COPY from Arrow",
            "mariadb": "LOAD DATA LOCAL INFILE",
        }[db.name]
    ), path
    assert (data["settings"]["DEST_TABLE"], data["settings"]["MAX_ERRORS"]) == (table, 1)
    assert data["finished_at"] >= data["started_at"]


def test_report_settings_hide_the_password(tmp_path):
    from processor import Settings

    shown = Settings(
        dest_sql="postgresql://u:Pw9secret@h/db?sslpassword=Q7secret",
        notify_url="https://hook:Hk4secret@example.org/x",
    ).shown()
    text = json.dumps(shown)
    assert "secret" not in text
    assert shown["DEST_SQL"] == "postgresql+psycopg2://u:***@h/db?sslpassword=***"
    assert shown["NOTIFY_URL"] == "https://hook:***@example.org/***"


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_one_file_with_two_workers_is_loaded_by_a_pool_worker(db, table, tmp_path):
    """One file of one part and WORKERS=2: a pool of one, not the run's own process, so SQLite's
    rows go through the workers' ADBC driver (the run's process would write them with
    ``executemany``); the report names the path, and the rows are the file's."""
    src = tmp_path / "src"
    write(src, "only.csv", HEADER + _rows(0, 30))
    report_path = tmp_path / "report.json"
    report = load(src, db, table, workers=2, report_path=report_path)
    assert report.error is None, report.error
    assert json.loads(report_path.read_text())["write_path"] == [
        "bulk ingest from Arrow (ADBC SQLite driver)"
    ]
    stored = sorted(db.rows(table), key=lambda row: int(row[0]))
    assert [(int(r[0]), r[1], Decimal(str(r[2]))) for r in stored] == [
        (i, f"name {i}", Decimal(i) + Decimal("0.25")) for i in range(30)
    ]
