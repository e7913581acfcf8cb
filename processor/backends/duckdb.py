"""DuckDB: INSERT ... SELECT from the Arrow chunk, which DuckDB scans in place (no per-row Python)."""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Dialect, Engine

from processor.backends.carry import Carried, Dependent, Index
from processor.backends.chunk import WriteMethod, arrow_or_stream_of
from processor.backends.duckdb_types import GENERATED, refused
from processor.backends.duckdb_types import column_type as duckdb_column_type
from processor.backends.embedded import ASCII_UPPER, Embedded
from processor.backends.freed_memory import give_back_freed_memory
from processor.backends.names import NamedType, quoted
from processor.backends.typemap import TypeMap
from processor.backends.writers import HeldWriter
from processor.kinds import INT64_MAX, ColumnType, Kind, bounded_decimal
from processor.records import TablePlan

# DECIMAL holds 38 digits; 18 fit in 8 bytes.
DECIMAL_DIGITS, DECIMAL_ROOM = 38, 18

#: The memory DuckDB's buffer manager may use in each process of the run (its default is 80% of
#: the machine's): what a load holds beyond it (the row group being filled, the Arrow chunk) is
#: written to its temporary folder.  ``?memory_limit=`` (or ``threads=``) in DEST_SQL overrides it.
MEMORY_LIMIT = "100MB"
#: A writer's memory: a base and about a megabyte for each column of the table (a row group's
#: blocks of every column are built at once; 94 columns loaded at 40 MB, 600 needed over 300).
WRITING_BASE_MB, MEGABYTES_PER_COLUMN = 32, 1
#: DuckDB's threads in each process: the run's writer appends one chunk at a time while the
#: workers parse, so more would only compete with them for the cores (and take more memory).
THREADS = 1
#: The one writer appends the whole load in one transaction: DuckDB then writes each full row
#: group straight to the file, compressed once, as its own bulk load does, and logs almost
#: nothing.  Committing every 5,000-row chunk costs about three times the CPU (each commit logs
#: its rows, each checkpoint compresses the last row group again), and committing every row
#: group's worth leaves row groups that the checkpoint after the publish's RENAME rewrites
#: (12 s of 400,000 EPC rows).  A failed load is dropped whole anyway.
ROWS_PER_COMMIT: int | None = None


