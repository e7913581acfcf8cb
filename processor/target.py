"""The target table's lifecycle: a staging table per run, published in one step at the end.

Workers only ever append to the staging table.  Publishing is the single moment the target
changes: a rename (IF_EXISTS=fail), a drop-and-rename in one transaction (replace), or an
INSERT ... SELECT (append).  Until then the target is untouched, and a failed run only has to
drop its staging table.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine

from processor.database import MYSQL_LIKE, describe
from processor.errors import DatabaseError, SchemaError, TargetExistsError
from processor.kinds import Kind
from processor.retry import with_retries
from processor.schema import TablePlan

log = logging.getLogger(__name__)

STAGING_PREFIX = "_import_stage_"


def staging_name(table: str, run_id: str) -> str:
    """A short name for this run's staging table that identifies the target it belongs to."""
    digest = hashlib.sha1(table.encode()).hexdigest()[:8]
    return f"{STAGING_PREFIX}{digest}_{run_id}"


def table_exists(engine: Engine, name: str) -> bool:
    """Whether ``name`` exists in the database's default schema."""
    with engine.connect() as conn:
        return sa.inspect(conn).has_table(name)


def existing_kinds(engine: Engine, name: str) -> dict[str, Kind]:
    """The columns of the existing table ``name`` and the kind each loads as (for append).

    SQLAlchemy's reflection first; where a dialect's reflection fails (duckdb_engine's
    borrowed PostgreSQL catalog queries), the standard information_schema.
    """
    try:
        with engine.connect() as conn:
            return {c["name"]: Kind.of_sql_type(c["type"]) for c in sa.inspect(conn).get_columns(name)}
    except sa.exc.DBAPIError:
        log.debug("reflection of %r failed; reading information_schema.columns", name)
    query = sa.text(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = :name ORDER BY ordinal_position"
    )
    with engine.connect() as conn:
        return {
            column: Kind.of_type_name(type_name) for column, type_name in conn.execute(query, {"name": name})
        }


def check_target(engine: Engine, table: str, if_exists: str) -> bool:
    """Fail early when IF_EXISTS=fail meets an existing table; return whether it exists."""
    exists = table_exists(engine, table)
    if exists and if_exists == "fail":
        raise TargetExistsError(f"table {table!r} already exists; set IF_EXISTS=replace or IF_EXISTS=append")
    return exists


def check_merge_key(engine: Engine, table: str, primary_key: Sequence[str]) -> None:
    """Before loading a merge into an existing table: its primary key or a unique constraint
    must be exactly PRIMARY_KEY, or the upsert could not find the rows to update (and MySQL
    would silently append duplicates).  Skipped where the dialect cannot reflect constraints."""
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            keys = [inspector.get_pk_constraint(table).get("constrained_columns") or []]
            keys += [u["column_names"] for u in inspector.get_unique_constraints(table)]
    except (sa.exc.DBAPIError, NotImplementedError):
        log.debug("constraints of %r cannot be reflected; the publish will check the key", table)
        return
    if not any(sorted(key) == sorted(primary_key) for key in keys):
        raise SchemaError(
            f"IF_EXISTS=merge: table {table!r} has no primary key or unique constraint on "
            f"({', '.join(primary_key)}), so rows cannot be matched"
        )


def create_staging(engine: Engine, name: str, plan: TablePlan, primary_key: Sequence[str]) -> None:
    """Create the run's empty staging table with the planned columns (and key, for merge)."""
    with engine.begin() as conn:
        plan.table(name, primary_key).create(conn)


def drop_table(engine: Engine, name: str) -> None:
    """Drop ``name`` if it exists (used to remove a failed run's staging table)."""
    with engine.begin() as conn:
        sa.Table(name, sa.MetaData(), quote=True).drop(conn, checkfirst=True)


def drop_leftovers(engine: Engine, table: str) -> list[str]:
    """Drop staging tables that crashed runs into ``table`` left behind; return their names.

    Call it only while holding the table's import lock: then no other run can be using them.
    """
    prefix = staging_name(table, "")
    with engine.connect() as conn:
        leftovers = [name for name in sa.inspect(conn).get_table_names() if name.startswith(prefix)]
    for name in leftovers:
        log.warning("dropping staging table %r left by an interrupted run", name)
        drop_table(engine, name)
    return leftovers


