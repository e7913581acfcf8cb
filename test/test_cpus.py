"""Unit tests of the CPUs a run may use: the cgroup quota (v1 and v2) and the CPU set."""

from __future__ import annotations

import os

import pytest
from conftest import write

from processor.cpus import available_cpus, cpu_quota


@pytest.mark.parametrize(
    ("files", "membership", "quota"),
    [
        ({"cpu.max": "150000 100000\n"}, "0::/\n", 1.5),  # cgroup v2 in a container (--cpus 1.5)
        ({"cpu.max": "max 100000\n"}, "0::/\n", None),  # v2 without a quota
        (  # v2 on a host: the process's own cgroup sets it
            {"system.slice/app.service/cpu.max": "50000 100000\n", "system.slice/cpu.max": "max 100000\n"},
            "0::/system.slice/app.service\n",
            0.5,
        ),
        (  # a cgroup above the process's own one limits it too
            {"system.slice/cpu.max": "200000 100000\n", "system.slice/app.service/cpu.max": "max 100000\n"},
            "0::/system.slice/app.service\n",
            2.0,
        ),
        (  # v1, Docker without a cgroup namespace: the mount's root is the container's cgroup
            {"cpu,cpuacct/cpu.cfs_quota_us": "250000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
            "4:cpu,cpuacct:/docker/0123abcd\n1:name=systemd:/docker/0123abcd\n",
            2.5,
        ),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, "1:cpu:/\n", None),
        ({}, "", None),  # no cgroup files at all
    ],
)
def test_cpu_quota_from_cgroup_files(tmp_path, files, membership, quota):
    root = tmp_path / "cgroup"
    root.mkdir()
    for name, text in files.items():
        write(root, name, text)
    assert cpu_quota(root, write(tmp_path, "self-cgroup", membership)) == quota


def test_available_cpus_is_the_quota_rounded_up_within_the_cpuset(tmp_path):
    own = write(tmp_path, "self-cgroup", "0::/\n")
    write(tmp_path / "half", "cpu.max", "50000 100000\n")
    write(tmp_path / "plenty", "cpu.max", "100000000 100000\n")
    assert available_cpus(tmp_path / "half", own) == 1
    assert available_cpus(tmp_path / "plenty", own) == len(os.sched_getaffinity(0))
