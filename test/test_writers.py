"""Every writer is exact on every database: what goes in comes back, value for value.

Each case writes the same rows twice, as run.py does (an ArrowChunk) and as pandas does
(``DataFrame.to_sql(method=...)``), then reads the table back through the driver.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from processor.backends import ArrowChunk, Backend, WriteMethod, python_rows
from processor.backends import mysql as mysql_backend
from processor.backends.writers import Receipt, receipts_table
from processor.kinds import DATE, FLOAT, INTEGER, TEXT, TIMESTAMP
from processor.records import TablePlan

TEXTS = [
    "NULL", "\\N", "N", "", " ", '"', '""', 'say "hi"', "a,b", ",", "tab\there", "back\\slash", "\\",
    "ends with \\", "line1\nline2", "cr\r\nlf", "\r", "\\.", "ünïcødé Ōsaka 😀", "  inner  space  ",
    "00123", "-0", "1e5", "'single'", "%s %(x)s ?", None,
]  # fmt: skip
INTS = [0, -1, 1, 2**53 + 1, -(2**53) - 1, -(2**63), 2**63 - 1, 10**18, None]
FLOATS = [0.1, -2.5, 1e-300, 5e-324, 1.7976931348623157e308, 123456.789012345, 1 / 3, 0.0, None]
PLAN = TablePlan(names=("n", "text", "int", "float"), types=(INTEGER, TEXT, INTEGER, FLOAT))


def _rows() -> list[tuple]:
    count = max(len(TEXTS), len(INTS), len(FLOATS))
    return [
        (n, TEXTS[n % len(TEXTS)], INTS[n % len(INTS)], FLOATS[n % len(FLOATS)]) for n in range(count * 3)
    ]


def _arrow(rows: list[tuple]) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    types = [pa.int64(), pa.string(), pa.int64(), pa.float64()]
    return pa.table([pa.array(c, t) for c, t in zip(columns, types, strict=True)], names=list(PLAN.names))


def _write_arrow(db, table: str, method: WriteMethod, arrow: pa.Table) -> int:
    engine = db.engine
    try:
        rows = python_rows(arrow) if method.takes_rows else ()
        with engine.begin() as conn:
            return method.write(ArrowChunk(table, arrow), conn, list(arrow.column_names), rows)
    finally:
        engine.dispose()


def _write_pandas(db, table: str, method: WriteMethod, arrow: pa.Table) -> int | None:
    frame = arrow.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    engine = db.engine
    try:
        with engine.begin() as conn:
            return frame.to_sql(table, conn, if_exists="append", index=False, method=method.write)
    finally:
        engine.dispose()


def _create(db, table: str, plan: TablePlan = PLAN) -> None:
    backend = db.backend
    try:
        with backend.engine.begin() as conn:
            backend.table(table, plan).create(conn)
    finally:
        backend.dispose()


def _fast_writer(db) -> WriteMethod:
    backend = db.backend
    backend.engine.dispose()
    return backend.writer()


def _check_exact(db, table: str, method: WriteMethod) -> None:
    rows = _rows()
    _create(db, table)
    assert _write_arrow(db, table, method, _arrow(rows)) == len(rows)
    assert db.rows(table, order_by="n") == rows
    db.execute(f"DELETE FROM {db.quote(table)}")
    assert _write_pandas(db, table, method, _arrow(rows)) == len(rows)
    assert db.rows(table, order_by="n") == rows


def test_fast_writer_is_exact(db, table):
    _check_exact(db, table, _fast_writer(db))


def test_generic_writer_is_exact(db, table):
    backend = db.backend
    backend.engine.dispose()
    _check_exact(db, table, Backend.writer(backend))


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)  # LOAD DATA is MariaDB's and MySQL's
def test_insert_fallback_when_server_refuses_local_infile(db, table, monkeypatch):
    # The server's answer is read once per process; stand in for a server with local_infile=OFF
    # and a small max_allowed_packet, so that the chunk needs several statements.
    refusing = mysql_backend.ServerLimits(local_infile=False, max_packet=64 * 1024)
    monkeypatch.setattr(mysql_backend, "_server_limits", lambda conn: refusing)
    _check_exact(db, table, _fast_writer(db))


def test_lone_end_of_data_marker_is_a_value(db, table):
    """`\\.` alone on a line ends PostgreSQL's COPY data unless it is quoted."""
    plan = TablePlan(names=("only",), types=(TEXT,))
    _create(db, table, plan)
    values = ["before", "\\.", "after", "\\.\r", None]
    arrow = pa.table({"only": pa.array(values, pa.string())})
    assert _write_arrow(db, table, _fast_writer(db), arrow) == len(values)
    assert sorted(db.rows(table), key=repr) == sorted([(v,) for v in values], key=repr)


def _write_chunks(db, table: str, plan: TablePlan, arrow: pa.Table) -> int:
    """Through the writer the pipeline uses (binary COPY on PostgreSQL, ADBC on SQLite), as a worker does."""
    backend = db.backend
    receipts = receipts_table(table)
    with backend.engine.begin() as conn:
        receipts.create(conn)
    writer = backend.chunk_writer(table, plan, isolated=True)
    try:
        assert writer.write(writer.prepare(arrow), Receipt(task=0, chunk=0)) is True
        return arrow.num_rows
    finally:
        writer.close()
        with backend.engine.begin() as conn:
            receipts.drop(conn)
        backend.dispose()


def test_chunk_writer_is_exact(db, table):
    rows = _rows()
    _create(db, table)
    assert _write_chunks(db, table, PLAN, _arrow(rows)) == len(rows)
    assert db.rows(table, order_by="n") == rows


def test_chunk_writer_gives_dates_back_as_written(db, table):
    plan = TablePlan(names=("n", "day", "at"), types=(INTEGER, DATE, TIMESTAMP))
    _create(db, table, plan)
    days = ["2021-01-05", "1000-01-01", "9999-12-31", None]
    times = ["2021-01-05 10:11:12", "1999-12-31 23:59:59", None, "2020-02-29 00:00:00"]
    arrow = pa.table({"n": pa.array(range(4), pa.int64()), "day": days, "at": times})
    assert _write_chunks(db, table, plan, arrow) == 4
    got = [(str(d) if d else None, str(t) if t else None) for _, d, t in db.rows(table, order_by="n")]
    assert got == list(zip(days, times, strict=True))


def test_a_chunk_whose_receipt_is_committed_is_passed_over(db, table):
    """A task run again (its Dask worker was lost) writes the same chunks under the same receipts:
    one already committed is not written twice, whichever writer (and connection) tries."""
    plan = TablePlan(names=("n",), types=(INTEGER,))
    _create(db, table, plan)
    backend = db.backend
    receipts = receipts_table(table)
    with backend.engine.begin() as conn:
        receipts.create(conn)
    first, again = (backend.chunk_writer(table, plan, isolated=True) for _ in range(2))
    chunk = pa.table({"n": pa.array([1, 2, 3], pa.int64())})
    try:
        assert first.write(first.prepare(chunk), Receipt(task=7, chunk=0)) is True
        assert again.write(again.prepare(chunk), Receipt(task=7, chunk=0)) is False
        assert again.write(again.prepare(chunk.slice(1)), Receipt(task=7, chunk=1)) is True
    finally:
        first.close()
        again.close()
        with backend.engine.begin() as conn:
            receipts.drop(conn)
        backend.dispose()
    assert sorted(db.rows(table)) == [(1,), (2,), (2,), (3,), (3,)]