def _committing_memory(columns: int, rows_bytes: int) -> tuple[str, ...]:
    """The writer's memory raised by the bytes of the rows its transaction holds, for the commit.

    DuckDB writes a row group to the file as soon as it is full; a load smaller than one
    (122,880 rows) stays in its memory until the commit, which must then hold it: 2,000 rows of
    47 texts of 1,100 characters (100 MB) failed to commit at the writer's 126 MB.  The commit
    takes what it needs; a larger load's commit holds one partial row group at most.
    """
    megabytes = writing_memory(columns) + -(-rows_bytes // 2**20)
    return (f"SET memory_limit = '{megabytes}MB'",)


def _folded(column: str) -> str:
    """A catalog's name column folded in SQL as ``fold_name`` folds a name (ASCII letters only:
    DuckDB's ``lower`` would fold "É" too, a table of its own)."""
    return f"translate({column}, '{ASCII_UPPER}', '{ASCII_UPPER.lower()}')"


FOLDED_TABLE = _folded("table_name")


# Planned columns DuckDB holds in types of its own: the Arrow scan reads binary, time64[us] and
# month_day_nano_interval into them as they are (an interval's nanoseconds, whole microseconds).
DUCKDB_NAMES = {Kind.BINARY: "BLOB", Kind.TIME: "TIME", Kind.INTERVAL: "INTERVAL"}


class DuckDBTypeMap(TypeMap):
    """DuckDB's types: bounded DECIMALs, UBIGINT for an existing unsigned column; an existing
    column's type as ``duckdb_columns()`` writes it (``duckdb_types``)."""

    backend: DuckDB

    zoned_timestamps = True  # TIMESTAMPTZ: the instant
    intervals = True  # INTERVAL: months, days and microseconds, each signed

    def decimal_type(self, whole_digits: int, scale: int) -> ColumnType | None:
        if whole_digits + scale > DECIMAL_DIGITS:
            return None
        # Room for wider numbers than the sample's, up to the 18 digits stored in 8 bytes.
        return bounded_decimal(min(DECIMAL_DIGITS, max(DECIMAL_ROOM, whole_digits + scale)), scale)

    def column_type(self, column: ColumnType, key: bool = False) -> sa.types.TypeEngine:
        if column.foreign is not None:  # an existing column's type: the staging column has it too
            return NamedType(column.foreign.sql)
        if column.kind is Kind.INTEGER and column.high > INT64_MAX:  # an existing UBIGINT's, UHUGEINT's
            return NamedType("UBIGINT")
        if column.kind in DUCKDB_NAMES:  # its own names (the PostgreSQL dialect writes BYTEA, ...)
            return NamedType(DUCKDB_NAMES[column.kind])
        return super().column_type(column, key)

    def existing_types(self, table: str) -> dict[str, ColumnType]:
        """Each column's type as ``duckdb_columns()`` writes it (``duckdb_types``): what it holds
        exactly; a type whose values cannot be checked is a SchemaError before anything loads.
        (duckdb_engine's reflection runs PostgreSQL's catalog queries, which DuckDB lacks.)"""
        query = (
            "SELECT column_name, data_type, NOT is_nullable, is_generated FROM duckdb_columns() "
            f"WHERE {FOLDED_TABLE} = ? AND schema_name = current_schema() "
            "AND database_name = current_database() ORDER BY column_index"
        )
        found = {}
        with self.backend.engine.connect() as conn:
            rows = conn.exec_driver_sql(query, (self.backend.fold_table(table),)).all()
            for column, data_type, not_null, generated in rows:
                members = functools.partial(_enum_members, conn, data_type)
                held = GENERATED if generated else duckdb_column_type(data_type, members)
                if isinstance(held, str):
                    raise refused(table, column, data_type, held)
                found[column] = replace(held, nullable=not not_null)
        return found


class DuckDB(Embedded):
    """DuckDB: names ignore case and have no length limit (duckdb_engine reports PostgreSQL's 63,
    borrowed with its dialect)."""

    name_limit = None
    features = replace(Embedded.features, alters_column_types=True, one_writer=True)
    types_class = DuckDBTypeMap

    companion_suffixes = (".wal",)

    @classmethod
    def _contents(cls, database: Path, empty: str) -> tuple[list[str], int]:
        import duckdb  # the driver, as duckdb_engine imports it

        # A file another process has open is locked: connecting fails, and the file is kept.
        with contextlib.closing(duckdb.connect(str(database))) as conn:
            found = conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
            names = [name for (name,) in found]
            quoted = '"' + empty.replace('"', '""') + '"'
            rows = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone() if empty in names else None
        return names, rows[0] if rows else 0

    @classmethod
    def engine_arguments(cls, url: URL) -> dict[str, Any]:
        """DuckDB's memory and threads bounded (``MEMORY_LIMIT``, ``THREADS``), unless DEST_SQL's
        query sets them (duckdb_engine applies its query over these)."""
        return super().engine_arguments(url) | {"connect_args": {"config": _config()}}

    @classmethod
    def read_only(cls, url: URL) -> tuple[URL, dict[str, Any]]:
        """An existing file is opened read-only: DuckDB then refuses any write."""
        url, arguments = super().read_only(url)
        if url.database not in (None, "", ":memory:"):
            arguments["connect_args"] = {"read_only": True, "config": _config()}
        return url, arguments

    @classmethod
    def schema_url(cls, url: URL, schema: str) -> URL:
        return url

    @classmethod
    def use_schema(cls, engine: Engine, schema: str) -> None:
        """DuckDB's ``schema`` setting: the default for every name (an unknown schema fails here)."""
        literal = schema.replace("'", "''")

        @event.listens_for(engine, "connect", insert=True)
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"SET schema = '{literal}'")

    def writer(self) -> WriteMethod:
        return WriteMethod(
            insert_arrow, takes_rows=False, label="INSERT ... SELECT from the Arrow chunk", streams=True
        )

    def held_writer(self, staging: str, plan: TablePlan, key: Sequence[str] = ()) -> HeldWriter:
        """The load's chunks in one transaction (``ROWS_PER_COMMIT``); each alone under a
        PRIMARY_KEY, so that a refused chunk's key is looked for in what was committed."""
        rows = 0 if key else ROWS_PER_COMMIT
        setup = self.writing_setup(plan)
        commit_setup = functools.partial(_committing_memory, len(plan.names)) if setup else None
        give_back_freed_memory()  # this process appends every chunk (``freed_memory``)
        return HeldWriter(
            self.engine, self.writer(), staging, plan.names, rows, setup=setup, commit_setup=commit_setup
        )

    def writing_setup(self, plan: TablePlan) -> tuple[str, ...]:
        """A writer's memory follows the table's width (``writing_memory``), unless DEST_SQL's
        query sets ``memory_limit``: DuckDB builds a row group of every column at once, and fails
        (Out of Memory) rather than spill them."""
        if "memory_limit" in self.engine.url.query:
            return ()
        return (f"SET memory_limit = '{writing_memory(len(plan.names))}MB'",)

    # -- replace, delete_rows and table identity -------------------------------------------------
    # DuckDB has no table identity to offer: its oids are given anew each time a file is opened.

    def has_table(self, conn: Connection, table: str) -> bool:
        # duckdb_engine's has_table compares names case-sensitively; DuckDB does not.
        query = (
            "SELECT count(*) FROM duckdb_tables() "
            f"WHERE schema_name = current_schema() AND {FOLDED_TABLE} = ?"
        )
        return bool(conn.exec_driver_sql(query, (self.fold_table(table),)).scalar())

    def dependents(self, table: str) -> list[Dependent]:
        """Foreign keys from duckdb_constraints(); views, which DuckDB binds by name and does not
        track, by binding each one (``get_table_names`` expands a view to the tables it reads)."""
        folded = self.fold_table(table)
        with self.engine.connect() as conn:
            keys = conn.exec_driver_sql(
                "SELECT constraint_name, table_name FROM duckdb_constraints() "
                f"WHERE constraint_type = 'FOREIGN KEY' AND {_folded('referenced_table')} = ? "
                f"AND {FOLDED_TABLE} <> ?",
                (folded, folded),
            ).all()
            views = conn.exec_driver_sql(
                "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1, 2"
            ).all()
            duck = conn.connection.dbapi_connection
            assert duck is not None  # a checked-out connection holds its DBAPI connection
            found = [Dependent("foreign key", f"{name} of table {child}") for name, child in keys]
            for schema, view in views:
                try:
                    read = duck.get_table_names(f"SELECT * FROM {self.quote(schema)}.{self.quote(view)}")
                except self.dialect.loaded_dbapi.Error:
                    continue  # a view that no longer binds depends on nothing that exists
                if folded in {self.fold_table(name) for name in read}:
                    found.append(Dependent("view", f"{schema}.{view}"))
        return found

    def carried_over(self, table: str, primary_key: Sequence[str] = ()) -> Carried:
        """Indexes from duckdb_indexes(), their key expressions parsed by DuckDB itself; its
        constraints, comments and defaults are named as lost."""
        folded = self.fold_table(table)
        lost = []
        indexes = []
        with self.engine.connect() as conn:
            for name, unique, sql in conn.exec_driver_sql(
                "SELECT index_name, is_unique, sql FROM duckdb_indexes() "
                f"WHERE {FOLDED_TABLE} = ? ORDER BY 1",
                (folded,),
            ).all():
                index = self._index(conn, name, unique, sql or "")
                if index is None:
                    lost.append(f"index {name} ({sql})")
                else:
                    indexes.append(index)
            for kind, columns in conn.exec_driver_sql(DUCKDB_CONSTRAINTS, (folded,)).all():
                # The new table has the key of PRIMARY_KEY, and its columns are NOT NULL.
                if kind == "PRIMARY KEY" and sorted(columns) == sorted(primary_key):
                    continue
                if kind == "NOT NULL" and set(columns) <= set(primary_key):
                    continue
                lost.append(f"{kind} constraint ({', '.join(columns)})")
            lost += [str(what) for (what,) in conn.exec_driver_sql(DUCKDB_LOST, (folded, folded, folded))]
        return Carried(indexes=tuple(indexes), lost=tuple(lost))

    def type_change_blockers(self, table: str, columns: Sequence[str]) -> list[str]:
        """DuckDB changes no type of a column in a PRIMARY KEY or UNIQUE constraint, nor of one an
        index depends on (an index on an expression is taken to depend on every column)."""
        folded = self.fold_table(table)
        wanted = {self.fold_name(c): c for c in columns}
        found = []
        with self.engine.connect() as conn:
            for kind, names in conn.exec_driver_sql(DUCKDB_KEYS, (folded,)).all():
                hit = [wanted[self.fold_name(n)] for n in names if self.fold_name(n) in wanted]
                found += [f"its {kind} constraint (on {', '.join(map(repr, hit))})"] if hit else []
            for name, unique, sql in conn.exec_driver_sql(DUCKDB_INDEXES, (folded,)).all():
                index = self._index(conn, name, unique, sql or "")
                keys = wanted.values() if index is None else index.columns
                on = [c for c in keys if self.fold_name(c) in wanted]
                found += [f"index {name} (on {', '.join(map(repr, on))})"] if on else []
        return found

    def _index(self, conn: Connection, name: str, unique: bool, sql: str) -> Index | None:
        """The index DuckDB's ``CREATE INDEX`` text describes, if it is one on plain columns."""
        match = re.fullmatch(r"CREATE (?:UNIQUE )?INDEX .*? ON .*?\((.*)\);?", sql, re.DOTALL)
        if match is None:
            return None
        keys = match.group(1)
        parsed = json.loads(
            conn.exec_driver_sql("SELECT json_serialize_sql(?)::VARCHAR", (f"SELECT {keys}",)).scalar_one()
        )
        if parsed.get("error"):
            return None
        selected = parsed["statements"][0]["node"]["select_list"]
        if any(item["class"] != "COLUMN_REF" or len(item["column_names"]) != 1 for item in selected):
            return None
        return Index(name, unique, tuple(item["column_names"][0] for item in selected), f"({keys})")


