"""The ledger: which source files a table holds, written in the transaction that publishes them.

Because a file's ledger row and its table rows commit together, a rerun of an append knows
exactly what is loaded: files with the same content fingerprint are skipped, a file whose
content changed is an error unless RELOAD_CHANGED says to append it again.  IF_EXISTS=replace
(and fail, which creates the table) start the table's ledger afresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from processor.backends import Backend

LEDGER_TABLE = "_import_ledger"
# Bytes hashed between two checks for a stop: a file of gigabytes stops within milliseconds.
FINGERPRINT_BLOCK = 1 << 20


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


def fingerprint(path: str, check: Callable[[], None] = lambda: None) -> str:
    """The SHA-256 of a file's bytes as stored (compressed files are hashed compressed);
    ``check()`` runs before each block and may raise to stop early (the run is failing)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(FINGERPRINT_BLOCK):
            check()
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def ensure_ledger(backend: Backend) -> None:
    """Create the ledger table if this database has none yet."""
    try:
        with backend.engine.begin() as conn:
            _ledger_table(backend.text_type).create(conn, checkfirst=True)
    except sa.exc.DBAPIError:
        # Another import created it between the check and the CREATE: that is as good.
        with backend.engine.connect() as conn:
            if not sa.inspect(conn).has_table(LEDGER_TABLE):
                raise


def read_ledger(backend: Backend, target: str) -> dict[str, LedgerEntry]:
    """The files the ledger says ``target`` holds, by source name."""
    query = sa.select(LEDGER).where(LEDGER.c.target == target)
    with backend.engine.connect() as conn:
        return {
            row.source: LedgerEntry(
                row.source, row.size, row.fingerprint, row.row_count, row.run_id, row.loaded_at
            )
            for row in conn.execute(query)
        }


def record_files(conn: Connection, target: str, entries: Iterable[LedgerEntry], fresh: bool) -> None:
    """Write the ledger rows of a publish, on the publishing connection (same transaction).

    ``fresh`` (replace, or a newly created table) first forgets what the table held before.
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
                }
                for e in entries
            ],
        )
