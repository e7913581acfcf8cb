"""RUNS_TABLE: one summary row per run in the target database, for dashboards.

Written when the run has ended (after the publish, outside its transaction), whether it worked
or not, as far as the database can be reached; the table is created if it is missing.  Failing
to write it is a warning: the import itself is already decided.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import sqlalchemy as sa

from processor.backends import backend_for
from processor.backends.database import create_engine
from processor.errors import ConfigError
from processor.ops.report import RunReport
from processor.publish.target import own_tables_problem

log = logging.getLogger(__name__)


def runs_table(name: str, text: Callable[[int], sa.types.TypeEngine]) -> sa.Table:
    """The runs table's columns; ``text(n)``: a text type for ``n`` characters (the backend's)."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("run_id", text(32), primary_key=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
        sa.Column("status", text(16), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("table_name", text(255)),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("rejected", sa.BigInteger, nullable=False),
        sa.Column("seconds", sa.Double, nullable=False),
        quote=True,
    )


def record_run(url: sa.URL, name: str, report: RunReport) -> str | None:
    """Add ``report``'s summary row to table ``name`` (created if missing); None when it was
    written, else why not (for the run's warning)."""
    try:
        engine = create_engine(url)
    except ConfigError as error:  # DEST_SCHEMA where the database has none: the run said so
        return str(error)
    try:
        backend = backend_for(engine)
        problem = own_tables_problem(backend, report.table, name)
        if problem is not None:  # the run has failed on it already: no row goes to such a table
            return problem
        table = runs_table(name, backend.types.text_type)
        try:
            with engine.begin() as conn:
                table.create(conn, checkfirst=True)
        except sa.exc.DBAPIError:
            # Another run created it between the check and the CREATE: as good, if it is there.
            if not sa.inspect(engine).has_table(name):
                raise
        with engine.begin() as conn:
            conn.execute(table.insert(), _row(report))
    except sa.exc.SQLAlchemyError as error:
        return str(error.orig if isinstance(error, sa.exc.DBAPIError) else error).splitlines()[0]
    finally:
        engine.dispose()
    return None


def _row(report: RunReport) -> dict[str, object]:
    finished = report.finished_at or report.started_at
    return {
        "run_id": report.run_id,
        "started_at": _utc(report.started_at),
        "finished_at": _utc(finished),
        "status": report.status,
        "exit_code": report.exit_code,
        "table_name": report.table,
        "files": len(report.files),
        "row_count": report.rows,
        "rejected": len(report.rejects),
        "seconds": round(report.seconds, 3),
    }


def _utc(iso: str) -> dt.datetime:
    """An ISO time with its zone as a naive UTC time (what every database's DATETIME holds)."""
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).replace(tzinfo=None)
