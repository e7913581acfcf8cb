"""The target table's lifecycle: a staging table per run, published in one step at the end.

Workers only ever append to the staging table.  Publishing is the single moment the target
changes: a rename (IF_EXISTS=fail), a drop-and-rename in one transaction (replace), or an
INSERT ... SELECT (append).  Until then the target is untouched, and a failed run only has to
drop its staging table.
"""

from __future__ import annotations

import hashlib
import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from processor.database import describe
from processor.errors import DatabaseError, TargetExistsError
from processor.kinds import Kind
from processor.schema import TablePlan

log = logging.getLogger(__name__)

STAGING_PREFIX = "_import_stage_"
MYSQL_LIKE = {"mysql", "mariadb"}


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


def create_staging(engine: Engine, name: str, plan: TablePlan) -> None:
    """Create the run's empty staging table with the planned columns."""
    with engine.begin() as conn:
        plan.table(name).create(conn)


def drop_table(engine: Engine, name: str) -> None:
    """Drop ``name`` if it exists (used to remove a failed run's staging table)."""
    with engine.begin() as conn:
        sa.Table(name, sa.MetaData(), quote=True).drop(conn, checkfirst=True)


def publish(engine: Engine, staging: str, table: str, if_exists: str, names: tuple[str, ...]) -> None:
    """Make the staging table's rows the target's in one step, then remove the staging table.

    Only IF_EXISTS=replace removes an existing target; with fail (or append onto a table that
    vanished meanwhile) the rename itself fails if another process created the table since.
    """
    quote = engine.dialect.identifier_preparer.quote
    target, stage = quote(table), quote(staging)
    try:
        exists = table_exists(engine, table)
        if if_exists == "append" and exists:
            _append(engine, stage, target, names)
        elif engine.dialect.name in MYSQL_LIKE:
            _swap_mysql(
                engine, stage, target, quote(staging + "_old") if exists and if_exists == "replace" else None
            )
        else:
            _swap(engine, stage, target, drop_first=exists and if_exists == "replace")
    except sa.exc.DBAPIError as error:
        raise DatabaseError(f"publishing table {table!r} failed: {describe(error)}") from error


def _append(engine: Engine, stage: str, target: str, names: tuple[str, ...]) -> None:
    quote = engine.dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage}")
        if engine.dialect.name not in MYSQL_LIKE:
            conn.exec_driver_sql(f"DROP TABLE {stage}")
    if engine.dialect.name in MYSQL_LIKE:
        # MySQL commits implicitly before DDL; the rows are already published, so drop after.
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {stage}")


def _swap(engine: Engine, stage: str, target: str, drop_first: bool) -> None:
    """Transactional DDL (PostgreSQL, SQLite, DuckDB, ...): drop and rename commit together."""
    with engine.begin() as conn:
        if drop_first:
            conn.exec_driver_sql(f"DROP TABLE {target}")
        conn.exec_driver_sql(f"ALTER TABLE {stage} RENAME TO {target}")


def _swap_mysql(engine: Engine, stage: str, target: str, retired: str | None) -> None:
    """MySQL has no transactional DDL, but one RENAME TABLE of several pairs is atomic."""
    with engine.begin() as conn:
        if retired is None:
            conn.exec_driver_sql(f"RENAME TABLE {stage} TO {target}")
        else:
            conn.exec_driver_sql(f"RENAME TABLE {target} TO {retired}, {stage} TO {target}")
            conn.exec_driver_sql(f"DROP TABLE {retired}")
