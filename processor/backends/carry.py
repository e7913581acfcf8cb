"""What IF_EXISTS=replace carries from the old table to the new one, and what stops it.

A replace drops the old table and renames the staging table into its place.  Objects of other
tables that depend on the old one (views, foreign keys) would break or block that drop, so
they stop the run before anything is loaded.  The old table's own indexes (and, where the
database has them, its grants) are built again on the new table; whatever else it had and the
backend cannot rebuild is named in a warning, never dropped without a word.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dependent:
    """An object of another table or a view that depends on a table (``kind``: ``view``,
    ``foreign key``, or another word the database uses); ``name`` says which, as a user finds it."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Index:
    """An index to build again on the new table under its old name.

    ``definition`` is the SQL after ``ON <table>`` (the column list, or on PostgreSQL the whole
    ``USING ... (...) WHERE ...`` tail); ``columns`` are the columns it reads, which the new
    table must have.  It is SQL as ``exec_driver_sql`` takes it (``names.formatted``).
    """

    name: str
    unique: bool
    columns: tuple[str, ...]
    definition: str


@dataclass(frozen=True)
class Grant:
    """One privilege on the old table, granted again on the new one (PostgreSQL); ``grantee`` is
    SQL as ``exec_driver_sql`` takes it."""

    privilege: str
    grantee: str
    grantable: bool


@dataclass(frozen=True)
class Carried:
    """What a replace rebuilds on the new table, and what it cannot (for the warning)."""

    indexes: tuple[Index, ...] = ()
    grants: tuple[Grant, ...] = ()
    lost: tuple[str, ...] = field(default=())


#: Nothing to build on a new table.
NOTHING = Carried()
