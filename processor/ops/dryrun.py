"""The dry run (DRY_RUN, ``--dry-run``): what an import would do, with nothing written.

The run plans with its own code (``run._plan``: discovery, headers, the target's state, the
ledger, the samples, the type plan); this module only puts that plan into words and JSON: the
DDL is compiled from the table definition the run would create, the write path is the backend's
own, and the rows are estimated from the bytes the samples read per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from processor.backends import Backend, backend_for
from processor.backends.database import create_engine
from processor.counts import counted
from processor.load.worker import ProfileResult
from processor.masking import mask, shown_notify_url
from processor.plan.matching import FileColumns, Matched
from processor.plan.widening import Widening
from processor.publish.ledger import Holdings
from processor.publish.target import count_rows, find_leftovers, least_rows, requested_indexes, staging_name
from processor.records import DryRunOptions, IfExists, SourceFile, TablePlan
from processor.sources.dialect import shown_delimiter
from processor.sources.formats import format_of

#: Files a plan's text lists one by one (the JSON lists them all).
LISTED_FILES = 20


@dataclass(frozen=True)
class Planned:
    """What a run decided before its first write (``run._plan``); ``plan`` is None when the
    ledger holds every file already."""

    exists: bool
    onto_existing: bool
    holdings: Holdings
    profiles: dict[str, ProfileResult]
    todo: list[SourceFile]
    plan: TablePlan | None
    #: The columns matched by name across the files (and onto the existing table).
    matched: Matched
    #: The existing table's columns widened in the publish (ON_TYPE_CHANGE=widen).
    widenings: tuple[Widening, ...] = ()
    #: PRIMARY_KEY's columns as the header spells them (``schema.key_columns``).
    key: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedFile:
    """A matched file: its size, its rows (``exact`` if the sample read it all, else estimated;
    None for a compressed file) and whether the ledger says the table holds it already."""

    name: str
    bytes: int
    rows: int | None
    exact: bool
    skipped: bool
    #: The delimiter its fields are split on (detected, or SRC_DELIMITER); None: NDJSON.
    delimiter: str | None = None
    #: What the matching of columns by name decided for it (``matching.FileColumns``).
    columns: FileColumns = field(default_factory=FileColumns)


@dataclass(frozen=True)
class PlannedColumn:
    """A column as the run would create it, and why it has that type."""

    name: str
    sql_type: str
    reason: str


@dataclass(frozen=True)
class DryRun:
    """The plan of an import that did not happen."""

    table: str
    destination: str
    dialect: str
    files: tuple[PlannedFile, ...]
    header: tuple[str, ...]
    columns: tuple[PlannedColumn, ...]
    ddl: tuple[str, ...]
    write_path: str | None
    if_exists: str
    action: str
    leftovers: tuple[str, ...]
    #: The --env-file, and each of its lines: (line, name, used, as shown: masked).
    env_file: str | None = None
    env_file_lines: tuple[tuple[int, str, bool, str], ...] = ()
    #: How the files write numbers and dates, where not as by default (``Spelling.describe``).
    spelling: str = ""
    #: The file was piped to standard input (SRC_DATA_FOLDER=-).
    from_stdin: bool = False
    #: SRC_DATA_FOLDER where it is a URL, as it may be shown (without its password or query).
    source: str | None = None

    @property
    def estimated_rows(self) -> int | None:
        """The rows of the files to load, or None where one is compressed (not estimated)."""
        counts = [f.rows for f in self.files if not f.skipped]
        return None if None in counts else sum(c for c in counts if c is not None)

    def text(self) -> str:
        """The plan as the dry run prints it."""
        total = sum(f.bytes for f in self.files)
        piped = ", piped to standard input: -" if self.from_stdin else ""
        rows = self.estimated_rows
        exact = all(f.exact for f in self.files if not f.skipped)
        lines = [
            f"dry run: nothing was written to {self.destination}",
            *([f"source: {self.source}"] if self.source is not None else []),
            *self._env_file_text(),
            f"files: {len(self.files)} ({total:,} bytes{piped}); rows to load: "
            + (_rows(rows, exact) if rows is not None else "not estimated (compressed files)"),
        ]
        if self.spelling:
            lines.append(f"numbers and dates read as written: {self.spelling}")
        for f in self.files[:LISTED_FILES]:
            shown = "rows not estimated"
            if f.rows is not None:
                shown = _rows(f.rows, f.exact) + (" row" if f.rows == 1 else " rows")
            skipped = "  (skipped: loaded already)" if f.skipped else ""
            split = f"  delimiter {shown_delimiter(f.delimiter)}" if f.delimiter else ""
            lines.append(f"  {f.name}  {f.bytes:,} bytes  {shown}{split}{skipped}")
            if f.columns.describe():
                lines.append(f"    columns: {f.columns.describe()}")
        if len(self.files) > LISTED_FILES:
            lines.append(f"  ... and {len(self.files) - LISTED_FILES} more (the JSON report lists them all)")
        if self.columns:
            lines.append(f"header: {counted(len(self.header), 'column')}, planned as")
            width = max(len(c.name) for c in self.columns)
            type_width = max(len(c.sql_type) for c in self.columns)
            lines += [f"  {c.name:<{width}}  {c.sql_type:<{type_width}}  {c.reason}" for c in self.columns]
        else:
            lines.append(f"header: {counted(len(self.header), 'column')}: {', '.join(self.header)}")
        if self.ddl:
            lines.append(f"DDL ({self.dialect}):")
            lines += [
                f"  {line.rstrip()}".expandtabs(4)
                for statement in self.ddl
                for line in statement.splitlines()
            ]
        if self.write_path:
            lines.append(f"write path: {self.write_path}")
        lines.append(f"IF_EXISTS={self.if_exists}: {self.action}")
        if self.leftovers:
            lines.append(
                f"staging tables left by interrupted runs, dropped by the import: {', '.join(self.leftovers)}"
            )
        return "\n".join(lines)

    def _env_file_text(self) -> list[str]:
        if self.env_file is None:
            return []
        head = f"settings from --env-file {self.env_file} (flags and the environment win over it):"
        return [head] + [f"  line {line}: {shown}" for line, _name, _used, shown in self.env_file_lines]

    def to_json(self) -> dict[str, Any]:
        """The plan in the JSON report (``--dry-run --report-path x.json``)."""
        return {
            "source": self.source,
            "env_file": None
            if self.env_file is None
            else {
                "path": self.env_file,
                "lines": [
                    {"line": line, "name": name, "used": used} for line, name, used, _ in self.env_file_lines
                ],
            },
            "files": [
                {
                    "name": f.name,
                    "bytes": f.bytes,
                    "estimated_rows": f.rows,
                    "rows_exact": f.exact,
                    "skipped": f.skipped,
                    "delimiter": f.delimiter,
                    "columns": f.columns.to_json(),
                }
                for f in self.files
            ],
            "from_stdin": self.from_stdin,
            "file_count": len(self.files),
            "bytes": sum(f.bytes for f in self.files),
            "estimated_rows": self.estimated_rows,
            "header": list(self.header),
            "columns": [{"name": c.name, "type": c.sql_type, "reason": c.reason} for c in self.columns],
            "dialect": self.dialect,
            "ddl": list(self.ddl),
            "write_path": self.write_path,
            "if_exists": self.if_exists,
            "action": self.action,
            "leftover_staging_tables": list(self.leftovers),
            "spelling": self.spelling,
        }


def describe_plan(
    options: DryRunOptions,
    backend: Backend,
    files: list[SourceFile],
    names: tuple[str, ...],
    table: str,
    planned: Planned,
    isolated: bool,
    run_id: str,
) -> DryRun:
    """The dry run's account of ``planned`` (``isolated``: the workers are processes of their own,
    which decides some databases' write path; ``run_id`` names the staging table)."""
    plan = planned.plan
    todo = {f.name for f in planned.todo}
    columns: tuple[PlannedColumn, ...] = ()
    ddl: tuple[str, ...] = ()
    if plan is not None:
        created = table if not planned.onto_existing else staging_name(backend.fold_table(table), run_id)
        definition = backend.table(created, plan, options.key)
        columns = tuple(
            PlannedColumn(c.name, str(c.type.compile(dialect=backend.dialect)), reason)
            for c, reason in zip(definition.columns, plan.reasons, strict=True)
        )
        ddl = (str(sa.schema.CreateTable(definition).compile(dialect=backend.dialect)).strip(),)
        if planned.widenings:
            with backend.engine.connect() as conn:
                widened = [(w.name, w.new) for w in planned.widenings]
                ddl += tuple(backend.widen_statements(conn, table, created, widened))
        if not planned.onto_existing:
            indexes = requested_indexes(backend, table, options.indexes)
            ddl += tuple(backend.index_sql(i, table, i.name) for i in indexes)
    return DryRun(
        table=table,
        destination=options.masked_url,
        source=options.shown_source,
        dialect=backend.name,
        files=tuple(
            PlannedFile(
                f.name,
                f.size,
                planned.profiles[f.name].sample.estimated_rows(f),
                exact=planned.profiles[f.name].sample.whole,
                skipped=f.name not in todo,
                delimiter=f.delimiter if format_of(f).delimited else None,
                columns=planned.matched.decisions.get(f.name, FileColumns()),
            )
            for f in files
        ),
        header=names,
        columns=columns,
        ddl=ddl,
        write_path=_write_path(options, plan, isolated) if plan is not None else None,
        if_exists=options.if_exists,
        action=_action(options, table, planned) + _shrink_note(options, backend, table, planned),
        leftovers=tuple(find_leftovers(backend, table)),
        env_file=str(options.env_file.path) if options.env_file else None,
        env_file_lines=_env_file_lines(options),
        spelling=options.spelling.describe(),
        from_stdin=options.from_stdin,
    )


