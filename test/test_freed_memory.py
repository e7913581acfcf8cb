"""The run's process gives freed memory back to the system (``processor/backends/freed_memory.py``).

glibc raises its thresholds after a large block is freed, and then keeps up to twice that
block's size of free space at the top of a heap; with the thresholds fixed it keeps 1 MiB.
Each case runs in a new interpreter, whose resident memory (``RssAnon``) is the oracle.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

# Frees an 8 MiB block (glibc's own thresholds rise to keep 16 MiB of free top space), then takes
# and gives back 10 MiB in 64 KiB blocks, and prints the resident memory before, with and after.
PROGRAM = """
import ctypes, sys
from processor.backends.freed_memory import give_back_freed_memory

def anon():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon")) // 1024

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "fixed":
    assert give_back_freed_memory()
libc.free(libc.malloc(8 << 20))
before = anon()
blocks = [libc.malloc(64 << 10) for _ in range(160)]
for block in blocks:
    ctypes.memset(block, 1, 64 << 10)
held = anon()
for block in reversed(blocks):
    libc.free(block)
print(before, held, anon())
"""


def resident(mode: str) -> tuple[int, int, int]:
    command = [sys.executable, "-c", PROGRAM, mode]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    before, held, after = map(int, done.stdout.split())
    return before, held, after


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt and /proc")
def test_freed_memory_goes_back_once_the_thresholds_are_fixed() -> None:
    before, held, after = resident("glibc's own")
    assert held - before >= 9  # the 10 MiB were resident ...
    assert after - before >= 9  # ... and glibc kept them, freed, at the heap's top
    before, held, after = resident("fixed")
    assert held - before >= 9
    assert after - before <= 2  # given back
