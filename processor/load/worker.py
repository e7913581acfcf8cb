"""The work done in the executor's workers (or inline): profile a file, load a part of a file.

Tasks are plain frozen dataclasses; results are small records.  Each worker process has its own
engine, in the ``TaskContext`` its executor built there; nothing live crosses a process
boundary.  A task stops at its next chunk when the run is stopping (``context.check_stop``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from processor.backends.retry import with_retries
from processor.backends.writers import ChunkWriter, HeldWriter, Receipt
from processor.counts import counted
from processor.errors import (
    DatabaseError,
    ImporterError,
    SchemaError,
    SideOutputError,
    SourceError,
    TransformError,
    describe,
    unexpected,
    with_traceback,
)
from processor.executors import HandOff, TaskContext
from processor.executors.context import Turn, no_turn
from processor.executors.handoff import HandedWriter
from processor.kinds import PLAIN, Spelling
from processor.load.ahead import WriteAhead
from processor.load.blocks import take_block
from processor.load.convert import apply_plan
from processor.load.cpu import StageClock
from processor.load.keys import KeyFoundTwice, key_values, stored_row, stored_row_on, twin_rows
from processor.load.shape import shape_chunk
from processor.load.transform import TransformFailed
from processor.plan.columns import ColumnMap, UnnamedValue
from processor.plan.schema import FileProfile, SampleSize, measure_sample, profile_table
from processor.records import FileResult, RejectedRow, SourceFile, TablePlan
from processor.sources.fingerprint import StreamDigest, fingerprint
from processor.sources.formats import format_of, has_header
from processor.sources.parts import WHOLE, Part, file_parts
from processor.sources.quotes import GLUED
from processor.sources.read import locate_records, read_batches, rechunk, sample_rows
from processor.sources.remote import is_url
from processor.sources.split import scanner_for, splits
from processor.sources.text import InvalidRow, ReadRequest, TextFormat, open_stored

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ProfileTask:
    """Sample one file to plan column types; ``fingerprint`` it where that is needed before
    loading (``processor/sources/fingerprint.py``), and find where to split it if it is large."""

    source: SourceFile
    fmt: TextFormat
    layout: ColumnMap
    rows: int
    fingerprint: bool = False
    #: Find record boundaries about every this many bytes, in a reading of the whole file that
    #: fingerprints it too (SPLIT_BYTES; files no larger are not split).
    split_bytes: int | None = None
    #: TRANSFORM, applied to the sample before it is profiled.
    transform: str | None = None
    #: Columns (by position) that earlier files' samples settled as text: not classified again,
    #: nor read where no TRANSFORM renumbers the columns and the sample's bytes are not measured.
    settled: frozenset[int] = frozenset()
    #: Whether the sample's bytes are measured (the dry run's estimate of the file's rows), which
    #: needs every field read.
    measured: bool = False
    #: Whether the sample is searched for text after a closing quote (the dry run, which loads
    #: nothing); a run's load finds it there, reading those rows again anyway.
    quotes: bool = False
    #: How the files write numbers and dates (SRC_DECIMAL, SRC_DATE_FORMAT, SRC_TIMESTAMP_FORMAT).
    spelling: Spelling = PLAIN


@dataclass(frozen=True)
class ProfileResult:
    """A file's sample profile (of the columns ``names``) and size, its fingerprint where it was
    taken, and the parts it is loaded in."""

    name: str
    names: tuple[str, ...]
    profile: FileProfile
    sample: SampleSize
    fingerprint: str | None
    parts: tuple[Part, ...] = (WHOLE,)
    #: CPU seconds the sampling took (``load/cpu.py``).
    cpu: float = 0.0


@dataclass(frozen=True)
class LoadTask:
    """Load one part of a file (all of it by default) into the run's staging table."""

    source: SourceFile
    fmt: TextFormat
    layout: ColumnMap
    plan: TablePlan
    staging: str
    chunk_size: int
    max_errors: int
    part: Part = WHOLE
    #: The task's number in the run: its chunks' receipts are (task, chunk number).
    task: int = 0
    transform: str | None = None
    #: PRIMARY_KEY: the staging table's key, which refuses a row whose key it holds.
    key: tuple[str, ...] = ()
    #: The data records the file's sample took (SAMPLE_ROWS; 0: all): text after a closing quote
    #: among them fails the run (``_check_quotes``), as it would have failed the sampling.
    sampled: int = 0
    #: Where the chunks go: the run's one writer (``executors/handoff.py``); None: this
    #: process's own writer, in turn with the others where the database has one writer.
    hand_off: HandOff | None = None


