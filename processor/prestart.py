"""The pool's workers are forked from a server process that imported their modules once.

Spawned, each worker would import pyarrow, SQLAlchemy and the drivers on its own (about a
second of CPU each) only once the run has planned its pool.  The server is started as the
command starts, so its imports overlap the command's own, and the workers it forks start warm.
It is a server of its own rather than a fork of the run's process, which by then holds
database sessions and Arrow's threads that no child may inherit.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver

from processor.cpus import available_cpus

#: What the server imports before it forks a worker: the tasks and the pool's initializer, and
#: pandas, which pyarrow imports the first time it converts a Python value (to know whether it
#: is a pandas object): 0.6 s of CPU that every worker's first task would pay otherwise.  Last,
#: what makes the server's own exit prompt.
WORKER_MODULES = ["processor.worker", "processor.executors.pool", "pandas", "processor.prompt_exit"]


def worker_context() -> multiprocessing.context.BaseContext:
    """The start method of the pool's workers: forked by the server (started here if need be)."""
    multiprocessing.set_forkserver_preload(WORKER_MODULES)
    return multiprocessing.get_context("forkserver")


def start_worker_server() -> None:
    """Start the server in the background now, where a pool is likely: with more than one CPU,
    WORKERS' default.  A run that ends up with no pool leaves it to exit with the command."""
    if available_cpus() > 1:
        worker_context()
        multiprocessing.forkserver.ensure_running()
