"""Values as the bytes PostgreSQL's binary COPY reads for their column, in Arrow binary arrays.

Binary COPY sends every field as a length and the bytes the column's receive function reads;
pgpq sends an Arrow binary array's values as they are, so a type that pgpq cannot encode
(``interval``), or not the way the importer needs (``numeric``: ``postgresql_numeric.py``), is
encoded here with numpy and handed to pgpq as binary.  The server reads each field as the
column's type, and a field of the wrong size is an error, never another value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: ``interval_recv``'s form: microseconds (64-bit), then days and months (32-bit), big-endian.
INTERVAL_FIELD = np.dtype([("microseconds", ">i8"), ("days", ">i4"), ("months", ">i4")])
#: Arrow's ``month_day_nano_interval``: months and days (32-bit), nanoseconds (64-bit).
ARROW_INTERVAL = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanoseconds", "<i8")])


def fixed_width_fields(fields: np.ndarray, present: np.ndarray) -> pa.Array:
    """Fields of one width (``fields``: one row of bytes per value, a null's row ignored) as a
    binary array whose nulls are where ``present`` is false."""
    count, width = fields.shape
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int64)
    validity = pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
    buffers = [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(fields.tobytes())]  # rows in order
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), count, buffers)


def interval_fields(values: pa.Array) -> pa.Array:
    """``month_day_nano_interval`` values as ``interval`` fields.  PostgreSQL keeps whole
    microseconds: a value with a finer part is a ValueError (the importer's check lets none
    through), never a rounded one."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if values.type != pa.month_day_nano_interval():
        raise TypeError(f"interval fields are made from month_day_nano_interval, not {values.type}")
    present = values.is_valid().to_numpy(zero_copy_only=False).astype(bool)
    count = values.offset + len(values)  # an empty array may have no data buffer
    held = np.frombuffer(values.buffers()[1], ARROW_INTERVAL, count=count) if count else None
    parts = held[values.offset :] if held is not None else np.zeros(0, ARROW_INTERVAL)
    nanoseconds = np.where(present, parts["nanoseconds"], 0)
    if np.any(nanoseconds % 1000):
        raise ValueError("an interval has a part of a microsecond, which PostgreSQL's interval does not keep")
    fields = np.zeros(len(values), INTERVAL_FIELD)
    fields["microseconds"] = nanoseconds // 1000
    fields["days"] = np.where(present, parts["days"], 0)
    fields["months"] = np.where(present, parts["months"], 0)
    return fixed_width_fields(fields.view(np.uint8).reshape(len(values), INTERVAL_FIELD.itemsize), present)
