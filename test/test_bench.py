"""The benchmark's code runs end to end on tiny data (SQLite only; no timings are asserted)."""

from __future__ import annotations

import shutil

from conftest import unavailable

from bench import run


def test_bench_runs_on_tiny_data(tmp_path, capsys):
    if shutil.which("sqlite3") is None:
        unavailable("the sqlite3 shell, the SQLite yardstick, is not installed")
    run.main(
        ["--rows", "300", "--files", "3", "--databases", "sqlite", "--repeat", "1", "--out", str(tmp_path)]
    )
    lines = capsys.readouterr().out.splitlines()
    sqlite = next(line for line in lines if line.startswith("sqlite "))
    assert "300" in sqlite
    assert sqlite.split()[-1].endswith("x")  # the naive design ran too
