"""CPU seconds a task spent by stage, for the report's account of where a run's CPU went.

``time.process_time``, not the task's thread's: Arrow's streaming CSV reader reads its blocks on
a thread of its own (decompressing them, and the quote check and the fingerprint seeing them),
and that CPU is the reading's.  The chunks are written on a thread of the task's own
(``ahead.py``), whose CPU is the writing's, counted on that thread, and left out of the other
stages.  A pool worker runs one task at a time, so its process's CPU while a stage runs is that
stage's; where a process runs other work beside the task (Dask's threads, WORKERS=1), that work
counts too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

#: Reading and parsing the text; shaping, checking and typing the values; encoding and sending
#: them (or handing them over, or an embedded database's own inserts); anything else of the task.
STAGES = ("read", "check", "write", "other")

T = TypeVar("T")


class StageClock:
    """The process's CPU from the clock's start, split by the stage running when it was spent.

    ``others``: the CPU seconds of the task's writer thread, which runs beside the stages timed
    with ``stage`` and times its own with ``own``."""

    def __init__(self, others: Callable[[], float] = lambda: 0.0) -> None:
        self._started = time.process_time()
        self._spent = dict.fromkeys(STAGES[:-1], 0.0)
        self._others = others

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]:
        """The process's CPU while the block runs, but the writer thread's."""
        return timed_into(self._spent, name, lambda: time.process_time() - self._others())

    def own(self, name: str) -> contextlib.AbstractContextManager[None]:
        """The calling thread's CPU while the block runs (the writer thread's writes)."""
        return timed_into(self._spent, name, time.thread_time)

    def timed(self, name: str, items: Iterable[T]) -> Iterator[T]:
        """``items``, the CPU of producing each counted to stage ``name``."""
        iterator = iter(items)
        while True:
            with self.stage(name):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item

    def account(self) -> dict[str, float]:
        """CPU seconds by stage (``STAGES``): ``other`` is what the stages timed leave of the whole."""
        whole = time.process_time() - self._started
        return {**self._spent, "other": max(0.0, whole - sum(self._spent.values()))}


@contextlib.contextmanager
def timed_into(totals: dict[str, float], name: str, clock: Callable[[], float]) -> Iterator[None]:
    """Add the ``clock`` seconds a block takes to ``totals[name]`` (also when it fails): the
    stages' CPU here, the run's phases' wall time in its report."""
    started = clock()
    try:
        yield
    finally:
        totals[name] = totals.get(name, 0.0) + clock() - started


def summed(accounts: Iterable[dict[str, float]]) -> dict[str, float]:
    """CPU seconds by stage, several accounts' together (a file's parts, a run's files)."""
    total = dict.fromkeys(STAGES, 0.0)
    for account in accounts:
        for stage, seconds in account.items():
            total[stage] += seconds
    return total
