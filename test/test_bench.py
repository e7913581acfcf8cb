"""The benchmark's code runs end to end on tiny data (SQLite only; no timings are asserted)."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import unavailable

from bench import run

pytestmark = pytest.mark.slow


def test_bench_runs_on_tiny_data(tmp_path, capsys):
    if shutil.which("sqlite3") is None:
        unavailable("the sqlite3 shell, the SQLite yardstick, is not installed")
    tiny = ["--rows", "300", "--files", "3", "--gz-rows", "200", "--databases", "sqlite", "--repeat", "1"]
    run.main([*tiny, "--out", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    folder = next(line for line in lines if line.startswith("3 files ") and "sqlite" in line)
    packed = next(line for line in lines if line.startswith("1 .gz file ") and "sqlite" in line)
    assert folder.split()[3:4] == ["300"]
    assert packed.split()[4:5] == ["200"]
    assert folder.split()[-1] != "-"  # the naive design ran too
    results = json.loads((tmp_path / "results.json").read_text())
    assert [(r["case"], r["rows"]) for r in results["lines"]] == [("3 files", 300), ("1 .gz file", 200)]
