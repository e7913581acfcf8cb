"""Arrow's allocator, set so that a chunk's buffers go back to the OS once the chunk is written.

Arrow's default allocator (mimalloc) keeps freed pages for reuse.  With chunks of tens of MB
(parse buffers, regex masks, the CSV for COPY) that held a worker near 300 MB while its live
Arrow data was under 70 MB.  jemalloc with a decay time of 0 returns freed pages at once, which
measured within noise of the default's speed and keeps a worker's peak near its live data.
"""

from __future__ import annotations

import pyarrow as pa


def return_freed_memory() -> None:
    """Make jemalloc, with immediate decay, Arrow's allocator in this process (where built in)."""
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow build without jemalloc: keep its default
        return
    pa.set_memory_pool(pool)
    pa.jemalloc_set_decay_ms(0)
