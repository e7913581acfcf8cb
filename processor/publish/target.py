"""The target table's lifecycle: a staging table per run, published in one step at the end.

Workers only ever append to the staging table.  Publishing is the single moment the target
changes: a rename (IF_EXISTS=fail), a drop-and-rename that keeps the old table's indexes
(replace), an INSERT ... SELECT (append, merge), or a DELETE and INSERT ... SELECT (delete_rows),
each as the database's backend does it atomically.  Until then the target is untouched, and a
failed run only has to drop its staging table.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa

from processor.backends import Backend, Check, Record
from processor.backends.carry import Carried, Index
from processor.backends.retry import with_retries
from processor.backends.writers import receipts_name, receipts_table
from processor.counts import counted
from processor.errors import (
    ConfigError,
    DatabaseError,
    SchemaError,
    ShrinkError,
    SideOutputError,
    TargetExistsError,
    connection_lost,
    describe,
)
from processor.kinds import ColumnType
from processor.publish.ledger import LEDGER, LEDGER_TABLE
from processor.records import IfExists, TablePlan

log = logging.getLogger(__name__)

#: Every table the importer makes for itself is named so: the ledger (``_import_ledger``), the
#: staging tables and their receipts (``_import_stage_*``), SQLite's probe, DuckDB's chunk scan.
OWN_PREFIX = "_import_"
STAGING_PREFIX = f"{OWN_PREFIX}stage_"


def staging_name(table: str, run_id: str) -> str:
    """A short name for this run's staging table that identifies the target it belongs to.

    ``table`` is the target's name as the database compares it (``Backend.fold_table``).
    """
    digest = hashlib.sha1(table.encode()).hexdigest()[:8]
    return f"{STAGING_PREFIX}{digest}_{run_id}"


def of_run(name: str, run_id: str) -> bool:
    """Whether ``name`` is one of run ``run_id``'s tables: its staging table, that one's receipts,
    or (MySQL's replace) the table it retired."""
    head = len(staging_name("", ""))  # the prefix and a target's digest
    return name.startswith(STAGING_PREFIX) and name[head:].startswith(run_id)


def check_own_tables(backend: Backend, table: str, runs_table: str | None) -> None:
    """Before anything is read: raise ConfigError where ``own_tables_problem`` finds one."""
    problem = own_tables_problem(backend, table, runs_table)
    if problem is not None:
        raise ConfigError(problem)


def own_tables_problem(backend: Backend, table: str | None, runs_table: str | None) -> str | None:
    """Why DEST_TABLE ``table`` or RUNS_TABLE cannot be written, else None: neither may be one of
    the importer's own tables, nor RUNS_TABLE the loaded table, compared as the database compares
    table names (``_IMPORT_LEDGER`` is the ledger where the database ignores case)."""
    fold = backend.fold_table
    for setting, name in (("DEST_TABLE", table), ("RUNS_TABLE", runs_table)):
        if name is not None and fold(name).startswith(fold(OWN_PREFIX)):
            return (
                f"{setting} {name!r}: names beginning with {OWN_PREFIX!r} are the importer's own tables "
                "(its ledger, staging tables); choose another name"
            )
    if runs_table is not None and table is not None and fold(runs_table) == fold(table):
        return f"RUNS_TABLE {runs_table!r} is the table the run loads ({table!r}); choose another name"
    return None


def requested_indexes(backend: Backend, table: str, indexes: Sequence[Sequence[str]]) -> tuple[Index, ...]:
    """The INDEXES of ``table``, each named ``ix_<table>_<columns>`` (shortened with a hash where
    the database's names are shorter), columns spelled as INDEXES gives them."""
    found = []
    for columns in indexes:
        name = "_".join(("ix", table, *columns))
        limit = backend.name_limit
        if limit and backend.name_length(name) > limit:
            digest = hashlib.sha1(name.encode()).hexdigest()[:8]
            while backend.name_length(name) > limit - 9:
                name = name[:-1]
            name = f"{name}_{digest}"
        definition = "(" + ", ".join(backend.quote(c) for c in columns) + ")"
        found.append(Index(name, False, tuple(columns), definition))
    return tuple(found)


def table_exists(backend: Backend, name: str) -> bool:
    """Whether ``name`` exists in the database's default schema."""
    with backend.engine.connect() as conn:
        return backend.has_table(conn, name)


def check_target(backend: Backend, table: str, if_exists: IfExists) -> bool:
    """Fail early when IF_EXISTS=fail meets an existing table; return whether it exists."""
    exists = table_exists(backend, table)
    if exists and if_exists is IfExists.FAIL:
        raise TargetExistsError(f"table {table!r} already exists; set IF_EXISTS=replace or IF_EXISTS=append")
    return exists


def check_merge_key(backend: Backend, table: str, primary_key: Sequence[str]) -> None:
    """Before loading a merge into an existing table: its primary key or a unique constraint
    must be exactly PRIMARY_KEY, or the upsert could not find the rows to update (and MySQL
    would silently append duplicates).  Skipped where the dialect cannot reflect constraints."""
    try:
        keys = backend.unique_keys(table)
    except (sa.exc.DBAPIError, NotImplementedError):
        log.debug("constraints of %r cannot be reflected; the publish will check the key", table)
        return
    wanted = sorted(map(backend.fold_name, primary_key))
    if not any(sorted(map(backend.fold_name, key)) == wanted for key in keys):
        raise SchemaError(
            f"IF_EXISTS=merge: table {table!r} has no primary key or unique constraint on "
            f"({', '.join(primary_key)}), so rows cannot be matched"
        )


def create_staging(
    backend: Backend, name: str, plan: TablePlan, primary_key: Sequence[str], target: str
) -> None:
    """Create the run's empty staging table with the planned columns (and key, for merge), and
    its receipts table (``backends/writers.py``: which chunks it holds).  A database that cannot
    hold a row of so many columns is a schema error that names the target, not the stage."""
    try:
        with backend.engine.begin() as conn:
            backend.table(name, plan, primary_key).create(conn)
            receipts_table(name).create(conn)
    except sa.exc.DBAPIError as error:
        if backend.names_clash(error):
            raise SchemaError(
                f"table {target!r} cannot be created: {backend.name} takes two of its column names "
                f"for one ({describe(error)}); rename one of them (SRC_COLUMNS)"
            ) from error
        if not backend.row_too_wide(error):
            raise
        raise SchemaError(
            f"table {target!r} cannot be created with the planned {len(plan.names):,} columns: "
            f"{backend.name} refuses rows that wide ({describe(error)}); load fewer columns "
            "(SRC_COLUMNS)"
        ) from error


def drop_table(backend: Backend, name: str) -> None:
    """Drop ``name`` if it exists (used to remove a failed run's staging table)."""
    with backend.engine.begin() as conn:
        sa.Table(name, sa.MetaData(), quote=True).drop(conn, checkfirst=True)


def drop_staging(backend: Backend, name: str) -> tuple[list[str], str]:
    """Drop a failed run's staging table and its receipts table; the names of those it could
    not drop, and why.  The run's connections may be gone (the server restarted, or ended its
    sessions): each table gets a second try on a fresh connection."""
    left, problem = [], ""
    for table in (name, receipts_name(name)):
        for _ in range(2):
            try:
                drop_table(backend, table)
                break
            except sa.exc.SQLAlchemyError as error:
                problem = describe(error)
                backend.dispose()  # the pool's connections may be dead: the retry opens a new one
        else:
            left.append(table)
    return left, problem


def drop_receipts(backend: Backend, staging: str) -> None:
    """After the publish: drop the staging table's receipts (a failure is only a warning)."""
    backend.drop_after_publish(backend.quote(receipts_name(staging)))


def find_leftovers(backend: Backend, table: str) -> list[str]:
    """The staging tables of runs into ``table`` (crashed ones', unless a run is going on)."""
    prefix = staging_name(backend.fold_table(table), "")
    with backend.engine.connect() as conn:
        return [name for name in sa.inspect(conn).get_table_names() if name.startswith(prefix)]


def drop_leftovers(backend: Backend, table: str) -> list[str]:
    """Drop staging tables that crashed runs into ``table`` left behind; return their names.

    Call it only while holding the table's import lock: then no other run can be using them.
    """
    leftovers = find_leftovers(backend, table)
    for name in leftovers:
        log.warning("dropping staging table %r left by an interrupted run", name)
        drop_table(backend, name)
    return leftovers


def refresh_statistics(backend: Backend, table: str) -> None:
    """After the publish: refresh the published table's statistics (ANALYZE); the rows are
    live already, so a failure is only a warning."""
    try:
        backend.refresh_statistics(table)
    except sa.exc.DBAPIError as error:
        log.warning("could not refresh the statistics of table %r: %s", table, describe(error))


def check_dependents(backend: Backend, table: str, if_exists: IfExists) -> None:
    """Before loading anything: replace drops the table, so no view or other table's foreign key
    may depend on it; delete_rows deletes its rows, which referencing foreign keys would refuse
    (or cascade to other tables)."""
    if not if_exists.removes_rows:
        return
    found = backend.dependents(table)
    if if_exists is IfExists.DELETE_ROWS:
        found = [d for d in found if d.kind == "foreign key"]
    if not found:
        return
    names = ", ".join(map(str, found))
    if if_exists is IfExists.REPLACE:
        raise TargetExistsError(
            f"IF_EXISTS=replace would drop table {table!r}, and {names} depend on it; "
            "set IF_EXISTS=delete_rows to refill the table in place (nothing was loaded)"
        )
    raise TargetExistsError(
        f"IF_EXISTS=delete_rows would delete the rows of table {table!r}, which {names} refer to "
        "(nothing was loaded)"
    )


def shrink_check(
    backend: Backend, table: str, if_exists: IfExists, rows: int, max_shrink: float
) -> Check | None:
    """MAX_SHRINK: a check, on the publishing transaction, that replace or delete_rows leaves
    ``table`` at least ``max_shrink`` of the rows it has then (a truncated download must not
    replace a full table); None where nothing is replaced, or the check is off (0)."""
    if not max_shrink or not if_exists.removes_rows:
        return None
    action = "replace" if if_exists is IfExists.REPLACE else "refill"
    by = "by" if if_exists is IfExists.REPLACE else "with"

    def check(conn: sa.Connection) -> None:
        old = count_rows(conn, backend, table)
        if rows < least_rows(old, max_shrink):
            raise ShrinkError(
                f"IF_EXISTS={if_exists} would {action} table {table!r} of {counted(old, 'row')} {by} "
                f"{counted(rows, 'row')} (less than MAX_SHRINK={max_shrink:g} of it); nothing was published; "
                "set MAX_SHRINK=0 to allow"
            )

    return check


def count_rows(conn: sa.Connection, backend: Backend, table: str) -> int:
    """The rows ``table`` holds (COUNT(*): MAX_SHRINK's check reads it once per publish)."""
    return conn.exec_driver_sql(f"SELECT COUNT(*) FROM {backend.quote(table)}").scalar_one()


def least_rows(held: int, max_shrink: float) -> int:
    """The fewest rows MAX_SHRINK lets take the place of ``held`` rows, computed exactly (0.07
    of 100 is 7, where the double product is 7.000000000000001)."""
    return math.ceil(held * Decimal(repr(max_shrink)))


def publish(
    backend: Backend,
    staging: str,
    table: str,
    if_exists: IfExists,
    names: Sequence[str],
    primary_key: Sequence[str],
    record: Record,
    run_id: str,
    indexes: Sequence[Index] = (),
    check: Check | None = None,
    added: Sequence[tuple[str, ColumnType]] = (),
    widened: Sequence[tuple[str, ColumnType]] = (),
) -> None:
    """Make the staging table's rows the target's in one step, then remove the staging table.

    ``record(conn, fresh, holder)`` writes the ledger on the publishing transaction (Record).
    A new table gets ``indexes`` (INDEXES) before or in the step that publishes it, so no reader
    sees it without them.  Only IF_EXISTS=replace removes an existing target, after building
    its indexes (and ``indexes``) on the staging table; with fail the rename itself fails if
    another process created the table.  A connection lost during it is a DatabaseError that
    says how to tell whether the publish committed (run ``run_id``'s ledger rows, or where they
    commit apart from it, what ``Backend.committed_if`` names).  ``check`` runs on the
    publishing transaction before an existing target's rows go (replace, delete_rows): if it
    raises, nothing is published.  ``added``: columns an existing target gains (ON_NEW_COLUMNS=add)
    on the publishing transaction, before its rows go in, and ``widened``: its columns that get
    these wider types there (ON_TYPE_CHANGE=widen).
    """
    carried = Carried(indexes=tuple(indexes))
    replacing = False
    step = "insert"  # the publish step under way: which evidence tells whether it committed

    def attempt() -> None:
        nonlocal step
        exists = table_exists(backend, table)
        if exists and if_exists.into_existing:
            step = "insert"
            key = primary_key if if_exists.upserts else ()
            refill = if_exists is IfExists.DELETE_ROWS
            backend.insert_from(
                staging, table, names, record, key, refill, check if refill else None, added, widened
            )
        elif exists and replacing:
            step = "replace"
            backend.replace(staging, table, carried, record, check)
        else:
            step = "swap"
            backend.swap(staging, table, record, carried)

    try:
        if if_exists is IfExists.REPLACE and table_exists(backend, table):
            check_dependents(backend, table, if_exists)  # one may have been made while this run loaded
            carried, replacing = _carried(backend, table, names, primary_key, carried.indexes), True
        if not if_exists.into_existing or not table_exists(backend, table):
            backend.prepare_replace(staging, carried)
        with_retries(attempt, (sa.exc.DBAPIError,), backend.is_transient, f"publishing {table!r}")
    except sa.exc.DBAPIError as error:
        problem = backend.disk_failure(error, backend.engine.url)
        if problem is not None:
            raise SideOutputError(f"publishing table {table!r} failed: {problem}") from error
        failed = DatabaseError(f"publishing table {table!r} failed: {describe(error)}")
        if connection_lost(error):
            committed = _settle_lost_publish(backend, step, staging, table, run_id)
            if committed:
                log.warning(
                    "the connection was lost while publishing table %r, but the publish committed "
                    "(checked on a new connection): %s",
                    table,
                    describe(error),
                )
                return
            if committed is False:
                failed.message += (
                    "; the connection was lost before the publish committed (checked on a new "
                    "connection): the table was left as it was"
                )
            else:
                evidence = backend.committed_if(step, staging, table) or (
                    f"{LEDGER_TABLE} has rows with run_id '{run_id}'"
                )
                failed.message += (
                    "; the connection was lost while publishing, so whether the publish committed is "
                    f"unknown: it did if {evidence}, else the table was left as it was"
                )
        raise failed from error


def _settle_lost_publish(backend: Backend, step: str, staging: str, table: str, run_id: str) -> bool | None:
    """Whether a publish whose connection was lost committed, asked on a new connection: of the
    tables where they tell it, else of the ledger where its rows commit with the publish (rows of
    ``run_id``: it did; none: not known, as a publish may record no rows).  None: cannot tell."""
    committed = None
    try:
        committed = backend.settle_lost_publish(step, staging, table)
        if committed is None and backend.committed_if(step, staging, table) is None:
            with backend.engine.connect() as conn:
                found = conn.execute(
                    sa.select(LEDGER.c.run_id).where(LEDGER.c.run_id == run_id).limit(1)
                ).first()
            committed = True if found is not None else None
        if committed and table_exists(backend, staging):  # an insert's: its DROP had not run
            backend.drop_after_publish(backend.quote(staging))
    except sa.exc.DBAPIError:
        pass  # the new connection failed too: what was learnt stands
    return committed


def _carried(
    backend: Backend,
    table: str,
    names: Sequence[str],
    primary_key: Sequence[str],
    requested: tuple[Index, ...],
) -> Carried:
    """What the replace builds on the new table: the ``requested`` indexes (INDEXES), and the
    old table's indexes on columns the new table has, less those ``requested`` already makes
    (by name or by columns); the rest is named in a warning."""
    carried = backend.carried_over(table, primary_key)
    columns = {backend.fold_name(n) for n in names}
    fitting = tuple(i for i in carried.indexes if {backend.fold_name(c) for c in i.columns} <= columns)
    lost = carried.lost + tuple(
        f"index {i.name} (on a column the new table does not have)"
        for i in carried.indexes
        if i not in fitting
    )
    names_made, columns_made = {i.name for i in requested}, {i.columns for i in requested}
    kept = requested + tuple(i for i in fitting if i.name not in names_made and i.columns not in columns_made)
    if lost:
        log.warning(
            "replacing table %r: the new table will not have the old one's %s", table, "; ".join(lost)
        )
    if kept or carried.grants:
        log.info(
            "replacing table %r: keeping its indexes (%s) and %d grants",
            table,
            ", ".join(i.name for i in kept) or "none",
            len(carried.grants),
        )
    return Carried(indexes=kept, grants=carried.grants, lost=lost)
