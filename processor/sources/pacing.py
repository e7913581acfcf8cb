"""A byte stream that Arrow's CSV reader may read only so far ahead of the batches taken from it.

Arrow's streaming reader reads blocks on a background thread and queues up to 32 of them (not
configurable: ARROW-12090 in its reader.cc).  At the 1 MiB default that is 32 MiB; at the larger blocks a
file with a huge record needs it would be gigabytes.  Reading through ``PacedStream`` lets the
background thread read a block only once the consumer has asked for as many batches, give or
take ``ahead`` blocks.  A batch never needs more than the next two blocks (a record straddling
more is an error), so the consumer never waits for a block it did not allow; should it wait
anyway, a stalled read goes ahead after a moment rather than hang.  Once the consumer is done
(``close()``, also when it stops early), reads end at once: Arrow waits for its background
thread when a reader is dropped, and that thread must not wait for a turn that never comes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Protocol

log = logging.getLogger(__name__)

# How long a read waits for the consumer's turn while the consumer itself waits for a batch,
# before it reads anyway: a guard against a stall, never reached when blocks are paced right.
STALL_SECONDS = 1.0


class Readable(Protocol):
    """What PacedStream reads from: a binary file, or a wrapper that has only ``read``."""

    def read(self, size: int = -1, /) -> bytes: ...


class PacedStream:
    """A binary stream for ``pyarrow.csv.open_csv`` whose reads keep pace with ``asking()``."""

    def __init__(self, raw: Readable, ahead: int) -> None:
        self._raw = raw
        self._allowed = ahead
        self._reads = 0
        self._asking = False
        self._closed = False
        self._turn = threading.Condition()
        #: Bytes read so far: how far into the text the reader got.
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        with self._turn:
            while self._reads >= self._allowed and not self._closed:
                if not self._turn.wait(STALL_SECONDS) and self._asking:
                    log.debug("a read waited %.1f s for its turn; reading ahead anyway", STALL_SECONDS)
                    break
            if self._closed:
                return b""
            self._reads += 1
        data = self._raw.read(size)
        self.bytes_read += len(data)
        return data

    @contextlib.contextmanager
    def asking(self) -> Iterator[None]:
        """Around every call into the reader (opening it, taking the next batch): one more block
        may be read, and a read that stalls meanwhile goes ahead (Arrow may be waiting for it,
        also to clean up after an error)."""
        with self._turn:
            self._allowed += 1
            self._asking = True
            self._turn.notify_all()
        try:
            yield
        finally:
            with self._turn:
                self._asking = False

    @property
    def closed(self) -> bool:
        return self._closed

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        """The consumer is done: every read from now on ends the stream (the raw stream is the
        opener's to close)."""
        with self._turn:
            self._closed = True
            self._turn.notify_all()
