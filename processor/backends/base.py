"""Any database SQLAlchemy reaches: what the pipeline asks of a database, with the defaults.

Every database quirk lives in that database's module (``postgresql.py``, ``mysql.py``,
``sqlite.py``, ``duckdb.py``), which overrides what differs from these defaults, in the manner of
Django's ``db/backends/<vendor>/``.  The pipeline asks its ``Backend`` (types and DDL, identifier
rules, the import lock, publish and swap, the bulk writer, session settings, which errors are
transient) and never tests a database's name.  A database without a module of its own gets this
generic one: multi-row INSERTs, a rename inside one transaction, and no import lock.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from processor.backends.chunk import WriteMethod
from processor.backends.inserts import insert_batches_writer
from processor.backends.locks import LockCheck, always_held
from processor.errors import SchemaError
from processor.kinds import Kind
from processor.schema import TablePlan

log = logging.getLogger(__name__)

#: Writes the ledger rows of a publish on its connection; ``fresh``: the target's old rows are gone.
Record = Callable[[Connection, bool], None]

# Bound parameters one statement may carry, for databases without a module of their own.
PARAMETER_LIMITS = {"mssql": 2099, "oracle": 65535}
DEFAULT_PARAMETER_LIMIT = 999
# Characters a text column of a primary key holds where the database needs a bound to index it.
KEY_CHARACTERS = 255


class Backend:
    """The generic database: standard SQL through SQLAlchemy, no bulk path, no import lock."""

    #: An embedded database that one process writes at a time: the pool's workers parse in
    #: parallel and write in turn.
    single_writer: ClassVar[bool] = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.name = engine.dialect.name
        self.quote = engine.dialect.identifier_preparer.quote

    # -- the engine ------------------------------------------------------------------------------

    @classmethod
    def engine_arguments(cls, url: URL) -> dict[str, Any]:
        """Keyword arguments for ``sqlalchemy.create_engine`` (connect_args, pool class)."""
        return {}

    @classmethod
    def prepare_engine(cls, engine: Engine) -> None:
        """Set up a new engine (event listeners for session settings)."""

    # -- names -----------------------------------------------------------------------------------

    def fold_name(self, name: str) -> str:
        """A column name as the database compares it: two names that fold alike clash."""
        return name

    def fold_table(self, name: str) -> str:
        """A table name as the database compares it: one table, one lock, one ledger."""
        return self.fold_name(name)

    @property
    def name_limit(self) -> int | None:
        """The longest identifier the database accepts, in the unit ``name_length`` counts."""
        return self.dialect.max_identifier_length

    def name_length(self, name: str) -> int:
        return len(name)

    @property
    def max_columns(self) -> int | None:
        """The most columns a table may have, or None where no limit is known."""
        return None

    def check_name(self, name: str, label: str) -> None:
        """Raise SchemaError unless the database can hold ``name`` exactly as written."""
        if "\x00" in name:
            raise SchemaError(f"{label} contains a NUL character")
        limit, length = self.name_limit, self.name_length(name)
        if limit and length > limit:
            raise SchemaError(f"{label} is {length} long; {self.name} allows at most {limit}")

    # -- types -----------------------------------------------------------------------------------

    def column_type(self, kind: Kind, key: bool = False) -> sa.types.TypeEngine:
        """The SQL type a column of ``kind`` is created with (``key``: in a primary key)."""
        if kind is Kind.INTEGER:
            return sa.BigInteger()
        if kind is Kind.FLOAT:
            return sa.Double()
        return self.text_type(KEY_CHARACTERS) if key else sa.Text()

    def text_type(self, characters: int) -> sa.types.TypeEngine:
        """A text type that holds ``characters`` characters and can be part of an index."""
        return sa.Text()

    def table(self, name: str, plan: TablePlan, primary_key: Sequence[str] = ()) -> sa.Table:
        """A SQLAlchemy Table of the plan's columns; only primary-key columns are NOT NULL."""
        columns = [
            sa.Column(
                n,
                self.column_type(k, key=n in primary_key),
                primary_key=n in primary_key,
                autoincrement=False,
                quote=True,
            )
            for n, k in zip(plan.names, plan.kinds, strict=True)
        ]
        return sa.Table(name, sa.MetaData(), *columns, quote=True)

    def kind_of(self, sql_type: sa.types.TypeEngine) -> Kind:
        """The kind that loads into an existing column of ``sql_type`` (append, merge)."""
        if isinstance(sql_type, sa.Integer):
            return Kind.INTEGER
        if isinstance(sql_type, sa.Float | sa.Numeric):
            return Kind.FLOAT
        return Kind.TEXT

    def existing_kinds(self, table: str) -> dict[str, Kind]:
        """The columns of the existing ``table`` and the kind each loads as."""
        with self.engine.connect() as conn:
            columns = sa.inspect(conn).get_columns(table)
        return {c["name"]: self.kind_of(c["type"]) for c in columns}

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
        return PARAMETER_LIMITS.get(self.name, DEFAULT_PARAMETER_LIMIT)

    def writer(self) -> WriteMethod:
        """The fastest exact writer this database and driver have."""
        return WriteMethod(insert_batches_writer(self.parameter_limit), takes_rows=True)

    # -- publishing ------------------------------------------------------------------------------

    def swap(self, stage: str, target: str, drop_first: bool, record: Record) -> None:
        """Rename the staging table ``stage`` to ``target``, dropping the old target first when
        ``drop_first``; the ledger commits with them (transactional DDL)."""
        q = self.quote
        with self.engine.begin() as conn:
            if drop_first:
                conn.exec_driver_sql(f"DROP TABLE {q(target)}")
            conn.exec_driver_sql(f"ALTER TABLE {q(stage)} RENAME TO {q(target)}")
            record(conn, True)

    def insert_from(self, stage: str, target: str, names: Sequence[str], upsert: str, record: Record) -> None:
        """Copy the staging table's rows into the existing target, record them, drop the stage."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self.insert_select(stage, target, names, upsert))
            record(conn, False)
            conn.exec_driver_sql(f"DROP TABLE {self.quote(stage)}")

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

    # -- errors ----------------------------------------------------------------------------------

    @classmethod
    def is_transient(cls, error: BaseException) -> bool:
        """Whether the database rolled the failed statement's transaction back by itself, so
        running it again cannot write twice."""
        return False
