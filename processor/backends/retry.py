"""Retry what the database rolled back on its own (deadlock, serialization failure, busy file).

Only errors after which the server has certainly undone the transaction are retried (each
database's backend says which those are), so a retry can never write a row twice.  A lost
connection is not retried: whether its last COMMIT landed is unknown, so the run fails and its
staging table is dropped instead.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from processor.errors import connection_lost, describe

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 5
BASE_DELAY = 0.2
MAX_DELAY = 5.0


def with_retries(
    action: Callable[[], T],
    errors: tuple[type[BaseException], ...],
    transient: Callable[[BaseException], bool],
    what: str,
) -> T:
    """Run ``action``; on a ``transient`` error wait (exponential backoff with jitter) and run it again."""
    attempt = 1
    while True:
        try:
            return action()
        except errors as error:
            if attempt >= ATTEMPTS or connection_lost(error) or not transient(error):
                raise
            delay = min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1)) * (0.5 + random.random())
            log.warning("%s: transient database error, retrying in %.1f s: %s", what, delay, describe(error))
            time.sleep(delay)
            attempt += 1
