"""Tasks submitted as they are needed and results taken as they finish, for pool and cluster.

Tasks come from an iterable that may be slow or large (blocks of a compressed file that the run
decompresses as it goes), so only ``limit`` are in flight at a time: enough to keep every worker
busy, few enough that blocks waiting for a worker do not pile up in memory.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
F = TypeVar("F")

#: Seconds between looks at the progress events while waiting for tasks to finish.
POLL_SECONDS = 0.2


class Flight(Generic[T, F]):
    """``tasks`` submitted lazily, at most ``limit`` unfinished at once; ``pending`` are those
    not finished yet (what a failure must cancel)."""

    def __init__(self, tasks: Iterable[T], submit: Callable[[T], F], limit: int) -> None:
        self._tasks = iter(tasks)
        self._submit = submit
        self._limit = max(1, limit)
        self._more = True
        self.pending: set[F] = set()

    def _feed(self) -> None:
        while self._more and len(self.pending) < self._limit:
            task = next(self._tasks, None)
            if task is None:
                self._more = False
                return
            self.pending.add(self._submit(task))

    def finished(
        self, wait_some: Callable[[set[F]], tuple[set[F], set[F]]], between: Callable[[], None]
    ) -> Iterator[F]:
        """Each future as it finishes; ``wait_some(pending)`` returns (done, not done) after at
        most a moment; ``between()`` runs after every wait (to pass progress events on)."""
        self._feed()
        while self.pending:
            done, self.pending = wait_some(self.pending)
            between()
            yield from done
            self._feed()


def pass_on(events: Any, on_progress: Callable[[Any], None] | None) -> None:
    """Hand the progress events waiting in ``events`` (a queue) to ``on_progress``, in the
    caller's thread; without one they are dropped."""
    with contextlib.suppress(queue.Empty):
        while True:
            event = events.get_nowait()
            if on_progress is not None:
                on_progress(event)
