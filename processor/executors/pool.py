"""A pool of worker processes on this machine (WORKERS > 1), forked by the worker server.

Each process builds its context once, in the pool's initializer, from the picklable setup, the
run's environment and folder, and the pool's shared objects: an Event that stops the run, a Lock
for the single-writer turn, a Semaphore for the connection budget, a Queue for progress events.
A process that dies (killed, out of memory) breaks the pool: the run fails with exit status 8.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager
from multiprocessing import reduction
from typing import Any

from processor.backends.writers import HeldWriter
from processor.errors import WorkerCrashed
from processor.executors.context import TaskContext, WorkerSetup, budget_slot, no_turn
from processor.executors.handoff import HandOff, serve
from processor.executors.streaming import POLL_SECONDS, Flight, R, T, pass_on
from processor.logs import set_run_id, setup_logging
from processor.masking import url_secrets
from processor.prestart import worker_context

log = logging.getLogger(__name__)

# Exit status of a worker that ends itself because its parent died.
ORPHANED = 70

#: This pool process's context, built by ``_start_worker`` (the pool's initializer).
_context: TaskContext | None = None


def _start_worker(setup: WorkerSetup, stop: Any, lock: Any, budget: Any, events: Any, run: _RunPlace) -> None:
    """Pool initializer: this process's own engine and context; Ctrl-C is left to the parent."""
    global _context
    run.take_over()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    assert parent is not None
    _exit_with_parent(parent)
    # A forked worker starts without the parent's logging, and masks the same secrets.
    setup_logging(setup.log_level, setup.log_format, url_secrets(setup.url) + setup.secrets)
    set_run_id(setup.run_id)
    events.cancel_join_thread()  # progress events are a courtesy: never wait at exit to send them
    _context = TaskContext(
        backend=setup.backend(),
        isolated=True,
        stopped=lambda: stop.is_set() or not parent.is_alive(),
        writer_turn=(lambda: lock) if lock is not None else no_turn,
        connection_slot=budget_slot(lambda: budget) if budget is not None else no_turn,
        progress=events.put,
        write_ahead=not setup.single_writer,
    )
    # The worker's sessions end with it, closed by the worker (a forked process ends with no
    # interpreter teardown; multiprocessing's finalizers still run).
    multiprocessing.util.Finalize(None, _context.backend.dispose, exitpriority=10)


class _RunPlace:
    """The run's environment, folder and output, which a worker takes as a spawned process would
    inherit them: the server forked it, and the server was started earlier, maybe with other
    variables (libpq reads PGCLIENTENCODING at connect) and another stderr."""

    def __init__(self) -> None:
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()
        self.output: tuple[Any, Any] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as the worker is launched: the server hands the child copies of these two.
        state = {**self.__dict__, "output": (reduction.DupFd(1), reduction.DupFd(2))}
        return (_RunPlace.__new__, (_RunPlace,), state)

    def take_over(self) -> None:
        os.environ.clear()
        os.environ.update(self.environ)
        os.chdir(self.cwd)
        for target, passed in zip((1, 2), self.output or (), strict=True):
            fd = passed.detach()
            os.dup2(fd, target)
            os.close(fd)


def _exit_with_parent(parent: multiprocessing.process.BaseProcess) -> None:
    """End this worker the moment its parent dies (kill -9, out of memory).

    An idle worker waits for its next task on a pipe that it holds open itself, so it would
    never notice; a busy one would write on into a staging table that the next run is about to
    drop.  Exiting mid-transaction is safe: the database rolls back what was not committed.
    """

    def watch() -> None:
        parent.join()  # returns when the parent's sentinel pipe closes, i.e. when it has died
        os._exit(ORPHANED)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _started() -> None:
    """A task that does nothing: submitting it makes the pool start a process."""


def _call(fn: Callable[[T, TaskContext], R], task: T) -> R:
    assert _context is not None, "the pool's initializer did not run"
    return fn(task, _context)


class PoolExecutor:
    """Tasks in ``workers`` processes; the first failure stops the others."""

    isolated = True
    blocks_by_file = True  # a task pickled through the pool's pipe in 64 KiB pieces

    def __init__(self, setup: WorkerSetup, workers: int) -> None:
        # Not forked from this process: Arrow's and the drivers' threads and sockets must not be
        # inherited (processor/prestart.py).
        context = worker_context()
        self.slots = workers
        self._stop = context.Event()
        lock = context.Lock() if setup.single_writer else None
        budget = context.BoundedSemaphore(setup.max_connections) if setup.max_connections else None
        self._events: Any = context.Queue()
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(setup, self._stop, lock, budget, self._events, _RunPlace()),
        )
        # Start the processes now (a submitted task starts one each): they import their modules
        # while the run takes its lock, reads the ledger and checks the target.
        for _ in range(workers):
            self._pool.submit(_started)

    def map_unordered(
        self,
        fn: Callable[[T, TaskContext], R],
        tasks: Iterable[T],
        on_progress: Callable[[Any], None] | None = None,
    ) -> Iterator[R]:
        flight: Flight[T, Future[R]] = Flight(
            tasks, lambda task: self._pool.submit(_call, fn, task), 2 * self.slots
        )

        def wait_some(pending: set[Future[R]]) -> tuple[set[Future[R]], set[Future[R]]]:
            done, rest = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            return done, rest

        try:
            for future in flight.finished(wait_some, lambda: pass_on(self._events, on_progress)):
                yield future.result()
        except BrokenProcessPool as error:
            raise WorkerCrashed(
                "a worker process died unexpectedly (killed, or out of memory); nothing was published"
            ) from error
        finally:
            if flight.pending:
                self._stop.set()
                for future in flight.pending:
                    future.cancel()
                wait(flight.pending)

    def writer_turn(self) -> AbstractContextManager[Any]:
        # close() waits for every worker process to end, so none writes any more; and a killed
        # one may have died holding the lock, which would then never be free again.
        return no_turn()

    def hand_off(self, writer: HeldWriter) -> AbstractContextManager[HandOff | None]:
        """Tasks send their chunks to ``writer`` over a Unix socket (``handoff.py``)."""
        return serve(writer)

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
