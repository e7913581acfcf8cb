"""One import run: discover, plan, load into staging in parallel, publish, report.

Data flows one way: settings -> discover -> schema plan -> tasks -> read -> write -> target ->
report.  The parent plans and publishes; workers (top-level functions below, given plain
picklable tasks) profile and load files, each process with its own engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import logging
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from sqlalchemy import exc
from sqlalchemy.engine import Connection

from processor.backends import Backend, LockCheck, backend_class, backend_for
from processor.backends.database import check_connection, create_engine
from processor.counts import counted
from processor.errors import (
    ConfigError,
    DatabaseError,
    ImporterError,
    Interrupted,
    RejectLimitError,
    SchemaError,
    SideOutputError,
    SourceError,
    TransformError,
    describe,
    masked,
    unexpected,
    unwritable,
    with_traceback,
)
from processor.executors import Executor, HandOff, WorkerSetup, make_executor
from processor.interrupts import Interrupts
from processor.kinds import PLAIN, ColumnProfile, ColumnType, Spelling
from processor.load.blocks import BlockFiles
from processor.load.cpu import summed
from processor.load.keys import KeyFoundTwice
from processor.load.worker import (
    ChunkWritten,
    LoadTask,
    ProfileResult,
    ProfileTask,
    key_lines,
    load_file,
    profile,
)
from processor.logs import set_run_id
from processor.ops.dryrun import Planned, describe_plan
from processor.ops.notify import notify
from processor.ops.progress import load_progress, progress_mode
from processor.ops.report import (
    RunReport,
    check_writable,
    write_rejects,
    write_report,
)
from processor.ops.runs import record_run
from processor.plan.matching import FileColumns, Matched, match_columns
from processor.plan.schema import (
    FileProfile,
    check_identifiers,
    check_indexes,
    key_columns,
    merge_profiles,
    plan_from_table,
    plan_types,
    read_headers,
    spell_plan,
)
from processor.plan.schema_file import apply_schema_file, write_schema_file
from processor.plan.widening import Widening, check_alterable, widen_plan
from processor.publish.ledger import (
    LEDGER_TABLE,
    Holdings,
    LedgerEntry,
    ensure_ledger,
    read_ledger,
    record_files,
)
from processor.publish.target import (
    check_dependents,
    check_merge_key,
    check_own_tables,
    check_target,
    create_staging,
    drop_leftovers,
    drop_receipts,
    drop_staging,
    of_run,
    publish,
    refresh_statistics,
    requested_indexes,
    shrink_check,
    staging_name,
)
from processor.records import (
    FileResult,
    IfExists,
    LoadOptions,
    PlanOptions,
    PublishOptions,
    RejectedRow,
    SourceFile,
    TablePlan,
)
from processor.settings import Settings
from processor.sources.dialect import settle_dialects
from processor.sources.discover import common_stem, discover_files
from processor.sources.formats import format_of, has_header
from processor.sources.pipe import spooled_stdin
from processor.sources.split import expected_parts, feeds_blocks, splits, stream_blocks
from processor.sources.text import TextFormat, hashed_while_read

log = logging.getLogger(__name__)

#: How the warning about staging tables a failed run could not drop begins.
STAGING_LEFT = "could not drop this run's staging tables"
#: Spellings of a missing value common in exported data, which NA_VALUES can read as NULL.  A
#: reject's reason quotes its value as ``column 'v': 'N/A' is not ...`` (``ColumnType.reason``).
MISSING_MARKERS = (
    "NA",
    "N/A",
    "n/a",
    "#N/A",
    "NULL",
    "null",
    "None",
    "NaN",
    "nan",
    "\\N",
    "-",
    "--",
    "?",
    ".",
)


def run_import(settings: Settings, handle_signals: bool = True) -> RunReport:
    """Import every matched file into the target table; the report says how it went.

    Errors are caught here, recorded in the report (written to REPORT_PATH when set, first as
    ``running`` when the run starts) and left for the caller to turn into an exit status; the
    target is only changed by a run that worked.  ``handle_signals``: SIGINT and SIGTERM roll
    the run back, or wait for its publish (``interrupts``); else the process's own handlers
    stay (a library's caller owns them, and only the main thread can set them).
    """
    report = _new_report(settings, settings.if_exists)
    report.settings = settings.shown()
    started = time.perf_counter()
    interrupts = Interrupts()
    report_written = False
    with interrupts.handled() if handle_signals else contextlib.nullcontext(interrupts):
        try:
            try:
                _start_report(settings, report)
                report_written = True
                with _removing_created_file(settings, report), contextlib.ExitStack() as spools:
                    _import(settings, report, interrupts, spools)
            finally:
                interrupts.defer()  # the outcome is decided: a signal no longer stops the report
        except ImporterError as error:
            report.error = with_traceback(error)
        except KeyboardInterrupt:
            report.error = Interrupted("interrupted; the target table was left as it was")
        except exc.DBAPIError as error:
            report.error = _database_error(settings, error)
        except BaseException as error:  # SystemExit, GeneratorExit: the report still ends final
            report.error = unexpected(error)
        _after_publish(report, interrupts.received)
        report.seconds = time.perf_counter() - started
        _finish(settings, report, rewrite_report=report_written)
    return report


@contextlib.contextmanager
def _removing_created_file(settings: Settings, report: RunReport) -> Iterator[None]:
    """A database file (SQLite, DuckDB) that the run's first connection creates is removed again
    (with its journal or WAL) if the run leaves it holding nothing: no table but this run's
    staging tables and an empty ledger.  A file that existed before is never removed.  Staging
    tables a failed drop left (``_drop_staging``) went with the file: the report's warning that
    the next run removes them goes too."""
    backend = backend_class(settings.url.get_backend_name())
    created = None if settings.dry_run else backend.created_files(settings.url)  # before connecting
    try:
        yield
    finally:
        ours = functools.partial(of_run, run_id=report.run_id)
        if created is not None and backend.remove_created(created, ours, LEDGER_TABLE):
            report.warnings[:] = [w for w in report.warnings if not w.startswith(STAGING_LEFT)]


def _database_error(settings: Settings, error: exc.DBAPIError) -> ImporterError:
    """A database error the run did not expect at that step: exit 6, or exit 12 where it says
    that the disk under the database's file is full."""
    detail = "".join(traceback.format_exception(error))
    problem = backend_class(settings.url.get_backend_name()).disk_failure(error, settings.url)
    if problem is not None:
        return SideOutputError(problem, detail)
    return DatabaseError(f"database error: {describe(error)}", detail)


def report_invalid_settings(settings: Settings, error: ConfigError) -> RunReport:
    """The report of a run whose settings are invalid (exit status 2), written to REPORT_PATH if
    that one is readable: ``settings`` holds what could be read (``salvage_settings``).  It names
    no destination: the run reached none, and DEST_SQL may be the invalid setting."""
    report = _new_report(settings, None)
    report.destination = None
    report.error = error
    _finish(settings, report, rewrite_report=True)
    return report


def _new_report(settings: Settings, if_exists: IfExists | None) -> RunReport:
    """A new run's report; its id is on every log line from now on."""
    report = RunReport(
        table=settings.dest_table,
        destination=settings.masked_url,
        if_exists=if_exists,
        run_id=uuid.uuid4().hex[:8],
    )
    set_run_id(report.run_id)
    return report


def _start_report(settings: Settings, report: RunReport) -> None:
    """Replace an earlier run's report with this one's, status ``running``, before any work:
    a report that cannot be written fails the run here, rather than leave the old one to lie."""
    path = settings.report_path
    if path is None:
        return
    check_writable(path, "REPORT_PATH")
    try:
        write_report(report, path, settings.secrets)
    except OSError as error:
        raise unwritable(f"REPORT_PATH cannot be written: {path}", error) from None


def _after_publish(report: RunReport, signal_name: str | None) -> None:
    """Once the publish has committed, the import worked: a later failure or signal is a warning."""
    if not report.published:
        return
    if report.error is not None:
        report.warnings.append(f"table {report.table!r} was published; afterwards: {report.error}")
        report.error = None
    if signal_name:
        report.warnings.append(
            f"{signal_name} arrived after table {report.table!r} was published: the import is complete"
        )
    for warning in report.warnings:
        log.warning("%s", warning)


def _finish(settings: Settings, report: RunReport, rewrite_report: bool) -> None:
    """Mask the error, record the run in RUNS_TABLE (not a dry run's), then write the rejects CSV and
    (``rewrite_report``: unless it could not be written when the run started) the final JSON
    report, and POST it to NOTIFY_URL.

    Failing at any of these is logged, not raised, since the import itself (published or rolled
    back) is already decided.
    """
    report.finished = True
    report.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    secrets = settings.secrets
    if report.error is not None:
        report.error = masked(report.error, secrets)
    if settings.runs_table and not settings.cleanup and not settings.dry_run:  # a dry run writes nothing
        problem = record_run(settings.url, settings.runs_table, report)
        if problem is not None:
            warning = f"RUNS_TABLE {settings.runs_table!r}: this run's row could not be written: {problem}"
            report.warnings.append(warning)
            log.warning("%s", warning)
    if not report.rejects_saved:
        rejects_path = settings.resolved_rejects_path(report.table) if report.table else None
        try:
            _save_rejects(report, rejects_path, secrets)
        except SideOutputError as error:
            _output_failed(report, error)
    if settings.report_path is not None and rewrite_report:
        try:
            write_report(report, settings.report_path, secrets)
        except OSError as error:
            # The report this run started with would say "running" for ever: better none.
            with contextlib.suppress(OSError):
                settings.report_path.unlink()
            problem = f"REPORT_PATH cannot be written: {settings.report_path}: {error.strerror}"
            _output_failed(report, SideOutputError(problem))
    if settings.notify_url is not None:
        notify(settings.notify_url, report.to_json(), secrets)


def _save_rejects(report: RunReport, path: Path | None, secrets: tuple[str, ...]) -> None:
    """Write the rejects file ``path`` (if rows were rejected; None: the run has no table), complete
    on disk, once; SideOutputError naming the path if it cannot be."""
    report.rejects_saved = True
    if not report.rejects or not report.table or path is None:
        return
    count = len(report.rejects)
    try:
        write_rejects(report.rejects, path, secrets)
    except OSError as error:
        # Written before the publish: a run whose rejected rows are lost publishes nothing.
        raise SideOutputError(
            f"REJECTS_PATH cannot be written: {path}: {error.strerror} "
            f"({counted(count, 'row')} rejected); nothing was published"
        ) from None
    report.rejects_path = str(path.absolute())


def _output_failed(report: RunReport, error: SideOutputError) -> None:
    """A side output that failed as the run ended: the run's error (exit 12), also after a
    publish (the message says so), or added to the error the run already failed with."""
    if report.error is not None:
        report.error.message += f"; and {error}"
        return
    if report.published:
        error.message += f"; table {report.table!r} was published (run_id '{report.run_id}')"
    report.error = error


def _cleanup(settings: Settings, table: str, report: RunReport) -> None:
    """--cleanup: only drop the staging tables killed runs into ``table`` left behind."""
    report.table = table
    report.cleanup = True
    engine = create_engine(settings.url)
    try:
        check_connection(engine)
        backend = backend_for(engine)
        with backend.import_lock(table, settings.lock_timeout):
            report.cleaned = drop_leftovers(backend, table)
    finally:
        engine.dispose()


def _import(
    settings: Settings, report: RunReport, interrupts: Interrupts, spools: contextlib.ExitStack
) -> None:
    """The run: ``spools`` holds what lives until it ends (standard input's spool)."""
    fmt = TextFormat(
        quoting=settings.src_quoting, encoding=settings.src_encoding, na_values=settings.na_values
    )
    if settings.cleanup and settings.dest_table:
        _cleanup(settings, settings.dest_table, report)  # no need to look at the source files
        return
    with report.phase("discover"):
        files = _discover(settings, spools)
    table = report.table = settings.dest_table or common_stem(files)
    if settings.cleanup:
        _cleanup(settings, table, report)
        return
    check_writable(settings.resolved_rejects_path(table), "REJECTS_PATH")
    engine = create_engine(settings.url, read_only=settings.dry_run)
    try:
        check_connection(engine)
        backend = backend_for(engine)
        if settings.dest_schema is not None:
            backend.check_schema(settings.dest_schema)
        check_own_tables(backend, table, settings.runs_table)
        planning = settings.plan_options()
        files = settle_dialects(files, fmt, settings.src_delimiter is None, settings.src_header)
        _check_decimal_mark(files, planning.spelling)
        headerless = format_of(files[0]).header_line and not has_header(files[0])
        given = _given_names(planning) if headerless else None
        headers = read_headers(files, fmt, settings.sample_rows, given)
        sampling = _sampled_columns(planning, files, headers, () if headerless else settings.src_columns)
        if planning.transform is None:  # else the names are known once samples are transformed
            check_identifiers(table, sampling.columns, planning.key, backend, files[0].name)
            check_indexes(sampling.columns, planning.indexes, backend)
        # Before anything is written: a cluster that cannot be reached fails the run here.
        executor = _executor(settings, backend, files, fmt, report.run_id)
        with contextlib.closing(executor):
            if settings.dry_run:  # it writes nothing, so it takes no lock and waits for none
                planned = _plan(planning, backend, executor, files, headers, sampling, table, fmt, report)
                isolated = executor.isolated
                shown = replace(settings.dry_run_options(), key=planned.key)
                report.dry_run = describe_plan(
                    shown, backend, files, planned.matched.header, table, planned, isolated, report.run_id
                )
                return
            with backend.import_lock(table, settings.lock_timeout) as still_locked:
                report.cleaned = drop_leftovers(backend, table)
                planned = _plan(planning, backend, executor, files, headers, sampling, table, fmt, report)
                if planned.plan is None:
                    log.info("every file is already loaded into %r; nothing to do", table)
                    return
                loading = replace(settings.load_options(table), key=planned.key)
                publishing = replace(settings.publish_options(), key=planned.key)
                # Removed once the run is over (``spools``), after the executor has stopped.
                blocks = spools.enter_context(_block_files(executor, planned.todo, fmt, loading.split_bytes))
                try:
                    _load(
                        loading,
                        publishing,
                        backend,
                        executor,
                        planned,
                        fmt,
                        report,
                        still_locked,
                        interrupts,
                        blocks,
                    )
                except KeyFoundTwice as error:
                    if error.other is None:
                        _find_other_row(error, loading, planned.todo, planned.plan, fmt, planned.matched)
                    raise
                except RejectLimitError as error:
                    # Past SAMPLE_ROWS only where the plan came from samples, not the table's types.
                    sampled = 0 if planned.onto_existing else settings.sample_rows
                    _suggest_fix(error, report.rejects, sampled)
                    raise
    finally:
        engine.dispose()


def _check_decimal_mark(files: list[SourceFile], spelling: Spelling) -> None:
    """A decimal comma where it cannot be one, found before anything is sampled: in files whose
    fields a comma splits (one of the two would be misread; SRC_DELIMITER given as ``,`` is
    refused in Settings), or in files of a format without a delimiter (NDJSON), whose numbers
    are written with a point."""
    mark = spelling.decimal_mark
    if mark == PLAIN.decimal_mark:
        return
    split = [f.name for f in files if format_of(f).delimited and f.delimiter == mark]
    undelimited = [f.name for f in files if not format_of(f).delimited]
    if split:
        raise ConfigError(
            f"SRC_DECIMAL={mark}, but {mark!r} is the field delimiter of {_some(split)}: "
            "set SRC_DELIMITER to the files' delimiter (e.g. ;)"
        )
    if undelimited:
        raise ConfigError(
            f"SRC_DECIMAL={mark} is for delimited text files; the numbers of {_some(undelimited)} "
            f"are written with a point: leave SRC_DECIMAL unset"
        )


def _some(names: list[str]) -> str:
    """The first three of ``names``, and how many more."""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _discover(settings: Settings, spools: contextlib.ExitStack) -> list[SourceFile]:
    """The files to import: found below SRC_DATA_FOLDER, or the one piped to standard input
    (SRC_DATA_FOLDER=-; the Python API's file object), spooled until the run ends (``spools`` closes)."""
    if settings.from_stdin:
        piped = spooled_stdin(settings.src_file_name, settings.src_delimiter, settings.src_stream)
        return spools.enter_context(piped)
    return discover_files(settings.src_data_folder, settings.src_file_name, settings.src_delimiter)


def _given_names(options: PlanOptions) -> tuple[str, ...]:
    """Every field's name, in file order, of files without a header line (SRC_HEADER=false):
    SRC_COLUMNS's entries as written, else SCHEMA_FILE's columns."""
    if options.src_columns:
        return options.src_columns
    assert options.schema_file is not None  # Settings requires one of them
    return tuple(name for name, _ in options.schema_file.types)


def _sampled_columns(
    options: PlanOptions,
    files: list[SourceFile],
    headers: dict[str, tuple[str, ...]],
    selection: tuple[str, ...],
) -> Matched:
    """The columns every file is sampled with, matched by name (``matching.py``).  Where the
    run may load into an existing table, the table and the ledger (which files are loaded
    already) decide what fits, under the import lock: the samples then take every file's
    columns, and ``_final_columns`` decides; else the settings decide here, before sampling."""
    names = [f.name for f in files]
    path_column = options.src_path_column
    if options.transform is None and options.if_exists.into_existing:
        return match_columns(names, headers, selection, path_column, "add", "null")
    return match_columns(
        names, headers, selection, path_column, options.on_new_columns, options.on_missing_columns
    )


def _final_columns(
    options: PlanOptions,
    backend: Backend,
    table: str,
    todo: list[SourceFile],
    headers: dict[str, tuple[str, ...]],
    sampling: Matched,
    existing: dict[str, ColumnType] | None,
) -> Matched:
    """The columns of the files to load, matched as the settings say onto the existing table
    (if any; its columns ``existing``) or onto the first file's header."""
    if options.transform is not None and existing is not None:
        # A TRANSFORM's columns are its own: the table must have them all (``plan_from_table``).
        return replace(sampling, added=())
    if options.transform is not None or not options.if_exists.into_existing:
        return sampling  # decided before sampling, with every file to load
    headerless = format_of(todo[0]).header_line and not has_header(todo[0])
    matched = match_columns(
        [f.name for f in todo],
        headers,
        () if headerless else options.src_columns,
        options.src_path_column,
        options.on_new_columns,
        options.on_missing_columns,
        None if existing is None else (table, list(existing), backend.fold_name),
    )
    check_identifiers(table, matched.columns, options.key, backend, todo[0].name)
    if existing is not None and matched.added:
        added = ", ".join(map(repr, matched.added))
        _check_schema_change(
            backend, table, "ON_NEW_COLUMNS=add", f"gain the columns {added}", "Add the columns to the table"
        )
    return matched


def _check_schema_change(backend: Backend, table: str, setting: str, change: str, instead: str) -> None:
    """Raise SchemaError where a ``change`` to the existing ``table`` (ON_NEW_COLUMNS=add,
    ON_TYPE_CHANGE=widen) cannot be part of the all-or-nothing publish: the database commits
    its ALTER TABLE on its own (MySQL, MariaDB).  ``instead``: what the user can do first."""
    if backend.features.transactional_ddl:
        return
    raise SchemaError(
        f"{setting}: table {table!r} would {change}, but {backend.name} commits ALTER TABLE on its own, "
        f"outside the all-or-nothing publish; nothing was loaded. {instead} first, or load with "
        "IF_EXISTS=replace"
    )


def _reindexed(profile: FileProfile, names: tuple[str, ...], wanted: tuple[str, ...]) -> FileProfile:
    """A file's profile of the columns ``names`` as one of the columns ``wanted`` (a column it
    was not sampled with says nothing: an existing table's column no file has)."""
    position = {n: i for i, n in enumerate(names)}
    return tuple(profile[position[n]] if n in position else ColumnProfile() for n in wanted)


def _plan(
    options: PlanOptions,
    backend: Backend,
    executor: Executor,
    files: list[SourceFile],
    headers: dict[str, tuple[str, ...]],
    sampling: Matched,
    table: str,
    fmt: TextFormat,
    report: RunReport,
) -> Planned:
    """Everything decided before the first write: whether the target may be written, which files
    the ledger already holds, and the table plan.  The import and the dry run both plan here;
    only the import creates the ledger (the dry run reads it if there is one)."""
    exists = check_target(backend, table, options.if_exists)
    if exists:
        check_dependents(backend, table, options.if_exists)
    if not options.dry_run:
        ensure_ledger(backend)
    onto_existing = exists and options.if_exists.into_existing
    skips = exists and options.if_exists.skips_held
    holdings = read_ledger(backend, table) if skips else Holdings({})
    if onto_existing and options.if_exists.upserts:
        check_merge_key(backend, table, options.key)
    if onto_existing and options.indexes:
        log.warning("INDEXES is for a table the run creates; table %r exists and keeps its indexes", table)
    log.info("%s to import into table %r at %s", counted(len(files), "file"), table, options.masked_url)
    if options.spelling != PLAIN:
        log.info("numbers and dates read as written: %s", options.spelling.describe())
    loads = not options.dry_run  # a dry run needs no fingerprint for the load, nor its parts
    tasks = [
        ProfileTask(
            f,
            fmt,
            sampling.layouts[f.name],
            options.sample_rows,
            fingerprint=_decided_by_content(f, holdings)
            or (loads and not _hashed_while_loading(f, fmt, options.split_bytes)),
            split_bytes=options.split_bytes if loads else None,
            transform=options.transform,
            measured=not loads,  # the dry run estimates each file's rows
            # A run's load looks at the sampled rows' quotes as it reads them, in the part that
            # holds the header; a split file's sample may reach into later parts.
            quotes=not loads or (options.split_bytes is not None and splits(f, fmt, options.split_bytes)),
            spelling=options.spelling,
        )
        for f in files
    ]
    with report.phase("sample"):
        profiles = _sample(executor, tasks)
    report.sample_cpu += sum(p.cpu for p in profiles.values())
    names = _profiled_names(files, profiles)
    if options.transform is not None:
        check_identifiers(table, names, options.key, backend, f"{files[0].name} after TRANSFORM")
        check_indexes(names, options.indexes, backend)
    todo = _files_to_load(files, profiles, holdings.entries, options, report)
    plan = None
    matched, existing = sampling, None
    if todo:
        existing = backend.types.existing_types(table) if onto_existing else None
        matched = _final_columns(options, backend, table, todo, headers, sampling, existing)
        if options.transform is None:
            names = matched.columns
        # In file order, so that the values a plan cites do not depend on which file sampled first.
        sampled = [_reindexed(profiles[f.name].profile, profiles[f.name].names, names) for f in todo]
    # PRIMARY_KEY as the header spells it, matched as the database matches names: the statements
    # that create, load and upsert name the key's columns as they name the others.
    options = replace(options, key=key_columns(names, options.key, backend))
    widenings: tuple[Widening, ...] = ()
    if todo and existing is not None:
        planned_new = plan_types(names, sampled, backend, options.spelling) if matched.added else None
        plan = plan_from_table(names, existing, table, todo[0].name, backend, planned_new)
        if options.on_type_change == "widen":
            plan, widenings, matched = _widened(backend, table, plan, todo, sampled, matched)
        if options.schema_file is not None:
            log.info("SCHEMA_FILE is not applied: table %r exists, and its column types hold", table)
    elif todo:
        plan = plan_types(names, sampled, backend, options.spelling)
        if options.schema_file is not None:
            plan = apply_schema_file(plan, options.schema_file, backend)
    if plan is not None:
        plan = spell_plan(plan, options.spelling)
    report.columns_added, report.columns_ignored = list(matched.added), list(matched.ignored)
    report.columns_widened = [w.name for w in widenings]
    for widening in widenings:
        having = [f for f, d in matched.decisions.items() if widening.name in d.widened]
        log.info("column %r of table %r %s (in %s)", widening.name, table, widening.reason, ", ".join(having))
    for name in (*matched.added, *matched.ignored):
        how = "added to" if name in matched.added else "ignored: not loaded into"
        having = [f for f, d in matched.decisions.items() if name in d.added or name in d.ignored]
        log.info("column %r %s table %r (in %s)", name, how, table, ", ".join(having))
    if plan is not None:
        report.plan = _shown_plan(backend, plan)
        if options.write_schema is not None:
            write_schema_file(options.write_schema, plan, options.key)
            log.info("wrote the planned column types to %s", options.write_schema)
    return Planned(exists, onto_existing, holdings, profiles, todo, plan, matched, widenings, options.key)


def _widened(
    backend: Backend,
    table: str,
    plan: TablePlan,
    todo: list[SourceFile],
    sampled: list[FileProfile],
    matched: Matched,
) -> tuple[TablePlan, tuple[Widening, ...], Matched]:
    """ON_TYPE_CHANGE=widen: the plan with the existing columns the samples (``sampled``, each
    file to load's in ``todo``'s order) do not fit widened (``widening.py``), and each file's
    decisions naming the columns its own sample needs widened."""
    profiles = {source.name: profile for source, profile in zip(todo, sampled, strict=True)}
    plan, widenings, by_file = widen_plan(plan, profiles, backend, table)
    if widenings:
        shown = ", ".join(repr(w.name) for w in widenings)
        _check_schema_change(
            backend, table, "ON_TYPE_CHANGE=widen", f"widen the columns {shown}", "Change the columns' types"
        )
        check_alterable(widenings, backend, table)
        blockers = backend.type_change_blockers(table, [w.name for w in widenings])
        if blockers:
            raise SchemaError(
                f"ON_TYPE_CHANGE=widen: table {table!r} would widen the columns {shown}, but {backend.name} "
                f"changes no column's type while {', '.join(blockers)} depend on it; nothing was loaded. "
                "Change the columns' types first, or load with IF_EXISTS=replace"
            )
    decisions = {
        name: replace(decision, widened=by_file.get(name, ())) for name, decision in matched.decisions.items()
    }
    for name in by_file.keys() - decisions.keys():
        decisions[name] = FileColumns(widened=by_file[name])
    return plan, widenings, replace(matched, decisions=decisions)


def _sample(executor: Executor, tasks: list[ProfileTask]) -> dict[str, ProfileResult]:
    """Every file's sample profile.  The first files (one per worker) are classified in full;
    the columns they settle as text are not classified again in the other files' samples
    (about half of an EPC file's columns, and of the sampling's work)."""
    first, rest = tasks[: executor.slots], tasks[executor.slots :]
    profiles = {p.name: p for p in executor.map_unordered(profile, first)}
    if rest:
        results = [profiles[task.source.name] for task in first]
        merged = merge_profiles((r.profile for r in results), len(results[0].names))
        settled = frozenset(i for i, column in enumerate(merged) if column.settled)
        rest = [replace(task, settled=settled) for task in rest]
        profiles.update((p.name, p) for p in executor.map_unordered(profile, rest))
    return profiles


def _shown_plan(backend: Backend, plan: TablePlan) -> list[dict[str, str]]:
    """The planned columns with their types as the target's dialect writes them."""
    dialect = backend.engine.dialect
    return [
        {"name": name, "type": str(backend.types.column_type(column).compile(dialect=dialect))}
        for name, column in zip(plan.names, plan.types, strict=True)
    ]


def _executor(
    settings: Settings, backend: Backend, files: list[SourceFile], fmt: TextFormat, run_id: str
) -> Executor:
    """The executor of EXECUTOR; a pool no larger than the tasks the files are likely to make."""
    tasks = sum(expected_parts(f, fmt, settings.split_bytes) for f in files)
    setup = WorkerSetup(
        url=settings.url,
        log_level=settings.log_level,
        log_format=settings.log_format,
        single_writer=backend.features.single_writer,
        max_connections=settings.max_connections,
        run_id=run_id,
        secrets=settings.secrets,
    )
    return make_executor(settings.executor, settings.workers, setup, settings.dask_scheduler, tasks)


def _profiled_names(files: list[SourceFile], profiles: dict[str, ProfileResult]) -> tuple[str, ...]:
    """The columns every file's sample came out with (after a TRANSFORM, they must agree)."""
    first = profiles[files[0].name].names
    for source in files[1:]:
        names = profiles[source.name].names
        if names != first:
            raise TransformError(
                f"{source.name}: TRANSFORM returned the columns {', '.join(names)} for its sample, "
                f"but {', '.join(first)} for {files[0].name}'s"
            )
    return first


def _decided_by_content(source: SourceFile, holdings: Holdings) -> bool:
    """Whether skipping ``source`` depends on its content: the ledger names a file of its size
    (one of another size has changed, whatever its bytes)."""
    entry = holdings.entries.get(source.name)
    return entry is not None and entry.size == source.size


def _hashed_while_loading(source: SourceFile, fmt: TextFormat, split: int) -> bool:
    """Whether loading ``source`` reads all of its stored bytes in one reading (parts of ``split``
    bytes), which then fingerprints it: not a .zip's member, nor a file loaded in parts."""
    return (
        hashed_while_read(source) and not splits(source, fmt, split) and not feeds_blocks(source, fmt, split)
    )


def _files_to_load(
    files: list[SourceFile],
    profiles: dict[str, ProfileResult],
    loaded: dict[str, LedgerEntry],
    options: PlanOptions,
    report: RunReport,
) -> list[SourceFile]:
    """The files this run loads: all, less those the ledger says the table already holds."""
    todo = []
    for source in files:
        entry = loaded.get(source.name)
        if entry is None:
            todo.append(source)
        elif entry.size == source.size and entry.fingerprint == profiles[source.name].fingerprint:
            report.skipped.append(source.name)
        elif options.if_exists.upserts or options.reload_changed:
            log.warning(
                "%s: changed since it was loaded (run %s); loading it again", source.name, entry.run_id
            )
            todo.append(source)
        else:
            raise SourceError(
                f"{source.name}: changed since it was loaded into {report.table!r} "
                f"(run {entry.run_id}, {entry.loaded_at:%Y-%m-%d %H:%M}); "
                "set RELOAD_CHANGED=true to append it again"
            )
    if report.skipped:
        log.info("%s already loaded, skipped", counted(len(report.skipped), "file"))
    return todo


def _load(
    options: LoadOptions,
    publishing: PublishOptions,
    backend: Backend,
    executor: Executor,
    planned: Planned,
    fmt: TextFormat,
    report: RunReport,
    still_locked: LockCheck,
    interrupts: Interrupts,
    blocks: BlockFiles | None,
) -> None:
    """Load the files ``planned`` to load into a fresh staging table, then publish it, or drop it
    on any failure; ``blocks``: where compressed files' blocks go to the workers (``blocks.py``)."""
    plan = planned.plan
    assert report.table is not None
    assert plan is not None
    files, profiles, matched = planned.todo, planned.profiles, planned.matched
    staging = staging_name(backend.fold_table(report.table), report.run_id)
    tally = _Tally()
    mode = progress_mode(options.quiet, options.log_format, options.progress_bar)
    try:
        # Inside: where DDL commits by itself (MySQL), the staging table may exist without its
        # receipts table when creating that one fails.
        create_staging(backend, staging, plan, options.key, report.table)
        log.info("loading %s into staging table %r", counted(len(files), "file"), staging)
        with (
            report.phase("load"),
            load_progress(files, mode, options.progress_seconds) as progress,
            _one_writer(backend, executor, staging, plan, options.key) as hand_off,
        ):
            tasks = _load_tasks(
                options, files, profiles, plan, fmt, matched, staging, tally, hand_off, blocks
            )

            def on_chunk(event: ChunkWritten) -> None:
                progress.chunk(event.name, event.rows, event.bytes)

            for result in executor.map_unordered(load_file, tasks, on_chunk):
                finished = tally.add(result)
                if finished is not None:
                    report.files.append(finished)
                    progress.file_done(finished.name)
                    _log_file(finished, len(report.files), len(files))
                _check_reject_limit(tally.rejects, options.max_errors)
        sources = {f.name: f for f in files}
        entries = [
            _ledger_entry(sources[r.name], profiles[r.name].fingerprint or r.fingerprint, r, report.run_id)
            for r in report.files
        ]
        # No publish whose rejected rows are lost: they are on disk before it.
        _save_rejects(report, options.rejects_path, options.secrets)
        still_locked()
        added = tuple((n, t) for n, t in zip(plan.names, plan.types, strict=True) if n in matched.added)
        changed = {w.name for w in planned.widenings}
        widened = tuple((n, t) for n, t in zip(plan.names, plan.types, strict=True) if n in changed)
        _publish(
            publishing,
            backend,
            staging,
            plan,
            entries,
            report,
            planned.holdings.stale,
            interrupts,
            added,
            widened,
        )
    except BaseException:
        report.files.extend(tally.unfinished())  # the rejects found so far are reported
        # Stop every worker first: one still writing would hold the staging table (or, on
        # DuckDB, the whole file) and the DROP would wait or fail.
        executor.close()
        with executor.writer_turn():
            _drop_failed_staging(backend, staging, report)
        raise
    drop_receipts(backend, staging)
    with report.phase("statistics"):
        refresh_statistics(backend, report.table)


@contextlib.contextmanager
def _one_writer(
    backend: Backend, executor: Executor, staging: str, plan: TablePlan, key: tuple[str, ...]
) -> Iterator[HandOff | None]:
    """Where the database takes its chunks from one connection held for the whole load
    (``features.one_writer``), that writer, handed to the tasks; committed once every task is
    done, rolled back on any failure (before the staging table is dropped).  None: each task
    writes through its own process's connection."""
    if not backend.features.one_writer:
        yield None
        return
    writer = backend.held_writer(staging, plan, key)
    try:
        with executor.hand_off(writer) as hand_off:
            yield hand_off
    except BaseException:
        writer.abort()
        raise
    try:
        writer.finish()
    except writer.errors as error:  # the commit of the load's last transaction
        problem = backend.disk_failure(error, backend.engine.url)
        if problem is not None:
            raise SideOutputError(f"committing the loaded rows failed: {problem}") from None
        raise DatabaseError(f"committing the loaded rows failed: {describe(error)}") from None


@contextlib.contextmanager
def _block_files(
    executor: Executor, files: list[SourceFile], fmt: TextFormat, split_bytes: int
) -> Iterator[BlockFiles | None]:
    """Where the blocks of compressed files go to the executor's workers in files (a pool's,
    ``blocks.py``): their folder, removed on leaving; None: inside the tasks."""
    if not executor.blocks_by_file or not any(feeds_blocks(f, fmt, split_bytes) for f in files):
        yield None
        return
    blocks = BlockFiles()
    try:
        yield blocks
    finally:
        blocks.close()


def _drop_failed_staging(backend: Backend, staging: str, report: RunReport) -> None:
    """Drop a failed run's staging tables; those that remain are named in a warning (log and
    report) that says what removes them."""
    left, problem = drop_staging(backend, staging)
    if left:
        warning = (
            f"{STAGING_LEFT} {', '.join(map(repr, left))} ({problem}); "
            f"the next run into {report.table!r}, or --cleanup, removes them"
        )
        report.warnings.append(warning)
        log.warning("%s", warning)


def _load_tasks(
    options: LoadOptions,
    files: list[SourceFile],
    profiles: dict[str, ProfileResult],
    plan: TablePlan,
    fmt: TextFormat,
    matched: Matched,
    staging: str,
    tally: _Tally,
    hand_off: HandOff | None = None,
    blocks: BlockFiles | None = None,
) -> Iterator[LoadTask]:
    """One task per part of each file: the byte ranges its profile found, or the blocks of a
    large compressed file, decompressed here once as the workers take them (in files of
    ``blocks``, where given)."""
    numbers = itertools.count()
    for source in files:
        if feeds_blocks(source, fmt, options.split_bytes):
            log.info("%s: decompressing it once and handing out its blocks", source.name)
            parts = stream_blocks(source, fmt, options.split_bytes)
        else:
            parts = iter(profiles[source.name].parts)
        for part in parts:
            if part.last:
                tally.expect(source.name, part.index + 1)
            if blocks is not None:
                part = blocks.put(source.name, part)
            yield LoadTask(
                source=source,
                fmt=fmt,
                layout=matched.layouts[source.name],
                plan=plan,
                staging=staging,
                chunk_size=options.chunk_size,
                max_errors=options.max_errors,
                part=part,
                task=next(numbers),
                transform=options.transform,
                key=options.key,
                sampled=options.sample_rows,
                hand_off=hand_off,
            )


class _Tally:
    """The results of the parts of each file, merged into one per file once all have come."""

    def __init__(self) -> None:
        self._parts: dict[str, list[FileResult]] = {}
        self._expected: dict[str, int] = {}
        self._finished: set[str] = set()
        self.rejects: list[RejectedRow] = []

    def expect(self, name: str, parts: int) -> None:
        self._expected[name] = parts

    def add(self, result: FileResult) -> FileResult | None:
        """Take one part's result; the file's merged result once it was its last one."""
        parts = self._parts.setdefault(result.name, [])
        parts.append(result)
        self.rejects.extend(result.rejects)
        if len(parts) != self._expected.get(result.name):
            return None
        self._finished.add(result.name)
        return _merged(parts)

    def unfinished(self) -> list[FileResult]:
        """What came of the files whose parts have not all finished (on the error path)."""
        return [_merged(parts) for name, parts in self._parts.items() if name not in self._finished]


def _merged(parts: list[FileResult]) -> FileResult:
    """One file's result from its parts' (rows and seconds of work added, rejects in line order)."""
    return FileResult(
        name=parts[0].name,
        rows=sum(p.rows for p in parts),
        rejects=tuple(sorted((r for p in parts for r in p.rejects), key=lambda r: r.line)),
        seconds=sum(p.seconds for p in parts),
        fingerprint=parts[0].fingerprint if len(parts) == 1 else None,  # a whole file's
        read=sum(p.read for p in parts),
        bytes=parts[0].bytes,
        write_path=parts[0].write_path,
        delimiter=parts[0].delimiter,
        cpu=summed(p.cpu for p in parts),
    )


def _log_file(result: FileResult, done: int, files: int) -> None:
    log.info(
        "%s: %s (%d/%s)",
        result.name,
        counted(result.rows, "row"),
        done,
        counted(files, "file"),
        extra={
            "event": "file_loaded",
            "file": result.name,
            "rows": result.rows,
            "seconds": round(result.seconds, 3),
        },
    )


def _publish(
    options: PublishOptions,
    backend: Backend,
    staging: str,
    plan: TablePlan,
    entries: list[LedgerEntry],
    report: RunReport,
    stale_ledger: bool,
    interrupts: Interrupts,
    added: tuple[tuple[str, ColumnType], ...] = (),
    widened: tuple[tuple[str, ColumnType], ...] = (),
) -> None:
    """Publish the staging table with its ledger rows; the report says published once committed.

    ``stale_ledger``: the ledger described another table of this name; the publish replaces it.
    ``added``: the columns an existing table gains in the publish (ON_NEW_COLUMNS=add);
    ``widened``: its columns that get these wider types in it (ON_TYPE_CHANGE=widen).
    """
    assert report.table is not None

    def record(conn: Connection, fresh: bool, holder: str) -> None:
        identity = backend.table_identity(conn, holder)
        record_files(conn, backend.fold_table(report.table or ""), entries, fresh or stale_ledger, identity)
        interrupts.defer()  # the publish's last step: a signal now waits for its outcome

    try:
        indexes = requested_indexes(backend, report.table, options.indexes)
        keys = options.key
        rows = sum(entry.rows for entry in entries)  # the staging table's
        check = shrink_check(backend, report.table, options.if_exists, rows, options.max_shrink)
        with report.phase("publish"):
            publish(
                backend,
                staging,
                report.table,
                options.if_exists,
                plan.names,
                keys,
                record,
                report.run_id,
                indexes,
                check,
                added,
                widened,
            )
    except BaseException:
        interrupts.resume()  # not published: a signal rolls back again
        raise
    report.published = True


def _ledger_entry(
    source: SourceFile, fingerprint: str | None, result: FileResult, run_id: str
) -> LedgerEntry:
    assert fingerprint is not None, f"{source.name} was loaded without its fingerprint"
    return LedgerEntry(
        source=source.name,
        size=source.size,
        fingerprint=fingerprint,
        rows=result.rows,
        run_id=run_id,
        loaded_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )


def _find_other_row(
    error: KeyFoundTwice,
    options: LoadOptions,
    files: list[SourceFile],
    plan: TablePlan,
    fmt: TextFormat,
    matched: Matched,
) -> None:
    """The other row of a key the staging table refused: the files are read again (in the run's
    own process; only on this failure) until a row with that key turns up elsewhere."""
    for source in files:
        task = LoadTask(
            source,
            fmt,
            matched.layouts[source.name],
            plan,
            "",
            options.chunk_size,
            options.max_errors,
            transform=options.transform,
            key=options.key,
        )
        for line in key_lines(task, error.key):
            if (source.name, line) != error.where:
                error.found_other((source.name, line))
                return


def _suggest_fix(error: RejectLimitError, rejects: list[RejectedRow], sample_rows: int) -> None:
    """A value that does not fit its column's type: a common spelling of a missing value wants
    NA_VALUES; another one, in a type planned from the first ``sample_rows`` rows (0: not
    planned from samples), wants a plan from every row."""
    if not rejects or not rejects[0].misfit:
        return
    marker = next((m for m in MISSING_MARKERS if f": {m!r} is not " in rejects[0].reason), None)
    if marker is not None:
        error.message += (
            f"; {marker!r} is a common spelling of a missing value: NA_VALUES={marker} loads it as NULL"
        )
    elif sample_rows:
        error.message += (
            f"; column types were planned from the first {counted(sample_rows, 'row')} of each file, "
            "SAMPLE_ROWS=0 plans them from every row"
        )


def _check_reject_limit(rejects: list[RejectedRow], max_errors: int) -> None:
    if len(rejects) > max_errors:
        first = rejects[0]
        count = counted(len(rejects), "row")
        raise RejectLimitError(
            f"{first.file}: line {first.line}: {first.reason} "
            f"({count} rejected so far, MAX_ERRORS={max_errors}; nothing was loaded)"
        )
