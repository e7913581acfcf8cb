"""How a worker appends chunks to the staging table: each chunk in a transaction of its own.

Two kinds of writer, chosen by each database's backend:

- ``SessionWriter``: a SQLAlchemy connection and one of the pandas-style writers (COPY, LOAD
  DATA, the DuckDB Arrow scan, executemany, multi-row INSERTs), which keep pandas'
  ``to_sql(method=...)`` signature.
- ``AdbcWriter``: an Arrow-native ADBC driver (PostgreSQL's binary COPY, SQLite's C binding)
  that takes the Arrow chunk as it is, so no value becomes a Python object on its way.  pandas'
  own ``to_sql`` accepts an ADBC connection for the same path.

Both first touch the staging table in the chunk's transaction: that fails plainly if it was
dropped (the run failed, or the next run cleaned up after a crash) and locks it against a DROP
until the transaction ends.  Writers only append; they never create it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import adbc_driver_manager.dbapi as adbc
import pyarrow as pa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from processor.backends.chunk import ArrowChunk, WriteMethod, python_rows


class ChunkWriter(Protocol):
    """Appends chunks to one staging table; ``errors`` are what the database raises on refusal."""

    errors: tuple[type[BaseException], ...]

    def prepare(self, chunk: pa.Table) -> Any:
        """Work that needs no database (built before a single-writer turn is taken)."""
        ...

    def write(self, prepared: Any) -> int:
        """Append one prepared chunk in its own transaction; return its rows."""
        ...

    def close(self) -> None: ...


class SessionWriter:
    """A pandas-style writer on a SQLAlchemy connection, one transaction per chunk."""

    def __init__(self, engine: Engine, method: WriteMethod, staging: str, names: Sequence[str]) -> None:
        self._engine = engine
        self._method = method
        self._staging = staging
        self._keys = list(names)
        self._touch = (
            f"SELECT 1 FROM {engine.dialect.identifier_preparer.quote_identifier(staging)} WHERE 1 = 0"
        )
        self.errors = (exc.DBAPIError, engine.dialect.loaded_dbapi.Error)

    def prepare(self, chunk: pa.Table) -> tuple[pa.Table, Sequence[tuple[Any, ...]]]:
        return chunk, python_rows(chunk) if self._method.takes_rows else ()

    def write(self, prepared: tuple[pa.Table, Sequence[tuple[Any, ...]]]) -> int:
        chunk, rows = prepared
        with self._engine.begin() as conn:
            conn.exec_driver_sql(self._touch).close()
            return self._method.write(ArrowChunk(self._staging, chunk), conn, self._keys, rows)

    def close(self) -> None:
        pass


class AdbcWriter:
    """An ADBC connection taken from this process's idle ones (or opened) for one file's chunks.

    ``key`` names the database, ``connect`` opens a connection to it; ``cast`` turns a chunk into
    the Arrow types the driver maps onto the staging table's columns.  Opening costs a good part
    of a second (PostgreSQL's driver reads the server's type catalog), so a connection that
    worked goes back to the idle ones for the next file (``close_idle_connections`` ends them).
    """

    def __init__(
        self,
        key: str,
        connect: Callable[[], Any],
        staging: str,
        quote: Callable[[str], str],
        cast: Callable[[pa.Table], pa.Table] = lambda chunk: chunk,
    ) -> None:
        self._key = key
        self._connect = connect
        self._connection: Any = None
        self._staging = staging
        self._touch = f"SELECT 1 FROM {quote(staging)} WHERE 1 = 0"
        self._cast = cast
        self.errors = (adbc.Error,)

    def prepare(self, chunk: pa.Table) -> pa.Table:
        return self._cast(chunk)

    def write(self, prepared: pa.Table) -> int:
        if self._connection is None:
            self._connection = _IDLE.pop(self._key, None) or self._connect()
        connection = self._connection
        try:
            with contextlib.closing(connection.cursor()) as cursor:
                cursor.execute(self._touch)
                cursor.fetchall()
                cursor.adbc_ingest(self._staging, prepared, mode="append")
            connection.commit()
        except BaseException:
            self._connection = None
            with contextlib.suppress(*self.errors):
                connection.rollback()
            with contextlib.suppress(*self.errors):
                connection.close()  # a failed connection is not reused
            raise
        return prepared.num_rows

    def close(self) -> None:
        if self._connection is not None:
            previous = _IDLE.pop(self._key, None)
            if previous is not None:
                previous.close()
            _IDLE[self._key] = self._connection
            self._connection = None


# This process's idle ADBC connections, one per database at most.
_IDLE: dict[str, Any] = {}


def close_idle_connections() -> None:
    """Close the idle ADBC connections this process keeps (at the end of a run)."""
    while _IDLE:
        _, connection = _IDLE.popitem()
        with contextlib.suppress(adbc.Error):
            connection.close()
