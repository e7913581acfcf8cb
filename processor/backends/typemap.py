"""How one database's column types map to the importer's ``ColumnType``, both ways (the type half
of Django's split of a backend into features, operations and schema): the SQL type a planned
column is created with, the exact decimals it has, what an existing table's column holds.

A backend reaches its own as ``backend.types``; each database's module overrides what differs
(its catalog rules for existing tables are in ``<database>_types.py``).  Operations (DDL, DML,
locks, publish, writers) stay on the ``Backend``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from processor.kinds import (
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    TEXT,
    TIMESTAMP,
    ColumnType,
    Kind,
    bounded_decimal,
    integer_range,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect, Engine

# Characters a text column of a primary key holds where the database needs a bound to index it.
KEY_CHARACTERS = 255


class Database(Protocol):
    """What the generic type map asks of its backend (a database's own map asks its own backend
    more: its name rules, its collation)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def dialect(self) -> Dialect: ...


class TypeMap:
    """The generic database's types: SQLAlchemy's generic ones, reflected through its inspector."""

    #: Whether a planned column can keep a zoned timestamp's instant (a typed file's
    #: ``timestamp[us, tz=...]``) in a type of its own; else such a column is text (in UTC, ``+00:00``).
    zoned_timestamps = False
    #: Whether a planned column can keep a time of day (a typed file's ``time64``), and an
    #: interval of months, days and microseconds (``duration``, ``month_day_nano_interval``),
    #: in a type of its own; else such a column is text (``typed.canonical_text``).  Bytes every
    #: database here keeps (``Kind.BINARY``).
    times = True
    intervals = False

    def __init__(self, backend: Database) -> None:
        #: The backend whose database this maps (its engine, dialect and name rules).
        self.backend = backend
        self.dialect = backend.dialect

    def column_type(self, column: ColumnType, key: bool = False) -> sa.types.TypeEngine:
        """The SQL type a planned column is created with (``key``: in a primary key)."""
        kind = column.kind
        if kind is Kind.INTEGER:
            return sa.BigInteger()
        if kind is Kind.FLOAT:
            return sa.Double()
        if kind is Kind.DECIMAL:
            return sa.Numeric(column.precision, column.scale)
        if kind is Kind.DATE:
            return sa.Date()
        if kind is Kind.TIMESTAMP:
            return sa.DateTime(timezone=column.zoned)
        if kind is Kind.BOOLEAN:
            return sa.Boolean()
        if kind is Kind.BINARY:
            return sa.LargeBinary()
        if kind is Kind.TIME:
            return sa.Time()
        if kind is Kind.INTERVAL:
            return sa.Interval(native=True)
        return self.text_type(KEY_CHARACTERS) if key else sa.Text()

    def text_type(self, characters: int) -> sa.types.TypeEngine:
        """A text type that holds ``characters`` characters and can be part of an index."""
        return sa.Text()

    def decimal_type(self, whole_digits: int, scale: int) -> ColumnType | None:
        """The exact type for decimals of up to ``whole_digits`` digits before the point and
        ``scale`` after, or None where this database has none (the column is then text)."""
        return None

    def holds(self, column: ColumnType) -> ColumnType:
        """``column`` with what this database cannot hold in it (a planned column's type)."""
        if column.kind is Kind.TIMESTAMP and column.zoned and not self.zoned_timestamps:
            return replace(TEXT, nullable=column.nullable)
        if (column.kind is Kind.TIME and not self.times) or (
            column.kind is Kind.INTERVAL and not self.intervals
        ):
            return replace(TEXT, nullable=column.nullable)
        return column

    def type_of(self, sql_type: sa.types.TypeEngine) -> ColumnType:
        """What an existing column of ``sql_type`` holds, as SQLAlchemy reflects it."""
        if isinstance(sql_type, sa.Boolean):
            return BOOLEAN
        if isinstance(sql_type, sa.Integer):
            bits = (
                16
                if isinstance(sql_type, sa.SmallInteger)
                else 64
                if isinstance(sql_type, sa.BigInteger)
                else 32
            )
            return integer_range(bits)
        if isinstance(sql_type, sa.Float):  # before Numeric, whose subclass it is
            return replace(FLOAT, bits=32 if isinstance(sql_type, sa.REAL) else 64)
        if isinstance(sql_type, sa.Numeric):
            if sql_type.precision is None:
                return DECIMAL
            return bounded_decimal(sql_type.precision, sql_type.scale or 0)
        if isinstance(sql_type, sa.DateTime):
            # With a time zone the database converts the text; it is passed on as text.
            return TEXT if sql_type.timezone else TIMESTAMP
        if isinstance(sql_type, sa.Date):
            return DATE
        if isinstance(sql_type, sa.String) and sql_type.length:
            return replace(TEXT, max_chars=sql_type.length)
        return TEXT

    def existing_types(self, table: str) -> dict[str, ColumnType]:
        """The columns of the existing ``table`` and what each holds (append, merge), NULL too
        unless the column is NOT NULL."""
        with self.backend.engine.connect() as conn:
            columns = sa.inspect(conn).get_columns(table)
        return {
            c["name"]: replace(self.holds(self.type_of(c["type"])), nullable=c["nullable"]) for c in columns
        }
