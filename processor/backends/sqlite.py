"""SQLite: Arrow chunks bound in C (ADBC) in worker processes, prepared INSERTs run by
executemany in the run's own process, transactions that include DDL, busy retries.

executemany binds each row from Python objects; ADBC binds the Arrow columns with no Python value
per field, but only in a process that holds no other SQLite library copy (see ``chunk_writer``).
The journal and synchronous settings of the user's database are left alone: a chunk is one
transaction, so the fsyncs of a commit are paid once per CHUNK_SIZE rows, and a crash leaves
the file consistent.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Dialect, Engine

from processor.backends.carry import Carried, Dependent, Index
from processor.backends.chunk import WriteMethod
from processor.backends.embedded import Embedded
from processor.backends.names import formatted, quoted
from processor.backends.typemap import TypeMap
from processor.backends.writers import AdbcWriter, ChunkWriter
from processor.errors import ConfigError, SchemaError, describe, driver_error
from processor.kinds import BINARY, BOOLEAN, DATE, FLOAT, INTEGER, TEXT, TIMESTAMP, ColumnType, Foreign
from processor.records import TablePlan

BUSY_TIMEOUT_MS = 600_000
# Messages of the errors after which SQLite has rolled the statement back.
TRANSIENT = ("database is locked", "database table is locked", "database is busy")
# The name a table is renamed to (and back, by a rollback) to see what refers to it.
PROBE_NAME = "_import_probe_dependents"
# Rows per index an ANALYZE reads: enough for the planner's estimates (sqlite.org suggests
# 100 to 1000), a fixed cost however large the table.
ANALYSIS_LIMIT = 1000
# Text that NUMERIC affinity turns into a number: an integer or real literal, with the spaces
# SQLite skips around it (sqlite.org, "Datatypes In SQLite" 3.0; sqlite3AtoF).  Other text
# ("12abc", "0x10", "inf") stays text as it is.
SPACES = r"[\t\n\x0b\x0c\r ]*"
NUMBER_TEXT = rf"^{SPACES}[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?{SPACES}$"
NUMERIC_TEXT = replace(
    TEXT, forbidden=NUMBER_TEXT, forbidden_what="the spelling of a number (NUMERIC affinity stores a number)"
)
DEPENDENT_KINDS = {"view": "view", "table": "foreign key", "trigger": "trigger", "index": "index"}
TABLE_KEY = "SELECT pk, name FROM pragma_table_info(?) WHERE pk > 0"
# What a replace cannot keep: triggers, foreign keys, defaults, CHECK constraints (only found in
# the CREATE TABLE text).
SQLITE_LOST = """
SELECT 'trigger ' || name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table COLLATE NOCASE
UNION ALL SELECT 'foreign key (' || "from" || ') to table ' || "table" FROM pragma_foreign_key_list(:table)
UNION ALL SELECT 'default of column ' || name FROM pragma_table_info(:table) WHERE dflt_value IS NOT NULL
UNION ALL SELECT 'CHECK constraints' FROM sqlite_master
  WHERE type = 'table' AND name = :table COLLATE NOCASE AND upper(sql) LIKE '%CHECK%(%'
