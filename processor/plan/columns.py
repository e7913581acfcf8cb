"""Which of the header's columns are loaded, under which names, plus the path column.

``SRC_COLUMNS`` picks columns by name in the order given (``old:new`` renames one); the others
are left out already by Arrow's reader, so they are never converted nor sent.  ``SRC_PATH_COLUMN``
adds a text column holding each row's file path relative to SRC_DATA_FOLDER (or the archive).  A
header that ends with the delimiter (``a|b|c|``, TPC-H's ``.tbl`` files) has an empty last name:
that column is dropped when its field is empty in every row, checked as each chunk is read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from processor.errors import SchemaError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ColumnMap:
    """How the fields of a file's records become the columns handed on to be typed."""

    #: The header's names (an NDJSON file's keys), one per field of every record.
    header: tuple[str, ...]
    #: The field each column is read from (None: the file lacks it, ON_MISSING_COLUMNS=null, and
    #: it is NULL in every row), and the column's name.
    picks: tuple[int | None, ...]
    names: tuple[str, ...]
    #: The name of the added column holding the file's relative path, if any.
    path_column: str | None = None
    #: The field (the last) with no name in the header, which must be empty in every row.
    unnamed: int | None = None

    @property
    def fields(self) -> int:
        return len(self.header)

    @property
    def read(self) -> tuple[int, ...]:
        """The fields Arrow reads (and converts), in file order; the rest are skipped."""
        needed = {p for p in self.picks if p is not None}
        if self.unnamed is not None:
            needed.add(self.unnamed)
        return tuple(sorted(needed))

    @property
    def columns(self) -> tuple[str, ...]:
        """The names of the columns ``apply`` returns."""
        return self.names + ((self.path_column,) if self.path_column else ())

    def without(self, positions: frozenset[int]) -> ColumnMap:
        """This map less the columns at ``positions`` (of ``columns``): the fields only they
        need are not read at all."""
        kept = [i for i in range(len(self.picks)) if i not in positions]
        path_column = None if len(self.picks) in positions else self.path_column
        picks, names = tuple(self.picks[i] for i in kept), tuple(self.names[i] for i in kept)
        return ColumnMap(self.header, picks, names, path_column, self.unnamed)

    def apply(self, batch: pa.Table, relative_path: str) -> pa.Table:
        """The batch's columns as picked and named, with the path column added.

        ``batch`` holds the fields of ``read`` (named by their index, as ``read_batches`` names
        them).  Raises ``UnnamedValue`` with the row index of a value in the unnamed column.
        """
        if self.unnamed is not None:
            column = batch.column(str(self.unnamed))
            if column.null_count != len(column):
                raise UnnamedValue(pc.index(pc.is_valid(column), True).as_py())
        arrays = [
            pa.nulls(batch.num_rows, pa.string()) if field is None else batch.column(str(field))
            for field in self.picks
        ]
        if self.path_column:
            arrays.append(pa.array([relative_path] * batch.num_rows, pa.string()))
        return pa.table(arrays, names=list(self.columns))


class UnnamedValue(Exception):
    """A value in the column that has no name in the header (``row``: its index in the batch)."""

    def __init__(self, row: int) -> None:
        super().__init__(row)
        self.row = row


def map_columns(
    header: Sequence[str], selection: Sequence[str], path_column: str | None, source_name: str
) -> ColumnMap:
    """The ColumnMap of SRC_COLUMNS (``selection``; empty: every column) and SRC_PATH_COLUMN.

    An unknown name is a SchemaError listing the header.  An empty last name (the header ends
    with the delimiter) is dropped from the columns, its field checked to be empty as rows are
    read; an empty name elsewhere stays for ``check_identifiers`` to refuse.
    """
    unnamed = len(header) - 1 if len(header) > 1 and header[-1] == "" else None
    if not selection:
        picks = [i for i in range(len(header)) if i != unnamed]
        names = [header[i] for i in picks]
    else:
        picks, names = [], []
        position = {name: i for i, name in reversed(list(enumerate(header)))}
        for entry in selection:
            old, new = (entry, entry) if entry in position else _renaming(entry)
            if old not in position:
                shown = ", ".join(map(repr, header))
                raise SchemaError(
                    f"SRC_COLUMNS names {old!r}, which is not in the header of {source_name}: {shown}"
                )
            picks.append(position[old])
            names.append(new)
    if unnamed is not None:
        log.info(
            "%s: the header ends with the delimiter: its unnamed last column is dropped "
            "(it must be empty in every row)",
            source_name,
        )
    return ColumnMap(tuple(header), tuple(picks), tuple(names), path_column or None, unnamed)


def _renaming(entry: str) -> tuple[str, str]:
    old, colon, new = entry.rpartition(":")
    return (old, new) if colon and old and new else (entry, entry)