def _env_file_lines(options: DryRunOptions) -> tuple[tuple[int, str, bool, str], ...]:
    """Each line of the --env-file as the dry run shows it: the value it gave, its secrets masked
    (DEST_SQL and NOTIFY_URL as every output shows them), or why it gave none."""
    if options.env_file is None:
        return ()
    lines = []
    for entry in options.env_file.lines:
        used = entry.name in options.env_file.used
        if used and entry.name == "DEST_SQL":
            shown = f"DEST_SQL={options.masked_url}"
        elif used and entry.name == "NOTIFY_URL":
            shown = f"NOTIFY_URL={shown_notify_url(entry.value or '')}"
        elif used:
            shown = mask(f"{entry.name}={entry.value}", options.secrets)
        elif entry.value is None:
            shown = f"{entry.name}: a name alone, which sets nothing (the environment is read anyway)"
        elif entry.value == "" and entry.name != "NA_VALUES":
            shown = f"{entry.name}: empty, which sets nothing"
        else:
            shown = f"{entry.name}: not used, a flag or the environment gives it"
        lines.append((entry.line, entry.name, used, shown))
    return tuple(lines)


def _write_path(options: DryRunOptions, plan: TablePlan, isolated: bool) -> str:
    """How the workers would write: on an engine of DEST_SQL itself (the dry run's own may be an
    in-memory stand-in for a database file not made yet); making one connects to nothing."""
    engine = create_engine(options.url)
    try:
        return backend_for(engine).write_path(plan, isolated)
    finally:
        engine.dispose()


