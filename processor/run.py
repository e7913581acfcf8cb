"""One import run: discover, plan, load into staging in parallel, publish, report.

Data flows one way: settings -> discover -> schema plan -> tasks -> read -> write -> target ->
report.  The parent plans and publishes; workers (top-level functions below, given plain
picklable tasks) profile and load files, each process with its own engine.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa
from sqlalchemy import exc
from sqlalchemy.engine import URL, Engine

from processor.convert import apply_plan
from processor.database import SINGLE_WRITER, check_connection, create_engine, describe
from processor.discover import SourceFile, common_stem, discover_files
from processor.errors import DatabaseError, ImporterError, Interrupted, RejectLimitError
from processor.executor import make_executor
from processor.memory import return_freed_memory
from processor.read import InvalidRow, TextFormat, locate_records, read_batches, rechunk
from processor.report import FileResult, RejectedRow, RunReport, write_rejects, write_report
from processor.schema import (
    FileProfile,
    TablePlan,
    check_identifiers,
    merge_kinds,
    plan_from_table,
    profile_file,
    read_headers,
)
from processor.settings import Settings
from processor.target import check_target, create_staging, drop_table, existing_kinds, publish, staging_name
from processor.write import ArrowChunk, WriteMethod, choose_writer, python_rows

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ProfileTask:
    """Sample one file to plan column kinds."""

    source: SourceFile
    fmt: TextFormat
    columns: int
    rows: int


@dataclass(frozen=True)
class LoadTask:
    """Load one file into the run's staging table with the planned kinds."""

    source: SourceFile
    fmt: TextFormat
    plan: TablePlan
    staging: str
    chunk_size: int
    block_bytes: int
    max_errors: int


def run_import(settings: Settings) -> RunReport:
    """Import every matched file into the target table; the report says how it went.

    Errors are caught here, recorded in the report (written to REPORT_PATH when set) and left
    for the caller to turn into an exit status; the target is only changed by a run that worked.
    """
    report = RunReport(
        table=settings.dest_table, destination=settings.masked_url, if_exists=settings.if_exists
    )
    started = time.perf_counter()
    try:
        with _terminate_as_interrupt():
            _import(settings, report)
    except ImporterError as error:
        report.error = error
    except KeyboardInterrupt:
        report.error = Interrupted("interrupted; the target table was left as it was")
    finally:
        report.seconds = time.perf_counter() - started
        if report.rejects and report.table:
            write_rejects(report.rejects, settings.resolved_rejects_path(report.table))
        if settings.report_path is not None:
            write_report(report, settings.report_path)
    return report


def _import(settings: Settings, report: RunReport) -> None:
    fmt = TextFormat(
        quoting=settings.src_quoting, encoding=settings.src_encoding, na_values=settings.na_values
    )
    files = discover_files(settings.src_data_folder, settings.src_file_name, settings.src_delimiter)
    table = settings.dest_table or common_stem(files)
    report.table = table
    engine = create_engine(settings.url)
    check_connection(engine)
    names = read_headers(files, fmt)
    check_identifiers(table, names, engine.dialect)
    exists = check_target(engine, table, settings.if_exists)
    log.info("%d files to import into table %r at %s", len(files), table, settings.masked_url)

    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    lock = context.Lock() if engine.dialect.name in SINGLE_WRITER and settings.workers > 1 else None
    workers = min(settings.workers, len(files))
    executor = make_executor(workers, init_worker, (settings.url, lock, stop), stop)
    try:
        profile_tasks = [ProfileTask(f, fmt, len(names), settings.sample_rows) for f in files]
        profiles = {p_name: p for p_name, p in executor.map_unordered(_profile, profile_tasks)}
        if exists and settings.if_exists == "append":
            plan = plan_from_table(names, existing_kinds(engine, table), table, files[0].name)
        else:
            plan = merge_kinds(names, profiles.values())
        _load(settings, engine, executor, files, profiles, plan, fmt, report)
    finally:
        executor.close()


def _load(
    settings: Settings,
    engine: Engine,
    executor: Any,
    files: list[SourceFile],
    profiles: dict[str, FileProfile],
    plan: TablePlan,
    fmt: TextFormat,
    report: RunReport,
) -> None:
    """Load every file into a fresh staging table, then publish it, or drop it on any failure."""
    assert report.table is not None
    staging = staging_name(report.table, uuid.uuid4().hex[:8])
    tasks = [
        LoadTask(
            source=f,
            fmt=fmt,
            plan=plan,
            staging=staging,
            chunk_size=settings.chunk_size,
            block_bytes=settings.chunk_size * profiles[f.name].bytes_per_row,
            max_errors=settings.max_errors,
        )
        for f in files
    ]
    create_staging(engine, staging, plan)
    try:
        for result in executor.map_unordered(load_file, tasks):
            report.files.append(result)
            log.info(
                "%s: %s rows (%d/%d files)", result.name, f"{result.rows:,}", len(report.files), len(files)
            )
            _check_reject_limit(report.rejects, settings.max_errors)
        publish(engine, staging, report.table, settings.if_exists, plan.names)
    except BaseException:
        with contextlib.suppress(exc.SQLAlchemyError):
            drop_table(engine, staging)
        raise
    finally:
        engine.dispose()