def publish(
    engine: Engine,
    staging: str,
    table: str,
    if_exists: str,
    names: Sequence[str],
    primary_key: Sequence[str],
    record: Callable[[Connection, bool], None],
) -> None:
    """Make the staging table's rows the target's in one step, then remove the staging table.

    ``record(conn, fresh)`` writes the ledger on the publishing transaction; ``fresh`` says the
    target's previous content is gone (new or replaced table).  Only IF_EXISTS=replace removes
    an existing target; with fail the rename itself fails if another process created the table.
    """
    quote = engine.dialect.identifier_preparer.quote
    target, stage = quote(table), quote(staging)

    def attempt() -> None:
        exists = table_exists(engine, table)
        if exists and if_exists in ("append", "merge"):
            upsert = _upsert_clause(engine.dialect, names, primary_key) if if_exists == "merge" else ""
            _insert_from(engine, stage, target, names, upsert, record)
        elif engine.dialect.name in MYSQL_LIKE:
            retired = quote(staging + "_old") if exists and if_exists == "replace" else None
            _swap_mysql(engine, stage, target, retired, record)
        else:
            _swap(engine, stage, target, exists and if_exists == "replace", record)

    try:
        with_retries(attempt, (sa.exc.DBAPIError,), f"publishing {table!r}")
    except sa.exc.DBAPIError as error:
        raise DatabaseError(f"publishing table {table!r} failed: {describe(error)}") from error


def _upsert_clause(dialect: Dialect, names: Sequence[str], primary_key: Sequence[str]) -> str:
    """The dialect's "update the row when the key exists" clause for INSERT ... SELECT."""
    q = dialect.identifier_preparer.quote
    others = [n for n in names if n not in primary_key]
    if dialect.name in MYSQL_LIKE:
        updates = ", ".join(f"{q(n)} = VALUES({q(n)})" for n in others or primary_key)
        return f" ON DUPLICATE KEY UPDATE {updates}"
    keys = ", ".join(q(n) for n in primary_key)
    if not others:
        return f" WHERE true ON CONFLICT ({keys}) DO NOTHING"
    updates = ", ".join(f"{q(n)} = excluded.{q(n)}" for n in others)
    # "WHERE true" lets SQLite tell the ON CONFLICT clause from a join constraint.
    return f" WHERE true ON CONFLICT ({keys}) DO UPDATE SET {updates}"


def _insert_from(
    engine: Engine,
    stage: str,
    target: str,
    names: Sequence[str],
    upsert: str,
    record: Callable[[Connection, bool], None],
) -> None:
    quote = engine.dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage}{upsert}")
        record(conn, False)
        if engine.dialect.name not in MYSQL_LIKE:
            conn.exec_driver_sql(f"DROP TABLE {stage}")
    if engine.dialect.name in MYSQL_LIKE:
        # MySQL commits implicitly before DDL: the rows are published, so the drop comes after,
        # and must not fail (or retry) the publish.
        _drop_after_publish(engine, stage)


def _swap(
    engine: Engine, stage: str, target: str, drop_first: bool, record: Callable[[Connection, bool], None]
) -> None:
    """Transactional DDL (PostgreSQL, SQLite, DuckDB, ...): drop, rename and ledger commit together."""
    with engine.begin() as conn:
        if drop_first:
            conn.exec_driver_sql(f"DROP TABLE {target}")
        conn.exec_driver_sql(f"ALTER TABLE {stage} RENAME TO {target}")
        record(conn, True)


def _swap_mysql(
    engine: Engine, stage: str, target: str, retired: str | None, record: Callable[[Connection, bool], None]
) -> None:
    """MySQL has no transactional DDL, but one RENAME TABLE of several pairs is atomic.

    The ledger commits just before the rename: a crash between the two statements leaves a
    ledger that describes the new table while the old one is still in place (README).
    """
    with engine.begin() as conn:
        record(conn, True)
    with engine.begin() as conn:
        if retired is None:
            conn.exec_driver_sql(f"RENAME TABLE {stage} TO {target}")
        else:
            conn.exec_driver_sql(f"RENAME TABLE {target} TO {retired}, {stage} TO {target}")
    if retired is not None:
        _drop_after_publish(engine, retired)


def _drop_after_publish(engine: Engine, quoted: str) -> None:
    """Drop a table the publish left behind; the new rows are live already, so a failure is only
    a warning: the name has the staging prefix, and the next run (or --cleanup) removes it."""
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {quoted}")
    except sa.exc.DBAPIError as error:
        log.warning("could not drop %s yet: %s", quoted, describe(error))
