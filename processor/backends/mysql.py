"""MySQL and MariaDB: LOAD DATA LOCAL INFILE, GET_LOCK, and a publish without transactional DDL.

LOAD DATA reads a CSV file that Arrow writes.  The CSV quotes every string and writes NULL as an
unquoted ``NULL``, which LOAD DATA reads as NULL while the quoted text ``"NULL"`` stays text.
``ESCAPED BY ''`` makes backslashes ordinary characters, so ``\\N`` and ``C:\\path`` stay text
too.  With LOCAL the server cannot stop the client mid-file, so it turns data errors into
warnings; any warning, or a row count that differs, fails the chunk instead of leaving changed
values in the table.  Where the server refuses ``local_infile``, multi-row INSERTs sized to its
``max_allowed_packet`` take over.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL, Connection, Dialect, Engine

from processor.backends.base import Backend, Check, Record
from processor.backends.carry import NOTHING, Carried, Dependent, Index
from processor.backends.chunk import WriteMethod, arrow_of, python_rows
from processor.backends.features import Features
from processor.backends.inserts import insert_rows
from processor.backends.locks import LockCheck, busy, lock_key, release, session_check
from processor.backends.mysql_types import CatalogColumn, existing_type, refused_type
from processor.backends.names import quoted
from processor.backends.typemap import TypeMap
from processor.counts import counted
from processor.errors import DatabaseError, SchemaError, SideOutputError, describe, driver_error
from processor.kinds import INT64_MAX, ColumnType, Kind, bounded_decimal, is_bytes_type

log = logging.getLogger(__name__)

CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed", null_string="NULL")
# Room per row for quotes, separators and escaping in an INSERT's text, beyond the data itself.
INSERT_BYTES_PER_VALUE = 4
PARAMETER_LIMIT = 65535
# Error numbers after which the server has rolled back: lock wait timeout, deadlock.
TRANSIENT = {1205, 1213}
# ER_TOO_BIG_ROWSIZE: InnoDB keeps about 20 bytes per text column in a row of at most 8,126, so
# a table of more than about 380 text columns cannot be created.
ROW_TOO_WIDE = 1118
# ER_DUP_FIELDNAME: CREATE TABLE names one column twice.
DUPLICATE_COLUMN = 1060
# Collations that compare bytes with no padding, best first (MariaDB, MySQL 8), else PAD SPACE bytes.
EXACT_COLLATIONS = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin")
# Table and column names hold 64 characters (the dialect reports 255, an alias limit).
NAME_CHARACTERS = 64
# The session's settings, whatever the server's or the URL's (an init_command): strict, so that
# a value that does not fit is an error, never a truncated or zeroed one; 0 stored as 0 in an
# AUTO_INCREMENT column; backslashes and double quotes as the importer's SQL means them (no
# NO_BACKSLASH_ESCAPES, no ANSI_QUOTES); CHAR read back as stored (no PAD_CHAR_TO_FULL_LENGTH);
# and TIMESTAMP columns given UTC, which has no hour skipped or repeated.
SESSION = (
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', "
    "time_zone = '+00:00'"
)
# DECIMAL holds 65 digits, 30 of them after the point.
DECIMAL_DIGITS, DECIMAL_SCALE, DECIMAL_ROOM = 65, 30, 18
CATALOG_COLUMNS = (
    "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, CHARACTER_MAXIMUM_LENGTH, "
    "CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, IS_NULLABLE, EXTRA "
    "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
    "ORDER BY ORDINAL_POSITION"
)
CHARSET_MAXLEN = "SELECT MAXLEN FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = %s"
JSON_CHECKS = (
    "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
    "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = %s AND LEVEL = 'Column'"
)
# InnoDB tables hold at most 1017 columns (MySQL's own limit, 4096, is higher).
MAX_COLUMNS = 1017


class MySQLTypeMap(TypeMap):
    """MySQL's and MariaDB's types: LONGTEXT for text, bounded DECIMALs, key text in a collation
    that compares bytes; an existing column's type from the catalog's words (``mysql_types``)."""

    backend: MySQL
    dialect: mysql.base.MySQLDialect

    def column_type(self, column: ColumnType, key: bool = False) -> sa.types.TypeEngine:
        if column.kind is Kind.TEXT and not key:
            return mysql.LONGTEXT()  # any field a CSV file can hold (TEXT holds only 64 KiB)
        if column.kind is Kind.INTEGER and column.high > INT64_MAX:  # an existing BIGINT UNSIGNED's
            return mysql.BIGINT(unsigned=True)
        if column.kind is Kind.TIMESTAMP and column.fraction:  # a typed file's: DATETIME(6) keeps them
            return mysql.DATETIME(fsp=column.fraction)
        if column.kind is Kind.BINARY:
            if key and column.max_bytes is not None:  # an existing key column's: indexable
                return mysql.VARBINARY(column.max_bytes)
            return mysql.LONGBLOB()  # BLOB holds only 64 KiB
        if column.kind is Kind.TIME:  # a time of day; TIME(6) keeps microseconds
            return mysql.TIME(fsp=column.fraction)
        return super().column_type(column, key)

    def decimal_type(self, whole_digits: int, scale: int) -> ColumnType | None:
        if scale > DECIMAL_SCALE or whole_digits + scale > DECIMAL_DIGITS:
            return None
        # Room for wider numbers than the sample's, up to the 18 digits that 8 bytes store.
        return bounded_decimal(min(DECIMAL_DIGITS, max(DECIMAL_ROOM, whole_digits + scale)), scale)

    def existing_types(self, table: str) -> dict[str, ColumnType]:
        """What each column of the existing ``table`` holds, from the catalog's own words for its
        type (``mysql_types.py``); a type no rule there checks is refused before anything loads."""
        with self.backend.engine.connect() as conn:
            rows = conn.exec_driver_sql(CATALOG_COLUMNS, (table,))
            columns = [CatalogColumn(*row[1:]) for row in rows if self.backend._same_table(row[0], table)]
            json_columns = set()
            if self.dialect.is_mariadb:  # its JSON is LONGTEXT with a CHECK (json_valid(column))
                checks = conn.exec_driver_sql(JSON_CHECKS, (table,))
                json_columns = {
                    n
                    for t, n, clause in checks
                    if self.backend._same_table(t, table) and clause == _json_valid(n)
                }
        types = {}
        for column in columns:
            found = existing_type(column, column.name in json_columns, self.single_byte_characters)
            if found is None:
                raise refused_type(table, column)
            types[column.name] = replace(found, nullable=column.nullable == "YES")
        return types

    @functools.cache  # noqa: B019 - one type map per backend, for the whole run
    def single_byte_characters(self, charset: str) -> str | None:
        """The characters a single-byte character set holds, as the server maps its bytes (each
        one that converts to Unicode and back to itself); None for a multi-byte set."""
        with self.backend.engine.connect() as conn:
            found = conn.exec_driver_sql(CHARSET_MAXLEN, (charset,)).scalar()
            if found != 1 or not charset.isidentifier():
                return None
            byte = f"CHAR(n USING {charset})"
            rows = conn.exec_driver_sql(
                "WITH RECURSIVE b(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM b WHERE n < 255) "
                f"SELECT CONVERT({byte} USING utf8mb4) FROM b "
                f"WHERE CAST(CONVERT(CONVERT({byte} USING utf8mb4) USING {charset}) AS BINARY) "
                f"= CAST({byte} AS BINARY)"
            ).all()
        return "".join(character for (character,) in rows)

    def text_type(self, characters: int) -> sa.types.TypeEngine:
        # MySQL indexes no TEXT column; key columns compare bytes, so that keys differing in case,
        # accents or trailing spaces stay different rows.
        return mysql.VARCHAR(characters, collation=self.backend.exact_collation())


class MySQL(Backend):
    """MySQL and MariaDB: column names ignore case; DDL commits on its own."""

    features = Features(
        transactional_ddl=False,
        max_name_length=NAME_CHARACTERS,
        max_columns=MAX_COLUMNS,
        max_parameters=PARAMETER_LIMIT,
    )
    types_class = MySQLTypeMap
    dialect: mysql.base.MySQLDialect  # this backend serves the mysql dialect's engines only

    @classmethod
    def engine_arguments(cls, url: URL) -> dict[str, Any]:
        connect_args: dict[str, Any] = {"local_infile": 1}
        if "charset" not in url.query:
            connect_args["charset"] = "utf8mb4"  # every Unicode character, not MySQL's 3-byte "utf8"
        return {"connect_args": connect_args}

    @classmethod
    def schema_url(cls, url: URL, schema: str) -> URL:
        # A schema is a database here: the URL's, so that the lock names it too.
        return url.set(database=schema)

    def fold_name(self, name: str) -> str:
        """As the server finds a column by its name in a statement: one column where both its
        lowercase and its uppercase agree, by utf8mb3_general_ci's tables rather than Python's
        (``İ`` is not ``i`` there, nor ``ς`` ``Σ``, nor ``ẞ`` ``ß``); a name that is not ASCII is
        folded by the server itself."""
        lower, upper = (name.lower(), name.upper()) if name.isascii() else self._server_case(name)
        return f"{lower}\x00{upper}"

    def fold_table(self, name: str) -> str:
        # Table names are file names: case-sensitive unless lower_case_table_names has the server
        # store them in its lowercase.
        if not self._lower_case_table_names():
            return name
        return name.lower() if name.isascii() else self._server_case(name)[0]

    @functools.cache  # noqa: B019 - one backend per engine, for the whole run
    def _server_case(self, name: str) -> tuple[str, str]:
        """``name`` in the server's lowercase and uppercase for names."""
        with self.engine.connect() as conn:
            lower, upper = conn.exec_driver_sql(
                "SELECT LOWER(x), UPPER(x) "
                "FROM (SELECT CONVERT(%s USING utf8mb3) COLLATE utf8mb3_general_ci AS x) n",
                (name,),
            ).one()
        return str(lower), str(upper)

    @functools.cache  # noqa: B019 - one backend per engine, for the whole run
    def _lower_case_table_names(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT @@lower_case_table_names").scalar() or 0)

    def check_name(self, name: str, label: str) -> None:
        super().check_name(name, label)
        if name != name.rstrip(" "):
            raise SchemaError(f"{label} ends with a space, which {self.name} does not allow")
        if any(ord(c) > 0xFFFF for c in name):
            # Names are stored as utf8mb3 (the MySQL manual, "Schema Object Names").
            raise SchemaError(f"{label} has a character beyond U+FFFF, which {self.name} does not allow")

    @classmethod
    def prepare_engine(cls, engine: Engine) -> None:
        """Every session has the importer's ``sql_mode`` and time zone (``SESSION``), whatever the
        server's defaults or the URL's ``init_command``."""

        # First among the listeners: SQLAlchemy reads the first session's sql_mode to choose its
        # identifier quotes (ANSI_QUOTES), which must be the session the importer uses.
        @event.listens_for(engine, "connect", insert=True)
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            with contextlib.closing(dbapi_connection.cursor()) as cursor:
                cursor.execute(SESSION)

    def table_options(self) -> dict[str, Any]:
        return {"mysql_charset": "utf8mb4"}  # every Unicode character, whatever the database's default

    def unique_keys(self, table: str) -> list[list[str]]:
        # From the catalog: SQLAlchemy's reflection parses SHOW CREATE TABLE (see existing_types).
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND NON_UNIQUE = 0 "
                "ORDER BY INDEX_NAME, SEQ_IN_INDEX",
                (self.fold_table(table),),
            ).all()
        return [[column for _, column in columns] for _, columns in itertools.groupby(rows, lambda r: r[0])]

    def writer(self) -> WriteMethod:
        if self.dialect.driver == "mysqldb":
            label = "LOAD DATA LOCAL INFILE (multi-row INSERTs where the server refuses it)"
            return WriteMethod(load_data, takes_rows=False, label=label)
        return super().writer()

    @contextlib.contextmanager
    def import_lock(self, table: str, timeout: int) -> Iterator[LockCheck]:
        """GET_LOCK: server-wide, so the name includes the database."""
        database = self.engine.url.database or ""
        name = "csv-sql-importer:" + lock_key(database, self.fold_table(table)).hex()[:40]
        with self.engine.connect() as conn:
            if not conn.exec_driver_sql("SELECT GET_LOCK(%s, %s)", (name, timeout)).scalar():
                raise busy(table, timeout)
            try:
                yield session_check(conn, table, "SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", name)
            finally:
                release(conn, "SELECT RELEASE_LOCK(%s)", name)

    def swap(self, stage: str, target: str, record: Record, carried: Carried = NOTHING) -> None:
        """No transactional DDL: the ledger commits just before the rename (README); the
        ``carried`` indexes are on the staging table already (``prepare_replace``)."""
        with self.engine.begin() as conn:
            record(conn, True, stage)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"RENAME TABLE {self.quote(stage)} TO {self.quote(target)}")

    def upsert_clause(self, names: Sequence[str], primary_key: Sequence[str]) -> str:
        q = self.quote
        others = [n for n in names if n not in primary_key]
        updates = ", ".join(f"{q(n)} = VALUES({q(n)})" for n in others or primary_key)
        return f" ON DUPLICATE KEY UPDATE {updates}"

    # -- replace, delete_rows and table identity -------------------------------------------------

    @functools.cache  # noqa: B019 - one backend per engine, for the whole run
    def exact_collation(self) -> str:
        """The utf8mb4 collation that compares bytes, trailing spaces included: ``utf8mb4_bin``
        is PAD SPACE (``'a'`` equals ``'a '``), so MariaDB's NO PAD one or MySQL 8's is taken."""
        with self.engine.connect() as conn:
            found = {
                name
                for (name,) in conn.exec_driver_sql(
                    "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN %s",
                    (EXACT_COLLATIONS,),
                )
            }
        return next(name for name in EXACT_COLLATIONS if name in found or name == EXACT_COLLATIONS[-1])

    def exact_keys(self, conn: Connection, table: str, columns: Sequence[sa.Column[Any]]) -> None:
        key_columns = {c.name: c for c in columns}
        found = conn.exec_driver_sql(
            "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            (table,),
        )
        exact = self.exact_collation()
        stale = [key_columns[name] for name, collation in found if name in key_columns and collation != exact]
        if stale:
            changes = ", ".join(
                f"MODIFY {self.quote(c.name)} {c.type.compile(self.dialect)} NOT NULL" for c in stale
            )
            conn.exec_driver_sql(f"ALTER TABLE {self.quote(table)} {changes}")

    def table_identity(self, conn: Connection, table: str) -> str | None:
        """InnoDB's table id: kept by RENAME TABLE, new after DROP/CREATE (and after TRUNCATE or a
        rebuilding ALTER such as OPTIMIZE).  Reading it needs the PROCESS privilege."""
        if not self._innodb_ids_readable():
            return None
        found = conn.exec_driver_sql(
            f"SELECT TABLE_ID FROM information_schema.{self._innodb_tables} "
            "WHERE CAST(NAME AS BINARY) = CONCAT(CAST(CONVERT(DATABASE() USING filename) AS BINARY), "
            "'/', CAST(CONVERT(%s USING filename) AS BINARY))",
            (self.fold_table(table),),
        ).scalar()
        return None if found is None else str(found)

    @property
    def _innodb_tables(self) -> str:
        return "INNODB_SYS_TABLES" if self.dialect.is_mariadb else "INNODB_TABLES"

    @functools.cache  # noqa: B019 - one backend per engine, for the whole run
    def _innodb_ids_readable(self) -> bool:
        try:
            with self.engine.connect() as conn:
                # A real row read: MariaDB checks the privilege only then (LIMIT 0 passes without it).
                conn.exec_driver_sql(
                    f"SELECT TABLE_ID FROM information_schema.{self._innodb_tables} WHERE NAME = ''"
                ).all()
        except sa.exc.DBAPIError as error:
            log.warning(
                "cannot read InnoDB table ids (%s): a table dropped and created again by hand is "
                "noticed only when it is empty",
                describe(error),
            )
            return False
        return True

    def _same_table(self, name: str, table: str) -> bool:
        """Whether the catalog's ``name`` is ``table`` (information_schema may compare names
        ignoring case where the server does not)."""
        return self.fold_table(name) == self.fold_table(table)

    def dependents(self, table: str) -> list[Dependent]:
        """Foreign keys from information_schema; views from their definitions, which MariaDB
        stores with every table written `database`.`table` (it keeps no view dependencies)."""
        with self.engine.connect() as conn:
            database = conn.exec_driver_sql("SELECT DATABASE()").scalar() or ""
            keys = conn.exec_driver_sql(
                "SELECT CONSTRAINT_SCHEMA, CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME "
                "FROM information_schema.REFERENTIAL_CONSTRAINTS "
                "WHERE UNIQUE_CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = %s",
                (table,),
            ).all()
            views = conn.exec_driver_sql(
                "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS"
            ).all()
        found = [
            Dependent("foreign key", f"{name} of table {schema}.{child}")
            for schema, name, child, parent in keys
            if self._same_table(parent, table) and not (schema == database and self._same_table(child, table))
        ]
        needle = self.fold_table(f"{_backquoted(database)}.{_backquoted(table)}")
        found += [
            Dependent("view", f"{schema}.{view}")
            for schema, view, definition in views
            if needle in self.fold_table(definition or "")
        ]
        return found

    def carried_over(self, table: str, primary_key: Sequence[str] = ()) -> Carried:
        """B-tree indexes from information_schema.STATISTICS, with prefix lengths and order.
        Grants need nothing: MySQL keeps them by table name, so the new table has them."""
        with self.engine.connect() as conn:
            rows = [
                r
                for r in conn.exec_driver_sql(
                    "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, COLLATION, INDEX_TYPE "
                    "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
                    "ORDER BY INDEX_NAME, SEQ_IN_INDEX",
                    (table,),
                )
                if self._same_table(r[0], table)
            ]
            lost = [
                f"{kind.lower()} {name}"
                for kind, name in conn.exec_driver_sql(
                    "SELECT 'trigger', TRIGGER_NAME FROM information_schema.TRIGGERS "
                    "WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = %s "
                    "UNION ALL SELECT CONCAT(CONSTRAINT_TYPE, ' constraint'), CONSTRAINT_NAME "
                    "FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s AND CONSTRAINT_TYPE IN ('CHECK', 'FOREIGN KEY') "
                    "UNION ALL SELECT 'table comment', TABLE_COMMENT FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND TABLE_COMMENT <> '' "
                    "UNION ALL SELECT 'default of column', COLUMN_NAME FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
                    "AND COALESCE(COLUMN_DEFAULT, 'NULL') <> 'NULL'",
                    (table,) * 4,
                )
            ]
        indexes = []
        for name, parts in itertools.groupby(rows, key=lambda r: r[1]):
            columns = list(parts)
            described = f"({', '.join(c[3] for c in columns)})"
            if name == "PRIMARY":
                if sorted(c[3] for c in columns) != sorted(primary_key):
                    lost.append(f"primary key {described}")
            elif columns[0][6] != "BTREE":
                lost.append(f"{columns[0][6].lower()} index {name} {described}")
            else:
                definition = ", ".join(
                    self.quote(c[3]) + (f"({c[4]})" if c[4] else "") + (" DESC" if c[5] == "D" else "")
                    for c in columns
                )
                indexes.append(
                    Index(name, not columns[0][2], tuple(c[3] for c in columns), f"({definition})")
                )
        return Carried(indexes=tuple(indexes), lost=tuple(lost))

    def prepare_replace(self, stage: str, carried: Carried) -> None:
        """Index names are per table here: build them on the staging table under their names."""
        if carried.indexes:
            added = ", ".join(
                f"ADD {'UNIQUE ' if i.unique else ''}INDEX {self.quote(i.name)} {i.definition}"
                for i in carried.indexes
            )
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE {self.quote(stage)} {added}")

    def replace(
        self, stage: str, target: str, carried: Carried, record: Record, check: Check | None = None
    ) -> None:
        """One RENAME TABLE of two pairs swaps atomically; the ledger commits just before it,
        after ``check`` on the same transaction."""
        q = self.quote
        retired = q(stage + "_old")
        with self.engine.begin() as conn:
            if check is not None:
                check(conn)
            record(conn, True, stage)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"RENAME TABLE {q(target)} TO {retired}, {q(stage)} TO {q(target)}")
        self.drop_after_publish(retired)

    def committed_if(self, step: str, stage: str, target: str) -> str | None:
        """The ledger commits before the RENAME (DDL commits by itself), so its rows do not show
        that the rename happened; the tables it renames do.  A failed run drops its staging
        table but leaves the one a replace retired."""
        if step == "replace":
            return (
                f"table {stage + '_old'!r} exists (the table it replaced, which the next run into "
                f"{target!r}, or --cleanup, drops)"
            )
        if step == "swap":
            return f"table {target!r} exists"
        return None

    def settle_lost_publish(self, step: str, stage: str, target: str) -> bool | None:
        """The RENAME of a replace or swap is atomic: the staging table still there says it did
        not happen; a replace's retired table there says it did (it is dropped now)."""
        if step not in ("replace", "swap"):
            return None
        with self.engine.connect() as conn:
            present = {
                self.fold_table(name)
                for (name,) in conn.exec_driver_sql(
                    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME IN (%s, %s, %s)",
                    (stage, stage + "_old", target),
                )
            }
        if self.fold_table(stage) in present:
            return False
        if step == "replace" and self.fold_table(stage + "_old") in present:
            self.drop_after_publish(self.quote(stage + "_old"))
            return True
        if step == "swap" and self.fold_table(target) in present:
            return True
        return None

    def refresh_statistics(self, table: str) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"ANALYZE TABLE {self.quote(table)}").all()

    def check_merge_keys(self, conn: Connection, stage: str, target: str, key: Sequence[str]) -> None:
        """Refuse a merge whose keys the target's key collation would take for one another.

        A key column compared ignoring case, accents or trailing spaces makes ``ON DUPLICATE KEY
        UPDATE`` overwrite the row of ``abc`` with the row of ``ABC``.  Two staged keys that the
        collation equates, or a staged key that matches a stored one only under it, stop the run.
        """
        collations = {
            self.fold_name(name): collation
            for table, name, collation in conn.exec_driver_sql(
                "SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                (target,),
            )
            if self._same_table(table, target)
        }
        loose = {k: collations[self.fold_name(k)] for k in key if collations.get(self.fold_name(k))}
        loose = {k: c for k, c in loose.items() if c != self.exact_collation()}
        if not loose:
            return
        q = self.quote

        def collated(alias: str, k: str) -> str:
            return f"{alias}.{q(k)} COLLATE {loose[k]}" if k in loose else f"{alias}.{q(k)}"

        grouped = ", ".join(collated("s", k) for k in key)
        twin = conn.exec_driver_sql(
            f"SELECT {grouped} FROM {q(stage)} s GROUP BY {grouped} HAVING COUNT(*) > 1 LIMIT 1"
        ).first()
        if twin is not None:
            match = " AND ".join(f"{collated('s', k)} = %s" for k in key)
            first, second = conn.exec_driver_sql(
                f"SELECT {', '.join(q(k) for k in key)} FROM {q(stage)} s WHERE {match} LIMIT 2", tuple(twin)
            ).all()
            raise _merged_keys(target, loose, tuple(first), tuple(second), "both in the files")
        on = " AND ".join(f"{collated('s', k)} = t.{q(k)}" for k in key)
        differ = " OR ".join(f"CAST(s.{q(k)} AS BINARY) <> CAST(t.{q(k)} AS BINARY)" for k in loose)
        found = conn.exec_driver_sql(
            f"SELECT {', '.join(f's.{q(k)}' for k in key)}, {', '.join(f't.{q(k)}' for k in key)} "
            f"FROM {q(stage)} s JOIN {q(target)} t ON {on} WHERE {differ} LIMIT 1"
        ).first()
        if found is not None:
            new, old = tuple(found[: len(key)]), tuple(found[len(key) :])
            raise _merged_keys(target, loose, new, old, "in the files and in the table")

    @classmethod
    def is_transient(cls, error: BaseException) -> bool:
        return _error_code(error) in TRANSIENT

    @classmethod
    def row_too_wide(cls, error: BaseException) -> bool:
        return _error_code(error) == ROW_TOO_WIDE

    @classmethod
    def names_clash(cls, error: BaseException) -> bool:
        # CREATE compares names by sort weight (``i`` and ``İ`` clash), a statement finds them by case.
        return _error_code(error) == DUPLICATE_COLUMN


