"""Retry what the database rolled back on its own (deadlock, serialization failure, busy file).

Only errors after which the server has certainly undone the transaction are retried, so a
retry can never write a row twice.  A lost connection is not retried: whether its last COMMIT
landed is unknown, so the run fails and its staging table is dropped instead.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from processor.database import describe, driver_error

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 5
BASE_DELAY = 0.2
MAX_DELAY = 5.0
# PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available.
POSTGRES_TRANSIENT = {"40001", "40P01", "55P03"}
# MySQL/MariaDB error numbers: lock wait timeout, deadlock.
MYSQL_TRANSIENT = {1205, 1213}
SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy")


def is_transient(error: BaseException) -> bool:
    """Whether the database rolled the failed statement's transaction back by itself."""
    if getattr(error, "connection_invalidated", False):
        return False
    original = driver_error(error)
    sqlstate = getattr(original, "pgcode", None) or getattr(original, "sqlstate", None)
    if sqlstate in POSTGRES_TRANSIENT:
        return True
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int) and args[0] in MYSQL_TRANSIENT:
        return True
    return any(text in str(original).lower() for text in SQLITE_TRANSIENT)


def with_retries(action: Callable[[], T], errors: tuple[type[BaseException], ...], what: str) -> T:
    """Run ``action``; on a transient error wait (exponential backoff with jitter) and run it again."""
    attempt = 1
    while True:
        try:
            return action()
        except errors as error:
            if attempt >= ATTEMPTS or not is_transient(error):
                raise
            delay = min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1)) * (0.5 + random.random())
            log.warning("%s: transient database error, retrying in %.1f s: %s", what, delay, describe(error))
            time.sleep(delay)
            attempt += 1