@dataclass(frozen=True)
class ChunkWritten:
    """A progress event: a chunk of a file's rows is in the staging table."""

    name: str
    rows: int
    #: About how many bytes of the file's text the chunk was read from (``text_bytes``).
    bytes: int = 0


def _guarded(fn: Callable[..., T], *args: Any) -> T:
    """Run a task; unexpected errors come back as one picklable ImporterError with the traceback."""
    try:
        return fn(*args)
    except ImporterError as error:
        # The parent shows this process's traceback with --verbose; it does not cross as a cause.
        raise with_traceback(error) from None
    except Exception as error:
        raise unexpected(error) from None


def profile(task: ProfileTask, context: TaskContext) -> ProfileResult:
    """Sample and fingerprint one file, and find where to split it if it is large.

    Arrow's allocator keeps what a sample freed for later allocations: given back after each
    sample, a worker's peak is its load's alone, not its samples' with its load's on top (a
    worker of the benchmark's 16 files into PostgreSQL: 193-212 MB instead of 214-240 MB)."""
    started = time.process_time()
    try:
        return replace(_guarded(_profile, task, context), cpu=time.process_time() - started)
    finally:
        pa.default_memory_pool().release_unused()


def _profile(task: ProfileTask, context: TaskContext) -> ProfileResult:
    def check() -> None:
        context.check_stop(task.source.name)

    _check_visible(task.source, context)
    invalid: list[InvalidRow] = []
    layout = task.layout
    reading = _as_sampled(task)
    sample = sample_rows(
        task.source,
        task.fmt,
        layout.fields,
        task.rows,
        check,
        reading.layout.read,
        invalid.append,
        layout.header,
        quotes=task.quotes,
    )
    size = measure_sample(sample, task.rows, every_field=len(reading.layout.read) == layout.fields)
    if task.measured and not size.whole:  # the dry run: a count the file keeps beats an estimate
        stored = format_of(task.source).row_count(task.source)
        size = size if stored is None else SampleSize(stored, size.text_bytes, whole=True)
    first = 2 if has_header(task.source) else 1
    _check_quotes(task.source, task.fmt, invalid, _sample_end(sample.num_rows, task.rows, invalid, first))
    shaped, _ = _shaped(reading, WHOLE, sample, lambda row: _record_number(row, invalid, first))
    # A TRANSFORM returns text (``transform.py``): its columns are typed by the rules of text.
    typed = format_of(task.source).typed and task.transform is None
    if reading is task:
        sampled, names = (
            profile_table(shaped, task.settled, spelling=task.spelling, typed=typed),
            tuple(shaped.column_names),
        )
    else:
        sampled = profile_table(shaped, task.settled, left_out=True, spelling=task.spelling, typed=typed)
        names = layout.columns
    if task.split_bytes and format_of(task.source).parted and splits(task.source, task.fmt, task.split_bytes):
        parts = format_of(task.source).parts(task.source, task.split_bytes)
        digest = task.source.checksum or fingerprint(open_stored(task.source), check)
        return ProfileResult(task.source.name, names, sampled, size, digest, parts)
    scanner = scanner_for(task.source, task.fmt, task.split_bytes) if task.split_bytes else None
    if scanner is None and (not task.fingerprint or task.source.checksum):
        return ProfileResult(task.source.name, names, sampled, size, task.source.checksum)
    digest = fingerprint(open_stored(task.source), check, scanner.feed if scanner else None)
    digest = task.source.checksum or digest  # an object's identity, a zip member's CRC-32: as listed
    if scanner is None:
        return ProfileResult(task.source.name, names, sampled, size, digest)
    scanner.finish()
    if scanner.unsafe_at is not None:
        log.info(
            "%s: split only before byte %s: a quote there neither opens nor closes a field",
            task.source.name,
            f"{scanner.unsafe_at:,}",
        )
    parts = file_parts(scanner.boundaries, checked_to_end=scanner.unsafe_at is None)
    return ProfileResult(task.source.name, names, sampled, size, digest, parts)


