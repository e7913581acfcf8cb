"""How a worker appends chunks to the staging table: each chunk in a transaction of its own.

Two kinds of writer, chosen by each database's backend:

- ``SessionWriter``: a SQLAlchemy connection and one of the pandas-style writers (binary or
  CSV COPY, LOAD DATA, the DuckDB Arrow scan, executemany, multi-row INSERTs), which keep
  pandas' ``to_sql(method=...)`` signature.
- ``AdbcWriter``: an Arrow-native ADBC driver (SQLite's C binding) that takes the Arrow chunk as
  it is, so no value becomes a Python object on its way.  pandas' own ``to_sql`` accepts an ADBC
  connection for the same path.

Both first touch the staging table in the chunk's transaction: that fails plainly if it was
dropped (the run failed, or the next run cleaned up after a crash) and locks it against a DROP
until the transaction ends.  Writers only append; they never create it.

Each chunk also records its receipt, (task, chunk number), in the run's receipts table, in the
chunk's own transaction and before its rows.  A task that runs again (a Dask worker was lost
and the scheduler gave its task to another) reads the same chunks in the same order; the
receipt of one already committed violates the table's key, so that chunk is passed over and
its rows are in the staging table exactly once, even while a lost worker still writes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from processor.backends.chunk import ArrowChunk, WriteMethod, python_rows
from processor.backends.stream import ArrowStream


@dataclass(frozen=True)
class Receipt:
    """Chunk ``chunk`` (0-based) of load task ``task``: the key that makes writing it idempotent."""

    task: int
    chunk: int


def receipts_name(staging: str) -> str:
    """The receipts table of a staging table (its name has the staging prefix, so the cleanup of
    a crashed run's staging tables removes it too)."""
    return f"{staging}_chunks"


def receipts_table(staging: str) -> sa.Table:
    """The receipts table: one row per chunk committed to ``staging``, keyed (task, chunk)."""
    return sa.Table(
        receipts_name(staging),
        sa.MetaData(),
        sa.Column("task", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("chunk", sa.BigInteger, primary_key=True, autoincrement=False),
        quote=True,
    )


class ChunkWriter(Protocol):
    """Appends chunks to one staging table; ``errors`` are what the database raises on refusal,
    ``path`` says in words how it writes."""

    errors: tuple[type[BaseException], ...]
    #: How it writes, in words (the report and the dry run name it).
    path: str

    def prepare(self, chunk: pa.Table) -> Any:
        """Work that needs no database (built before a single-writer turn is taken)."""
        ...

    def write(self, prepared: Any, receipt: Receipt) -> bool:
        """Append one prepared chunk with its receipt in its own transaction; False: an earlier
        attempt of the task committed this chunk already, and nothing was written."""
        ...

    def flush(self) -> None:
        """Wait until every chunk written so far is in the staging table: a writer that answers
        later (``HandedWriter``) raises its refusal here."""
        ...

    def close(self) -> None: ...


def opened(engine: Engine, setup: Sequence[str]) -> Connection:
    """A new connection for writing, with the database's ``setup`` statements run (and committed)
    on it first (``Backend.writing_setup``)."""
    conn = engine.connect()
    if setup:
        try:
            for statement in setup:
                conn.exec_driver_sql(statement)
            conn.commit()
        except BaseException:
            conn.close()
            raise
    return conn


class SessionWriter:
    """A pandas-style writer on a SQLAlchemy connection, one transaction per chunk.

    ``cast`` turns a chunk into the Arrow types the writer expects.  ``hold``: one connection
    serves all of the task's chunks and is given back by ``close`` (a server session per task,
    not one checkout, or with a connection budget one login, per chunk); without it, a
    connection per chunk, which an embedded database's other writers need between chunks.
    """

    def __init__(
        self,
        engine: Engine,
        method: WriteMethod,
        staging: str,
        names: Sequence[str],
        cast: Callable[[pa.Table], pa.Table] = lambda chunk: chunk,
        hold: bool = False,
        setup: Sequence[str] = (),
    ) -> None:
        self._engine = engine
        self._method = method
        self._cast = cast
        self._hold = hold
        self._setup = tuple(setup)
        self._held: Connection | None = None
        self._staging = staging
        self._keys = list(names)
        self._touch = (
            f"SELECT 1 FROM {engine.dialect.identifier_preparer.quote_identifier(staging)} WHERE 1 = 0"
        )
        self._receipt = receipts_table(staging).insert()
        self.errors: tuple[type[BaseException], ...] = (exc.DBAPIError, engine.dialect.loaded_dbapi.Error)
        self.path = method.label

    def prepare(self, chunk: pa.Table) -> tuple[pa.Table, Sequence[tuple[Any, ...]]]:
        chunk = self._cast(chunk)
        return chunk, python_rows(chunk) if self._method.takes_rows else ()

    def write(self, prepared: tuple[pa.Table, Sequence[tuple[Any, ...]]], receipt: Receipt) -> bool:
        conn = self._held or opened(self._engine, self._setup)
        try:
            written = self._write(conn, prepared, receipt)
        except BaseException:
            self._held = None
            conn.close()  # a failed connection is not used for the next chunk
            raise
        if self._hold:
            self._held = conn
        else:
            conn.close()
        return written

    def _write(
        self, conn: Connection, prepared: tuple[pa.Table, Sequence[tuple[Any, ...]]], receipt: Receipt
    ) -> bool:
        chunk, rows = prepared
        with conn.begin() as transaction:
            conn.exec_driver_sql(self._touch).close()
            try:
                conn.execute(self._receipt, {"task": receipt.task, "chunk": receipt.chunk})
            except exc.IntegrityError:
                transaction.rollback()
                return False
            self._method.write(ArrowChunk(self._staging, chunk), conn, self._keys, rows)
        return True

    def flush(self) -> None:
        """Nothing: each chunk is committed before ``write`` returns."""

    def close(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()


class AdbcWriter:
    """An ADBC connection taken from this process's idle ones (or opened) for one file's chunks.

    ``key`` names the database, ``connect`` opens a connection to it; ``cast`` turns a chunk into
    the Arrow types the driver maps onto the staging table's columns.  Opening costs a good part
    of a second (PostgreSQL's driver reads the server's type catalog), so a connection that
    worked goes back to the idle ones for the next file (``close_idle_connections`` ends them),
    unless ``keep`` is false (under a connection budget, a task that is done holds none).
    """

    def __init__(
        self,
        key: str,
        connect: Callable[[], Any],
        staging: str,
        quote: Callable[[str], str],
        cast: Callable[[pa.Table], pa.Table] = lambda chunk: chunk,
        keep: bool = True,
        path: str = "ADBC bulk ingest",
    ) -> None:
        self._key = key
        self._keep = keep
        self._connect = connect
        self._connection: Any = None
        self._staging = staging
        self._touch = f"SELECT 1 FROM {quote(staging)} WHERE 1 = 0"
        columns = f"({quote('task')}, {quote('chunk')})"
        self._receipt = f"INSERT INTO {quote(receipts_name(staging))} {columns} VALUES "
        adbc = adbc_dbapi()
        self._duplicate = adbc.IntegrityError
        self._cast = cast
        self.errors: tuple[type[BaseException], ...] = (adbc.Error,)
        self.path = path

    def prepare(self, chunk: pa.Table) -> pa.Table:
        return self._cast(chunk)

    def write(self, prepared: pa.Table, receipt: Receipt) -> bool:
        if self._connection is None:
            self._connection = _IDLE.pop(self._key, None) or self._connect()
        connection = self._connection
        try:
            with contextlib.closing(connection.cursor()) as cursor:
                cursor.execute(self._touch)
                cursor.fetchall()
                try:  # two integers of this run's own making: nothing from the data in the SQL
                    cursor.execute(f"{self._receipt}({int(receipt.task)}, {int(receipt.chunk)})")
                except self._duplicate:
                    connection.rollback()
                    return False
                cursor.adbc_ingest(self._staging, prepared, mode="append")
            connection.commit()
        except BaseException:
            self._connection = None
            with contextlib.suppress(*self.errors):
                connection.rollback()
            with contextlib.suppress(*self.errors):
                connection.close()  # a failed connection is not reused
            raise
        return True

    def flush(self) -> None:
        """Nothing: each chunk is committed before ``write`` returns."""

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if not self._keep:
            connection.close()
            return
        previous = _IDLE.pop(self._key, None)
        if previous is not None:
            previous.close()
        _IDLE[self._key] = connection


# This process's idle ADBC connections, one per database at most.
_IDLE: dict[str, Any] = {}


def close_idle_connections() -> None:
    """Close the idle ADBC connections this process keeps (at the end of a run)."""
    while _IDLE:
        _, connection = _IDLE.popitem()
        with contextlib.suppress(adbc_dbapi().Error):
            connection.close()


def adbc_dbapi() -> ModuleType:
    """ADBC's DB-API module, imported on first use: importing it loads pyarrow.dataset and pandas
    (over half a second of CPU), which a process that never writes through ADBC skips (the run's
    own when workers write, MariaDB's and DuckDB's workers)."""
    import adbc_driver_manager.dbapi

    return adbc_driver_manager.dbapi


class HeldWriter:
    """One connection, held from a load's first chunk to its last, appends every task's chunks
    (``Features.one_writer``): the tasks hand their checked chunks to it (``executors/handoff.py``)
    instead of each opening the database in turn.

    Chunks are appended in transactions of about ``rows_per_commit`` rows (0: one per chunk;
    None: one for the whole load), so that the database stores them as it does a bulk load's
    (DuckDB writes full row groups straight to the file, compressed once); ``finish`` commits
    the rest.  With one for the whole load, a writer that ``streams`` appends every chunk in one
    statement (``stream.py``).  ``setup`` runs as the connection opens; ``commit_setup(bytes)``
    before each commit, given the Arrow bytes of the rows the transaction holds.  Any failure rolls the open
    transaction back and refuses every later chunk: the run is failing, and drops the staging
    table (with ``rows_per_commit`` 0, only the refused chunk is rolled back, as a task's own
    writer's is).  It is the staging table's only writer in this run, so the receipts are kept here,
    in memory, not in the receipts table.  Safe to call from several threads.
    """

    def __init__(
        self,
        engine: Engine,
        method: WriteMethod,
        staging: str,
        names: Sequence[str],
        rows_per_commit: int | None = 0,
        setup: Sequence[str] = (),
        commit_setup: Callable[[int], Sequence[str]] | None = None,
    ) -> None:
        self._engine = engine
        self._setup = tuple(setup)
        self._commit_setup = commit_setup
        self._method = method
        self._staging = staging
        self._keys = list(names)
        self._rows_per_commit = rows_per_commit
        # One statement for the whole load's chunks, where the writer reads an Arrow stream.
        self._streams = rows_per_commit is None and method.streams
        self._stream: ArrowStream | None = None
        self._touch = (
            f"SELECT 1 FROM {engine.dialect.identifier_preparer.quote_identifier(staging)} WHERE 1 = 0"
        )
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._transaction: Any = None
        self._pending = 0  # rows in the open transaction
        self._pending_bytes = 0  # and their Arrow bytes
        self._seen: set[Receipt] = set()
        self._failed: str | None = None
        #: How many times the database was opened for writing (once per load).
        self.opened = 0
        self.errors: tuple[type[BaseException], ...] = (
            exc.DBAPIError,
            engine.dialect.loaded_dbapi.Error,
            WriterStopped,
        )
        self.path = method.label

    def prepare(self, chunk: pa.Table) -> pa.Table:
        return chunk

    def write(self, prepared: pa.Table, receipt: Receipt) -> bool:
        with self._lock:
            if self._failed is not None:
                raise WriterStopped(self._failed)
            if receipt in self._seen:
                return False
            try:
                conn = self._connection()
                if self._transaction is None:
                    self._transaction = conn.begin()
                    conn.exec_driver_sql(self._touch).close()
                if self._streams:
                    self._stream_of(conn, prepared.schema).append(prepared)
                else:
                    self._method.write(ArrowChunk(self._staging, prepared), conn, self._keys, ())
                self._pending += prepared.num_rows
                self._pending_bytes += prepared.nbytes
                if self._rows_per_commit is not None and self._pending >= self._rows_per_commit:
                    self._commit()
            except BaseException as error:
                if self._rows_per_commit == 0 and isinstance(error, self.errors):
                    self._drop_chunk()  # it was alone in its transaction: the others stand
                else:
                    self._fail(f"an earlier chunk was refused: {error}")
                raise
            self._seen.add(receipt)
            return True

    def read(self, query: Callable[[Connection], Any]) -> Any:
        """``query(conn)`` on the held connection, between chunks (what is committed, and the
        open transaction's own rows)."""
        with self._lock:
            try:
                return query(self._connection())
            finally:
                if self._failed is not None:
                    self._release()

    def finish(self) -> None:
        """Commit the last chunks and give the connection back."""
        with self._lock:
            if self._failed is not None:
                raise WriterStopped(self._failed)
            try:
                if self._transaction is not None:
                    self._commit()
            except BaseException:
                self._fail("the last chunks were not committed")
                raise
            self._release()
            self._failed = "the load is over"  # no chunk after the commit

    def abort(self) -> None:
        """Roll back what is not committed and give the connection back (the run is failing)."""
        with self._lock:
            self._fail(self._failed or "the run is failing")

    def flush(self) -> None:
        """Nothing: each chunk is appended before ``write`` returns."""

    def close(self) -> None:
        """Nothing: the run ends the held writer (``finish`` or ``abort``), not a task."""

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = opened(self._engine, self._setup)
            self.opened += 1
        return self._conn

    def _stream_of(self, conn: Connection, schema: pa.Schema) -> ArrowStream:
        """The running statement, or a new one for chunks of another Arrow schema."""
        if self._stream is not None and not self._stream.schema.equals(schema):
            self._end_stream()
        if self._stream is None or self._stream.ended:

            def run(reader: pa.RecordBatchReader) -> None:
                self._method.write(ArrowChunk(self._staging, reader), conn, self._keys, ())

            self._stream = ArrowStream(schema, run)
        return self._stream

    def _end_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.end()

    def _commit(self) -> None:
        self._end_stream()
        if self._commit_setup is not None and self._conn is not None:
            for statement in self._commit_setup(self._pending_bytes):
                self._conn.exec_driver_sql(statement)
        transaction, self._transaction = self._transaction, None
        self._pending = self._pending_bytes = 0
        transaction.commit()

    def _drop_chunk(self) -> None:
        """Roll back the refused chunk's own transaction; a failed connection is not reused."""
        transaction, self._transaction = self._transaction, None
        self._pending = self._pending_bytes = 0
        if transaction is not None:
            with contextlib.suppress(*self.errors, exc.SQLAlchemyError):
                transaction.rollback()
        self._release()

    def _fail(self, why: str) -> None:
        self._failed = why
        with contextlib.suppress(*self.errors, exc.SQLAlchemyError):
            self._end_stream()  # its rows are rolled back with the transaction
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            with contextlib.suppress(*self.errors, exc.SQLAlchemyError):
                transaction.rollback()
        self._release()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(*self.errors, exc.SQLAlchemyError):
                conn.close()


class WriterStopped(Exception):
    """The held writer refuses chunks: an earlier one failed, or the run is failing."""
