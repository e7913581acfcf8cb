"""The benchmark's code runs end to end on tiny data (SQLite only; no timings are asserted)."""

from __future__ import annotations

import shutil

import pytest

from bench import run


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is the SQLite yardstick")
def test_bench_runs_on_tiny_data(tmp_path, capsys):
    run.main(
        ["--rows", "300", "--files", "3", "--databases", "sqlite", "--repeat", "1", "--out", str(tmp_path)]
    )
    lines = capsys.readouterr().out.splitlines()
    sqlite = next(line for line in lines if line.startswith("sqlite "))
    assert "300" in sqlite
    assert sqlite.split()[-1].endswith("x")  # the naive design ran too