"""


class SQLiteTypeMap(TypeMap):
    """SQLite's types: what an existing column keeps follows the affinity of its declared type."""

    backend: SQLite

    times = False  # no time type: a time of day is its ISO text

    def existing_types(self, table: str) -> dict[str, ColumnType]:
        """What each column keeps exactly, by the affinity SQLite gives its declared type.

        A column of NUMERIC affinity (``DECIMAL(10,2)``, ``NUMERIC``) turns any text that looks
        like a number into one (``00123`` becomes 123, ``1.50`` becomes 1.5), so it loads
        floats, or where its type names no number (``STRING``, ``JSON``) only text that does not
        look like one; TEXT affinity (``VARCHAR(3)`` too: SQLite ignores the length) takes any text.
        A STRICT table's ANY column keeps text as it is; its BLOB column takes no text at all,
        so it is refused before anything loads.
        """
        with self.backend.engine.connect() as conn:
            rows = conn.exec_driver_sql(f"PRAGMA table_info({self.backend.quote(table)})").all()
            strict = _is_strict(conn, table)
        found = {}
        # (cid, name, type, notnull, default, pk)
        for _cid, name, declared, not_null, _default, _pk in rows:
            held = _type_of_strict(declared) if strict else _type_of_declared(declared or "")
            if held is None:
                raise SchemaError(
                    f"table {table!r}: column {name!r} has type {declared} in a STRICT table, which "
                    "takes no text from a file. Nothing was loaded; load the file into a new DEST_TABLE "
                    "(SCHEMA_FILE chooses its types, SRC_COLUMNS picks and renames the file's columns) "
                    "and move the rows with SQL, or change the column's type"
                )
            found[name] = replace(held, nullable=not not_null)
        return found


