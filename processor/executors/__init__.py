"""Where tasks run: inline, in a pool of processes on this machine, or on a Dask cluster.

The executor is chosen here, once; the rest of the pipeline only sees this interface.  Each
executor owns what differs between them: how a task learns that the run is stopping, the
single-writer turn of embedded databases, the connection budget, how progress events reach the
parent, and how a dead worker shows (a pool's ends the run with exit status 8; Dask gives the
task to another worker, and the chunk receipts keep its rows from counting twice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from processor.backends.writers import HeldWriter
from processor.errors import ConfigError
from processor.executors.context import TaskContext, WorkerSetup
from processor.executors.handoff import HandOff
from processor.executors.inline import InlineExecutor
from processor.executors.pool import PoolExecutor
from processor.executors.streaming import R, T
from processor.package import install_hint


class Executor(Protocol):
    """Runs ``fn(task, context)`` over tasks and yields results in completion order.

    The first failure stops the run: tasks not started are cancelled, running ones stop at their
    next chunk, and the error is raised here with its file and line.
    """

    #: Tasks that run at once.
    slots: int
    #: Tasks run in processes that do nothing else with the database (``TaskContext.isolated``).
    isolated: bool
    #: Tasks reach processes on this machine through a pipe: a block of a file's text is better
    #: written to a file that the task names (``processor/load/blocks.py``).
    blocks_by_file: bool

    def map_unordered(
        self,
        fn: Callable[[T, TaskContext], R],
        tasks: Iterable[T],
        on_progress: Callable[[Any], None] | None = None,
    ) -> Iterator[R]:
        """Results as tasks finish; ``on_progress`` receives the tasks' progress events here,
        in the caller's thread."""
        ...

    def writer_turn(self) -> AbstractContextManager[Any]:
        """The single-writer turn, taken by the run itself: while it holds it, no task writes
        (the run drops a failed run's staging table in it)."""
        ...

    def hand_off(self, writer: HeldWriter) -> AbstractContextManager[HandOff | None]:
        """While in it, tasks given the ``HandOff`` it yields hand their chunks to ``writer``
        (the run's one writer, ``Features.one_writer``); None: this executor's tasks cannot
        reach it (a cluster's), and take turns writing instead."""
        ...

    def close(self) -> None:
        """Stop every task; after it, no task starts writing a chunk."""
        ...


def make_executor(
    kind: str, workers: int, setup: WorkerSetup, scheduler: str | None = None, tasks: int | None = None
) -> Executor:
    """The executor for EXECUTOR=``kind``: ``dask`` on the cluster at ``scheduler`` (a local one
    of ``workers`` processes without it); ``pool`` of ``workers`` processes, no more than the
    ``tasks`` the run expects, inline for WORKERS=1.

    A pool of one for a run of one task, rather than the run's own process: its worker comes
    from the prestarted server, with pandas imported and SQLite's ADBC driver at hand, where the
    run's process would import pandas at Arrow's first conversion of a Python value (40 MB: 263
    MB against 225 MB for one 41 MB file) and write SQLite through ``executemany``; and DuckDB's
    writer appends while the worker parses."""
    if kind == "dask":
        try:
            from processor.executors.cluster import DaskExecutor  # distributed is imported only here
        except ModuleNotFoundError as error:
            if error.name is None or not install_hint(error.name):
                raise
            raise ConfigError(
                f"EXECUTOR=dask needs the Python package {error.name!r}, which is not installed"
                f"{install_hint(error.name)}; nothing was written"
            ) from None

        return DaskExecutor(setup, scheduler, workers)
    if workers == 1:
        return InlineExecutor(setup)
    return PoolExecutor(setup, workers if tasks is None else max(1, min(workers, tasks)))


__all__ = ["Executor", "HandOff", "TaskContext", "WorkerSetup", "make_executor"]