def _check_quotes(source: SourceFile, fmt: TextFormat, invalid: list[InvalidRow], after: int) -> None:
    """A sample (the records before record ``after``) with text after a closing quote fails the
    run: the file is likely not CSV (quotes are ordinary characters in it, as in IMDb's files)
    rather than a few bad rows."""
    glued = next((row for row in invalid if row.reason == GLUED and row.record < after), None)
    if glued is not None:
        line = _lines(source, fmt, WHOLE, glued.record, glued.record)
        raise SourceError(
            f'{source.name}: line {line}: text after a closing quote (as in "abc"def) is not CSV; '
            "set SRC_QUOTING=none if quotes are ordinary characters in these files"
        )


def _as_sampled(task: ProfileTask) -> ProfileTask:
    """The task as its sample is read: without the settled columns (Arrow then converts only
    the others: about 40% less parsing of an EPC-like file), unless a TRANSFORM renumbers the
    columns, the sample's bytes are measured, or no column would be left."""
    left = len(task.layout.columns) - len(task.settled)
    if not task.settled or task.transform is not None or task.measured or left == 0:
        return task
    return replace(task, layout=task.layout.without(task.settled))


def load_file(task: LoadTask, context: TaskContext) -> FileResult:
    """Read, convert and write one part of a file in chunks; return its rows and rejected rows
    (a block the run wrote to a file for this worker is read back first: ``blocks.py``)."""
    return _guarded(_load_file, task, context)


def _check_visible(source: SourceFile, context: TaskContext) -> None:
    """A worker that cannot see a source file (a cluster's worker without the shared volume)
    says which worker and which file; on this machine, the file went away since discovery."""
    if is_url(source.path):  # an object: its store's error, when it is read, says what is wrong
        return
    if not os.path.exists(source.path) and not context.where:  # seen by the run on this machine
        raise SourceError(f"{source.name}: no longer found at {source.path}: deleted or moved during the run")
    if not os.path.exists(source.path):
        raise SourceError(
            f"{source.name}: not found at {source.path}{context.where}; every worker must see the "
            "source files at the same path (a shared volume)"
        )


def _load_file(task: LoadTask, context: TaskContext) -> FileResult:
    started = time.perf_counter()
    task = replace(task, part=take_block(task.part))
    ahead: WriteAhead[bool] = WriteAhead(threaded=context.write_ahead)
    clock = StageClock(others=ahead.cpu)
    name = task.source.name
    columns = task.layout.fields
    invalid: list[InvalidRow] = []
    misfits: list[tuple[int, str, str, str | None]] = []  # (record number, reason, kind, column)
    rows = seen = passed = 0
    first = _first_record(task)
    sample_end = sys.maxsize if task.sampled == 0 else first + task.sampled  # past the sample
    quotes_checked = 0  # the invalid rows _check_quotes has seen
    if task.part.data is None:
        _check_visible(task.source, context)
    digest = StreamDigest()
    batches = _batches(task, invalid, digest)
    # A task that hands its chunks to the run's one writer holds no connection, nor a turn.
    slot, turn = (no_turn, no_turn) if task.hand_off else (context.connection_slot, context.writer_turn)
    with (
        slot(),
        contextlib.closing(context.chunk_writer(task.staging, task.plan, task.hand_off)) as writer,
        ahead,
    ):
        in_flight: ChunkWritten | None = None  # the chunk on the writer thread

        def done(written: bool | None) -> None:
            """The chunk in flight has been written (False: by an earlier attempt of the task)."""
            nonlocal passed, rows
            if written is None or in_flight is None:
                return
            passed += not written
            rows += in_flight.rows
            context.progress(in_flight)

        for number, chunk in enumerate(clock.timed("read", rechunk(batches, task.chunk_size))):
            context.check_stop(name)

            def record(row: int, before: int = seen) -> int:
                return _record_number(before + row, invalid, first)

            with clock.stage("check"):
                shaped, kept = _shaped(task, task.part, chunk, record, task.plan.names)
                typed, rejected = apply_plan(shaped, task.plan)
            misfits.extend(
                (record(i if kept is None else int(kept[i])), why, "value_misfit", column)
                for i, why, column in rejected
            )
            seen += chunk.num_rows
            if task.part.header and len(invalid) > quotes_checked:  # the part with the sample
                _check_quotes(task.source, task.fmt, invalid[quotes_checked:], sample_end)
                quotes_checked = len(invalid)
            if len(invalid) + len(misfits) > task.max_errors:
                break  # the parent fails the run; loading more of this file is wasted work
            with clock.stage("write"):  # on this thread: the writer thread only sends
                prepared = writer.prepare(typed)
            checked = _Checked(number, typed, prepared, shaped, kept, rejected, record)
            done(ahead.submit(functools.partial(_write_chunk, task, context, writer, turn, clock, checked)))
            in_flight = ChunkWritten(name, typed.num_rows, text_bytes(chunk))
        done(ahead.wait())
        with clock.stage("write"):
            _flush(name, writer, context)
    if passed:
        log.info(
            "%s%s: %s committed by an earlier attempt of this task (its worker was lost); not written again",
            name,
            task.part.describe(),
            counted(passed, "chunk was", "chunks were"),
        )
    expected = counted(columns, "field")
    ragged = [
        (row.record, row.reason or f"expected {expected}, found {row.fields}", _invalid_kind(row), None)
        for row in invalid
    ]
    return FileResult(
        name=task.source.name,
        rows=rows,
        rejects=_locate(task, sorted(ragged + misfits, key=lambda reject: reject[:2])),
        seconds=time.perf_counter() - started,
        fingerprint=digest.value,
        read=seen + len(invalid),
        bytes=task.source.size,
        write_path=writer.path,
        delimiter=task.source.delimiter if format_of(task.source).delimited else None,
        cpu=clock.account(),
    )


