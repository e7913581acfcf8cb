"""WORKERS=1: every task in the run's own process, one after another (easy to debug)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from processor.backends.writers import HeldWriter
from processor.executors.context import TaskContext, WorkerSetup, no_turn
from processor.executors.handoff import HandOff
from processor.executors.streaming import R, T


class InlineExecutor:
    """Runs each task here; a task's error is raised at once, a signal reaches it directly."""

    slots = 1
    isolated = False
    blocks_by_file = False  # a task is passed as it is

    def __init__(self, setup: WorkerSetup) -> None:
        self._context = TaskContext(
            backend=setup.backend(), isolated=False, write_ahead=not setup.single_writer
        )

    def map_unordered(
        self,
        fn: Callable[[T, TaskContext], R],
        tasks: Iterable[T],
        on_progress: Callable[[Any], None] | None = None,
    ) -> Iterator[R]:
        self._context.progress = on_progress or (lambda event: None)
        for task in tasks:
            yield fn(task, self._context)

    def writer_turn(self) -> AbstractContextManager[Any]:
        return no_turn()

    @contextlib.contextmanager
    def hand_off(self, writer: HeldWriter) -> Iterator[HandOff | None]:
        """Tasks write through ``writer`` itself: it is in this process."""
        self._context.held = writer
        try:
            yield HandOff()
        finally:
            self._context.held = None

    def close(self) -> None:
        self._context.backend.dispose()