class SQLite(Embedded):
    """SQLite: names compare case-insensitively for ASCII letters only."""

    features = replace(
        Embedded.features,
        alters_column_types=True,
        max_parameters=32766 if sqlite3.sqlite_version_info >= (3, 32) else 999,
    )
    types_class = SQLiteTypeMap
    # SQLITE_FULL and SQLITE_IOERR, as sqlite3 and ADBC's driver spell them.
    disk_failures = ("database or disk is full", "disk I/O error")

    companion_suffixes = ("-journal", "-wal", "-shm")

    @classmethod
    def _contents(cls, database: Path, empty: str) -> tuple[list[str], int]:
        # mode=rw: never creates the file; BEGIN EXCLUSIVE waits for a writer to finish.
        uri = f"{database.resolve().as_uri()}?mode=rw"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)) as conn:
            conn.execute("BEGIN EXCLUSIVE")
            try:
                names = [
                    name
                    for (name,) in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                        "AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
                    )
                ]
                quoted = '"' + empty.replace('"', '""') + '"'
                rows = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0] if empty in names else 0
            finally:
                conn.execute("ROLLBACK")
        return names, rows

    @classmethod
    def schema_url(cls, url: URL, schema: str) -> URL:
        """Only ``main``: another schema is a database attached by a session, which no URL
        reaches (and the pool's writers open the file itself)."""
        if schema != "main":
            raise ConfigError(
                f"DEST_SCHEMA {schema!r}: a SQLite database has only the schema 'main' here; "
                "name another database file in DEST_SQL instead"
            )
        return url

    @classmethod
    def prepare_engine(cls, engine: Engine) -> None:
        """Let SQLAlchemy, not the sqlite3 module, begin transactions, so DDL is inside them too.

        Python's sqlite3 module commits before DDL on its own, which would split a table swap in
        two; this is SQLAlchemy's documented recipe for pysqlite.  A busy file is waited for
        instead of failing with "database is locked".
        """

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

        @event.listens_for(engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    def chunk_writer(self, staging: str, plan: TablePlan, isolated: bool = False) -> ChunkWriter:
        """SQLite's ADBC driver binds the Arrow chunk in C: no Python value per field.

        Only in an isolated worker process: the driver brings its own copy of SQLite, and two
        copies in one process break each other's POSIX locks on the same file, which can corrupt
        it (sqlite.org, "How To Corrupt An SQLite Database File", 2.2.1).  The run's own process
        uses Python's sqlite3 module for everything.
        """
        database = self.engine.url.database
        if not isolated or database in (None, "", ":memory:"):
            return super().chunk_writer(staging, plan, isolated)
        connect = functools.partial(_connect_adbc, database)
        path = "bulk ingest from Arrow (ADBC SQLite driver)"
        return AdbcWriter(database, connect, staging, self.quote, keep=self.keeps_connections, path=path)

    @property
    def max_columns(self) -> int | None:
        """This library's limit (SQLITE_MAX_COLUMN, 2000 unless it was compiled otherwise)."""
        if self.dialect.driver != "pysqlite":
            return super().max_columns
        with self.engine.connect() as conn:
            sqlite = conn.connection.dbapi_connection
            assert sqlite is not None  # a checked-out connection holds its DBAPI connection
            return int(sqlite.getlimit(sqlite3.SQLITE_LIMIT_COLUMN))

    def writer(self) -> WriteMethod:
        if self.dialect.driver == "pysqlite":
            return WriteMethod(insert_many, takes_rows=True, label="executemany INSERT (Python sqlite3)")
        return super().writer()

    def refresh_statistics(self, table: str) -> None:
        """ANALYZE reading at most ANALYSIS_LIMIT rows per index (``PRAGMA analysis_limit``, as
        sqlite.org's "ANALYZE" advises), and only a table with indexes: SQLite's statistics are
        per index, and of a table without any it would only count the rows, reading it all."""
        with self.engine.begin() as conn:
            if not conn.exec_driver_sql("SELECT 1 FROM pragma_index_list(?)", (table,)).first():
                return
            conn.exec_driver_sql(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
            conn.exec_driver_sql(f"ANALYZE {self.quote(table)}")

    # -- replace, delete_rows and table identity -------------------------------------------------
    # SQLite has no table identity to offer: the root page is reused by a DROP and CREATE.

    def dependents(self, table: str) -> list[Dependent]:
        """SQLite keeps no catalog of dependencies, but its own ALTER TABLE RENAME rewrites every
        view, trigger and foreign key that names the table (and fails where the swap's would):
        a rename rolled back at once shows exactly those, through SQLite's own parser."""
        schema = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        with self.engine.connect() as conn, conn.begin() as transaction:
            before = {(kind, name): (owner, sql) for kind, name, owner, sql in conn.exec_driver_sql(schema)}
            try:
                conn.exec_driver_sql(self.rename_sql(table, PROBE_NAME))
            except sa.exc.DBAPIError as error:
                return [Dependent("schema object", f"that blocks renaming it ({describe(error)})")]
            after = {(kind, name): sql for kind, name, _owner, sql in conn.exec_driver_sql(schema)}
            transaction.rollback()
        return [
            Dependent(DEPENDENT_KINDS[kind], name if kind == "view" else f"{name} of table {owner}")
            for (kind, name), (owner, sql) in before.items()
            if after.get((kind, name), sql) != sql and self.fold_table(owner) != self.fold_table(table)
        ]

    def carried_over(self, table: str, primary_key: Sequence[str] = ()) -> Carried:
        """Indexes from ``PRAGMA index_list``/``index_xinfo`` with their order and collation;
        expression and partial indexes, constraints, triggers and defaults are named as lost."""
        lost: list[str] = []
        indexes = []
        with self.engine.connect() as conn:
            listed = conn.exec_driver_sql(
                'SELECT name, "unique", origin, partial FROM pragma_index_list(?)', (table,)
            ).all()
            for name, unique, origin, partial in listed:
                keys = conn.exec_driver_sql(
                    'SELECT cid, name, "desc", coll FROM pragma_index_xinfo(?) WHERE key = 1', (name,)
                ).all()
                columns = tuple(str(k[1]) for k in keys if k[0] >= 0)
                if origin == "u":
                    lost.append(f"unique constraint ({', '.join(columns)})")
                elif origin == "c" and not partial and all(k[0] >= 0 for k in keys):
                    indexes.append(Index(name, bool(unique), columns, self._key_definition(keys)))
                elif origin == "c":
                    lost.append(f"{'partial' if partial else 'expression'} index {name}")
            key = [n for _pk, n in sorted(conn.exec_driver_sql(TABLE_KEY, (table,)).all())]
            if key and sorted(key) != sorted(primary_key):
                lost.append(f"primary key ({', '.join(key)})")
            lost += [str(what) for (what,) in conn.exec_driver_sql(SQLITE_LOST, {"table": table})]
        return Carried(indexes=tuple(indexes), lost=tuple(lost))

    # -- ON_TYPE_CHANGE=widen -------------------------------------------------------------------

    def widen_statements(
        self, conn: sa.Connection, table: str, stage: str, widened: Sequence[tuple[str, ColumnType]]
    ) -> list[str]:
        """SQLite has no ALTER COLUMN ... TYPE: the table is built again in the publishing
        transaction (sqlite.org, "ALTER TABLE", 7: other kinds of schema changes): a copy with
        the wider declared types (the other columns' as declared, NOT NULL and the primary key
        kept), the rows copied in their order (an integer into a TEXT column becomes its own
        digits), the old table dropped, the copy renamed, its indexes built again.
        ``type_change_blockers`` refused beforehand what such a copy would not give back."""
        if not widened:
            return []
        q = self.quote
        new_types = {self.fold_name(n): t for n, t in widened}
        rows = conn.exec_driver_sql(
            'SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid', (table,)
        ).all()
        columns, key = [], []
        for name, declared, not_null, pk in rows:
            wider = new_types.get(self.fold_name(name))
            sql_type = formatted(self.dialect, declared) if wider is None else self.sql_type(wider)
            parts = (q(name), sql_type, "NOT NULL" if not_null else "")
            columns.append(" ".join(part for part in parts if part))
            if pk:
                key.append((pk, name))
        if key:
            columns.append(f"PRIMARY KEY ({', '.join(q(n) for _, n in sorted(key))})")
        copy = f"{stage}_widened"  # a staging name: a crash's leftover is dropped as one
        names = ", ".join(q(name) for name, *_ in rows)
        indexes = self._plain_indexes(conn, table)
        return [
            f"CREATE TABLE {q(copy)} ({', '.join(columns)})",
            f"INSERT INTO {q(copy)} ({names}) SELECT {names} FROM {q(table)} ORDER BY rowid",
            f"DROP TABLE {q(table)}",
            self.rename_sql(copy, table),
            *(self.index_sql(index, table, index.name) for index in indexes),
        ]

    def _plain_indexes(self, conn: sa.Connection, table: str) -> list[Index]:
        """The table's indexes on plain columns, as ``carried_over`` reads them (on ``conn``)."""
        found = []
        for name, unique in conn.exec_driver_sql(
            "SELECT name, \"unique\" FROM pragma_index_list(?) WHERE origin = 'c' AND NOT partial", (table,)
        ).all():
            keys = conn.exec_driver_sql(
                'SELECT cid, name, "desc", coll FROM pragma_index_xinfo(?) WHERE key = 1', (name,)
            ).all()
            definition = self._key_definition(keys)
            found.append(Index(name, bool(unique), tuple(str(k[1]) for k in keys), definition))
        return found

    def _key_definition(self, keys: Sequence[Any]) -> str:
        """An index's key columns (``pragma_index_xinfo``'s cid, name, desc, coll) as CREATE INDEX
        writes them, with their order and collation."""
        q = self.quote
        columns = [
            q(k[1]) + (f" COLLATE {q(k[3])}" if k[3] != "BINARY" else "") + (" DESC" if k[2] else "")
            for k in keys
        ]
        return f"({', '.join(columns)})"

    def type_change_blockers(self, table: str, columns: Sequence[str]) -> list[str]:
        """What the rebuild of ``widen_statements`` would not give back, or what would stop it:
        anything ``carried_over`` names as lost (triggers, foreign keys, defaults, CHECK and
        UNIQUE constraints, expression and partial indexes), what refers to the table
        (``dependents``: views, other tables' foreign keys and triggers), and a STRICT table,
        WITHOUT ROWID, AUTOINCREMENT, a column's COLLATE and generated columns, which
        ``PRAGMA table_info`` does not show."""
        with self.engine.connect() as conn:
            key = [n for _pk, n in sorted(conn.exec_driver_sql(TABLE_KEY, (table,)).all())]
            created = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", (table,)
            ).scalar_one()
            hidden = conn.exec_driver_sql(
                "SELECT count(*) FROM pragma_table_xinfo(?) WHERE hidden <> 0", (table,)
            ).scalar_one()
            strict = _is_strict(conn, table)
        found = list(self.carried_over(table, key).lost)
        found += [f"{d.kind} {d.name}" for d in self.dependents(table)]
        words = str(created).upper()
        found += ["a STRICT table"] if strict else []
        found += [what for what in ("WITHOUT ROWID", "AUTOINCREMENT", "COLLATE") if what in words]
        found += ["generated columns"] if hidden else []
        return found

    @classmethod
    def is_transient(cls, error: BaseException) -> bool:
        return any(text in str(driver_error(error)).lower() for text in TRANSIENT)


def _connect_adbc(database: str) -> Any:
    """An ADBC connection (the driver imported on first use, see ``writers.adbc_dbapi``)."""
    import adbc_driver_sqlite.dbapi

    connection = adbc_driver_sqlite.dbapi.connect(database)
    with contextlib.closing(connection.cursor()) as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def _is_strict(conn: sa.Connection, table: str) -> bool:
    """Whether ``table`` is STRICT (``pragma_table_list``: SQLite 3.37, as STRICT tables are)."""
    try:
        found = conn.exec_driver_sql("SELECT strict FROM pragma_table_list(?)", (table,)).scalar()
    except sa.exc.OperationalError:  # an older SQLite, which has no STRICT tables
        return False
    return bool(found)


def _type_of_strict(declared: str) -> ColumnType | None:
    """A STRICT table's column (INT, INTEGER, REAL, TEXT, BLOB or ANY), which stores a value of
    another type only as its affinity converts it, and otherwise fails the INSERT: ANY keeps
    text as it is, BLOB takes none (None)."""
    name = declared.upper()
    if name == "BLOB":
        return None
    return TEXT if name == "ANY" else _type_of_declared(name)


# A column of BLOB affinity (``BLOB``, or no declared type): text stays text, a typed file's
# bytes stay bytes (not their text, as in a TEXT column).
BLOB_AFFINITY = replace(
    TEXT, foreign=Foreign("BLOB", "text, or a typed file's bytes (BLOB affinity)", typed=BINARY)
)


def _type_of_declared(declared: str) -> ColumnType:
    """SQLite's affinity rules (in their order) for a declared column type."""
    name = declared.upper()
    if "INT" in name:
        return INTEGER
    if any(word in name for word in ("CHAR", "CLOB", "TEXT")):
        return TEXT
    if name == "" or "BLOB" in name:  # BLOB affinity keeps text as text, and bytes as bytes
        return BLOB_AFFINITY
    if any(word in name for word in ("REAL", "FLOA", "DOUB")):
        return FLOAT
    # NUMERIC affinity: ISO dates and timestamps are no numbers and stay text; booleans are 0/1.
    if "BOOL" in name:
        return BOOLEAN
    if "TIMESTAMP" in name or "DATETIME" in name:  # text: a fraction's digits stay as written
        return replace(TIMESTAMP, fraction=6)
    if "DATE" in name:
        return DATE
    if "NUM" in name or "DEC" in name:  # NUMERIC, DECIMAL(10,2), NUMBER: numbers, as doubles
        return FLOAT
    return NUMERIC_TEXT  # STRING, JSON, UUID, TIME, ANY, ...: text that stays text


def insert_many(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Insert the chunk's rows (``data_iter``) with one prepared INSERT executed for every row."""
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(_insert_sql(conn.dialect, pd_table.name, tuple(keys)), data_iter)
        return cursor.rowcount
    finally:
        cursor.close()


@functools.lru_cache(maxsize=16)
def _insert_sql(dialect: Dialect, table: str, keys: tuple[str, ...]) -> str:
    columns = ", ".join(quoted(dialect, k) for k in keys)
    placeholders = ", ".join("?" for _ in keys)
    head = formatted(dialect, f"INSERT INTO {quoted(dialect, table)} ({columns})")
    return f"{head} VALUES ({placeholders})"
