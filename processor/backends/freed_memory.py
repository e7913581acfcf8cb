"""glibc's malloc told to give freed memory back to the system instead of keeping it for later.

By default glibc raises its thresholds as a process frees large blocks: the free space it keeps
at the top of each heap grows up to 64 MB, in each of the arenas its threads allocate from.
The run's process, when it holds DuckDB's one writer, appends every chunk through DuckDB's own
allocations in one thread while others receive the chunks, and kept 150 MB of freed memory that
way (peak 470 MB instead of 318 MB for the benchmark's 16 files).  Fixed thresholds (the highest
glibc would set for direct ``mmap`` allocations; 1 MiB of free top space at most) keep the peak
what the process actually holds, at no measured cost in CPU.
"""

from __future__ import annotations

import ctypes

# mallopt's parameters (glibc's malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: Blocks at least this large get their own mapping, returned whole when freed.
MMAP_BYTES = 32 << 20
#: Free space at a heap's top beyond this is returned at once.
TRIM_BYTES = 1 << 20


def give_back_freed_memory() -> bool:
    """Fix this process's malloc thresholds (``MMAP_BYTES``, ``TRIM_BYTES``); False where the C
    library has no ``mallopt`` to set them (not glibc), which then keeps its own."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))
