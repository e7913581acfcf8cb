"""A database file whose disk fills (issue 19): SQLite's file, MariaDB's chunk file and DuckDB's file
(with one or two workers) are exit 12 naming the file, never "unexpected error".
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SERVERS, Database, need_server, user_env, write
from test_transform_failures import _env, _report


def _run_on_a_small_disk(tmp_path: Path, url: str, table: str) -> subprocess.CompletedProcess[str]:
    """``python index.py`` whose files may not grow past 64 KiB (RLIMIT_FSIZE: their writes fail
    as on a full disk), loading a.csv of 225 KB into ``url``."""
    write(tmp_path / "src", "a.csv", "n,t\n" + "".join(f"{i},{'x' * 40}\n" for i in range(5000)))
    env = user_env(
        SRC_DATA_FOLDER=str(tmp_path / "src"),
        DEST_SQL=url,
        DEST_TABLE=table,
        WORKERS="1",
        LOG_LEVEL="WARNING",
        REPORT_PATH=str(tmp_path / "report.json"),
        TMPDIR=str(tmp_path),
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    command = [sys.executable, str(ROOT / "index.py")]
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, preexec_fn=limit)


def test_a_sqlite_file_whose_disk_fills_is_exit_12_naming_it(tmp_path):
    database = tmp_path / "out.db"
    result = _run_on_a_small_disk(tmp_path, f"sqlite:///{database}", "t")
    assert (result.returncode, result.stdout) == (12, "")
    failure = f"error: a.csv: writing rows failed: the disk under {database} is full or failing ("
    assert result.stderr.startswith(failure)
    report = _report(tmp_path / "report.json")
    assert (report["status"], report["exit_code"]) == ("failed", 12)
    assert "t" not in Database("sqlite", f"sqlite:///{database}").tables()


def test_a_mariadb_chunk_file_whose_disk_fills_is_exit_12_naming_it(tmp_path, table):
    need_server("mariadb")
    result = _run_on_a_small_disk(tmp_path, SERVERS["mariadb"], table)
    assert (result.returncode, result.stdout) == (12, "")
    failure = f"error: the chunk's file for LOAD DATA cannot be written: {tmp_path}/import-"
    assert result.stderr.startswith(failure)
    assert result.stderr.endswith(".csv: File too large\n")
    assert not list(tmp_path.glob("import-*.csv"))  # removed
    assert table not in Database("mariadb", SERVERS["mariadb"]).tables()


# Fills the disk under DuckDB's write-ahead log once the load has begun (the 2nd chunk given to
# the function: the 1st is a.csv's sample).
FILL_WAL = """
import pathlib

calls = 0


def fill(frame):
    global calls
    calls += 1
    wal = pathlib.Path(__file__).with_name("out.duckdb.wal")
    if calls == 2 and not wal.is_symlink():
        wal.symlink_to("/dev/full")
    return frame
"""


@pytest.mark.parametrize("workers", [pytest.param("1", marks=pytest.mark.slow), "2"])
def test_a_duckdb_file_whose_disk_fills_is_exit_12_naming_it(tmp_path, cli, workers):
    write(tmp_path / "src", "a.csv", "n\n1\n2\n")
    module = write(tmp_path, "fill.py", FILL_WAL)
    database = Database("duckdb", f"duckdb:///{tmp_path / 'out.duckdb'}")
    report = tmp_path / "report.json"
    settings = {"TRANSFORM": f"{module}:fill", "WORKERS": workers, "SAMPLE_ROWS": "1"}
    env = _env(tmp_path, database, **settings, REPORT_PATH=str(report))
    if workers == "2":  # two tasks: one part of the file each
        env["SPLIT_BYTES"] = "4"
    code, out, err = cli([], env)
    assert (code, out) == (12, "")
    *warnings, error = err.splitlines()
    # A chunk's append, or the commit of the load's one transaction (``HeldWriter``), which no
    # one file's rows fill.
    full = f"the disk under {tmp_path / 'out.duckdb'} is full or failing ("
    assert error.startswith(
        (f"error: a.csv: writing rows failed: {full}", f"error: committing the loaded rows failed: {full}")
    )
    assert "No space left on device" in error
    # The full disk keeps the staging table too: the run says so, and how it goes.
    assert all("WARNING could not drop this run's staging tables" in w and "--cleanup" in w for w in warnings)
    # The run created the database file: it removed it, with its write-ahead log.
    assert not (tmp_path / "out.duckdb").exists()
    assert not (tmp_path / "out.duckdb.wal").is_symlink()
    # ... and the staging tables in it: the report does not send the user to --cleanup.
    assert _report(report)["warnings"] == []
