"""One import at a time per target table, whatever else uses the database meanwhile.

PostgreSQL and MariaDB hold a server-side lock on a connection kept open for the whole run
(``pg_advisory_lock``, ``GET_LOCK``); embedded databases lock a file beside the database.  All
of them are released by the operating system or the server when the holder dies, so a crashed
run never leaves a lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import Engine

from processor.errors import LockError

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2


def _key(table: str) -> bytes:
    return hashlib.sha1(f"csv-sql-importer:{table}".encode()).digest()


@contextlib.contextmanager
def import_lock(engine: Engine, table: str, timeout: int) -> Iterator[None]:
    """Hold the import lock for ``table``; wait up to ``timeout`` seconds, then raise LockError."""
    backend = engine.dialect.name
    if backend == "postgresql":
        lock = _postgres_lock(engine, table, timeout)
    elif backend in ("mysql", "mariadb"):
        lock = _mysql_lock(engine, table, timeout)
    elif backend in ("sqlite", "duckdb") and engine.url.database not in (None, "", ":memory:"):
        lock = _file_lock(Path(engine.url.database), table, timeout)
    else:
        log.warning("no import lock for %s: do not run two imports into %r at once", backend, table)
        lock = contextlib.nullcontext()
    with lock:
        yield


def _busy(table: str, timeout: int) -> LockError:
    waited = f" (waited {timeout} s; see LOCK_TIMEOUT)" if timeout else " (set LOCK_TIMEOUT to wait)"
    return LockError(f"another import into table {table!r} is running{waited}")


@contextlib.contextmanager
def _postgres_lock(engine: Engine, table: str, timeout: int) -> Iterator[None]:
    key = int.from_bytes(_key(table)[:8], "big", signed=True)
    with engine.connect() as conn:
        deadline = time.monotonic() + timeout
        while not conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar():
            conn.rollback()
            if time.monotonic() >= deadline:
                raise _busy(table, timeout)
            time.sleep(POLL_SECONDS)
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
            conn.commit()


@contextlib.contextmanager
def _mysql_lock(engine: Engine, table: str, timeout: int) -> Iterator[None]:
    name = "csv-sql-importer:" + _key(table).hex()[:40]
    with engine.connect() as conn:
        if not conn.exec_driver_sql("SELECT GET_LOCK(%s, %s)", (name, timeout)).scalar():
            raise _busy(table, timeout)
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))


@contextlib.contextmanager
def _file_lock(database: Path, table: str, timeout: int) -> Iterator[None]:
    path = database.with_name(f"{database.name}.{_key(table).hex()[:12]}.import-lock")
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(table, timeout) from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
