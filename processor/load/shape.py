"""Shape a chunk of text columns as the run asked: pick and name them, add the path column,
apply TRANSFORM.  The same for a sample (to plan types) and for every chunk loaded, so the plan
describes exactly what is loaded.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from processor.load.transform import transform_chunk
from processor.plan.columns import ColumnMap


def shape_chunk(
    chunk: pa.Table, layout: ColumnMap, transform: str | None, relative_path: str
) -> tuple[pa.Table, np.ndarray | None]:
    """The chunk's columns as loaded, and (after a TRANSFORM) the chunk row each row came from.

    Raises ``UnnamedValue`` and ``TransformFailed`` with rows of ``chunk``, for the caller to
    name by their lines.
    """
    shaped = layout.apply(chunk, relative_path)
    if transform is None:
        return shaped, None
    return transform_chunk(transform, shaped)
