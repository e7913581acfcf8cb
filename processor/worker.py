"""The work done in the pool's processes (or inline): profile a file, load a file.

Tasks are plain frozen dataclasses; results are small records.  Each process builds its own
engine once (``init_worker``); nothing live crosses a process boundary.  A task stops at its
next chunk when the parent signals a failure elsewhere, or when the parent itself has died.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa
from sqlalchemy.engine import URL

from processor.backends import Backend, backend_for
from processor.backends.writers import ChunkWriter
from processor.convert import apply_plan
from processor.database import create_engine
from processor.discover import SourceFile
from processor.errors import DatabaseError, ImporterError, Interrupted, describe, unexpected, with_traceback
from processor.fingerprint import StreamDigest, fingerprint
from processor.logs import setup_logging
from processor.masking import url_secrets
from processor.read import InvalidRow, TextFormat, locate_records, read_batches, rechunk
from processor.report import FileResult, RejectedRow
from processor.retry import with_retries
from processor.schema import FileProfile, TablePlan, profile_file

T = TypeVar("T")


@dataclass(frozen=True)
class ProfileTask:
    """Sample one file to plan column types; ``fingerprint`` it where the ledger's decision to
    skip it needs that before loading (the ledger names a file of that size)."""

    source: SourceFile
    fmt: TextFormat
    columns: int
    rows: int
    fingerprint: bool = False


@dataclass(frozen=True)
class ProfileResult:
    """A file's sample profile and, where asked for, its fingerprint."""

    name: str
    profile: FileProfile
    fingerprint: str | None


@dataclass(frozen=True)
class LoadTask:
    """Load one file into the run's staging table with the planned kinds."""

    source: SourceFile
    fmt: TextFormat
    plan: TablePlan
    staging: str
    chunk_size: int
    max_errors: int


@dataclass
class _WorkerState:
    backend: Backend
    lock: Any
    stop: Any


_state: _WorkerState | None = None


# Exit status of a worker that ends itself because its parent died.
ORPHANED = 70


def init_worker(url: URL, lock: Any, stop: Any, log_level: str, log_format: str) -> None:
    """Pool initializer: build this process's own engine; leave Ctrl-C to the parent."""
    global _state
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _exit_with_parent()
        # A spawned process starts without the parent's logging, and masks the same secrets.
        setup_logging(log_level, log_format, url_secrets(url))
    _state = _WorkerState(backend=backend_for(create_engine(url)), lock=lock, stop=stop)


def _exit_with_parent() -> None:
    """End this worker the moment its parent dies (kill -9, out of memory).

    An idle worker waits for its next task on a pipe that it holds open itself, so it would
    never notice; a busy one would write on into a staging table that the next run is about to
    drop.  Exiting mid-transaction is safe: the database rolls back what was not committed.
    """
    parent = multiprocessing.parent_process()
    assert parent is not None

    def watch() -> None:
        parent.join()  # returns when the parent's sentinel pipe closes, i.e. when it has died
        os._exit(ORPHANED)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _guarded(fn: Callable[..., T], *args: Any) -> T:
    """Run a task; unexpected errors come back as one picklable ImporterError with the traceback."""
    try:
        return fn(*args)
    except ImporterError as error:
        # The parent shows this process's traceback with --verbose; it does not cross as a cause.
        raise with_traceback(error) from None
    except Exception as error:
        raise unexpected(error) from None


def profile(task: ProfileTask) -> ProfileResult:
    """Sample and fingerprint one file."""
    return _guarded(_profile, task)


def _profile(task: ProfileTask) -> ProfileResult:
    def check() -> None:
        _check_stop(task.source.name)

    sampled = profile_file(task.source, task.fmt, task.columns, task.rows, check)
    taken = fingerprint(task.source.path, check) if task.fingerprint else None
    return ProfileResult(task.source.name, sampled, taken)


def load_file(task: LoadTask) -> FileResult:
    """Read, convert and write one file in chunks; return its rows and rejected rows."""
    return _guarded(_load_file, task)


def _check_stop(name: str) -> None:
    assert _state is not None, "init_worker was not called"
    parent = multiprocessing.parent_process()
    if _state.stop.is_set() or (parent is not None and not parent.is_alive()):
        raise Interrupted(f"{name}: stopped because the run is failing or was interrupted")


def _load_file(task: LoadTask) -> FileResult:
    started = time.perf_counter()
    columns = len(task.plan.names)
    invalid: list[InvalidRow] = []
    misfits: list[tuple[int, str, bool]] = []  # (record number, reason, a misfit: yes)
    rows = seen = 0
    assert _state is not None, "init_worker was not called"
    digest = StreamDigest()
    batches = read_batches(task.source, task.fmt, columns, invalid.append, digest)
    complete = True
    isolated = multiprocessing.parent_process() is not None  # a pool's worker, not the run's process
    with contextlib.closing(_state.backend.chunk_writer(task.staging, task.plan, isolated)) as writer:
        for chunk in rechunk(batches, task.chunk_size):
            _check_stop(task.source.name)
            typed, rejected = apply_plan(chunk, task.plan)
            misfits.extend((_record_number(seen + index, invalid), why, True) for index, why in rejected)
            seen += chunk.num_rows
            if len(invalid) + len(misfits) > task.max_errors:
                complete = False
                break  # the parent fails the run; loading more of this file is wasted work
            _write(task.source.name, writer, typed)
            rows += typed.num_rows
    ragged = [(row.record, f"expected {columns} fields, found {row.fields}", False) for row in invalid]
    if complete and digest.value is None:  # a source the reading did not hash (a .zip's member)
        taken: str | None = fingerprint(task.source.path, lambda: _check_stop(task.source.name))
    else:
        taken = digest.value
    return FileResult(
        name=task.source.name,
        rows=rows,
        rejects=_locate(task, sorted(ragged + misfits)),
        seconds=time.perf_counter() - started,
        fingerprint=taken,
    )


def _record_number(valid_index: int, invalid: list[InvalidRow]) -> int:
    """The record number (header = 1) of the ``valid_index``-th row Arrow did not skip."""
    record = valid_index + 2
    for row in invalid:  # ascending; each skipped record at or before ours pushes it back one
        if row.record > record:
            break
        record += 1
    return record


def _write(name: str, writer: ChunkWriter, typed: pa.Table) -> None:
    """Append one chunk to the staging table in its own transaction, retried if rolled back.

    What needs no database (Python rows, casts) is prepared here, before the single-writer turn.
    """
    assert _state is not None
    state = _state
    prepared = writer.prepare(typed)

    def attempt() -> None:
        with state.lock or contextlib.nullcontext():
            writer.write(prepared)

    try:
        with_retries(attempt, writer.errors, state.backend.is_transient, name)
    except writer.errors as error:
        raise DatabaseError(f"{name}: writing rows failed: {describe(error)}") from None


def _locate(task: LoadTask, rejects: list[tuple[int, str, bool]]) -> tuple[RejectedRow, ...]:
    """Attach physical line numbers and raw text to rejected records (error path only)."""
    lines = locate_records(task.source, task.fmt, (reject[0] for reject in rejects))
    return tuple(
        RejectedRow(
            file=task.source.name,
            line=lines.get(record, (record, ""))[0],
            reason=why,
            text=lines.get(record, (0, ""))[1],
            misfit=misfit,
        )
        for record, why, misfit in rejects
    )
