"""CPU seconds a database server has used so far, read from /proc: before and after a run, the
difference is the server's share of the run's work.

PostgreSQL runs a process per session, forked by the postmaster (found as the parent of a
session's backend): its figure is the CPU of the postmaster and of every living descendant
(backends, the checkpointer, the WAL writer, autovacuum) plus the postmaster's ``cutime +
cstime``, where a backend that ended during the run has been added once the postmaster reaped
it.  MariaDB is one process with a thread per session (found by its ``@@pid_file``, else as
the one ``mariadbd`` or ``mysqld`` process): its ``utime + stime`` counts every thread, ended
ones too.  SQLite and DuckDB run inside the client, so their server's figure is 0: all their CPU
is the client's.

The figures are the whole server's, so another client's work during the run counts too: measure
on a quiet machine.  A server that is not a process on this machine (another host, a container
whose processes are hidden) gives None.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import URL

from bench.procfs import CpuTimes, cpu_times, pids_named, tree

#: Reads the server's CPU seconds so far.
ServerCpu = Callable[[], float]

IN_PROCESS = ("sqlite", "duckdb")


def server_cpu(url: URL) -> ServerCpu | None:
    """How to read the CPU seconds of ``url``'s server; None if its processes cannot be read."""
    backend = url.get_backend_name()
    if backend in IN_PROCESS:
        return lambda: 0.0
    if backend == "postgresql":
        return _postgresql(url)
    if backend in ("mysql", "mariadb"):
        return _mariadb(url)
    return None


def _postgresql(url: URL) -> ServerCpu | None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            # Read while the session is open: its backend ends with it.
            backend_pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            session = cpu_times(int(backend_pid)) if backend_pid is not None else None
    finally:
        engine.dispose()
    postmaster = _postmaster(session)
    if postmaster is None:
        return None

    def read() -> float:
        # A backend reaped between reading the postmaster and reading its children would be
        # missed (or, the other way round, counted twice): read again until no child was reaped.
        while True:
            before = _times(postmaster)
            children = sum(t.total for pid in tree(postmaster)[1:] if (t := cpu_times(pid)) is not None)
            after = _times(postmaster)
            if after.children == before.children:
                return after.total + children

    return read


def _postmaster(session: CpuTimes | None) -> int | None:
    """The parent of the session's backend, if both are postgres processes on this machine."""
    if session is not None and session.name.startswith("postgres") and _named(session.parent, "postgres"):
        return session.parent
    return None


def _mariadb(url: URL) -> ServerCpu | None:
    pid: int | None = None
    pid_file = _scalar(url, "SELECT @@pid_file")
    try:
        with open(str(pid_file)) as file:
            pid = int(file.read().split()[0])
    except (OSError, ValueError, IndexError):
        found = pids_named("mariadbd", "mysqld")
        pid = found[0] if len(found) == 1 else None
    if pid is None or not _named(pid, "mariadbd", "mysqld"):
        return None
    server = pid

    def read() -> float:
        return _times(server).own

    return read


def _times(pid: int) -> CpuTimes:
    times = cpu_times(pid)
    if times is None:
        raise RuntimeError(f"the database server's process {pid} has gone")
    return times


def _named(pid: int, *names: str) -> bool:
    times = cpu_times(pid)
    return times is not None and times.name in names


def _scalar(url: URL, sql: str) -> object:
    """One value from the server."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()
    finally:
        engine.dispose()
