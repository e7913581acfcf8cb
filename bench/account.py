"""The account of one run: its wall time, the CPU seconds of the client's processes and of the
database server's, and so how much of the machine it kept busy.

The client is every process the benchmark started for the run and their descendants (the
importer's main process and its workers; a loader's shell, and its ``gzip``); the server is
read from /proc (``bench/servers.py``).  Machine use is the total CPU over wall time x cores:
1.0 is every core busy for the whole run, so the distance from it is what more parallelism
could still win on this machine, and a run near it is bound by the CPU it needs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.procfs import waited_children_cpu
from bench.servers import ServerCpu


@dataclass(frozen=True)
class Account:
    seconds: float
    client_cpu: float
    #: None: the server's processes cannot be read from here (its CPU is then not counted).
    server_cpu: float | None
    #: The importer's own process and its descendants (its workers); None for the loaders.
    main_cpu: float | None = None
    workers_cpu: float | None = None

    @property
    def cpu(self) -> float:
        """Client and server CPU seconds together."""
        return self.client_cpu + (self.server_cpu or 0.0)

    def utilisation(self, cores: int) -> float:
        """Total CPU / (wall x cores): the share of the machine the run kept busy."""
        return self.cpu / (self.seconds * cores) if self.seconds > 0 else 0.0

    def plus(self, other: Account) -> Account:
        """Two runs one after the other (a load, then its ``ANALYZE``) as one."""
        return Account(
            seconds=self.seconds + other.seconds,
            client_cpu=self.client_cpu + other.client_cpu,
            server_cpu=None
            if self.server_cpu is None or other.server_cpu is None
            else self.server_cpu + other.server_cpu,
            main_cpu=_add(self.main_cpu, other.main_cpu),
            workers_cpu=_add(self.workers_cpu, other.workers_cpu),
        )

    @staticmethod
    def median(accounts: Sequence[Account]) -> Account:
        """Each figure's median over the rounds."""
        return Account(
            seconds=statistics.median(a.seconds for a in accounts),
            client_cpu=statistics.median(a.client_cpu for a in accounts),
            server_cpu=_median([a.server_cpu for a in accounts]),
            main_cpu=_median([a.main_cpu for a in accounts]),
            workers_cpu=_median([a.workers_cpu for a in accounts]),
        )


def measure(action: Callable[[], object], server: ServerCpu | None) -> Account:
    """Run ``action``, which runs subprocesses and waits for them, and account for it: the
    client's CPU is what those subprocesses (and theirs) used, the benchmark's own process aside."""
    server_before = server() if server else None
    client_before = waited_children_cpu()
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    client = waited_children_cpu() - client_before
    server_cpu = server() - server_before if server and server_before is not None else None
    return Account(seconds=seconds, client_cpu=client, server_cpu=server_cpu)


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if len(known) == len(values) and known else None
