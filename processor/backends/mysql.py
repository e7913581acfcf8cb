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
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL

from processor.backends.base import Backend, Record
from processor.backends.chunk import WriteMethod, arrow_of, python_rows
from processor.backends.inserts import insert_rows
from processor.backends.locks import LockCheck, busy, lock_key, release, session_check
from processor.errors import DatabaseError, SchemaError, describe, driver_error
from processor.kinds import Kind

log = logging.getLogger(__name__)

CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed", null_string="NULL")
# Room per row for quotes, separators and escaping in an INSERT's text, beyond the data itself.
INSERT_BYTES_PER_VALUE = 4
PARAMETER_LIMIT = 65535
# Error numbers after which the server has rolled back: lock wait timeout, deadlock.
TRANSIENT = {1205, 1213}
# Table and column names hold 64 characters (the dialect reports 255, an alias limit).
NAME_CHARACTERS = 64
# InnoDB tables hold at most 1017 columns (MySQL's own limit, 4096, is higher).
MAX_COLUMNS = 1017


class MySQL(Backend):
    """MySQL and MariaDB: column names ignore case; DDL commits on its own."""

    name_limit = NAME_CHARACTERS
    parameter_limit = PARAMETER_LIMIT
    max_columns = MAX_COLUMNS

    @classmethod
    def engine_arguments(cls, url: URL) -> dict[str, Any]:
        connect_args: dict[str, Any] = {"local_infile": 1}
        if "charset" not in url.query:
            connect_args["charset"] = "utf8mb4"  # every Unicode character, not MySQL's 3-byte "utf8"
        return {"connect_args": connect_args}

    def fold_name(self, name: str) -> str:
        return name.lower()

    def fold_table(self, name: str) -> str:
        # Table names are file names: case-sensitive unless lower_case_table_names says otherwise.
        return name.lower() if self._lower_case_table_names() else name

    @functools.cache  # noqa: B019 - one backend per engine, for the whole run
    def _lower_case_table_names(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT @@lower_case_table_names").scalar() or 0)

    def check_name(self, name: str, label: str) -> None:
        super().check_name(name, label)
        if name != name.rstrip(" "):
            raise SchemaError(f"{label} ends with a space, which {self.name} does not allow")

    def column_type(self, kind: Kind, key: bool = False) -> sa.types.TypeEngine:
        if kind in (Kind.TEXT, Kind.EMPTY) and not key:
            return mysql.LONGTEXT()  # any field a CSV file can hold (TEXT holds only 64 KiB)
        return super().column_type(kind, key)

    def text_type(self, characters: int) -> sa.types.TypeEngine:
        return mysql.VARCHAR(characters)  # MySQL indexes no TEXT column

    def writer(self) -> WriteMethod:
        if self.dialect.driver == "mysqldb":
            return WriteMethod(load_data, takes_rows=False)
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

    def swap(self, stage: str, target: str, drop_first: bool, record: Record) -> None:
        """No transactional DDL, but one RENAME TABLE of several pairs is atomic.

        The ledger commits just before the rename: a crash between the two statements leaves a
        ledger that describes the new table while the old one is still in place (README).
        """
        q = self.quote
        retired = q(stage + "_old")
        with self.engine.begin() as conn:
            record(conn, True)
        with self.engine.begin() as conn:
            if drop_first:
                conn.exec_driver_sql(f"RENAME TABLE {q(target)} TO {retired}, {q(stage)} TO {q(target)}")
            else:
                conn.exec_driver_sql(f"RENAME TABLE {q(stage)} TO {q(target)}")
        if drop_first:
            self._drop_after_publish(retired)

    def insert_from(self, stage: str, target: str, names: Sequence[str], upsert: str, record: Record) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self.insert_select(stage, target, names, upsert))
            record(conn, False)
        # DDL commits implicitly: the rows are published, so the drop comes after, and must not
        # fail (or retry) the publish.
        self._drop_after_publish(self.quote(stage))

    def _drop_after_publish(self, quoted: str) -> None:
        """Drop a table the publish left behind; the new rows are live already, so a failure is
        only a warning: the name has the staging prefix, and the next run (or --cleanup) removes it."""
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"DROP TABLE {quoted}")
        except sa.exc.DBAPIError as error:
            log.warning("could not drop %s yet: %s", quoted, describe(error))

    def upsert_clause(self, names: Sequence[str], primary_key: Sequence[str]) -> str:
        q = self.quote
        others = [n for n in names if n not in primary_key]
        updates = ", ".join(f"{q(n)} = VALUES({q(n)})" for n in others or primary_key)
        return f" ON DUPLICATE KEY UPDATE {updates}"

    @classmethod
    def is_transient(cls, error: BaseException) -> bool:
        args = getattr(driver_error(error), "args", ())
        return bool(args) and isinstance(args[0], int) and args[0] in TRANSIENT


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
        with os.fdopen(fd, "wb") as file:
            pacsv.write_csv(arrow, file, CSV_OPTIONS)
        into = _load_into(conn.dialect.identifier_preparer, pd_table.name, tuple(keys))
        with conn.connection.cursor() as cursor:
            cursor.execute(f"LOAD DATA LOCAL INFILE {dbapi.literal(path).decode()} {into}")
            loaded = cursor.rowcount
    finally:
        os.unlink(path)
    _check_clean(dbapi, pd_table.name, loaded, arrow.num_rows)
    return loaded


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
def _load_into(preparer: Any, table: str, keys: tuple[str, ...]) -> str:
    """The part of the LOAD DATA statement after the file name."""
    columns = ", ".join(preparer.quote(k) for k in keys)
    return (
        f"INTO TABLE {preparer.quote(table)} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
        f"LINES TERMINATED BY '\\n' ({columns})"
    )


def _check_clean(dbapi: Any, table: str, loaded: int, expected: int) -> None:
    if dbapi.warning_count() or loaded != expected:
        with dbapi.cursor() as cursor:
            cursor.execute("SHOW WARNINGS LIMIT 1")
            warning = cursor.fetchone()
        detail = f": {warning[2]}" if warning else ""
        raise DatabaseError(f"LOAD DATA into {table!r} loaded {loaded} of {expected} rows{detail}")
