"""Any database SQLAlchemy reaches: what the pipeline asks of a database, with the defaults.

Every database quirk lives in that database's module (``postgresql.py``, ``mysql.py``,
``sqlite.py``, ``duckdb.py``), which overrides what differs from these defaults, in the manner of
Django's ``db/backends/<vendor>/``.  The pipeline asks its ``Backend`` (DDL, identifier rules,
the import lock, publish and swap, the bulk writer, session settings, which errors are transient),
its ``features`` (what the database can do, ``features.py``) and its ``types`` (how column types
map, ``typemap.py``), and never tests a database's name.  A database without a module of its own gets this
generic one: multi-row INSERTs, a rename inside one transaction, and no import lock.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from processor.backends.carry import NOTHING, Carried, Dependent, Index
from processor.backends.chunk import WriteMethod
from processor.backends.features import Features
from processor.backends.inserts import insert_batches_writer
from processor.backends.locks import LockCheck, always_held
from processor.backends.names import bound_quoted, formatted
from processor.backends.typemap import TypeMap
from processor.backends.writers import ChunkWriter, HeldWriter, SessionWriter, close_idle_connections
from processor.errors import ConfigError, SchemaError, connection_lost, describe
from processor.kinds import ColumnType
from processor.records import TablePlan

log = logging.getLogger(__name__)

#: Writes the ledger rows of a publish on its connection: ``record(conn, fresh, holder)``;
#: ``fresh``: the target's old rows are gone; ``holder``: the name the published table has on
#: ``conn`` at that moment (the staging table's, where the ledger commits before a rename).
Record = Callable[[Connection, bool, str], None]
#: Called on the publishing transaction just before the target's old rows go (replace,
#: delete_rows): ``check(conn)`` may raise, and then nothing is published (MAX_SHRINK).
Check = Callable[[Connection], None]


@dataclass(frozen=True)
class CreatedFiles:
    """A database file that did not exist before the run's first connection, and its companion
    files (journal, write-ahead log) that did not either: the run created them."""

    database: Path
    companions: tuple[Path, ...]


# Bound parameters one statement may carry, for databases without a module of their own.
PARAMETER_LIMITS = {"mssql": 2099, "oracle": 65535}
DEFAULT_PARAMETER_LIMIT = 999


class Backend:
    """The generic database: standard SQL through SQLAlchemy, no bulk path, no import lock."""

    #: What the database can do (the code branches on these, never on its name).
    features: ClassVar[Features] = Features()
    #: How its column types map to the importer's (``backend.types``, one per backend).
    types_class: ClassVar[type[TypeMap]] = TypeMap

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.name = engine.dialect.name
        #: The engine keeps connections between uses (not under a connection budget), and so may
        #: the chunk writers.
        self.keeps_connections = not isinstance(engine.pool, NullPool)
        self.types = self.types_class(self)

    # -- the engine ------------------------------------------------------------------------------

    def dispose(self) -> None:
        """Close every connection this process keeps for the database: the engine's pool and the
        chunk writers' idle connections (a long-lived process, such as a Dask worker or the run's
        own, must not hold sessions after its run)."""
        close_idle_connections()
        self.engine.dispose()

    @classmethod
    def engine_arguments(cls, url: URL) -> dict[str, Any]:
        """Keyword arguments for ``sqlalchemy.create_engine`` (connect_args, pool class)."""
        return {}

    @classmethod
    def read_only(cls, url: URL) -> tuple[URL, dict[str, Any]]:
        """The URL and extra engine arguments of a dry run, which must change nothing: on a
        server, the same (the dry run sends no write)."""
        return url, {}

    @classmethod
    def created_files(cls, url: URL) -> CreatedFiles | None:
        """Asked before the run's first connection: the files that connecting will create, which
        a run that leaves them holding nothing removes (``remove_created``).  A server: none."""
        return None

    @classmethod
    def remove_created(cls, created: CreatedFiles, ours: Callable[[str], bool], empty: str) -> bool:
        """Remove the files of ``created`` if the database holds no table but those ``ours``
        accepts and an empty ``empty`` (the ledger); whether it did."""
        return False

    @classmethod
    def prepare_engine(cls, engine: Engine) -> None:
        """Set up a new engine (event listeners for session settings)."""

    @classmethod
    def schema_url(cls, url: URL, schema: str) -> URL:
        """The URL of sessions whose default schema is ``schema`` (DEST_SCHEMA), with
        ``use_schema``; ConfigError where this database has no such thing."""
        raise ConfigError(f"DEST_SCHEMA is not supported on {url.get_backend_name()}")

    @classmethod
    def use_schema(cls, engine: Engine, schema: str) -> None:
        """Make ``schema`` the default of every session of ``engine`` (after ``schema_url``)."""

    def check_schema(self, schema: str) -> None:
        """Raise ConfigError unless the sessions' default schema is ``schema`` (it exists)."""
        with self.engine.connect() as conn:
            found = sa.inspect(conn).default_schema_name
        if found != schema:
            raise ConfigError(f"DEST_SCHEMA {schema!r} does not exist in the database")

    @classmethod
    def worker_url(cls, url: URL) -> URL:
        """The URL a worker process connects with (where the database can tell its sessions
        from the run's own, it names them)."""
        return url

    # -- names -----------------------------------------------------------------------------------

    def quote(self, name: str) -> str:
        """``name`` quoted for SQL run by ``exec_driver_sql`` (``names.py``: a ``%`` doubled where
        the driver formats the statement).  Always quoted: a header's names are kept exactly, and a
        word one database reserves (DuckDB's "at") may be unknown to the dialect's list."""
        return bound_quoted(self.dialect, name)

    def fold_name(self, name: str) -> str:
        """A column name as the database compares it: two names that fold alike clash."""
        return name

    def fold_table(self, name: str) -> str:
        """A table name as the database compares it: one table, one lock, one ledger."""
        return self.fold_name(name)

    @property
    def name_limit(self) -> int | None:
        """The longest identifier the database accepts, in the unit ``name_length`` counts: its
        ``features``', else what SQLAlchemy's dialect reports."""
        return self.features.max_name_length or self.dialect.max_identifier_length

    def name_length(self, name: str) -> int:
        """``name``'s length as the database counts it against ``name_limit``."""
        return len(name.encode()) if self.features.names_in_bytes else len(name)

    @property
    def max_columns(self) -> int | None:
        """The most columns a table may have, or None where no limit is known."""
        return self.features.max_columns

    def check_name(self, name: str, label: str) -> None:
        """Raise SchemaError unless the database can hold ``name`` exactly as written."""
        if "\x00" in name:
            raise SchemaError(f"{label} contains a NUL character")
        limit, length = self.name_limit, self.name_length(name)
        if limit and length > limit:
            raise SchemaError(f"{label} is {length} long; {self.name} allows at most {limit}")

    # -- tables ----------------------------------------------------------------------------------

    def table(self, name: str, plan: TablePlan, primary_key: Sequence[str] = ()) -> sa.Table:
        """A SQLAlchemy Table of the plan's columns; primary-key columns and those SCHEMA_FILE
        says hold no NULL are NOT NULL."""
        columns = [
            sa.Column(
                n,
                self.types.column_type(t, key=n in primary_key),
                primary_key=n in primary_key,
                nullable=t.nullable and n not in primary_key,
                autoincrement=False,
                quote=True,
            )
            for n, t in zip(plan.names, plan.types, strict=True)
        ]
        return sa.Table(name, sa.MetaData(), *columns, quote=True, **self.table_options())

    def table_options(self) -> dict[str, Any]:
        """Dialect keyword arguments of every table the importer creates."""
        return {}

    def unique_keys(self, table: str) -> list[list[str]]:
        """The columns of the existing ``table``'s primary key and of each unique constraint."""
        with self.engine.connect() as conn:
            inspector = sa.inspect(conn)
            keys = [inspector.get_pk_constraint(table).get("constrained_columns") or []]
            keys += [u["column_names"] for u in inspector.get_unique_constraints(table)]
        return keys

    # -- the import lock -------------------------------------------------------------------------

    @contextlib.contextmanager
    def import_lock(self, table: str, timeout: int) -> Iterator[LockCheck]:
        """Hold the import lock for ``table`` (waiting up to ``timeout`` seconds); yield a check
        that raises LockError if it has been lost meanwhile.  This database has none."""
        log.warning("no import lock for %s: do not run two imports into %r at once", self.name, table)
        yield always_held

    # -- writing ---------------------------------------------------------------------------------

    @property
    def parameter_limit(self) -> int:
        """Bound parameters one statement may carry."""
        return self.features.max_parameters or PARAMETER_LIMITS.get(self.name, DEFAULT_PARAMETER_LIMIT)

    def chunk_writer(self, staging: str, plan: TablePlan, isolated: bool = False) -> ChunkWriter:
        """How this process appends chunks of ``plan`` to the staging table (``writers.py``).

        ``isolated``: this process does nothing with the database but write chunks (a pool's or a
        cluster's worker, not the run's own process).
        """
        return SessionWriter(self.engine, self.writer(), staging, plan.names, setup=self.writing_setup(plan))

    def held_writer(self, staging: str, plan: TablePlan, key: Sequence[str] = ()) -> HeldWriter:
        """The run's one writer of the staging table (``features.one_writer``), which holds a
        connection from the load's first chunk to its last; ``key``: PRIMARY_KEY (a refused chunk
        is then looked for in the rows committed before it, so each chunk commits alone)."""
        return HeldWriter(self.engine, self.writer(), staging, plan.names, setup=self.writing_setup(plan))

    def writing_setup(self, plan: TablePlan) -> tuple[str, ...]:
        """Statements run on each connection that writes rows of ``plan`` (e.g. the memory a
        table this wide needs); none by default."""
        return ()

    def write_path(self, plan: TablePlan, isolated: bool) -> str:
        """The way chunks of ``plan`` would be written, in words (``isolated``: by worker
        processes); building the writer connects to nothing."""
        return self.chunk_writer("staging", plan, isolated).path

    def writer(self) -> WriteMethod:
        """The fastest exact pandas-style writer this database and driver have."""
        return WriteMethod(
            insert_batches_writer(self.parameter_limit), takes_rows=True, label="multi-row INSERT statements"
        )

    # -- publishing ------------------------------------------------------------------------------

    def swap(self, stage: str, target: str, record: Record, carried: Carried = NOTHING) -> None:
        """Rename the staging table ``stage`` to ``target``, which does not exist yet, with the
        ``carried`` indexes (INDEXES, after ``prepare_replace``); the ledger commits with it
        (transactional DDL)."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self.rename_sql(stage, target))
            self.finish_indexes(conn, stage, target, carried)
            record(conn, True, target)

    def rename_sql(self, table: str, new_name: str) -> str:
        return f"ALTER TABLE {self.quote(table)} RENAME TO {self.quote(new_name)}"

    def insert_from(
        self,
        stage: str,
        target: str,
        names: Sequence[str],
        record: Record,
        key: Sequence[str] = (),
        refill: bool = False,
        check: Check | None = None,
        added: Sequence[tuple[str, ColumnType]] = (),
        widened: Sequence[tuple[str, ColumnType]] = (),
    ) -> None:
        """Copy the staging table's rows into the existing target (upserting on ``key`` when
        given; after deleting its rows when ``refill``, once ``check`` passed), record them,
        drop the stage.  The target gains the ``added`` columns and its ``widened`` columns
        their new types first, on the same transaction (ON_NEW_COLUMNS=add, ON_TYPE_CHANGE=widen;
        only where DDL is transactional: the run refuses them elsewhere)."""
        with self.engine.begin() as conn:
            if check is not None:
                check(conn)
            for name, column_type in added:
                column = f"{self.quote(name)} {self.sql_type(column_type)}"
                conn.exec_driver_sql(f"ALTER TABLE {self.quote(target)} ADD COLUMN {column}")
            for statement in self.widen_statements(conn, target, stage, widened) if widened else ():
                conn.exec_driver_sql(statement)
            self.fill(conn, stage, target, names, key, refill)
            record(conn, refill, target)
            if self.features.transactional_ddl:
                conn.exec_driver_sql(f"DROP TABLE {self.quote(stage)}")
        if not self.features.transactional_ddl:
            # A DROP would commit the rows by itself: they are published, so it comes after, and
            # must not fail (or retry) the publish.
            self.drop_after_publish(self.quote(stage))

    def sql_type(self, column_type: ColumnType) -> str:
        """A planned column's type as DDL run by ``exec_driver_sql`` writes it."""
        compiled = self.types.column_type(column_type).compile(dialect=self.dialect)
        return formatted(self.dialect, compiled)

    def alter_type_sql(self, table: str, name: str, column_type: ColumnType) -> str:
        """The statement that gives ``table``'s existing column ``name`` the type of
        ``column_type``, converting its values with the database's own cast (ON_TYPE_CHANGE=widen,
        where ``features.alters_column_types``): the SQL standard's spelling, PostgreSQL's and
        DuckDB's."""
        column = f"{self.quote(name)} TYPE {self.sql_type(column_type)}"
        return f"ALTER TABLE {self.quote(table)} ALTER COLUMN {column}"

    def widen_statements(
        self, conn: Connection, table: str, stage: str, widened: Sequence[tuple[str, ColumnType]]
    ) -> list[str]:
        """The statements that give ``table``'s ``widened`` columns their new types, run on the
        publishing transaction ``conn`` (and shown by the dry run); ``stage``: the run's staging
        table, whose name a table they make for a moment begins with."""
        return [self.alter_type_sql(table, name, column_type) for name, column_type in widened]

    def type_change_blockers(self, table: str, columns: Sequence[str]) -> list[str]:
        """What keeps this database from changing the type of ``table``'s ``columns`` (views,
        indexes, constraints that depend on them), in words; checked before anything loads, so
        that ON_TYPE_CHANGE=widen fails there rather than in its publish.  None known here."""
        return []

    def drop_after_publish(self, quoted: str) -> None:
        """Drop a table the publish left behind; the new rows are live already, so a failure is
        only a warning: the name has the staging prefix, and the next run (or --cleanup) removes it."""
        for attempt in (1, 2):  # a lost connection is retried once, on a new one
            try:
                with self.engine.begin() as conn:
                    conn.exec_driver_sql(f"DROP TABLE {quoted}")
                return
            except sa.exc.DBAPIError as error:
                if attempt == 1 and connection_lost(error):
                    continue
                log.warning("could not drop %s yet: %s", quoted, describe(error))
                return

    def fill(
        self,
        conn: Connection,
        stage: str,
        target: str,
        names: Sequence[str],
        key: Sequence[str],
        refill: bool,
    ) -> None:
        """The rows part of ``insert_from``, on the publishing transaction."""
        if key:
            self.check_merge_keys(conn, stage, target, key)
        if refill:
            conn.exec_driver_sql(f"DELETE FROM {self.quote(target)}")
        upsert = self.upsert_clause(names, key) if key else ""
        conn.exec_driver_sql(self.insert_select(stage, target, names, upsert))

    def insert_select(self, stage: str, target: str, names: Sequence[str], upsert: str) -> str:
        """``INSERT INTO target (...) SELECT ... FROM stage`` with an optional upsert clause."""
        columns = ", ".join(self.quote(n) for n in names)
        return (
            f"INSERT INTO {self.quote(target)} ({columns}) SELECT {columns} FROM {self.quote(stage)}{upsert}"
        )

    def upsert_clause(self, names: Sequence[str], primary_key: Sequence[str]) -> str:
        """The "update the row when the key exists" clause for INSERT ... SELECT (merge)."""
        q = self.quote
        others = [n for n in names if n not in primary_key]
        keys = ", ".join(q(n) for n in primary_key)
        if not others:
            return f" WHERE true ON CONFLICT ({keys}) DO NOTHING"
        updates = ", ".join(f"{q(n)} = excluded.{q(n)}" for n in others)
        # "WHERE true" lets SQLite tell the ON CONFLICT clause from a join constraint.
        return f" WHERE true ON CONFLICT ({keys}) DO UPDATE SET {updates}"

    # -- replace, delete_rows and table identity -------------------------------------------------

    def check_merge_keys(self, conn: Connection, stage: str, target: str, key: Sequence[str]) -> None:
        """Before a merge's upsert: raise SchemaError if the target would take keys that differ
        for one another.  Nothing here: key columns compare bytes unless a user chose otherwise."""

    def has_table(self, conn: Connection, table: str) -> bool:
        """Whether ``table`` exists in the default schema, under any name the database takes for it."""
        return sa.inspect(conn).has_table(table)

    def table_identity(self, conn: Connection, table: str) -> str | None:
        """What tells ``table`` from a table dropped and created again under its name since; it
        must survive the importer's own rename.  None: the database has nothing reliable."""
        return None

    def dependents(self, table: str) -> list[Dependent]:
        """Views and other tables' foreign keys that depend on ``table``, which a replace would
        break.  A database without a module of its own has no known catalog of them."""
        return []

    def exact_keys(self, conn: Connection, table: str, columns: Sequence[sa.Column[Any]]) -> None:
        """Make the existing ``table``'s key ``columns`` compare exactly where an earlier version
        of the importer created them otherwise (the ledger's)."""

    def carried_over(self, table: str, primary_key: Sequence[str] = ()) -> Carried:
        """The old table's indexes a replace builds again, and what else it had that is lost
        (a primary key on ``primary_key`` is not: the new table has its own).

        Generic: plain column indexes as SQLAlchemy reflects them; anything more is lost.
        """
        with self.engine.connect() as conn:
            found = sa.inspect(conn).get_indexes(table)
        indexes, lost = [], [f"any constraints, triggers and grants ({self.name} is not inspected for them)"]
        for index in found:
            columns = index["column_names"]
            if any(c is None for c in columns) or index.get("dialect_options") or index.get("column_sorting"):
                lost.append(f"index {index['name']}")
                continue
            definition = "(" + ", ".join(self.quote(c) for c in columns if c is not None) + ")"
            indexes.append(
                Index(str(index["name"]), bool(index["unique"]), tuple(map(str, columns)), definition)
            )
        return Carried(indexes=tuple(indexes), lost=tuple(lost))

    def index_sql(self, index: Index, table: str, name: str) -> str:
        """``CREATE INDEX`` of ``index`` on ``table`` under ``name``."""
        unique = "UNIQUE " if index.unique else ""
        return f"CREATE {unique}INDEX {self.quote(name)} ON {self.quote(table)} {index.definition}"

    def prepare_replace(self, stage: str, carried: Carried) -> None:
        """Build on the staging table, before the swap, what can be built there.  Nothing here:
        index names are unique per schema (and DuckDB renames no table with an index), so the
        swap's transaction builds them (``finish_indexes``)."""

    def finish_indexes(self, conn: Connection, stage: str, target: str, carried: Carried) -> None:
        """In the publishing transaction, once the staging table is ``target``: give it the
        ``carried`` indexes under their names (built here; where ``prepare_replace`` built
        them, renamed)."""
        for index in carried.indexes:
            conn.exec_driver_sql(self.index_sql(index, target, index.name))

    def replace(
        self, stage: str, target: str, carried: Carried, record: Record, check: Check | None = None
    ) -> None:
        """Drop the old ``target`` (once ``check`` passed), rename the staging table into its
        place and build the old indexes on it, in one transaction with the ledger."""
        with self.engine.begin() as conn:
            if check is not None:
                check(conn)
            conn.exec_driver_sql(f"DROP TABLE {self.quote(target)}")
            conn.exec_driver_sql(self.rename_sql(stage, target))
            self.finish_indexes(conn, stage, target, carried)
            record(conn, True, target)

    def committed_if(self, step: str, stage: str, target: str) -> str | None:
        """What shows that a publish whose connection was lost committed, where its ledger rows
        cannot; None: they commit in the publishing transaction, so they show it.  ``step``:
        ``insert`` (``insert_from``), ``replace`` or ``swap``."""
        return None

    def settle_lost_publish(self, step: str, stage: str, target: str) -> bool | None:
        """On a new connection, where the tables tell it: whether a publish whose connection was
        lost committed (True, and what it retired is dropped) or not (False).  None: only the
        ledger can tell (see ``committed_if``)."""
        return None

    def refresh_statistics(self, table: str) -> None:
        """After a load: have the planner's statistics of ``table`` read again, where the
        database has a command for it.  The generic database has none known."""

    # -- errors ----------------------------------------------------------------------------------

    @classmethod
    def is_transient(cls, error: BaseException) -> bool:
        """Whether the database rolled the failed statement's transaction back by itself, so
        running it again cannot write twice."""
        return False

    @classmethod
    def disk_failure(cls, error: BaseException, url: URL) -> str | None:
        """What went wrong, naming the database file, where ``error`` says that the disk under a
        file on this machine is full or failing (exit 12); None for anything else: a server's
        full disk is its own database error (exit 6), whose message says so."""
        return None

    @classmethod
    def row_too_wide(cls, error: BaseException) -> bool:
        """Whether the database refused to create a table because its rows could grow larger
        than it allows (the planned columns together, not any one of them)."""
        return False

    @classmethod
    def names_clash(cls, error: BaseException) -> bool:
        """Whether the database refused to create a table because it takes two of its column
        names for one, by a rule other than the one it finds columns by (``fold_name``)."""
        return False
