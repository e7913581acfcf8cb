"""What a task may use where it runs, whichever executor runs it.

Tasks are top-level functions ``fn(task, context)`` that take plain picklable values.  The
``TaskContext`` is built once per worker process (a pool initializer, a Dask worker plugin, or the
run's own process inline) from a ``WorkerSetup``; it holds that process's own backend and engine,
and the executor's answers to what differs between executors: whether the run is stopping, the
single-writer turn of embedded databases, a slot of the connection budget (MAX_CONNECTIONS), and
where progress events go.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL

from processor.backends import Backend, backend_class, backend_for
from processor.backends.database import create_engine
from processor.backends.writers import ChunkWriter, HeldWriter
from processor.errors import Interrupted
from processor.executors.handoff import HandedWriter, HandOff
from processor.records import TablePlan

#: A context manager factory: a turn or a slot taken around a piece of work.
Turn = Callable[[], AbstractContextManager[Any]]


# How long a slot of the connection budget stays taken after its task closed its connection: a
# server lists a session (and counts it against max_connections) until its process has ended,
# a moment after the client hung up.
SESSION_END_SECONDS = 0.2


def budget_slot(semaphore: Callable[[], AbstractContextManager[Any]]) -> Turn:
    """A slot of the connection budget from ``semaphore``, given back only once the session its
    task closed has had a moment to end on the server."""

    @contextlib.contextmanager
    def slot() -> Iterator[None]:
        with semaphore():
            yield
            time.sleep(SESSION_END_SECONDS)

    return slot


def no_turn() -> AbstractContextManager[Any]:
    """Nothing to wait for."""
    return contextlib.nullcontext()


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker process needs to build its own context: plain, picklable values."""

    url: URL
    log_level: str
    log_format: str
    #: An embedded database (SQLite, DuckDB) that one process writes at a time.
    single_writer: bool
    #: At most this many tasks hold a database connection at once (None: no limit).
    max_connections: int | None = None
    #: The run's id, which the worker's log lines carry.
    run_id: str | None = None
    #: What the worker's log lines mask besides ``url``'s own secrets (Settings.secrets: NOTIFY_URL's,
    #: DEST_SQL's as the user wrote them).
    secrets: tuple[str, ...] = ()

    def backend(self) -> Backend:
        """This process's own backend and engine.  Under a connection budget the engine keeps no
        connection between uses, so a task that gives its slot back holds none."""
        url = backend_class(self.url.get_backend_name()).worker_url(self.url)
        return backend_for(create_engine(url, pooled=self.max_connections is None))


@dataclass
class TaskContext:
    """One worker process's backend and the executor's ways to stop, turn, budget and report."""

    backend: Backend
    #: This process does nothing with the database but write chunks (a pool's or a cluster's
    #: worker process, not the run's own): SQLite's ADBC writer is safe only there.
    isolated: bool
    #: Whether the run is stopping (a task failed, a signal, the parent died).
    stopped: Callable[[], bool] = lambda: False
    #: The single-writer turn, taken around each chunk written to an embedded database.
    writer_turn: Turn = no_turn
    #: A slot of the connection budget, held while a task's writer holds a connection.
    connection_slot: Turn = no_turn
    #: Sends a progress event (a small picklable value) to the parent.
    progress: Callable[[Any], None] = lambda event: None
    #: Where tasks run, for messages: "" here, " on Dask worker tcp://... (host)" on a cluster.
    where: str = field(default="")
    #: The run's one writer, where tasks run in the run's own process (inline) and hand it
    #: their chunks (``handoff.py``).
    held: HeldWriter | None = None
    #: A task writes each chunk on a thread of its own while it reads the next (``ahead.py``),
    #: where the database does the writing's work in a server of its own: not into an embedded
    #: database, whose inserts (or one writer) are the load's critical path, that parsing beside
    #: them slowed (the benchmark's SQLite case by 15%); nor on a Dask worker, which knows a task,
    #: its logs and its locks by the task's thread.
    write_ahead: bool = False

    def chunk_writer(self, staging: str, plan: TablePlan, hand_off: HandOff | None) -> ChunkWriter:
        """How a task appends its chunks: through the run's one writer where the run handed
        it out (``hand_off``), else by this process's own (taking the single-writer turn)."""
        if hand_off is None:
            return self.backend.chunk_writer(staging, plan, self.isolated)
        if hand_off.address is None:
            assert self.held is not None, "a task handed its chunks to a writer in another process"
            return self.held
        return HandedWriter(hand_off, self.backend.writer().label)

    def check_stop(self, name: str) -> None:
        """Raise Interrupted if the run is stopping: a task stops at its next chunk."""
        if self.stopped():
            raise Interrupted(f"{name}: stopped because the run is failing or was interrupted")