def _rows(rows: int, exact: bool) -> str:
    """A count of rows, marked as an estimate unless the samples read every row."""
    return f"{rows:,}" if exact else f"about {rows:,}"


def _shrink_note(options: DryRunOptions, backend: Backend, table: str, planned: Planned) -> str:
    """MAX_SHRINK: the fewest rows the publish takes, from the rows the table holds now."""
    if not (planned.exists and planned.plan is not None and options.max_shrink):
        return ""
    if not options.if_exists.removes_rows:
        return ""
    with backend.engine.connect() as conn:
        held = count_rows(conn, backend, table)
    least = least_rows(held, options.max_shrink)
    limit = f"MAX_SHRINK={options.max_shrink:g}"
    return f"; it holds {counted(held, 'row')}: {limit} refuses to publish fewer than {least:,}"


def _action(options: DryRunOptions, table: str, planned: Planned) -> str:
    """What IF_EXISTS would do to the target, in words."""
    if not planned.exists:
        return f"table {table!r} does not exist; the import creates it"
    loaded = len(planned.profiles) - len(planned.todo)
    skips = f"; the ledger says it holds {loaded} of the files, which are skipped" if loaded else ""
    if planned.plan is None:
        return f"table {table!r} exists and holds every file already; the import would do nothing"
    if options.if_exists is IfExists.REPLACE:
        return (
            f"table {table!r} exists; the import builds a new one and swaps it in, in one step, "
            "with the old table's indexes built again on it"
        )
    if options.if_exists is IfExists.APPEND:
        return f"table {table!r} exists; the import appends {_files_rows(planned)}{skips}"
    if options.if_exists is IfExists.MERGE:
        key = ", ".join(options.key)
        return f"table {table!r} exists; the import upserts {_files_rows(planned)} on ({key}){skips}"
    return (
        f"table {table!r} exists; the import deletes its rows and inserts {_files_rows(planned)} "
        "in one transaction"
    )


def _files_rows(planned: Planned) -> str:
    """``1 file's rows``, ``3 files' rows``: the rows of the files to load."""
    files = counted(len(planned.todo), "file's", "files'")
    return f"{files} rows"
