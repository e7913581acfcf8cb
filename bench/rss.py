"""Peak resident memory of a process and all its descendants, read from Linux's /proc.

Each process's own high-water mark (VmHWM) is sampled while it runs, so short-lived pool
workers are counted too; the result is the largest single process and the sum of the peaks.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RunResult:
    seconds: float
    returncode: int
    peak_rss_mb: float  # the largest single process
    total_rss_mb: float  # the sum of every process's peak (an upper bound of the tree at once)
    processes: int  # how many processes the run had
    output: str


def run_measured(args: list[str], env: dict[str, str] | None = None) -> RunResult:
    """Run a command to completion, measuring wall time and the peak RSS of its process tree."""
    peaks: dict[int, int] = {}
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            for pid in _tree(process.pid):
                peaks[pid] = max(peaks.get(pid, 0), _vm_hwm_kb(pid))
            time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    poller.join()
    return RunResult(
        seconds=seconds,
        returncode=process.returncode,
        peak_rss_mb=max(peaks.values(), default=0) / 1024,
        total_rss_mb=sum(peaks.values()) / 1024,
        processes=len(peaks),
        output=output,
    )


def _tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        with contextlib.suppress(OSError):  # the process ended meanwhile
            for task in list(Path(f"/proc/{pid}/task").glob("*/children")):
                with contextlib.suppress(OSError):  # the thread ended meanwhile
                    todo.extend(int(child) for child in task.read_text().split())
    return pids


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