def _first_record(task: LoadTask) -> int:
    """The record number of the part's first data row (the header is record 1)."""
    return 2 if task.part.header and has_header(task.source) else 1


def _batches(task: LoadTask, invalid: list[InvalidRow], digest: StreamDigest) -> Iterator[pa.RecordBatch]:
    """The part's rows as read (ragged ones passed to ``invalid``), fingerprinted by ``digest``."""
    request = ReadRequest(
        task.layout.fields,
        invalid.append,
        task.part,
        digest,
        include=task.layout.read,
        keys=task.layout.header,
    )
    return read_batches(task.source, task.fmt, request)


def _typed_records(
    count: int, kept: np.ndarray | None, rejected: list[tuple[int, str, str]], record: Callable[[int], int]
) -> list[int]:
    """The record number of each row of a typed chunk: the ``count`` shaped rows less the rejected."""
    dropped = {row for row, *_ in rejected}
    return [record(row if kept is None else int(kept[row])) for row in range(count) if row not in dropped]


def _check_keys(
    task: LoadTask, context: TaskContext, writer: ChunkWriter, typed: pa.Table, records: list[int]
) -> None:
    """Raise KeyFoundTwice if a key of the refused chunk is twice in it, or in the staging table
    already (the other row is then found by the run, ``key_lines``); the run's one writer, which
    holds the database, looks it up there."""
    keys = key_values(typed, task.key)
    pair = twin_rows(keys)
    if pair is not None:
        earlier, row = pair
    else:
        if isinstance(writer, HeldWriter | HandedWriter):
            found = writer.read(functools.partial(stored_row_on, task.staging, task.key, keys))
        else:
            found = stored_row(context.backend, task.staging, task.key, keys)
        earlier = None
        if found is None:
            return  # refused for another reason
        row = found
    wanted = {records[row]} if earlier is None else {records[row], records[earlier]}
    lines = locate_records(task.source, task.fmt, wanted, task.part)

    def place(row: int) -> tuple[str, int]:
        return task.source.name, lines.get(records[row], (records[row], ""))[0]

    raise KeyFoundTwice.at(task.key, keys[row], place(row), None if earlier is None else place(earlier))


