"""How many CPUs this process may use: the WORKERS default.

A container sees every CPU of its host; what it may use is its cpuset (the CPUs it may run on)
and its CPU quota (``docker run --cpus 2``: so much CPU time per period, whichever CPUs give it).
Both are honoured, so that a pool never has more busy workers than the CPU it gets.  The quota
is read from the cgroup files of this process and of each cgroup above it (a limit anywhere
above applies too): cgroup v2 ``cpu.max`` (``200000 100000``, or ``max 100000``), cgroup v1
``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (a quota of -1 means none).
"""

from __future__ import annotations

import math
import os
from pathlib import Path, PurePosixPath

CGROUP_ROOT = Path("/sys/fs/cgroup")
OWN_CGROUPS = Path("/proc/self/cgroup")


def available_cpus(cgroup_root: Path = CGROUP_ROOT, own_cgroups: Path = OWN_CGROUPS) -> int:
    """The CPUs this process may run on, less any CPU quota (rounded up: 1.5 CPUs give 2)."""
    cpus = len(os.sched_getaffinity(0)) or 1
    quota = cpu_quota(cgroup_root, own_cgroups)
    return cpus if quota is None else max(1, min(cpus, math.ceil(quota)))


def cpu_quota(cgroup_root: Path, own_cgroups: Path) -> float | None:
    """The smallest CPU quota, in CPUs, of this process's cgroups and their ancestors; None if
    there is none (or no cgroup file can be read)."""
    quotas = [q for folder in _cgroup_folders(cgroup_root, own_cgroups) if (q := _quota(folder)) is not None]
    return min(quotas, default=None)


def _cgroup_folders(cgroup_root: Path, own_cgroups: Path) -> list[Path]:
    """The folders of this process's CPU cgroups (v2, and v1's ``cpu`` controller) and of every
    cgroup above them, as far as they exist below ``cgroup_root``."""
    try:
        lines = own_cgroups.read_text().splitlines()
    except OSError:
        lines = []
    folders = [cgroup_root]
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _id, controllers, path = fields
        if controllers == "":  # cgroup v2: the unified hierarchy at the root
            mount = cgroup_root
        elif "cpu" in controllers.split(","):  # cgroup v1: the cpu controller's own hierarchy
            mount = cgroup_root / controllers
            if not mount.is_dir():
                mount = cgroup_root / "cpu"
        else:
            continue
        inside = PurePosixPath(path)
        folders += [mount / p.relative_to("/") for p in (inside, *inside.parents)]
    return [folder for folder in dict.fromkeys(folders) if folder.is_dir()]


def _quota(folder: Path) -> float | None:
    """The CPU quota set in one cgroup folder, in CPUs, or None."""
    try:
        text = (folder / "cpu.max").read_text().split()
        quota, period = text[0], text[1]
    except (OSError, IndexError):
        try:
            quota = (folder / "cpu.cfs_quota_us").read_text().strip()
            period = (folder / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        value, every = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    return value / every if value > 0 and every > 0 else None
