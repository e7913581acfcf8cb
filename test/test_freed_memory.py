"""The run's process gives freed memory back to the system (``processor/backends/freed_memory.py``).

glibc raises its thresholds after a large block is freed, and then keeps up to twice that
block's size of free space at the top of a heap (64 MiB at most); with the thresholds fixed it
keeps 1 MiB.  The case runs in a new interpreter, whose resident memory (``RssAnon``) is the
oracle.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

# Raises the thresholds as glibc's own rule may (M_MMAP_THRESHOLD -3: 32 MiB, M_TRIM_THRESHOLD
# -1: 64 MiB), then twice takes and gives back 10 MiB in 1 MiB blocks, before and after
# give_back_freed_memory; prints the resident memory before, with and after each time.  Blocks
# of 1 MiB come from the heap's top: smaller ones (64 KiB) filled holes that the interpreter's
# start had left, where it read the importer's compiled bytecode, and their freeing never
# reached the top.
PROGRAM = """
import ctypes
from processor.backends.freed_memory import give_back_freed_memory

def anon():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon")) // 1024

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def take_and_give_back():
    before = anon()
    blocks = [libc.malloc(1 << 20) for _ in range(10)]
    for block in blocks:
        ctypes.memset(block, 1, 1 << 20)
    held = anon()
    for block in reversed(blocks):
        libc.free(block)
    print(before, held, anon())

assert libc.mallopt(-3, 32 << 20) and libc.mallopt(-1, 64 << 20)
take_and_give_back()
assert give_back_freed_memory()
take_and_give_back()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt and /proc")
def test_freed_memory_goes_back_once_the_thresholds_are_fixed() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True, cwd=ROOT
    )
    (before, held, after), (_, _, after_again) = (map(int, line.split()) for line in done.stdout.splitlines())
    assert held - before >= 9  # the 10 MiB were resident ...
    assert after - before >= 9  # ... and kept, freed, at the heap's top
    assert after_again - before <= 2  # now given back
