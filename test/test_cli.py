"""``python index.py`` run as a user runs it: a subprocess, configured by env vars and flags.

Each run imports into a SQLite file under ``tmp_path`` and is checked by what it prints, the exit
status, the report file and the table read back with the sqlite3 module.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, user_env, write

from processor.cpus import available_cpus
from processor.settings import OPTIONS

INDEX = ROOT / "index.py"
SUMMARY = re.compile(
    r"^imported (?P<rows>[\d,]+) rows? from (?P<files>\d+) files? into table '(?P<table>[^']+)' "
    r"at (?P<dest>\S+) in \d+\.\d s \([\d,]+ rows/s\)(?P<rejected>; [\d,]+ rows? rejected \(.*\)"
    r"(, written to \S+)?)?$"
)


def run(cwd: Path, *flags: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(INDEX), *flags],
        cwd=cwd,
        env=user_env(**settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rows(db_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    write(src, "2024/q1/sales.csv", 'id,name,amount\n1,"Smith, Jo",10.5\n2,Zoë,\n')
    write(src, "2024/q2/sales.csv", "id,name,amount\n3,00123,7\n")
    return src


def test_import_configured_by_environment(folder, tmp_path):
    db_path = tmp_path / "out.db"
    result = run(tmp_path, SRC_DATA_FOLDER=str(folder), DEST_SQL=f"sqlite:///{db_path}", WORKERS="1")
    assert result.returncode == 0, result.stderr
    match = SUMMARY.match(result.stdout.strip())
    assert match, result.stdout
    assert match["rows"] == "3"
    assert match["files"] == "2"
    assert match["table"] == "sales"
    assert match["dest"] == f"sqlite:///{db_path}"
    assert "Traceback" not in result.stderr
    assert "2024/q2/sales.csv: 1 row (2/2 files)" in result.stderr
    assert rows(db_path, "SELECT * FROM sales ORDER BY id") == [
        (1, "Smith, Jo", 10.5),
        (2, "Zoë", None),
        (3, "00123", 7.0),
    ]


def test_help_lists_every_setting_with_its_default(tmp_path):
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option in OPTIONS:
        assert (option.flag if option.switch else f"{option.flag} {option.env}") in text
    for expected in [
        "(default: data)",
        "(default: **/*.csv)",
        "(default: sqlite:///import.db)",
        "(default: the matched files' common name stem)",
        "(default: fail)",
        f"(default: the number of CPUs, {available_cpus()} here)",
        "(default: 5000)",
        "(default: 5000)",
        "(default: detected per file among , ; tab | (tab first for .tsv files))",
        "(default: true)",
        "(default: csv)",
        "(default: utf-8)",
        "(default: none: only an empty field is NULL)",
        "(default: 0)",
        "(default: beside REPORT_PATH, else <table>.rejects.csv)",
        "(default: none)",
        "(default: text)",
        "(default: INFO)",
        "(default: pool)",
    ]:
        assert expected in text
    assert text.count("(default:") == len(OPTIONS)
    assert "--verbose" in text


def test_flags_override_environment(folder, tmp_path):
    db_path = tmp_path / "out.db"
    result = run(
        tmp_path,
        "--dest-table",
        "from_flag",
        "--workers",
        "1",
        SRC_DATA_FOLDER=str(folder),
        DEST_SQL=f"sqlite:///{db_path}",
        DEST_TABLE="from_env",
        WORKERS="abc",  # invalid, but the flag wins before it is ever parsed
    )
    assert result.returncode == 0, result.stderr
    # sqlite_stat1 is SQLite's own, made by the ANALYZE after the load.
    tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    assert rows(db_path, tables) == [("_import_ledger",), ("from_flag",)]


@pytest.mark.slow
def test_verbose_shows_the_traceback(folder, tmp_path):
    write(folder, "2024/q3/sales.csv", "id,name,amount\n4,x\n")
    settings = {"SRC_DATA_FOLDER": str(folder), "DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}", "WORKERS": "1"}
    message = (
        "error: 2024/q3/sales.csv: line 2: expected 3 fields, found 2 "
        "(1 row rejected so far, MAX_ERRORS=0; nothing was loaded)"
    )
    plain = run(tmp_path, **settings)
    assert plain.returncode == 5
    assert plain.stdout == ""
    assert "Traceback" not in plain.stderr
    assert plain.stderr.splitlines()[-1] == message
    assert [line for line in plain.stderr.splitlines() if " INFO " not in line] == [message]
    verbose = run(tmp_path, "--verbose", **settings)
    assert verbose.returncode == 5
    assert "Traceback (most recent call last):" in verbose.stderr
    assert "in _check_reject_limit" in verbose.stderr
    assert verbose.stderr.splitlines()[-1] == message


def test_report_on_success(folder, tmp_path):
    report = tmp_path / "reports" / "run.json"
    result = run(
        tmp_path,
        SRC_DATA_FOLDER=str(folder),
        DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}",
        WORKERS="1",
        REPORT_PATH=str(report),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert {k: data[k] for k in ("status", "exit_code", "error", "table", "rows", "rejected")} == {
        "status": "ok",
        "exit_code": 0,
        "error": None,
        "table": "sales",
        "rows": 3,
        "rejected": 0,
    }
    assert sorted((f["name"], f["rows"], f["rejected"]) for f in data["files"]) == [
        ("2024/q1/sales.csv", 2, 0),
        ("2024/q2/sales.csv", 1, 0),
    ]
    assert all(isinstance(f["seconds"], float) and f["seconds"] >= 0 for f in data["files"])
    assert data["seconds"] >= max(f["seconds"] for f in data["files"])
    assert not (tmp_path / "reports" / "run.rejects.csv").exists()


@pytest.mark.slow
def test_report_on_failure(folder, tmp_path):
    write(folder, "2024/q3/sales.csv", "id,name,amount\n4,x,1\n5,y\n6,z,2,extra\n")
    report = tmp_path / "run.json"
    result = run(
        tmp_path,
        SRC_DATA_FOLDER=str(folder),
        DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}",
        WORKERS="1",
        MAX_ERRORS="1",
        REPORT_PATH=str(report),
    )
    assert result.returncode == 5
    data = json.loads(report.read_text())
    assert data["status"] == "failed"
    assert data["exit_code"] == 5
    assert data["error"] == (
        "2024/q3/sales.csv: line 3: expected 3 fields, found 2 "
        "(2 rows rejected so far, MAX_ERRORS=1; nothing was loaded)"
    )
    assert result.stderr.splitlines()[-1] == "error: " + data["error"]
    assert data["rejected"] == 2
    assert sorted((f["name"], f["rejected"]) for f in data["files"]) == [
        ("2024/q1/sales.csv", 0),
        ("2024/q2/sales.csv", 0),
        ("2024/q3/sales.csv", 2),
    ]
    with (tmp_path / "run.rejects.csv").open(newline="", encoding="utf-8") as rejects:
        assert list(csv.reader(rejects)) == [
            ["file", "line", "reason", "text"],
            ["2024/q3/sales.csv", "3", "expected 3 fields, found 2", "5,y"],
            ["2024/q3/sales.csv", "4", "expected 3 fields, found 4", "6,z,2,extra"],
        ]
    assert not (tmp_path / "o.db").exists()  # the run created it, and left it holding nothing


@pytest.mark.slow
def test_report_when_the_folder_is_missing(tmp_path):
    report = tmp_path / "run.json"
    result = run(tmp_path, SRC_DATA_FOLDER=str(tmp_path / "nope"), REPORT_PATH=str(report))
    assert result.returncode == 3
    data = json.loads(report.read_text())
    assert (data["status"], data["exit_code"], data["files"]) == ("failed", 3, [])
    assert data["error"] == f"SRC_DATA_FOLDER does not exist: {tmp_path / 'nope'}"
    assert not (tmp_path / "import.db").exists()


@pytest.mark.slow
def test_json_logs(folder, tmp_path):
    write(folder, "empty/sales.csv", "")
    ok = run(
        tmp_path,
        SRC_DATA_FOLDER=str(folder),
        DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}",
        WORKERS="1",
        LOG_FORMAT="json",
    )
    assert ok.returncode == 0, ok.stderr
    records = [json.loads(line) for line in ok.stderr.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert ("WARNING", "empty/sales.csv: empty file (0 bytes), skipped") in [
        (r["level"], r["message"]) for r in records
    ]
    summary = json.loads(ok.stdout)  # the summary is a JSON line too
    assert (summary["event"], summary["rows"]) == ("summary", 3)
    assert SUMMARY.match(summary["message"])
    failed = run(
        tmp_path,
        SRC_DATA_FOLDER=str(folder),
        DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}",
        WORKERS="1",
        LOG_FORMAT="json",
    )
    assert failed.returncode == 7
    records = [json.loads(line) for line in failed.stderr.splitlines()]
    assert (records[-1]["level"], records[-1]["message"]) == (
        "ERROR",
        "table 'sales' already exists; set IF_EXISTS=replace or IF_EXISTS=append",
    )


@pytest.mark.slow
def test_two_workers_into_sqlite_never_locked(tmp_path):
    src = tmp_path / "src"
    for n in range(6):
        write(src, f"part{n}/data.csv", "n,v\n" + "".join(f"{n * 1000 + i},{i}\n" for i in range(800)))
    db_path = tmp_path / "o.db"
    result = run(
        tmp_path,
        SRC_DATA_FOLDER=str(src),
        DEST_SQL=f"sqlite:///{db_path}",
        WORKERS="2",
        CHUNK_SIZE="50",
    )
    assert "database is locked" not in result.stderr
    assert result.returncode == 0, result.stderr
    match = SUMMARY.match(result.stdout.strip())
    assert match, result.stdout
    assert match["rows"] == "4,800"
    assert rows(db_path, "SELECT count(*), count(DISTINCT n) FROM data") == [(4800, 4800)]


@pytest.mark.slow
def test_bundled_sample_with_no_settings(tmp_path):
    shutil.copytree(ROOT / "data", tmp_path / "data")
    expected = 0
    for path in sorted((tmp_path / "data").glob("*/*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as stream:
            expected += sum(1 for _ in csv.reader(stream)) - 1
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    match = SUMMARY.match(result.stdout.strip())
    assert match, result.stdout
    assert (match["table"], match["dest"], match["files"]) == ("certificates", "sqlite:///import.db", "3")
    assert int(match["rows"].replace(",", "")) == expected
    assert rows(tmp_path / "import.db", "SELECT count(*) FROM certificates") == [(expected,)]
    with next((tmp_path / "data").glob("*/*.csv")).open(newline="", encoding="utf-8-sig") as stream:
        header = next(csv.reader(stream))
    with sqlite3.connect(tmp_path / "import.db") as conn:
        columns = [d[0] for d in conn.execute("SELECT * FROM certificates LIMIT 0").description]
    assert columns == header


@pytest.mark.slow
@pytest.mark.parametrize("closed", [1, 2])
def test_started_with_stdout_or_stderr_closed(folder, tmp_path, closed):
    """``cmd >&-`` or ``2>&-``: the run works; what would have gone to the closed stream is dropped."""
    db_path = tmp_path / "out.db"
    result = subprocess.run(
        [sys.executable, str(INDEX)],
        cwd=tmp_path,
        env=user_env(SRC_DATA_FOLDER=str(folder), DEST_SQL=f"sqlite:///{db_path}", WORKERS="2"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.close(closed),  # the child closes its own stream
    )
    assert result.returncode == 0, result.stderr
    if closed == 1:
        assert "2024/q2/sales.csv: 1 row " in result.stderr
    else:
        match = SUMMARY.match(result.stdout.strip())
        assert match, result.stdout
        assert match["rows"] == "3"
    assert rows(db_path, "SELECT id, name FROM sales ORDER BY id") == [
        (1, "Smith, Jo"),
        (2, "Zoë"),
        (3, "00123"),
    ]