def key_lines(task: LoadTask, key: tuple[Any, ...]) -> Iterator[int]:
    """The lines of the part's rows whose key is ``key``, read and typed as the load does (error
    path: the run looks for the other row of a key found twice)."""
    invalid: list[InvalidRow] = []
    first, seen = _first_record(task), 0
    for chunk in rechunk(_batches(task, invalid, StreamDigest()), task.chunk_size):

        def record(row: int, before: int = seen) -> int:
            return _record_number(before + row, invalid, first)

        shaped, kept = _shaped(task, task.part, chunk, record, task.plan.names)
        typed, rejected = apply_plan(shaped, task.plan)
        records = _typed_records(shaped.num_rows, kept, rejected, record)
        found = [records[row] for row, value in enumerate(key_values(typed, task.key)) if value == key]
        lines = locate_records(task.source, task.fmt, set(found), task.part) if found else {}
        yield from (lines.get(number, (number, ""))[0] for number in found)
        seen += chunk.num_rows


def text_bytes(chunk: pa.Table) -> int:
    """About how many bytes of CSV text ``chunk`` (string columns) was read from: its values'
    bytes, and one separator or line end after each field (quotes and NULL markers are not
    counted).  For progress only: the file's own size is what the report counts."""
    values = 0
    for column in chunk.columns:
        if pa.types.is_string(column.type):
            for array in column.chunks:
                if len(array):  # the span of its offsets: no pass over the values
                    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)
                    values += int(offsets[array.offset + len(array)] - offsets[array.offset])
    return values + chunk.num_rows * chunk.num_columns


def _shaped(
    task: ProfileTask | LoadTask,
    part: Part,
    chunk: pa.Table,
    record: Callable[[int], int],
    expected: tuple[str, ...] | None = None,
) -> tuple[pa.Table, np.ndarray | None]:
    """``shape_chunk``, its failures named by the file and the lines of the rows concerned
    (``record`` gives the record number of a row of ``chunk``); ``expected``: the planned
    columns, which a TRANSFORM must return for every chunk."""
    source, fmt = task.source, task.fmt
    try:
        shaped, kept = shape_chunk(chunk, task.layout, task.transform, source.relative_path)
    except UnnamedValue as error:
        line = _lines(source, fmt, part, record(error.row), record(error.row))
        ends = "the header" if has_header(source) else "SRC_HEADER=false, and line 1"
        why = f"{ends} ends with the delimiter"
        raise SchemaError(
            f"{source.name}: line {line}: a value in the last column, which has no name ({why}); it is "
            "dropped only where it is empty in every row"
        ) from None
    except TransformFailed as error:
        lines = _lines(source, fmt, part, record(0), record(chunk.num_rows - 1))
        raise TransformError(
            f"{source.name}: lines {lines}: TRANSFORM {task.transform}: {error.message}", error.detail
        ) from None
    if expected is not None and tuple(shaped.column_names) != expected:
        lines = _lines(source, fmt, part, record(0), record(chunk.num_rows - 1))
        raise TransformError(
            f"{source.name}: lines {lines}: TRANSFORM {task.transform} returned the columns "
            f"{', '.join(shaped.column_names)}, not those its samples had: {', '.join(expected)}"
        )
    return shaped, kept


def _lines(source: SourceFile, fmt: TextFormat, part: Part, first: int, last: int) -> str:
    """The physical lines from record ``first`` to the end of record ``last`` (error path only)."""
    found = locate_records(source, fmt, {first, last}, part)
    start = found.get(first, (first, ""))[0]
    last_start, text = found.get(last, (last, ""))
    end = last_start + text.count("\n")
    return str(start) if start == end else f"{start}-{end}"


def _sample_end(sampled: int, wanted: int, invalid: list[InvalidRow], first: int) -> int:
    """The record number just past a sample of ``sampled`` rows: past its last row where it took
    the ``wanted`` rows (the reader may have skipped records beyond it), else past every record."""
    if wanted == 0 or sampled < wanted:
        return sys.maxsize
    return _record_number(sampled - 1, invalid, first) + 1


def _record_number(valid_index: int, invalid: list[InvalidRow], first: int) -> int:
    """The record number (header = 1) of the ``valid_index``-th row Arrow did not skip, the
    part's first data row being record ``first``."""
    record = valid_index + first
    for row in invalid:  # ascending; each skipped record at or before ours pushes it back one
        if row.record > record:
            break
        record += 1
    return record


