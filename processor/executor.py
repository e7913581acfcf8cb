"""Where tasks run: inline in this process, or in a pool of worker processes.

Both executors take top-level functions and picklable tasks and stream results back as tasks
finish.  The first failure stops the run: pending tasks are cancelled, running ones see the stop
event at their next chunk, and the error is raised in the parent with its file and line.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from processor.errors import WorkerCrashed

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``fn`` over tasks and yields results in completion order."""

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]: ...

    def close(self) -> None: ...


class InlineExecutor:
    """WORKERS=1: run every task here, one after another (no processes, easy to debug)."""

    def __init__(self, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
        initializer(*initargs)

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        for task in tasks:
            yield fn(task)

    def close(self) -> None:
        pass


class PoolExecutor:
    """A pool of spawned processes, each set up once by ``initializer`` (its own engine)."""

    def __init__(
        self,
        workers: int,
        initializer: Callable[..., None],
        initargs: tuple[Any, ...],
        stop: Any,
    ) -> None:
        # spawn, not fork: Arrow's and the drivers' threads and sockets must not be inherited.
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=initializer,
            initargs=initargs,
        )
        self._stop = stop

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        pending: set[Future[R]] = {self._pool.submit(fn, task) for task in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BrokenProcessPool as error:
            raise WorkerCrashed(
                "a worker process died unexpectedly (killed, or out of memory); nothing was published"
            ) from error
        finally:
            if pending:
                self._stop.set()
                for future in pending:
                    future.cancel()
                wait(pending)

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_executor(
    workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...], stop: Any
) -> Executor:
    """An inline executor for one worker, a process pool otherwise."""
    if workers == 1:
        return InlineExecutor(initializer, initargs)
    return PoolExecutor(workers, initializer, initargs, stop)
