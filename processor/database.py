"""Engines for DEST_SQL, built the same way in the parent and in every worker process.

An engine never crosses a process boundary: workers receive the URL and build their own.
SQLite gets real transactions for DDL (so a table swap is atomic) and waits on a busy file
instead of failing with "database is locked".
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from processor.errors import ConfigError, DatabaseError, first_line

SQLITE_BUSY_TIMEOUT_MS = 600_000
# Embedded databases that one process writes at a time: the pool serialises their writes.
SINGLE_WRITER = {"sqlite", "duckdb"}
# MySQL and MariaDB share their SQL quirks (no transactional DDL, RENAME TABLE, GET_LOCK).
MYSQL_LIKE = {"mysql", "mariadb"}


def create_engine(url: URL) -> Engine:
    """An engine for ``url`` with the settings this importer relies on."""
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {}
    backend = url.get_backend_name()
    if backend in MYSQL_LIKE:
        connect_args["local_infile"] = 1
        if "charset" not in url.query:
            connect_args["charset"] = "utf8mb4"  # every Unicode character, not MySQL's 3-byte "utf8"
    if backend in SINGLE_WRITER:
        # Hold no file open between writes, so other processes can take their turn.
        options["poolclass"] = NullPool
    try:
        engine = sa.create_engine(url, connect_args=connect_args, **options)
    except exc.NoSuchModuleError:
        raise ConfigError(f"DEST_SQL names an unknown database scheme: {url.drivername!r}") from None
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"DEST_SQL scheme {url.drivername!r} needs the Python package {error.name!r}, "
            "which is not installed"
        ) from None
    except exc.ArgumentError as error:
        raise ConfigError(f"DEST_SQL is not usable: {error}") from None
    if backend == "sqlite":
        _make_sqlite_transactional(engine)
    return engine


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, begin transactions, so DDL is inside them too.

    Python's sqlite3 module commits before DDL on its own, which would split a table swap in
    two; this is SQLAlchemy's documented recipe for pysqlite.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def check_connection(engine: Engine) -> None:
    """Connect once, so an unreachable server or a refused login fails before any work."""
    try:
        with engine.connect():
            pass
    except exc.DBAPIError as error:
        raise DatabaseError(
            f"cannot connect to {engine.url.render_as_string(hide_password=True)}: {describe(error)}"
        ) from error


def driver_error(error: BaseException) -> BaseException:
    """The driver's own exception inside SQLAlchemy's or pandas' wrapper (or ``error`` itself)."""
    inner = getattr(error, "orig", None) or error.__cause__
    return driver_error(inner) if isinstance(inner, BaseException) and inner is not error else error


def database_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    """What a write can raise when the database refuses it: wrapped or raw driver errors."""
    return (exc.DBAPIError, engine.dialect.loaded_dbapi.Error)


def describe(error: BaseException) -> str:
    """The first line of a driver's error message, without SQLAlchemy's SQL and links."""
    original = driver_error(error)
    args = getattr(original, "args", ())
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return first_line(Exception(f"{args[1]} (error {args[0]})"))  # MySQLdb's (code, message)
    return first_line(original)