@dataclass(frozen=True)
class _Checked:
    """A chunk of the task checked and typed: what writing it, or looking for its keys, takes."""

    number: int
    typed: pa.Table
    #: The typed chunk as the writer sends it (``ChunkWriter.prepare``).
    prepared: Any
    shaped: pa.Table
    #: The shaped rows' places among the chunk's (None: every row kept).
    kept: np.ndarray | None
    rejected: list[tuple[int, str, str]]
    #: A row's record number from its place in the chunk.
    record: Callable[[int], int]


def _write_chunk(
    task: LoadTask, context: TaskContext, writer: ChunkWriter, turn: Turn, clock: StageClock, chunk: _Checked
) -> bool:
    """Write a checked chunk, on the task's writer thread (``ahead.py``); False: an earlier
    attempt of the task committed it.  A chunk the database refuses for its key is looked for,
    with its rows, in what the staging table holds."""
    name = task.source.name
    with clock.own("write"):
        try:
            written = _write(name, writer, chunk.prepared, Receipt(task.task, chunk.number), context, turn)
            if task.key:  # a refused chunk's keys are looked for below, with its rows
                _flush(name, writer, context)
        except DatabaseError:
            if task.key:  # refused for a key the chunk or the staging table holds twice?
                records = _typed_records(chunk.shaped.num_rows, chunk.kept, chunk.rejected, chunk.record)
                _check_keys(task, context, writer, chunk.typed, records)
            raise
    return written


def _write(
    name: str, writer: ChunkWriter, prepared: Any, receipt: Receipt, context: TaskContext, turn: Turn
) -> bool:
    """Append one chunk to the staging table in its own transaction, retried if rolled back;
    False: an earlier attempt of this task committed it already.

    ``prepared``: what needed no database (casts, encodings, Python rows), done by the task
    itself (``ChunkWriter.prepare``) before the chunk went to its writer thread, so that the
    next chunk's preparing overlaps this one's time in the database, and outside the
    single-writer turn.  The stop is checked again within the turn: once the run has taken
    the turn after stopping, no task writes to an embedded database any more (the run drops
    its staging table then).
    ``turn``: the executor's single-writer turn, or none for a task that hands its chunks to the
    run's one writer (which appends one at a time).
    """

    def attempt() -> bool:
        with turn():
            context.check_stop(name)
            return writer.write(prepared, receipt)

    with _refusals(name, writer, context):
        return with_retries(attempt, writer.errors, context.backend.is_transient, name)


def _flush(name: str, writer: ChunkWriter, context: TaskContext) -> None:
    """Wait for the chunks written to be in the staging table (``ChunkWriter.flush``)."""
    with _refusals(name, writer, context):
        writer.flush()


@contextlib.contextmanager
def _refusals(name: str, writer: ChunkWriter, context: TaskContext) -> Iterator[None]:
    """The database's refusal of a chunk as the run's error: the disk (exit 12), else exit 6."""
    try:
        yield
    except writer.errors as error:
        problem = context.backend.disk_failure(error, context.backend.engine.url)
        if problem is not None:
            raise SideOutputError(f"{name}: writing rows failed: {problem}") from None
        raise DatabaseError(f"{name}: writing rows failed: {describe(error)}") from None


def _invalid_kind(row: InvalidRow) -> str:
    """Why a row the reader set aside is no row, as a key of ``REJECT_KINDS``."""
    if not row.reason:
        return "field_count"
    return "text_after_quote" if row.reason == GLUED else "invalid_record"  # else: an NDJSON line's


def _locate(task: LoadTask, rejects: list[tuple[int, str, str, str | None]]) -> tuple[RejectedRow, ...]:
    """Attach physical line numbers and raw text to rejected records (error path only)."""
    lines = locate_records(task.source, task.fmt, (reject[0] for reject in rejects), task.part)
    return tuple(
        RejectedRow(
            file=task.source.name,
            line=lines.get(record, (record, ""))[0],
            reason=why,
            text=lines.get(record, (0, ""))[1],
            misfit=kind == "value_misfit",
            kind=kind,
            column=column,
        )
        for record, why, kind, column in rejects
    )