def _error_code(error: BaseException) -> int | None:
    """The server's error number of a driver error (MySQLdb's first argument)."""
    args = getattr(driver_error(error), "args", ())
    return args[0] if args and isinstance(args[0], int) else None


@dataclass(frozen=True)
class ServerLimits:
    """What the server allows, read once per process: LOCAL INFILE, and the largest statement."""

    local_infile: bool
    max_packet: int


def load_data(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Load the chunk with LOAD DATA LOCAL INFILE, or multi-row INSERTs where the server refuses it."""
    arrow = arrow_of(pd_table)
    limits = _server_limits(conn)
    if not limits.local_infile:
        # Escaping can double the data's bytes; half the packet is left for that.
        row_bytes = arrow.nbytes // max(1, arrow.num_rows) * 2 + INSERT_BYTES_PER_VALUE * len(keys)
        max_rows = min(limits.max_packet // 2 // row_bytes, PARAMETER_LIMIT // len(keys))
        return insert_rows(pd_table.name, conn, keys, python_rows(arrow), max_rows)
    dbapi = conn.connection.dbapi_connection
    fd, path = tempfile.mkstemp(prefix="import-", suffix=".csv")
    try:
        try:
            with os.fdopen(fd, "wb") as file:
                pacsv.write_csv(_bytes_as_hex(_booleans_as_numbers(arrow)), file, CSV_OPTIONS)
        except OSError as error:  # the temporary folder's disk is full
            raise SideOutputError(
                f"the chunk's file for LOAD DATA cannot be written: {path}: {error.strerror or error}"
            ) from None
        hexed = tuple(i for i, field in enumerate(arrow.schema) if is_bytes_type(field.type))
        into = _load_into(conn.dialect, pd_table.name, tuple(keys), hexed)
        with conn.connection.cursor() as cursor:
            cursor.execute(f"LOAD DATA LOCAL INFILE {dbapi.literal(path).decode()} {into}")
            loaded = cursor.rowcount
    finally:
        os.unlink(path)
    _check_clean(dbapi, pd_table.name, loaded, arrow.num_rows)
    return loaded


def _bytes_as_hex(arrow: pa.Table) -> pa.Table:
    """Bytes as their hex digits, which ``_load_into`` has the server UNHEX: a CSV file of
    UTF-8 text holds no bytes as they are."""
    for i, field in enumerate(arrow.schema):
        if is_bytes_type(field.type):
            values = arrow.column(i).to_pylist()
            text = pa.array([None if v is None else v.hex() for v in values], pa.string())
            arrow = arrow.set_column(i, field.name, text)
    return arrow


def _booleans_as_numbers(arrow: pa.Table) -> pa.Table:
    """Booleans as 1 and 0: BOOL is TINYINT, which LOAD DATA does not read ``true`` into."""
    for i, field in enumerate(arrow.schema):
        if pa.types.is_boolean(field.type):
            arrow = arrow.set_column(i, field.name, pc.cast(arrow.column(i), pa.int8()))
    return arrow


_limits: dict[str, ServerLimits] = {}


def _server_limits(conn: Any) -> ServerLimits:
    key = str(conn.engine.url)
    if key not in _limits:
        local_infile, max_packet = conn.exec_driver_sql(
            "SELECT @@GLOBAL.local_infile, @@SESSION.max_allowed_packet"
        ).one()
        _limits[key] = ServerLimits(local_infile=bool(local_infile), max_packet=int(max_packet))
    return _limits[key]


@functools.lru_cache(maxsize=16)
def _load_into(dialect: Dialect, table: str, keys: tuple[str, ...], hexed: tuple[int, ...] = ()) -> str:
    """The part of the LOAD DATA statement after the file name; the columns at ``hexed`` are
    read as hex digits into a variable each and stored as the bytes they spell (``UNHEX``)."""
    # Run by cursor.execute without parameters, which sends it unformatted.
    columns = ", ".join(f"@b{i}" if i in hexed else quoted(dialect, k) for i, k in enumerate(keys))
    unhex = ", ".join(f"{quoted(dialect, keys[i])} = UNHEX(@b{i})" for i in hexed)
    return (
        f"INTO TABLE {quoted(dialect, table)} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
        f"LINES TERMINATED BY '\\n' ({columns})" + (f" SET {unhex}" if unhex else "")
    )


def _check_clean(dbapi: Any, table: str, loaded: int, expected: int) -> None:
    if dbapi.warning_count() or loaded != expected:
        with dbapi.cursor() as cursor:
            cursor.execute("SHOW WARNINGS LIMIT 1")
            warning = cursor.fetchone()
        detail = f": {warning[2]}" if warning else ""
        raise DatabaseError(f"LOAD DATA into {table!r} loaded {loaded} of {counted(expected, 'row')}{detail}")


def _backquoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _json_valid(column: str) -> str:
    """The CHECK clause of MariaDB's JSON column ``column``, as information_schema shows it."""
    return f"json_valid({_backquoted(column)})"


def _merged_keys(
    table: str, loose: dict[str, str], first: tuple[Any, ...], second: tuple[Any, ...], where: str
) -> SchemaError:
    shown = [repr(k[0]) if len(k) == 1 else repr(k) for k in (first, second)]
    columns = ", ".join(f"{name} ({collation})" for name, collation in loose.items())
    return SchemaError(
        f"IF_EXISTS=merge: keys {shown[0]} and {shown[1]} ({where}) differ, but the key column of "
        f"table {table!r} compares them as equal: {columns}; one row would overwrite the other. "
        "Give the key column a binary collation, e.g. utf8mb4_nopad_bin; nothing was published"
    )
