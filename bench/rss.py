"""Peak resident memory and CPU seconds of a process and all its descendants, read from /proc.

Each process's own high-water mark (VmHWM) is sampled while it runs, so short-lived pool
workers are counted too; the result is the largest single process and the sum of the peaks.

CPU is read once the command has ended but before it is reaped: its zombie's /proc/<pid>/stat
holds its own final CPU seconds and those of every child it waited for (its workers, and
theirs), so the split main process / workers is exact, not sampled.  A descendant that its
parent never waits for would be missing from that figure; the CPU sampled from each
descendant while it ran is the floor the workers' figure never goes below.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass

from bench.procfs import cpu_times, tree, vm_hwm_kb, waited_children_cpu

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RunResult:
    seconds: float
    returncode: int
    peak_rss_mb: float  # the largest single process
    total_rss_mb: float  # the sum of every process's peak (an upper bound of the tree at once)
    processes: int  # how many processes the run had
    output: str
    main_cpu_seconds: float = 0.0  # the command's own process, user + system
    workers_cpu_seconds: float = 0.0  # all its descendants together

    @property
    def cpu_seconds(self) -> float:
        return self.main_cpu_seconds + self.workers_cpu_seconds


def run_measured(args: list[str], env: dict[str, str] | None = None) -> RunResult:
    """Run a command to completion, measuring wall time, the peak RSS and the CPU of its process tree."""
    peaks: dict[int, int] = {}
    sampled_cpu: dict[int, float] = {}
    started = time.perf_counter()
    reaped_before = waited_children_cpu()
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            for pid in tree(process.pid):
                peaks[pid] = max(peaks.get(pid, 0), vm_hwm_kb(pid))
                if pid != process.pid and (times := cpu_times(pid)) is not None:
                    sampled_cpu[pid] = times.own
            time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    assert process.stdout is not None
    output = process.stdout.read()  # to its end: the command has closed it, normally by ending
    # Wait for the end without reaping, so that the zombie's /proc entry can still be read.
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    seconds = time.perf_counter() - started
    final = cpu_times(process.pid)
    process.wait()
    done.set()
    poller.join()
    process.stdout.close()
    if final is None:  # cannot happen on Linux; fall back to the tree's total as the main's
        main, workers = waited_children_cpu() - reaped_before, 0.0
    else:
        main, workers = final.own, max(final.children, sum(sampled_cpu.values()))
    return RunResult(
        seconds=seconds,
        returncode=process.returncode,
        peak_rss_mb=max(peaks.values(), default=0) / 1024,
        total_rss_mb=sum(peaks.values()) / 1024,
        processes=len(peaks),
        output=output,
        main_cpu_seconds=main,
        workers_cpu_seconds=workers,
    )
