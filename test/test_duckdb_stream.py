"""DuckDB's one writer appends a whole load in one INSERT that reads the chunks as an Arrow stream.

``processor/backends/stream.py``: the statement runs in a thread of its own over the chunks
handed to ``HeldWriter.write``; a chunk is answered once DuckDB asks for the rows after it, and
an error of the statement is the answer to whichever call is waiting then.  Oracles read what
is committed through another connection (the writer's DuckDB instance may hold the file) or,
once the run is over, with DuckDB's own driver.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import sqlalchemy as sa
from conftest import Database, load, write

from processor.backends.chunk import WriteMethod
from processor.backends.duckdb import insert_arrow
from processor.backends.writers import HeldWriter, Receipt, WriterStopped

STREAMED = WriteMethod(insert_arrow, takes_rows=False, label="stream", streams=True)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "s.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE t (n BIGINT, label VARCHAR CHECK (label <> 'refused'))")
    return path


def engine_of(path: Path) -> sa.Engine:
    return sa.create_engine(f"duckdb:///{path}", poolclass=sa.pool.NullPool)


def writer(path: Path) -> HeldWriter:
    return HeldWriter(engine_of(path), STREAMED, "t", ["n", "label"], rows_per_commit=None)


def stored(path: Path) -> list[tuple[int, str]]:
    """What another connection sees committed (the writer's DuckDB instance may hold the file,
    so a connection of the same configuration, which shares it)."""
    with engine_of(path).connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql("SELECT n, label FROM t ORDER BY n")]


def test_chunks_of_two_arrow_types_all_land_in_one_transaction(database: Path) -> None:
    """A chunk whose Arrow schema differs from the running statement's ends it and starts
    another; every row is stored, exactly once, and only once the load is finished."""
    held = writer(database)
    chunks = [
        pa.table({"n": pa.array([1, 2], pa.int64()), "label": ["a", "é"]}),
        pa.table({"n": pa.array([3], pa.int32()), "label": pa.array(["b"], pa.large_string())}),
        pa.table({"n": pa.array([4, 5], pa.int64()), "label": ["c", ' "q", ']}),
    ]
    for number, chunk in enumerate(chunks):
        assert held.write(chunk, Receipt(0, number)) is True
    assert held.write(chunks[0], Receipt(0, 0)) is False  # a receipt seen already
    assert stored(database) == []  # nothing is committed before the load is over
    held.finish()
    assert stored(database) == [(1, "a"), (2, "é"), (3, "b"), (4, "c"), (5, ' "q", ')]
    assert held.opened == 1


def test_a_chunk_duckdb_refuses_fails_the_load_and_nothing_is_kept(database: Path) -> None:
    """DuckDB may read a chunk's rows together with the next chunk's (it fills a vector of 2,048
    rows from as many batches as it takes), so its error is the answer to the chunk handed over
    when it failed, or to ``finish``; every call after it is refused, and nothing is committed."""
    held = writer(database)
    calls = [
        lambda: held.write(pa.table({"n": [1], "label": ["kept until the failure"]}), Receipt(0, 0)),
        lambda: held.write(pa.table({"n": [2, 3], "label": ["fine", "refused"]}), Receipt(1, 0)),
        lambda: held.write(pa.table({"n": [4], "label": ["after"]}), Receipt(2, 0)),
        lambda: held.write(pa.table({"n": [5], "label": ["later"]}), Receipt(3, 0)),
        held.finish,
    ]
    raised: list[BaseException] = []
    for call in calls:
        try:
            call()
        except Exception as error:
            raised.append(error)
    assert raised, "the refused chunk was not noticed"
    assert isinstance(raised[0], duckdb.ConstraintException)
    assert "CHECK constraint" in str(raised[0])
    assert all(isinstance(later, WriterStopped) for later in raised[1:])
    with pytest.raises(WriterStopped):  # whichever call met the error, the writer is stopped
        held.write(pa.table({"n": [6], "label": ["once it failed"]}), Receipt(4, 0))
    assert stored(database) == []


def test_an_aborted_load_leaves_the_table_as_it_was(database: Path) -> None:
    with duckdb.connect(str(database)) as conn:
        conn.execute("INSERT INTO t VALUES (0, 'before')")
    held = writer(database)
    held.write(pa.table({"n": [1, 2], "label": ["x", "y"]}), Receipt(0, 0))
    held.abort()
    with pytest.raises(WriterStopped, match="the run is failing"):
        held.write(pa.table({"n": [3], "label": ["z"]}), Receipt(0, 1))
    assert stored(database) == [(0, "before")]


@pytest.mark.slow  # 100 MB of text
def test_a_load_smaller_than_a_row_group_commits_beyond_the_writers_memory(tmp_path: Path) -> None:
    """DuckDB keeps a load of fewer rows than a row group (122,880) in memory until its commit:
    2,000 rows of 47 texts of 1,100 characters (100 MB) failed to commit within the writer's
    memory (126 MB for 94 columns), before the commit was given the transaction's bytes."""
    columns, rows = 94, 2_000
    header = ["id"] + [f"n{c}" if c % 2 else f"t{c}" for c in range(1, columns)]

    def value(row: int, column: int) -> str:
        return str(row * column) if column % 2 else f"{row:05d}/{column:02d} é " + "text " * 218

    folder = tmp_path / "src"
    lines = [",".join([str(row)] + [value(row, c) for c in range(1, columns)]) for row in range(rows)]
    write(folder, "wide.csv", ",".join(header) + "\n" + "\n".join(lines) + "\n")
    database = Database("duckdb", f"duckdb:///{tmp_path / 'wide.duckdb'}")
    report = load(folder, database, "wide", workers=2)
    assert report.error is None, report.error
    with duckdb.connect(str(tmp_path / "wide.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM wide").fetchone() == (rows,)
        for row in (0, 1_234, rows - 1):
            stored_row = conn.execute("SELECT * FROM wide WHERE id = ?", [row]).fetchone()
            assert stored_row is not None
            assert [str(v) for v in stored_row[1:]] == [value(row, c) for c in range(1, columns)]
