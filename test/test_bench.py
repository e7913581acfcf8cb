"""The benchmark's code runs end to end on tiny data (no timings are asserted): SQLite and
DuckDB, with the .gz and the --scale cases, and the CPU account of every line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import unavailable

from bench import run


@pytest.mark.slow
def test_bench_runs_on_tiny_data(tmp_path, capsys):
    if shutil.which("sqlite3") is None:
        unavailable("the sqlite3 shell, the SQLite yardstick, is not installed")
    tiny = ["--rows", "300", "--files", "3", "--gz-rows", "200", "--repeat", "1", "--scale", "2"]
    run.main([*tiny, "--databases", "sqlite,duckdb", "--scale-databases", "sqlite", "--out", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    folder = next(line for line in lines if line.startswith("3 files ") and "sqlite" in line)
    packed = next(line for line in lines if line.startswith("1 .gz file ") and "sqlite" in line)
    scaled = next(line for line in lines if line.startswith("6 files ") and "sqlite" in line)
    assert folder.split()[3:4] == ["300"]
    assert packed.split()[4:5] == ["200"]
    assert scaled.split()[3:4] == ["600"]
    assert folder.split()[-1] != "-"  # the naive design ran too
    duck = next(line for line in lines if line.startswith("3 files ") and "duckdb" in line)
    assert duck.split()[3:4] == ["300"]
    assert duck.split()[-1] == "-"  # not the naive design: a DuckDB file has one writing process
    # The CPU account, as a markdown table: a header, its rule, one row per line.
    header = next(i for i, line in enumerate(lines) if line.startswith("| case | database |"))
    table = lines[header + 2 : header + 2 + 5]
    assert [row.split(" | ")[:2] for row in table] == [
        ["| 3 files", "sqlite"],
        ["| 3 files", "duckdb"],
        ["| 1 .gz file", "sqlite"],
        ["| 1 .gz file", "duckdb"],
        ["| 6 files", "sqlite"],
    ]
    assert "DuckDB read_csv" in table[1]
    assert "sqlite3 .import" in table[0]
    # The workers' CPU by stage, from the importer's report: a second table of the same lines.
    stages_at = next(i for i, row in enumerate(lines) if i > header and row.startswith("| case | database |"))
    stage_names = "sample | read | check | write | other"
    assert lines[stages_at] == f"| case | database | {stage_names} | of the workers' CPU |"
    assert [row.split(" | ")[:2] for row in lines[stages_at + 2 : stages_at + 7]] == [
        row.split(" | ")[:2] for row in table
    ]

    results = json.loads((tmp_path / "results.json").read_text())
    assert [(r["case"], r["database"], r["rows"]) for r in results["lines"]] == [
        ("3 files", "sqlite", 300),
        ("3 files", "duckdb", 300),
        ("1 .gz file", "sqlite", 200),
        ("1 .gz file", "duckdb", 200),
        ("6 files", "sqlite", 600),
    ]
    for line in results["lines"]:
        importer, loader = line["importer"], line["loader"]
        assert importer["client_cpu"] > 0
        assert importer["main_cpu"] > 0
        assert importer["workers_cpu"] >= 0
        assert importer["client_cpu"] == pytest.approx(importer["main_cpu"] + importer["workers_cpu"])
        assert loader["client_cpu"] >= 0
        # In-process databases: no server, all their CPU is the client's.
        assert importer["server_cpu"] == 0
        assert loader["server_cpu"] == 0
        assert 0 < line["importer_utilisation"] <= 1.2  # a little over 1: CPU ticks against wall time
        assert line["cores"] >= 1
        assert line["ratio"] == pytest.approx(line["seconds"] / line["loader_seconds"])
        assert list(line["stages"]) == ["sample", "read", "check", "write", "other"]
        assert line["stages"]["read"] > 0
        # No more than the importer's processes used, as /proc counts it (the report rounds to ms).
        assert sum(line["stages"].values()) <= importer["client_cpu"] + 0.05
    duckdb_line = results["lines"][1]
    # DuckDB's loader runs its ANALYZE after the load, as the importer does after its publish.
    assert duckdb_line["loader_statistics"]["seconds"] > 0
    assert duckdb_line["ratio_with_loader_statistics"] < duckdb_line["ratio"]
    assert results["lines"][0]["loader_statistics"] is None  # SQLite: no indexes, no ANALYZE


def test_scaled_files_are_links_not_copies(tmp_path):
    """--scale reuses the generated files: each copy is the same file on disk."""
    files = run.dataset(tmp_path, 2, 10)
    scaled = run.scaled_dataset(tmp_path, files, 3)
    assert len(scaled) == 6
    assert len({path.parent for path in scaled}) == 6
    assert {path.stat().st_ino for path in scaled} == {path.stat().st_ino for path in files}


def test_the_importer_is_compiled_before_it_is_timed():
    """Every module of the importer has bytecode of its current source before the first run:
    no timed run compiles them (this machine sets PYTHONDONTWRITEBYTECODE).  Oracle: the
    bytecode file's header records its source's modification time, read by Python's own
    ``importlib`` rules."""
    import importlib.util

    run.compile_importer()
    sources = sorted((run.ROOT / "processor").rglob("*.py"))
    assert len(sources) > 50
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        header = cached.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, source
        flags, mtime = int.from_bytes(header[4:8], "little"), int.from_bytes(header[8:12], "little")
        assert flags == 0, source  # checked by the source's time, not its hash
        assert mtime == int(source.stat().st_mtime) & 0xFFFFFFFF, source
