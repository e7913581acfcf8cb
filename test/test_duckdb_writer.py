"""DuckDB's one writer: the run holds the file for the whole load, the workers hand it their chunks.

Every close of a DuckDB file checkpoints it, and only one process may have it open for writing;
so the run keeps one connection from the load's first chunk to its last, and the pool's workers
(or the run itself, inline) hand their checked chunks to it (``processor/executors/handoff.py``).
Oracles read the file directly with DuckDB's own driver.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from conftest import Database, csv_text, load, write

ROWS = 3_000


@pytest.fixture
def duck(tmp_path: Path) -> Database:
    return Database("duckdb", f"duckdb:///{tmp_path / 'test.duckdb'}")


def rows_text(start: int, count: int) -> list[list[str]]:
    """Rows with an exact decimal, an integer beyond 2**53 and text that must come back as is."""
    return [
        [str(i), f"{i}.{i % 100:02d}34567890123456789", str(2**60 + i), f' 00{i}, \u00e9 "q" ']
        for i in range(start, start + count)
    ]


def write_files(folder: Path, files: int, rows: int = ROWS) -> list[list[str]]:
    written = []
    for n in range(files):
        part = rows_text(n * rows, rows)
        write(folder, f"part{n}.csv", csv_text(["id", "amount", "big", "label"], part))
        written += part
    return written


def stored(db: Database, table: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(sa.make_url(db.url).database)) as conn:
        return conn.execute(f'SELECT id, amount, big, label FROM "{table}" ORDER BY id').fetchall()


def expected(rows: list[list[str]]) -> list[tuple[Any, ...]]:
    return [(int(i), Decimal(a), int(b), label) for i, a, b, label in rows]


@pytest.fixture
def connections() -> Iterator[list[str]]:
    """The DuckDB connections this process opens (the run's own, and inline tasks')."""
    opened: list[str] = []

    def count(dbapi_connection: Any, record: Any) -> None:
        opened.append(threading.current_thread().name)

    sa.event.listen(sa.Engine, "connect", count)
    try:
        yield opened
    finally:
        sa.event.remove(sa.Engine, "connect", count)


@pytest.mark.parametrize("workers", [pytest.param(1, marks=pytest.mark.slow), 2])
def test_the_file_is_opened_once_for_the_load_however_many_chunks(
    tmp_path: Path, duck: Database, table: str, connections: list[str], workers: int
) -> None:
    folder = tmp_path / "src"
    rows = write_files(folder, 3)
    opened = {}
    for chunk_size in (100, 3_000):  # 90 chunks, then 3
        connections.clear()
        report = load(folder, duck, f"{table}_{chunk_size}", workers=workers, chunk_size=chunk_size)
        assert report.error is None, report.error
        assert stored(duck, f"{table}_{chunk_size}") == expected(rows)
        opened[chunk_size] = len(connections)
    # The run opens the file for its own steps, and its writer once: never once per chunk.
    assert opened[100] == opened[3_000], opened


def test_pool_workers_never_open_the_file_during_the_load(tmp_path: Path, duck: Database, table: str) -> None:
    """The run holds the file for the whole load: a worker that opened it would fail on DuckDB's
    lock, and so would the run."""
    folder = tmp_path / "src"
    rows = write_files(folder, 4)
    report = load(folder, duck, table, workers=2, chunk_size=200)
    assert report.error is None, report.error
    assert stored(duck, table) == expected(rows)
    assert {f.write_path for f in report.files} == {"INSERT ... SELECT from the Arrow chunk"}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_rejected_row_still_goes_to_the_rejects_with_its_file_and_line(
    tmp_path: Path, duck: Database, table: str, workers: int
) -> None:
    folder = tmp_path / "src"
    rows = write_files(folder, 2)
    bad = rows_text(10_000, 1)[0]
    bad[0] = "not a number"
    part = rows_text(20_000, 500)
    write(folder, "late.csv", csv_text(["id", "amount", "big", "label"], [*part[:400], bad, *part[400:]]))
    report = load(folder, duck, table, workers=workers, chunk_size=100, max_errors=5, sample_rows=50)
    assert report.error is None, report.error
    assert stored(duck, table) == expected(sorted(rows + part, key=lambda r: int(r[0])))
    with open(tmp_path / f"{table}.rejects.csv", newline="", encoding="utf-8") as rejects:
        found = list(csv.DictReader(rejects))
    assert [(r["file"], r["line"]) for r in found] == [("late.csv", "402")]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_task_leaves_the_target_as_it_was(
    tmp_path: Path, duck: Database, table: str, workers: int
) -> None:
    old = tmp_path / "old"
    old_rows = write_files(old, 1, 100)
    assert load(old, duck, table).error is None
    folder = tmp_path / "src"
    write_files(folder, 3)
    part = rows_text(50_000, 1_000)
    part[700][0] = "x"  # past the sample: found while the other files' chunks are being written
    write(folder, "zlast.csv", csv_text(["id", "amount", "big", "label"], part))
    report = load(
        folder,
        duck,
        table,
        workers=workers,
        chunk_size=100,
        max_errors=0,
        sample_rows=50,
        if_exists="replace",
    )
    assert report.error is not None
    assert "zlast.csv" in str(report.error)
    assert stored(duck, table) == expected(old_rows)
    assert not [t for t in duck.tables() if t.startswith("_import_stage_")], duck.tables()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_key_twice_across_files_names_both_lines(
    tmp_path: Path, duck: Database, table: str, workers: int
) -> None:
    """The refused chunk's key is looked for in the staging table through the one writer."""
    folder = tmp_path / "src"
    write_files(folder, 2, 1_000)
    write(folder, "zdup.csv", csv_text(["id", "amount", "big", "label"], rows_text(1_500, 1)))
    report = load(folder, duck, table, workers=workers, chunk_size=100, primary_key=("id",))
    assert report.error is not None
    message = str(report.error)
    for part in ("1500", "zdup.csv", "part1.csv"):
        assert part in message, message
    assert not duck.exists(table)
