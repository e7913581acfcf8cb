"""Engines for DEST_SQL, built the same way in the parent and in every worker process.

An engine never crosses a process boundary: workers receive the URL and build their own, with
the settings their database's backend asks for (``processor/backends/``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from processor.backends import backend_class
from processor.errors import ConfigError, DatabaseError, describe, first_line
from processor.masking import shown_url
from processor.package import install_hint
from processor.records import SCHEMA_QUERY


def create_engine(url: URL, pooled: bool = True, read_only: bool = False) -> Engine:
    """An engine for ``url`` with the settings this importer relies on; ``pooled=False``: it
    keeps no connection open between uses (a worker under a connection budget); ``read_only``:
    for a dry run, which must change nothing (``Backend.read_only``)."""
    backend = backend_class(url.get_backend_name())
    schema = url.query.get(SCHEMA_QUERY)
    if isinstance(schema, str):  # DEST_SCHEMA
        url = backend.schema_url(url.difference_update_query([SCHEMA_QUERY]), schema)
    arguments = backend.engine_arguments(url)
    if read_only:
        url, extra = backend.read_only(url)
        arguments |= extra
    if not pooled:
        arguments["poolclass"] = NullPool
    try:
        engine = sa.create_engine(url, **arguments)
    except exc.NoSuchModuleError:
        raise ConfigError(f"DEST_SQL names an unknown database scheme: {url.drivername!r}") from None
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"DEST_SQL scheme {url.drivername!r} needs the Python package {error.name!r}, "
            f"which is not installed{install_hint(error.name)}"
        ) from None
    except exc.ArgumentError as error:
        raise ConfigError(f"DEST_SQL is not usable: {error}") from None
    except ValueError as error:  # the dialect's reading of a query option (?connect_timeout=abc)
        problem = first_line(error)
        raise ConfigError(f"DEST_SQL has an option value the driver cannot use: {problem}") from None
    backend.prepare_engine(engine)
    if isinstance(schema, str):
        backend.use_schema(engine, schema)
    return engine


def check_connection(engine: Engine) -> None:
    """Connect once, so an unreachable server or a refused login fails before any work."""
    try:
        with engine.connect():
            pass
    except exc.DBAPIError as error:
        raise DatabaseError(f"cannot connect to {shown_url(engine.url)}: {describe(error)}") from error
    except (TypeError, ValueError) as error:  # MySQLdb's connect() given DEST_SQL's query options
        raise DatabaseError(
            f"cannot connect to {shown_url(engine.url)}: {first_line(error)}: "
            "DEST_SQL has an option the driver does not take, or a value it cannot use"
        ) from error
