"""A task's chunk written on a thread of its own while the task reads and checks the next one.

Alone, a task alternates: it parses and checks a chunk, then waits while the database takes it
(binary COPY, LOAD DATA, SQLite's inserts, the hand-off to DuckDB's writer), the core it runs on
idle meanwhile.  With one chunk in flight, the parsing of the next (Arrow and numpy, which let go
of the GIL) overlaps the database's work on the last.  One at a time, and in order: the chunks
commit as before, each with its receipt, and a chunk's failure is the task's at the next step,
or when it leaves, before any error of a later chunk.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class WriteAhead(Generic[T]):
    """At most one write in flight, on the writer thread (started by the first), which ``submit``
    waits for before it starts the next.  ``threaded`` False: each write is done in ``submit``
    itself (a Dask task, whose cluster knows it, its logs and its locks by its own thread)."""

    def __init__(self, threaded: bool = True) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="chunk-writer") if threaded else None
        self._clock: int | None = None
        self._pending: Future[T] | None = None

    def cpu(self) -> float:
        """CPU seconds the writer thread has spent (0 before its first write, or where its clock
        cannot be read): what the task's own stages leave out of the process's CPU."""
        return 0.0 if self._clock is None else time.clock_gettime(self._clock)

    def submit(self, write: Callable[[], T]) -> T | None:
        """Start ``write`` once the write before it is done; that one's result (None: none
        was in flight), or its error."""
        done = self.wait()
        if self._thread is not None:
            self._pending = self._thread.submit(self._run, write)
            return done
        written: Future[T] = Future()
        written.set_result(write())  # its error is the task's at once
        self._pending = written
        return done

    def _run(self, write: Callable[[], T]) -> T:
        if self._clock is None:  # the thread's clock, which other threads can read (Linux)
            with contextlib.suppress(AttributeError, OSError):
                self._clock = time.pthread_getcpuclockid(threading.get_ident())
        return write()

    def wait(self) -> T | None:
        """The write in flight's result once it is done (None: none was), or its error."""
        pending, self._pending = self._pending, None
        return None if pending is None else pending.result()

    def __enter__(self) -> WriteAhead[T]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """The write in flight finishes before the task's writer is closed.  Its error wins over
        the one the task is leaving with (a later chunk's, or a stop): the run fails with the
        first error in the file's order, as it would have without the thread."""
        try:
            pending, self._pending = self._pending, None
            failed = None if pending is None or kind is None else pending.exception()
            if failed is not None:
                raise failed
            if pending is not None:
                pending.result()
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=True)
