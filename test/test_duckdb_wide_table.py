"""A wide table loads into DuckDB: the writer's memory follows the table's width.

With the one writer's memory bounded (issue 22), a fixed 100 MB limit made a 700-column file of
12,000 rows fail with DuckDB's "Out of Memory Error" (exit 6), where DuckDB's own default (80%
of the machine) had loaded it: DuckDB builds a row group's blocks of every column at once and
does not spill them.  Oracle: the rows read back with DuckDB's own driver.
"""

from __future__ import annotations

import duckdb
import pytest
from conftest import load, write

COLUMNS, ROWS = 700, 12_000


@pytest.mark.slow
@pytest.mark.parametrize("db", ["duckdb"], indirect=True)
@pytest.mark.parametrize("workers", [1, 2])
def test_a_700_column_table_loads(db, table, tmp_path, workers):
    header = ",".join(f"c{i}" for i in range(COLUMNS))
    lines = (
        ",".join(str(j * COLUMNS + i) if i % 2 else f"t{j}" for i in range(COLUMNS)) for j in range(ROWS)
    )
    write(tmp_path / "src", "wide.csv", header + "\n" + "\n".join(lines) + "\n")
    report = load(tmp_path / "src", db, table, workers=workers)
    assert report.error is None, report.error
    with duckdb.connect(str(tmp_path / "test.duckdb"), read_only=True) as conn:
        found = conn.execute(
            f'SELECT count(*), max("c{COLUMNS - 1}"), min("c0"), sum("c1") FROM "{table}"'
        ).fetchone()
    assert found is not None
    count, last, first_text, total = found
    assert count == ROWS
    assert last == (ROWS - 1) * COLUMNS + COLUMNS - 1
    assert first_text == "t0"
    assert total == sum(j * COLUMNS + 1 for j in range(ROWS))
