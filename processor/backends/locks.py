"""The pieces every import lock is made of: a key, waiting, checking that it is still held.

Each database takes its own kind of lock (its module says which); all of them are released by
the operating system or the server when the holder dies, so a crashed run never leaves a lock
behind.  A server-side lock is lost with its connection (a server restart,
``pg_terminate_backend``, ``KILL``), so the run checks that it still holds the lock just before
it publishes.
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
from sqlalchemy.engine import Connection

from processor.errors import LockError, describe, unwritable

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
#: Raises LockError unless this run still holds its import lock.
LockCheck = Callable[[], None]


def lock_key(scope: str, table: str) -> bytes:
    """The lock's identity: the database it lives in (``scope``) and the table as the database
    compares names, so ``Certs`` and ``certs`` take one lock where they are one table."""
    return hashlib.sha1(f"csv-sql-importer:{scope}:{table}".encode()).digest()


def always_held() -> None:
    """A file lock (or none) cannot be lost while this process lives."""


def busy(table: str, timeout: int) -> LockError:
    """The error of a lock another import holds."""
    waited = f" (waited {timeout} s; see LOCK_TIMEOUT)" if timeout else " (set LOCK_TIMEOUT to wait)"
    return LockError(f"another import into table {table!r} is running{waited}")


def wait_for(take: Callable[[], bool], table: str, timeout: int) -> None:
    """Call ``take`` until it returns true, or raise ``busy`` once ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while not take():
        if time.monotonic() >= deadline:
            raise busy(table, timeout)
        time.sleep(POLL_SECONDS)


def session_check(conn: Connection, table: str, sql: str, *params: object) -> LockCheck:
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


def release(conn: Connection, sql: str, *params: object) -> None:
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


@contextlib.contextmanager
def file_lock(database: Path, key: bytes, table: str, timeout: int) -> Iterator[LockCheck]:
    """An exclusive ``flock`` on a small file beside an embedded database's file."""
    path = database.with_name(f"{database.name}.{key.hex()[:12]}.import-lock")
    try:
        handle = path.open("a")
    except OSError as error:
        raise unwritable(f"the import lock beside the database cannot be created: {path}", error) from None
    with handle:

        def take() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        wait_for(take, table, timeout)
        try:
            yield always_held
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
