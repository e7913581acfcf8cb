"""TRANSFORM: a user's pandas function applied to every chunk before its columns are typed.

``TRANSFORM=module:function`` (importable) or ``path/to/file.py:function``.  The function gets
a DataFrame of the chunk's text columns with Arrow-backed dtypes (``pd.ArrowDtype``, so Arrow's
buffers are used, not copied into Python objects) and returns a DataFrame.  It may add, drop,
rename and change columns, and filter rows; the rows it returns keep the index they were given,
so a rejected row is still reported with its file's line.  Every column it returns is handed on
as text (numbers in their shortest exact spelling), and the plan is made from transformed
samples, so a derived column is typed like any other.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processor.errors import ConfigError
from processor.interrupts import Signalled

if TYPE_CHECKING:  # pandas is imported by the runs that use TRANSFORM only (~0.3 s per process)
    import pandas as pd

Function = Callable[["pd.DataFrame"], Any]


class TransformFailed(Exception):
    """The function raised, or returned something that is not a DataFrame of its rows;
    ``detail`` is the traceback (for ``--verbose``)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


@functools.cache
def load_transform(spec: str) -> Function:
    """The function TRANSFORM names (loaded once per process); ConfigError if it cannot be."""
    target, colon, name = spec.rpartition(":")
    if not colon or not target or not name.isidentifier():
        raise ConfigError(f"TRANSFORM must be module:function or path/to/file.py:function, got {spec!r}")
    try:
        module = _load_file(target) if target.endswith(".py") else importlib.import_module(target)
    except (ConfigError, Signalled):
        raise
    except BaseException as error:  # sys.exit() or a KeyboardInterrupt in the module's own code too
        raise ConfigError(
            f"TRANSFORM {spec!r}: {target} cannot be loaded: {_raised(error)}",
            "".join(traceback.format_exception(error)),
        ) from None
    function: Function | None = getattr(module, name, None)
    if not callable(function):
        raise ConfigError(f"TRANSFORM {spec!r}: {target} has no function {name!r}")
    return function


def _load_file(path: str) -> object:
    if not Path(path).is_file():
        raise ConfigError(f"TRANSFORM names a file that does not exist: {path}")
    spec = importlib.util.spec_from_file_location(f"_transform_{Path(path).stem}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"TRANSFORM names a file Python cannot load as a module: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def transform_chunk(spec: str, chunk: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """The chunk as the function returns it, its columns as text; and, for each returned row,
    the index of the chunk's row it came from."""
    import pandas as pd

    frame = chunk.to_pandas(types_mapper=pd.ArrowDtype)
    try:
        result = load_transform(spec)(frame)
    except Signalled:  # a real Ctrl-C or SIGTERM that arrived while the function ran
        raise
    except BaseException as error:
        # Whatever the user's code raises, sys.exit(0) and KeyboardInterrupt included, fails the
        # run as its error: it must not end the run silently, nor pass for an interruption.
        raise TransformFailed(_raised(error), "".join(traceback.format_exception(error))) from None
    if not isinstance(result, pd.DataFrame):
        raise TransformFailed(f"it returned {type(result).__name__}, not a pandas DataFrame")
    rows = _rows_kept(result.index, chunk.num_rows)
    names = [str(name) for name in result.columns]
    if len(set(names)) != len(names):
        raise TransformFailed(f"it returned repeated column names: {', '.join(names)}")
    table = pa.Table.from_pandas(result, preserve_index=False)
    return pa.table([_as_text(name, table.column(i)) for i, name in enumerate(names)], names=names), rows


def _raised(error: BaseException) -> str:
    """What the user's code raised: ``KeyError: 'x'``, ``SystemExit: 0``, ``KeyboardInterrupt``."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def _rows_kept(index: pd.Index, count: int) -> np.ndarray:
    """The chunk rows the returned index names: a subset of the given ones, each at most once."""
    rows = index.to_numpy()
    if (
        not np.issubdtype(rows.dtype, np.integer)
        or (rows.size and (rows.min() < 0 or rows.max() >= count))
        or len(np.unique(rows)) != rows.size
    ):
        raise TransformFailed(
            "it returned rows that are not among those it was given "
            "(keep the index of the rows it returns; filtering rows is fine)"
        )
    return rows.astype(np.int64)


def _as_text(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A returned column as text: strings as they are, numbers, booleans and dates cast
    (Arrow spells floats in their shortest round-trip form)."""
    if pa.types.is_string(column.type):
        return column
    if pa.types.is_large_string(column.type) or pa.types.is_null(column.type):
        return column.cast(pa.string())
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, "true", "false")
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise TransformFailed(f"column {name!r} is of type {column.type}, not one loaded as text") from None
