"""MariaDB and MySQL: LOAD DATA LOCAL INFILE from a CSV file Arrow writes, else multi-row INSERTs.

The CSV quotes every string and writes NULL as an unquoted ``NULL``, which LOAD DATA reads as
NULL while the quoted text ``"NULL"`` stays text.  ``ESCAPED BY ''`` makes backslashes ordinary
characters, so ``\\N`` and ``C:\\path`` stay text too.  With LOCAL the server cannot stop the
client mid-file, so it turns data errors into warnings; any warning, or a row count that
differs, fails the chunk instead of leaving changed values in the table.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow.csv as pacsv

from processor.errors import DatabaseError
from processor.write.chunk import arrow_of, python_rows
from processor.write.generic import PARAMETER_LIMITS, insert_rows

CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed", null_string="NULL")
# Room per row for quotes, separators and escaping in an INSERT's text, beyond the data itself.
INSERT_BYTES_PER_VALUE = 4


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
        max_rows = min(limits.max_packet // 2 // row_bytes, PARAMETER_LIMITS["mysql"] // len(keys))
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