def _check_reject_limit(rejects: list[RejectedRow], max_errors: int) -> None:
    if len(rejects) > max_errors:
        first = rejects[0]
        raise RejectLimitError(
            f"{first.file}: line {first.line}: {first.reason} "
            f"({len(rejects)} rows rejected so far, MAX_ERRORS={max_errors}; nothing was loaded)"
        )


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (``docker stop``, a scheduler's timeout) like Ctrl-C: roll back, then exit."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---- worker side: everything below runs in the worker processes (or inline) ----------------


@dataclass
class _WorkerState:
    engine: Engine
    writer: WriteMethod
    lock: Any
    stop: Any


_state: _WorkerState | None = None


def init_worker(url: URL, lock: Any, stop: Any) -> None:
    """Pool initializer: build this process's own engine; leave Ctrl-C to the parent."""
    global _state
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return_freed_memory()
    engine = create_engine(url)
    _state = _WorkerState(engine=engine, writer=choose_writer(engine.dialect), lock=lock, stop=stop)


def _guarded(fn: Callable[..., T], *args: Any) -> T:
    """Run a task; unexpected errors come back as one picklable ImporterError with the traceback."""
    try:
        return fn(*args)
    except ImporterError:
        raise
    except Exception as error:
        raise ImporterError(
            f"unexpected error: {type(error).__name__}: {error}", traceback.format_exc()
        ) from None


def _profile(task: ProfileTask) -> tuple[str, FileProfile]:
    return task.source.name, _guarded(profile_file, task.source, task.fmt, task.columns, task.rows)


def load_file(task: LoadTask) -> FileResult:
    """Read, convert and write one file in chunks; return its rows and rejected rows."""
    return _guarded(_load_file, task)


def _load_file(task: LoadTask) -> FileResult:
    assert _state is not None, "init_worker was not called"
    started = time.perf_counter()
    columns = len(task.plan.names)
    invalid: list[InvalidRow] = []
    misfits: list[tuple[int, str]] = []  # (record number, reason)
    rows = seen = 0
    for chunk in rechunk(
        read_batches(task.source, task.fmt, columns, task.block_bytes, invalid.append), task.chunk_size
    ):
        if _state.stop.is_set():
            raise Interrupted(f"{task.source.name}: stopped because another task failed")
        typed, rejected = apply_plan(chunk, task.plan)
        misfits.extend((_record_number(seen + index, invalid), why) for index, why in rejected)
        seen += chunk.num_rows
        if len(invalid) + len(misfits) > task.max_errors:
            break  # the parent fails the run; loading more of this file is wasted work
        _write(task, typed)
        rows += typed.num_rows
    ragged = [(row.record, f"expected {columns} fields, found {row.fields}") for row in invalid]
    return FileResult(
        name=task.source.name,
        rows=rows,
        rejects=_locate(task, sorted(ragged + misfits)),
        seconds=time.perf_counter() - started,
    )


def _record_number(valid_index: int, invalid: list[InvalidRow]) -> int:
    """The record number (header = 1) of the ``valid_index``-th row Arrow did not skip."""
    record = valid_index + 2
    for row in invalid:  # ascending; each skipped record at or before ours pushes it back one
        if row.record > record:
            break
        record += 1
    return record


def _write(task: LoadTask, typed: pa.Table) -> None:
    """Append one typed chunk in its own transaction; Python rows are built before taking the lock."""
    assert _state is not None
    writer = _state.writer
    rows = python_rows(typed) if writer.takes_rows else ()
    with _state.lock or contextlib.nullcontext():
        try:
            with _state.engine.begin() as conn:
                writer.write(ArrowChunk(task.staging, typed), conn, list(task.plan.names), rows)
        except exc.DBAPIError as error:
            raise DatabaseError(f"{task.source.name}: writing rows failed: {describe(error)}") from None


def _locate(task: LoadTask, rejects: list[tuple[int, str]]) -> tuple[RejectedRow, ...]:
    """Attach physical line numbers and raw text to rejected records (error path only)."""
    lines = locate_records(task.source, task.fmt, len(task.plan.names), (record for record, _ in rejects))
    return tuple(
        RejectedRow(
            file=task.source.name,
            line=lines.get(record, (record, ""))[0],
            reason=why,
            text=lines.get(record, (0, ""))[1],
        )
        for record, why in rejects
    )
