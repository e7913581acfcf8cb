"""The ledger: which source files a table holds, written in the transaction that publishes them.

Because a file's ledger row and its table rows commit together, a rerun of an append knows
exactly what is loaded: files with the same content fingerprint are skipped, a file whose
content changed is an error unless RELOAD_CHANGED says to append it again.  IF_EXISTS=replace
and delete_rows (and fail, which creates the table) start the table's ledger afresh.

Each row also records the identity of the table it was published into (where the database has
one, ``Backend.table_identity``), so a table dropped and created again by hand under the same
name is not taken for the one that holds the files; nor is a table that is empty.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from processor.backends import Backend
from processor.counts import counted

log = logging.getLogger(__name__)

LEDGER_TABLE = "_import_ledger"
#: Columns later versions added, which an older ledger gets on its first run with them.
ADDED_COLUMNS = ("table_id",)


def _ledger_table(text: Callable[[int], sa.types.TypeEngine]) -> sa.Table:
    """The ledger's columns; ``text(n)`` is the type of a text column that must hold ``n``
    characters (and can be indexed).  With the key (target, source), concurrent imports into
    other tables lock only their own ledger rows; its two parts fit the smallest index limit
    the backends know (MySQL: 3072 bytes, 4 per character)."""
    return sa.Table(
        LEDGER_TABLE,
        sa.MetaData(),
        sa.Column("target", text(64), primary_key=True),
        sa.Column("source", text(700), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("fingerprint", text(1024), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("run_id", text(1024), nullable=False),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
        sa.Column("table_id", text(64)),
    )


#: The ledger as queries see it (the column types only matter to CREATE TABLE).
LEDGER = _ledger_table(lambda _characters: sa.Text())


@dataclass(frozen=True)
class LedgerEntry:
    """One loaded file as the ledger remembers it."""

    source: str
    size: int
    fingerprint: str
    rows: int
    run_id: str
    loaded_at: dt.datetime


@dataclass(frozen=True)
class Holdings:
    """What the ledger says a table holds.  ``stale``: its rows described another table of that
    name (dropped and created again since), so they are disregarded and replaced at publish."""

    entries: dict[str, LedgerEntry]
    stale: bool = False


def ensure_ledger(backend: Backend) -> None:
    """Create the ledger table if this database has none yet, or bring an older one up to date."""
    table = _ledger_table(backend.types.text_type)
    try:
        with backend.engine.begin() as conn:
            table.create(conn, checkfirst=True)
            for name in _missing_columns(conn):
                column = table.c[name]
                conn.exec_driver_sql(
                    f"ALTER TABLE {backend.quote(LEDGER_TABLE)} ADD COLUMN "
                    f"{backend.quote(name)} {column.type.compile(backend.dialect)}"
                )
            backend.exact_keys(conn, LEDGER_TABLE, [c for c in table.columns if c.primary_key])
    except sa.exc.DBAPIError:
        # Another import created or upgraded it between the check and the change: that is as good.
        with backend.engine.connect() as conn:
            if not sa.inspect(conn).has_table(LEDGER_TABLE) or _missing_columns(conn):
                raise


def _missing_columns(conn: Connection) -> list[str]:
    # Read from a query, not reflection, which duckdb_engine lacks.
    present = set(
        conn.execute(sa.select(sa.text("*")).select_from(sa.table(LEDGER_TABLE)).where(sa.false())).keys()
    )
    return [name for name in ADDED_COLUMNS if name not in present]


def read_ledger(backend: Backend, table: str) -> Holdings:
    """The files the ledger says ``table`` holds, by source name, unless they are stale.  A
    database without a ledger (a dry run creates none) holds none."""
    query = sa.select(LEDGER).where(LEDGER.c.target == backend.fold_table(table))
    with backend.engine.connect() as conn:
        if not backend.has_table(conn, LEDGER_TABLE):
            return Holdings({})
        rows = conn.execute(query).all()
        why = _not_that_table(backend, conn, table, rows) if rows else None
    if why is not None:
        log.warning(
            "table %r %s: the ledger's record of %s loaded into it is disregarded, and "
            "replaced when this run publishes",
            table,
            why,
            counted(len(rows), "file"),
        )
        return Holdings({}, stale=True)
    return Holdings(
        {
            row.source: LedgerEntry(
                row.source, row.size, row.fingerprint, row.row_count, row.run_id, row.loaded_at
            )
            for row in rows
        }
    )


def _not_that_table(
    backend: Backend, conn: Connection, table: str, rows: Sequence[sa.Row[Any]]
) -> str | None:
    """Why the ledger's ``rows`` cannot describe ``table`` as it is now, or None if they may."""
    identity = backend.table_identity(conn, table)
    if identity is not None and any(row.table_id not in (None, identity) for row in rows):
        return "was dropped and created again since the ledger recorded it"
    rows_recorded = sum(row.row_count for row in rows)
    if rows_recorded:
        anything = sa.select(sa.literal(1)).select_from(sa.Table(table, sa.MetaData(), quote=True)).limit(1)
        if conn.execute(anything).first() is None:
            return f"is empty, but the ledger says it holds {counted(rows_recorded, 'row')}"
    return None


def record_files(
    conn: Connection, target: str, entries: Iterable[LedgerEntry], fresh: bool, table_id: str | None
) -> None:
    """Write the ledger rows of a publish, on the publishing connection (same transaction).

    ``fresh`` (replace, delete_rows, a newly created table, or a stale ledger) first forgets
    what the table held before; ``table_id`` is the published table's identity.
    """
    entries = list(entries)
    names = [e.source for e in entries]
    if fresh:
        conn.execute(sa.delete(LEDGER).where(LEDGER.c.target == target))
    elif names:
        conn.execute(sa.delete(LEDGER).where(LEDGER.c.target == target, LEDGER.c.source.in_(names)))
    if entries:
        conn.execute(
            sa.insert(LEDGER),
            [
                {
                    "target": target,
                    "source": e.source,
                    "size": e.size,
                    "fingerprint": e.fingerprint,
                    "row_count": e.rows,
                    "run_id": e.run_id,
                    "loaded_at": e.loaded_at,
                    "table_id": table_id,
                }
                for e in entries
            ],
        )
