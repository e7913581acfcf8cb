"""What a database can do, gathered in one place (as Django's ``DatabaseFeatures``).

The run, the executors and the tests ask a backend's ``features``, never its name: a database
added later says what it can do here, and every branch follows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Features:
    """The capabilities and fixed limits the code branches on; the defaults are a server's."""

    #: An embedded database that one process writes at a time: the pool's workers parse in
    #: parallel and write in turn.
    single_writer: bool = False
    #: Chunks go through one connection that the run holds for the whole load
    #: (``Backend.held_writer``), where the executor can carry them there (a pool's workers, or
    #: inline; a Dask cluster's workers take turns): opening and closing the database around
    #: every chunk costs more than the chunk (DuckDB checkpoints its file at every close).
    one_writer: bool = False
    #: DDL joins the transaction (else it commits it): a publish can drop its staging table in it.
    transactional_ddl: bool = True
    #: An existing column's type can be changed in the publishing transaction
    #: (``Backend.widen_statements``: ``ALTER TABLE ... ALTER COLUMN ... TYPE``, or SQLite's
    #: rebuild of the table), so ON_TYPE_CHANGE=widen can widen it; a database unknown here: no.
    alters_column_types: bool = False
    #: Identifiers are measured in bytes of UTF-8 (PostgreSQL's NAMEDATALEN), not in characters.
    names_in_bytes: bool = False
    #: The longest identifier, in the unit ``names_in_bytes`` says; None: as SQLAlchemy's dialect
    #: reports it (``Backend.name_limit``).
    max_name_length: int | None = None
    #: The most columns a table may have; None: no fixed limit known (SQLite reads its library's).
    max_columns: int | None = None
    #: Bound parameters one statement may carry; None: by the dialect's name, else a safe 999
    #: (``Backend.parameter_limit``).
    max_parameters: int | None = None
