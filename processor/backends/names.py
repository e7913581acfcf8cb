"""Names in SQL text: quoted as the server reads them, and escaped for the driver that sends them.

A column name is data (``growth %``, ``:name``, ``?``, quotes): it is always quoted, and the
quoting depends on who reads the text next.  Drivers of the ``format``/``pyformat`` styles
(psycopg2, mysqlclient) substitute parameters with Python's ``%`` operator, so a ``%`` in SQL
that they format must be written ``%%``; SQLAlchemy's ``exec_driver_sql`` always hands them a
parameter collection (an empty one too), so its SQL is formatted.  SQL given to the driver
without parameters (psycopg2's ``copy_expert``, a plain ``cursor.execute(sql)``) is sent as it
is, and a doubled ``%`` would reach the server as two.  SQLAlchemy's ``quote_identifier``
doubles ``%`` for these dialects, which is right only for the first kind.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

#: Paramstyles whose drivers format the statement with ``%``.
PERCENT_STYLES = ("format", "pyformat")


def quoted(dialect: Dialect, name: str) -> str:
    """``name`` quoted as the server reads it: for SQL the driver sends unformatted (COPY,
    LOAD DATA, ``cursor.execute`` without parameters)."""
    preparer = dialect.identifier_preparer
    escaped = name.replace(preparer.escape_quote, preparer.escape_to_quote)
    return f"{preparer.initial_quote}{escaped}{preparer.final_quote}"


def formatted(dialect: Dialect, sql: str) -> str:
    """``sql`` as a driver that formats parameters into it must get it (``exec_driver_sql``,
    ``cursor.execute(sql, parameters)``): a ``%`` doubled for the ``%``-formatting drivers."""
    return sql.replace("%", "%%") if dialect.paramstyle in PERCENT_STYLES else sql


def bound_quoted(dialect: Dialect, name: str) -> str:
    """``name`` quoted for SQL run with parameters (``exec_driver_sql``)."""
    return formatted(dialect, quoted(dialect, name))


class NamedType(sa.types.UserDefinedType[str]):
    """A column type as the database's catalogue writes it: a staging column of an existing
    column's type that the importer does not plan (PostgreSQL's ``uuid``, DuckDB's ``UUID``)."""

    cache_ok = True

    def __init__(self, sql: str) -> None:
        self.sql = sql

    def get_col_spec(self, **kw: object) -> str:
        return self.sql
