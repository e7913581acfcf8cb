"""One home per database: its features, types, names, lock, writer and publish behind one interface.

``backend_for(engine)`` gives the engine's database its ``Backend``; a database with no module of
its own gets the generic one.  Adding a database is one module here and one line below.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from processor.backends.base import Backend, Check, Record
from processor.backends.chunk import ArrowChunk, WriteMethod, Writer, arrow_of, python_rows
from processor.backends.duckdb import DuckDB
from processor.backends.features import Features
from processor.backends.locks import LockCheck
from processor.backends.mysql import MySQL
from processor.backends.postgresql import PostgreSQL
from processor.backends.sqlite import SQLite
from processor.backends.typemap import TypeMap

#: SQLAlchemy's dialect (backend) names and the module that serves each.
BACKENDS: dict[str, type[Backend]] = {
    "postgresql": PostgreSQL,
    "mysql": MySQL,
    "mariadb": MySQL,
    "sqlite": SQLite,
    "duckdb": DuckDB,
}


def backend_class(dialect_name: str) -> type[Backend]:
    """The backend serving a SQLAlchemy dialect name (``url.get_backend_name()``)."""
    return BACKENDS.get(dialect_name, Backend)


def backend_for(engine: Engine) -> Backend:
    """The backend of ``engine``'s database."""
    return backend_class(engine.dialect.name)(engine)


__all__ = [
    "BACKENDS",
    "ArrowChunk",
    "Backend",
    "Check",
    "Features",
    "LockCheck",
    "Record",
    "TypeMap",
    "WriteMethod",
    "Writer",
    "arrow_of",
    "backend_class",
    "backend_for",
    "python_rows",
]