def writing_memory(columns: int) -> int:
    """The megabytes DuckDB's buffer manager may use while appending rows of ``columns`` columns:
    ``MEMORY_LIMIT``, or ``MEGABYTES_PER_COLUMN`` for each beyond the base where a wide table
    needs more (600 columns failed at 300 MB and loaded at 600)."""
    return max(int(MEMORY_LIMIT.removesuffix("MB")), WRITING_BASE_MB + MEGABYTES_PER_COLUMN * columns)


def _config() -> dict[str, Any]:
    return {"memory_limit": MEMORY_LIMIT, "threads": THREADS}


def insert_arrow(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Insert the chunk (or a stream of chunks) with one statement that reads the Arrow data
    directly."""
    # DuckDB resolves an unknown table name to the Python variable of that name in the calling
    # frame (a "replacement scan").  register() would do the same, but DuckDB refuses it while
    # pandas' table-exists query, run through duckdb_engine, still holds an open result.
    _import_chunk = arrow_or_stream_of(pd_table)  # read by name in the SQL below
    duck = conn.connection.dbapi_connection
    (count,) = duck.execute(_insert_sql(conn.dialect, pd_table.name, tuple(keys))).fetchone()
    return count


@functools.lru_cache(maxsize=16)
def _insert_sql(dialect: Dialect, table: str, keys: tuple[str, ...]) -> str:
    # Run without parameters: names quoted as the server reads them.
    columns = ", ".join(quoted(dialect, k) for k in keys)
    return f'INSERT INTO {quoted(dialect, table)} ({columns}) SELECT * FROM "_import_chunk"'


DUCKDB_CONSTRAINTS = f"""
SELECT constraint_type, constraint_column_names FROM duckdb_constraints()
WHERE {FOLDED_TABLE} = ?
  AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'CHECK', 'FOREIGN KEY', 'NOT NULL')
"""
DUCKDB_INDEXES = f"""
SELECT index_name, is_unique, sql FROM duckdb_indexes() WHERE {FOLDED_TABLE} = ? ORDER BY 1
"""
DUCKDB_KEYS = f"""
SELECT constraint_type, constraint_column_names FROM duckdb_constraints()
WHERE {FOLDED_TABLE} = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')
"""
DUCKDB_LOST = f"""
SELECT 'comment on the table' FROM duckdb_tables() WHERE {FOLDED_TABLE} = ? AND comment IS NOT NULL
UNION ALL SELECT 'comment on column ' || column_name FROM duckdb_columns()
  WHERE {FOLDED_TABLE} = ? AND comment IS NOT NULL
UNION ALL SELECT 'default of column ' || column_name FROM duckdb_columns()
  WHERE {FOLDED_TABLE} = ? AND column_default IS NOT NULL
"""


def _enum_members(conn: Connection, data_type: str) -> tuple[str, ...]:
    """The members of an ENUM, as DuckDB lists them for its own spelling of the type."""
    return tuple(conn.exec_driver_sql(f"SELECT enum_range(NULL::{data_type})").scalar_one())
