"""Give a chunk of text columns its planned types; rows that do not fit are set aside.

A row is rejected whole when any of its values does not hold exactly in its column's type, so a
late ``N/A`` in an integer column, or a 4-character code in a ``VARCHAR(3)``, costs one row in
the rejects file, never a crash mid-table or a changed value.  A typed file's columns (Parquet)
are checked and converted by ``typed.py``, by the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from processor.kinds import ColumnType
from processor.load.typed import check_typed, is_typed, typed_column, typed_wire
from processor.records import TablePlan


def apply_plan(chunk: pa.Table, plan: TablePlan) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """The chunk's fitting rows converted to their types, and (row index, reason, the column of
    the value that does not fit) for the rest."""
    masks: dict[int, pa.Array] = {}
    typed: set[int] = set()
    wire_types = list(plan.types)  # the types the values are sent as
    for i, column_type in enumerate(plan.types):
        values = chunk.column(i)
        if pa.types.is_null(values.type):  # a typed file's column of no values
            values = values.cast(pa.string())
            chunk = chunk.set_column(i, chunk.field(i).name, values)
        if is_typed(values):
            wire_types[i] = typed_column(column_type, values.type)
            values, mask = check_typed(column_type, values)
            chunk = chunk.set_column(i, chunk.field(i).name, values)
            if is_typed(values):
                typed.add(i)
        else:
            mask = column_type.fit_mask(values)
        if mask is not None:
            masks[i] = mask
    keep = None
    for mask in masks.values():
        keep = mask if keep is None else pc.and_(keep, mask)
    rejected: list[tuple[int, str, str]] = []
    if keep is not None and not pc.all(keep).as_py():
        rejected = _reasons(chunk, plan.names, wire_types, masks, keep)
        chunk = chunk.filter(keep)
    arrays = [
        typed_wire(column_type, chunk.column(i)) if i in typed else column_type.to_wire(chunk.column(i))
        for i, column_type in enumerate(wire_types)
    ]
    return pa.table(arrays, names=list(plan.names)), rejected


def _reasons(
    chunk: pa.Table,
    names: Sequence[str],
    types: Sequence[ColumnType],
    masks: dict[int, pa.Array],
    keep: pa.Array,
) -> list[tuple[int, str, str]]:
    """Explain each rejected row by its first misfitting value (error path only)."""
    rows = pc.indices_nonzero(pc.invert(keep)).to_pylist()
    out = []
    for row in rows:
        for i, mask in masks.items():
            if not mask[row].as_py():
                value = chunk.column(i)[row].as_py()
                if isinstance(value, bytes):  # as PostgreSQL writes bytea: \x and hex digits
                    value = "\\x" + value.hex()
                value = value if value is None or isinstance(value, str) else str(value)
                name = names[i]
                out.append((row, f"column {name!r}: {types[i].reason(value)}", name))
                break
    return out
