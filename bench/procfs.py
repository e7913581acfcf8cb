"""What Linux's /proc tells of a process: its descendants, its peak memory, its CPU seconds.

The benchmark's measurements read these files directly (no psutil): the fields it needs are few,
and reading them is what psutil would do on Linux anyway.
"""

from __future__ import annotations

import contextlib
import os
import resource
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuTimes:
    """CPU seconds (user + system) from /proc/<pid>/stat: the process's own (all its threads,
    ended ones included), and those of the children it has waited for (``cutime + cstime``:
    a process that ended counts there, in its parent, once the parent has reaped it)."""

    own: float
    children: float
    parent: int
    name: str

    @property
    def total(self) -> float:
        return self.own + self.children


def cpu_times(pid: int) -> CpuTimes | None:
    """The process's CPU seconds; None if it is gone (a zombie not yet reaped still answers,
    with its final figures)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The name is in parentheses and may hold spaces or parentheses itself: split after the last.
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # Fields 4 (ppid) and 14-17 (utime, stime, cutime, cstime) of proc(5), here from field 3 on.
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return CpuTimes((utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS, int(fields[1]), name)


def waited_children_cpu() -> float:
    """CPU seconds of every child of this process that it has waited for, and of theirs
    (``RUSAGE_CHILDREN``): a delta around a subprocess is that subprocess tree's CPU."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree(root: int) -> list[int]:
    """``root`` and its living descendants (of every thread, so forks of helper threads too)."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        with contextlib.suppress(OSError):  # the process ended meanwhile
            for task in list(Path(f"/proc/{pid}/task").glob("*/children")):
                with contextlib.suppress(OSError):  # the thread ended meanwhile
                    todo.extend(int(child) for child in task.read_text().split())
    return pids


def vm_hwm_kb(pid: int) -> int:
    """The process's peak resident memory (VmHWM) in kB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pids_named(*names: str) -> list[int]:
    """Every process whose name (``comm``) is one of ``names``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
    return found
