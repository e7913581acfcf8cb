"""EXECUTOR=dask: the same tasks on a Dask distributed cluster (DASK_SCHEDULER), or on a local one.

No engine or connection is shipped: a worker plugin (``ImporterPlugin``) builds each worker
process's own context when it joins, and tasks find it by the run's name.  What the pool does
with multiprocessing objects, the cluster does with the scheduler's: a ``distributed.Event``
stops the run, a ``distributed.Lock`` is the single-writer turn, a ``distributed.Semaphore`` the
connection budget (their leases expire when a worker dies, so a lost worker frees its slot).
Progress events and the importer's log lines travel back as the run's events
(``Worker.log_event``), so a cluster's workers log to the user's terminal, secrets masked.

A worker that dies mid-task is not the end of the run: the scheduler gives its task to another
worker (up to ``distributed.scheduler.allowed-failures`` times, then exit status 8), and the chunk
receipts (``backends/writers.py``) make the task's second attempt pass over the chunks the first
one committed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pickle
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import dask
import distributed
from distributed import Future

from processor.backends.writers import HeldWriter
from processor.counts import counted
from processor.errors import ConfigError, WorkerCrashed
from processor.executors.context import TaskContext, WorkerSetup, budget_slot, no_turn
from processor.executors.handoff import HandOff
from processor.executors.streaming import POLL_SECONDS, Flight, R, T, pass_on
from processor.masking import mask, url_secrets
from processor.package import version

log = logging.getLogger(__name__)

#: Blocks of a compressed file travel inside their tasks, so that the scheduler still holds them
#: if the worker they went to is lost; they are large on purpose.
GRAPH_WARNING = "4GiB"
#: How often a task asks the scheduler whether the run is stopping (a round trip; a task asks at
#: every chunk, and a run that stops can wait this long for its tasks).
STOP_CHECK_SECONDS = 0.5
#: Which run's task this thread of a worker runs (log lines are forwarded only for it).
_running = threading.local()


class ImporterPlugin(distributed.WorkerPlugin):
    """Builds the run's context in every worker process that joins the cluster, and forwards the
    importer's log lines of the run's tasks to the run (masked)."""

    def __init__(self, name: str, setup: WorkerSetup, parent: tuple[str, int]) -> None:
        self.name = name
        self.setup_values = setup
        self.parent = parent
        self.context: TaskContext | None = None
        self._handler: logging.Handler | None = None

    def setup(self, worker: distributed.Worker) -> None:
        setup = self.setup_values
        stop = f"{self.name}-stop"
        budget: list[distributed.Semaphore] = []
        stopping = _every(STOP_CHECK_SECONDS, lambda: distributed.Event(stop).is_set())

        def slot() -> AbstractContextManager[Any]:
            if not budget:  # registered with the scheduler once, from a task's thread
                name = f"{self.name}-budget"
                budget.append(distributed.Semaphore(max_leases=setup.max_connections, name=name))
            return budget[0]

        self.context = TaskContext(
            backend=setup.backend(),
            # The run's own process is never one of its workers, unless it were a threads-only
            # local cluster, which this importer does not start.
            isolated=(socket.gethostname(), os.getpid()) != self.parent,
            stopped=lambda: _cancelled(worker) or stopping(),
            writer_turn=(lambda: distributed.Lock(f"{self.name}-writer")) if setup.single_writer else no_turn,
            connection_slot=budget_slot(slot) if setup.max_connections else no_turn,
            progress=lambda event: worker.log_event(self.name, {"progress": pickle.dumps(event)}),
            where=f" on Dask worker {worker.address} (host {socket.gethostname()})",
        )
        self._handler = _Forward(self.name, worker, url_secrets(setup.url) + setup.secrets)
        self._handler.setLevel(setup.log_level)
        importer = logging.getLogger("processor")
        importer.addHandler(self._handler)
        if importer.getEffectiveLevel() > self._handler.level:
            importer.setLevel(self._handler.level)

    def teardown(self, worker: distributed.Worker) -> None:
        if self._handler is not None:
            logging.getLogger("processor").removeHandler(self._handler)
        if self.context is not None:
            self.context.backend.dispose()


class _Forward(logging.Handler):
    """Sends the importer's log records of one run's tasks to the run, as plain masked text."""

    def __init__(self, run: str, worker: distributed.Worker, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self._run = run
        self._worker = worker
        self._secrets = secrets

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(_running, "run", None) != self._run:
            return
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        fields = {"name": record.name, "levelno": record.levelno, "levelname": record.levelname}
        self._worker.log_event(self._run, {"log": {**fields, "msg": mask(message, self._secrets)}})


def _every(seconds: float, check: Callable[[], bool]) -> Callable[[], bool]:
    """``check`` asked at most once every ``seconds`` (the last answer in between); once it
    has said yes, the answer stays yes."""
    last = {"at": -seconds, "answer": False}

    def throttled() -> bool:
        now = time.monotonic()
        if not last["answer"] and now - last["at"] >= seconds:
            last["at"], last["answer"] = now, check()
        return bool(last["answer"])

    return throttled


def _cancelled(worker: distributed.Worker) -> bool:
    """Whether the scheduler no longer wants this thread's task: the run cancelled it, or the
    run's client is gone (its process died)."""
    task = worker.state.tasks.get(worker.get_current_task())
    return task is None or task.state in ("cancelled", "released")


