"""The ledger: which source files a table holds, written in the transaction that publishes them.

Because a file's ledger row and its table rows commit together, a rerun of an append knows
exactly what is loaded: files with the same content fingerprint are skipped, a file whose
content changed is an error unless RELOAD_CHANGED says to append it again.  IF_EXISTS=replace
(and fail, which creates the table) start the table's ledger afresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection, Engine

LEDGER_TABLE = "_import_ledger"

_TEXT = sa.Text().with_variant(mysql.VARCHAR(1024), "mysql", "mariadb")
# The key: MySQL indexes at most 3072 bytes (4 per utf8mb4 character); its table names have
# at most 64 characters.  With the key, concurrent imports into other tables lock only their
# own ledger rows.
LEDGER = sa.Table(
    LEDGER_TABLE,
    sa.MetaData(),
    sa.Column("target", sa.Text().with_variant(mysql.VARCHAR(64), "mysql", "mariadb"), primary_key=True),
    sa.Column("source", sa.Text().with_variant(mysql.VARCHAR(700), "mysql", "mariadb"), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("fingerprint", _TEXT, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("run_id", _TEXT, nullable=False),
    sa.Column("loaded_at", sa.DateTime, nullable=False),
)


@dataclass(frozen=True)
class LedgerEntry:
    """One loaded file as the ledger remembers it."""

    source: str
    size: int
    fingerprint: str
    rows: int
    run_id: str
    loaded_at: dt.datetime


def fingerprint(path: str) -> str:
    """The SHA-256 of a file's bytes as stored (compressed files are hashed compressed)."""
    with open(path, "rb") as stream:
        return "sha256:" + hashlib.file_digest(stream, "sha256").hexdigest()


def ensure_ledger(engine: Engine) -> None:
    """Create the ledger table if this database has none yet."""
    try:
        with engine.begin() as conn:
            LEDGER.create(conn, checkfirst=True)
    except sa.exc.DBAPIError:
        # Another import created it between the check and the CREATE: that is as good.
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(LEDGER_TABLE):
                raise


def read_ledger(engine: Engine, target: str) -> dict[str, LedgerEntry]:
    """The files the ledger says ``target`` holds, by source name."""
    query = sa.select(LEDGER).where(LEDGER.c.target == target)
    with engine.connect() as conn:
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
