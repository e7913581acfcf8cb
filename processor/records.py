"""The records that pass between the stages of a run: a leaf that imports no stage.

The planner hands a ``TablePlan`` to the backends, the loader and the publish step; a worker
hands back a ``FileResult`` (with its ``RejectedRow``s) that the report adds up.  Keeping them
here, apart from the code that makes or reads them, keeps the imports pointing one way.
"""

from __future__ import annotations

from dataclasses import dataclass

from processor.kinds import ColumnType

#: The URL query parameter that carries DEST_SCHEMA to every engine (never to the driver).
SCHEMA_QUERY = "csv_sql_importer_schema"


@dataclass(frozen=True)
class TablePlan:
    """The target table's columns, in header order, with the type each is loaded as."""

    names: tuple[str, ...]
    types: tuple[ColumnType, ...]
    #: Why each column has its type, in words (``kinds.explain``; the dry run shows them).
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RejectedRow:
    """A source row that was not loaded, and why."""

    file: str
    line: int
    reason: str
    text: str
    #: A value that does not fit its column's planned type (not a ragged row): the reason a
    #: plan from samples can be wrong.  Not a column of the rejects file.
    misfit: bool = False


@dataclass(frozen=True)
class FileResult:
    """One file's outcome, returned by the worker that loaded it."""

    name: str
    rows: int
    rejects: tuple[RejectedRow, ...]
    seconds: float
    #: The file's fingerprint for the ledger, taken while it was read (None: not read to its end).
    fingerprint: str | None = None
    #: Data rows read (written, rejected, or left unread after MAX_ERRORS was passed: not counted).
    read: int = 0
    #: The file's size as stored (compressed, if it is).
    bytes: int = 0
    #: How its chunks were written (``ChunkWriter.path``).
    write_path: str | None = None
    #: The delimiter its fields were split on (detected, or SRC_DELIMITER); None: NDJSON.
    delimiter: str | None = None