def _on_worker(fn: Callable[[T, TaskContext], R], task: T, run: str) -> R:
    """A task as a Dask worker runs it: with the context the run's plugin built there."""
    plugin = distributed.get_worker().plugins[run]
    assert isinstance(plugin, ImporterPlugin)
    assert plugin.context is not None
    _running.run = run
    try:
        return fn(task, plugin.context)
    finally:
        _running.run = None


class DaskExecutor:
    """Tasks on a Dask cluster: the one at ``scheduler``, or a local one of ``workers`` processes."""

    isolated = True  # worker processes of their own
    blocks_by_file = False  # its workers may be on other machines: a block travels in its task

    def __init__(self, setup: WorkerSetup, scheduler: str | None, workers: int) -> None:
        self.name = f"csv-sql-importer-{uuid.uuid4().hex[:12]}"
        self._cluster: distributed.LocalCluster | None = None
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._count = 0
        self._where = scheduler or "a local cluster"
        # Dask's own lines (workers joining and leaving) only where the user asked for debug logs.
        logging.getLogger("distributed").setLevel(max(logging.WARNING, logging.getLogger().level))
        try:
            if scheduler:
                self._client: distributed.Client | None = distributed.Client(scheduler, set_as_default=False)
            else:
                # Worker processes (not threads: each must be isolated, see TaskContext), on this
                # machine's loopback only, and a status page on a free port.
                self._cluster = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                )
                self._client = distributed.Client(self._cluster, set_as_default=False)
        except (OSError, TimeoutError) as error:
            self._close_cluster()
            raise ConfigError(
                f"DASK_SCHEDULER: no Dask scheduler answers at {scheduler} ({error}); nothing was written"
            ) from None
        try:
            _check_importer(self._client, self._where)
            self._client.subscribe_topic(self.name, self._receive)
            plugin = ImporterPlugin(self.name, setup, (socket.gethostname(), os.getpid()))
            self._client.register_plugin(plugin, name=self.name)
            self.slots = max(1, sum(w["nthreads"] for w in self._client.scheduler_info()["workers"].values()))
            self._stop = distributed.Event(f"{self.name}-stop", client=self._client)
            client = self._client
            self._lock = (
                distributed.Lock(f"{self.name}-writer", scheduler_rpc=client.scheduler, loop=client.loop)
                if setup.single_writer
                else None
            )
        except BaseException:
            self.close()
            raise
        log.info("running tasks on Dask at %s: %s", self._where, counted(self.slots, "worker"))

    def _receive(self, event: tuple[float, dict[str, Any]]) -> None:
        """A run's event from a worker (on the client's thread): log lines at once, progress
        events for the run's own thread."""
        message = event[1]
        if "log" in message:
            record = logging.makeLogRecord({**message["log"], "args": None})
            logging.getLogger(record.name).handle(record)
        else:
            self._events.put(pickle.loads(message["progress"]))

    def map_unordered(
        self,
        fn: Callable[[T, TaskContext], R],
        tasks: Iterable[T],
        on_progress: Callable[[Any], None] | None = None,
    ) -> Iterator[R]:
        names: dict[Future, T] = {}
        client = self._open_client()

        def submit(task: T) -> Future:
            self._count += 1
            key = f"{fn.__name__}-{self._count}-{self.name}"
            with dask.config.set({"distributed.admin.large-graph-warning-threshold": GRAPH_WARNING}):
                future = client.submit(_on_worker, fn, task, self.name, key=key, pure=False)
            names[future] = task
            return future

        def wait_some(pending: set[Future]) -> tuple[set[Future], set[Future]]:
            try:
                with client.as_current():
                    done, rest = distributed.wait(pending, POLL_SECONDS, return_when="FIRST_COMPLETED")
            except TimeoutError:
                return set(), pending
            return set(done), set(rest)

        flight: Flight[T, Future] = Flight(tasks, submit, 2 * self.slots)
        try:
            for future in flight.finished(wait_some, lambda: pass_on(self._events, on_progress)):
                try:
                    yield future.result()
                except distributed.KilledWorker as error:
                    raise WorkerCrashed(
                        f"Dask workers died running the same task ({_task_name(names[future])}) "
                        f"too often (killed, or out of memory): {error}; nothing was published"
                    ) from None
                except distributed.client.FutureCancelledError as error:
                    raise WorkerCrashed(
                        f"the Dask scheduler at {self._where} was lost: {error}; nothing was published"
                    ) from None
                finally:
                    names.pop(future, None)
        finally:
            if flight.pending:
                self._stop_tasks(flight.pending)

    def _stop_tasks(self, pending: set[Future]) -> None:
        """Tasks not started are cancelled; running ones see the stop event at their next chunk."""
        with contextlib.suppress(Exception):  # a lost scheduler: the tasks are gone with it
            self._stop.set()
            self._open_client().cancel(list(pending))

    def _open_client(self) -> distributed.Client:
        """The run's client, until ``close``."""
        if self._client is None:
            raise RuntimeError(f"{self.name}: the Dask executor is closed")
        return self._client

    def writer_turn(self) -> AbstractContextManager[Any]:
        # Once closed, the lock cannot be taken (its client's loop is gone; a failed run closes
        # the executor before it drops its staging table), and no task of this run holds it.
        return self._lock if self._lock is not None and self._client is not None else no_turn()

    def hand_off(self, writer: HeldWriter) -> AbstractContextManager[HandOff | None]:
        """None: a cluster's workers may be on other machines; they take turns writing."""
        return contextlib.nullcontext(None)

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            with contextlib.suppress(Exception):
                if hasattr(self, "_stop"):
                    self._stop.set()
                client.unregister_worker_plugin(self.name)
            client.close()
            self._client = None
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _check_importer(client: distributed.Client, where: str) -> None:
    """Fail with one line if the scheduler or a worker cannot import this package: the scheduler
    unpickles the tasks (else "Error during deserialization of the task graph", cut short), the
    workers the plugin and the tasks.  Asked with a function of the standard library, which any
    Python unpickles."""
    package = __package__.split(".")[0]
    missing = []
    try:
        on_scheduler = client.run_on_scheduler(importlib.util.find_spec, package)
    except ImportError:  # not found by a finder that raises (no answer of None)
        on_scheduler = None
    if on_scheduler is None:
        missing.append(f"the Dask scheduler at {where}")
    found = client.run(importlib.util.find_spec, package, on_error="return")
    for answer in found.values():
        if isinstance(answer, Exception) and not isinstance(answer, ImportError):
            raise answer
    absent = sorted(
        address for address, spec in found.items() if spec is None or isinstance(spec, ImportError)
    )
    if absent:
        whose = f"its {len(found)} workers" if missing else f"the {len(found)} Dask workers at {where}"
        missing.append(f"{len(absent)} of {whose} ({', '.join(absent)})")
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} cannot import the importer (no module {package!r}): install it "
            f"on the scheduler and every worker, in this run's version {version()} "
            "(pip install '.[dask]' and DEST_SQL's driver; PYTHONPATH is not needed); nothing was written"
        )


def _task_name(task: Any) -> str:
    source = getattr(task, "source", None)
    return getattr(source, "name", None) or type(task).__name__
