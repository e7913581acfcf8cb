"""One import at a time per target table, whatever else uses the database meanwhile.

PostgreSQL and MariaDB hold a server-side lock on a connection kept open for the whole run
(``pg_advisory_lock``, ``GET_LOCK``); embedded databases lock a file beside the database.  All
of them are released by the operating system or the server when the holder dies, so a crashed
run never leaves a lock behind.  A server-side lock is lost with its connection (a server
restart, ``pg_terminate_backend``, ``KILL``), so the run checks that it still holds the lock
just before it publishes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from processor.database import MYSQL_LIKE, SINGLE_WRITER, describe
from processor.errors import LockError

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
#: Raises LockError unless this run still holds its import lock.
LockCheck = Callable[[], None]


def _key(table: str) -> bytes:
    return hashlib.sha1(f"csv-sql-importer:{table}".encode()).digest()


@contextlib.contextmanager
def import_lock(engine: Engine, table: str, timeout: int) -> Iterator[LockCheck]:
    """Hold the import lock for ``table``; wait up to ``timeout`` seconds, then raise LockError.

    Yields a check that raises LockError if the lock has been lost meanwhile.
    """
    backend = engine.dialect.name
    if backend == "postgresql":
        lock = _postgres_lock(engine, table, timeout)
    elif backend in MYSQL_LIKE:
        lock = _mysql_lock(engine, table, timeout)
    elif backend in SINGLE_WRITER and engine.url.database not in (None, "", ":memory:"):
        lock = _file_lock(Path(engine.url.database), table, timeout)
    else:
        log.warning("no import lock for %s: do not run two imports into %r at once", backend, table)
        lock = contextlib.nullcontext(_always_held)
    with lock as check:
        yield check


def _always_held() -> None:
    """A file lock (or none) cannot be lost while this process lives."""


def _session_check(conn: Connection, table: str, sql: str, *params: object) -> LockCheck:
    """A check that the lock's session is still alive and holds it (``sql`` returns true)."""

    def check() -> None:
        try:
            held = conn.exec_driver_sql(sql, params).scalar()
            conn.rollback()
        except exc.SQLAlchemyError as error:  # the connection is gone, or unusable since it broke
            held, why = False, describe(error)
        else:
            why = "the database no longer holds it"
        if not held:
            raise LockError(f"lost the import lock on table {table!r} ({why}); nothing was published")

    return check


def _release(conn: Connection, sql: str, *params: object) -> None:
    """Release a server-side lock; if its connection is gone, the server has released it already."""
    if conn.invalidated:
        return
    try:
        conn.exec_driver_sql(sql, params)
        conn.commit()
    except exc.SQLAlchemyError as error:
        log.warning(
            "could not release the import lock (%s); the server drops it with the session", describe(error)
        )


def _busy(table: str, timeout: int) -> LockError:
    waited = f" (waited {timeout} s; see LOCK_TIMEOUT)" if timeout else " (set LOCK_TIMEOUT to wait)"
    return LockError(f"another import into table {table!r} is running{waited}")


@contextlib.contextmanager
def _postgres_lock(engine: Engine, table: str, timeout: int) -> Iterator[LockCheck]:
    key = int.from_bytes(_key(table)[:8], "big", signed=True)
    with engine.connect() as conn:
        deadline = time.monotonic() + timeout
        while not conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar():
            conn.rollback()
            if time.monotonic() >= deadline:
                raise _busy(table, timeout)
            time.sleep(POLL_SECONDS)
        conn.commit()
        held = (
            "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid() AND objsubid = 1"
            " AND ((classid::bigint << 32) | objid::bigint) = %s"
        )
        try:
            yield _session_check(conn, table, held, key)
        finally:
            _release(conn, "SELECT pg_advisory_unlock(%s)", key)


@contextlib.contextmanager
def _mysql_lock(engine: Engine, table: str, timeout: int) -> Iterator[LockCheck]:
    name = "csv-sql-importer:" + _key(table).hex()[:40]
    with engine.connect() as conn:
        if not conn.exec_driver_sql("SELECT GET_LOCK(%s, %s)", (name, timeout)).scalar():
            raise _busy(table, timeout)
        try:
            yield _session_check(conn, table, "SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", name)
        finally:
            _release(conn, "SELECT RELEASE_LOCK(%s)", name)


@contextlib.contextmanager
def _file_lock(database: Path, table: str, timeout: int) -> Iterator[LockCheck]:
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
            yield _always_held
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
