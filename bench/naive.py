"""The naive design the importer replaces, for reference: a Pool where each worker reads its file
with pandas in chunks (dtypes guessed per chunk) and calls ``to_sql`` with the default INSERTs.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL

CHUNK_ROWS = 20_000


def load_naive(url: URL, table: str, files: list[Path], workers: int) -> float:
    """Load ``files`` into ``table`` (created by pandas from a first chunk's guess); return seconds."""
    started = time.perf_counter()
    engine = sa.create_engine(url)
    pd.read_csv(files[0], nrows=1000, dtype={"LMK_KEY": str}).head(0).to_sql(
        table, engine, if_exists="replace", index=False
    )
    engine.dispose()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.starmap(_load_file, [(url, table, path) for path in files])
    return time.perf_counter() - started


def _load_file(url: URL, table: str, path: Path) -> None:
    engine = sa.create_engine(url)
    # The one change the naive design needs to finish at all: 28-digit keys overflow 64 bits.
    for chunk in pd.read_csv(path, chunksize=CHUNK_ROWS, dtype={"LMK_KEY": str}):
        chunk.to_sql(table, engine, if_exists="append", index=False)
    engine.dispose()
