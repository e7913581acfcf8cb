"""A chunk the one writer refuses fails the run, naming the file, even when the task has gone on
parsing its next chunk (the hand-off answers a chunk when the next is handed over, or at the
task's end).  The refusal is real: DuckDB's "Out of Memory" under a memory_limit set far too low
in DEST_SQL.  Oracles: the exit status and message, and the file read back with DuckDB's driver.
"""

from __future__ import annotations

import duckdb
import pytest
from conftest import Database, csv_text, load, write

COLUMNS = 120  # each a column of blocks DuckDB builds at once: far beyond 8 MB


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("files", [1, pytest.param(3, marks=pytest.mark.slow)])
def test_a_refused_chunk_fails_the_run_and_leaves_the_target(tmp_path, workers, files):
    path = tmp_path / "test.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute('CREATE TABLE "t" (id BIGINT)')
        conn.execute('INSERT INTO "t" VALUES (1)')
    header = ["id", *(f"c{i}" for i in range(COLUMNS))]
    for n in range(files):
        rows = [[str(n * 4000 + i), *(f"{i} {c}" for c in range(COLUMNS))] for i in range(4000)]
        write(tmp_path / "src", f"p{n}.csv", csv_text(header, rows))
    db = Database("duckdb", f"duckdb:///{path}?memory_limit=8MB")
    report = load(tmp_path / "src", db, "t", if_exists="replace", workers=workers, chunk_size=500)
    assert report.exit_code == 6, report.error
    message = str(report.error)
    assert "Out of Memory" in message, message
    assert message.startswith(
        (
            "p0.csv: writing rows failed",
            "p1.csv: writing rows failed",
            "p2.csv: writing rows failed",
            "committing the loaded rows failed",
        )
    ), message
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute('SELECT * FROM "t"').fetchall() == [(1,)]
        tables = {name for (name,) in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"t", "_import_ledger"} or tables == {"t"}
