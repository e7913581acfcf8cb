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
import multiprocessing.util
import os
import sys
import tempfile

from processor.cpus import available_cpus
from processor.errors import ConfigError

#: What the server imports before it forks a worker: the tasks and the pool's initializer, and
#: pandas, which pyarrow imports the first time it converts a Python value (to know whether it
#: is a pandas object): 0.6 s of CPU that every worker's first task would pay otherwise.  Last,
#: what makes the server's own exit prompt.
WORKER_MODULES = ["processor.load.worker", "processor.executors.pool", "pandas", "processor.prompt_exit"]


#: The longest path a Unix socket can be bound at (``sun_path``: 108 bytes on Linux, 104 on
#: macOS), and what multiprocessing adds below the temporary folder for the server's socket
#: (``/pymp-XXXXXXXX/listener-XXXXXXXX``).
SOCKET_PATH_LIMIT = 104
SOCKET_NAME_ROOM = 40
#: Short folders the socket may live in instead, where TMPDIR is too long for it.
SHORT_TEMP_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")


def worker_context() -> multiprocessing.context.BaseContext:
    """The start method of the pool's workers: forked by the server (started here if need be)."""
    _short_socket_folder()
    multiprocessing.set_forkserver_preload(WORKER_MODULES)
    return multiprocessing.get_context("forkserver")


def _short_socket_folder() -> None:
    """Where TMPDIR is too long for a socket's path, give multiprocessing's own temporary folder
    (which holds the server's socket, and is removed at exit) a short place; the run's other
    temporary files stay in TMPDIR.  Otherwise the server could not be started at all."""
    if len(tempfile.gettempdir()) + SOCKET_NAME_ROOM <= SOCKET_PATH_LIMIT:
        return
    short = next((d for d in SHORT_TEMP_FOLDERS if os.access(d, os.W_OK | os.X_OK)), None)
    if short is None:
        raise ConfigError(
            f"TMPDIR is too long for the worker pool's socket ({len(tempfile.gettempdir())} characters, "
            f"at most {SOCKET_PATH_LIMIT - SOCKET_NAME_ROOM}); set TMPDIR to a shorter folder"
        )
    saved = tempfile.tempdir
    tempfile.tempdir = short
    try:
        multiprocessing.util.get_temp_dir()  # made now, in the short folder, and kept for the run
    finally:
        tempfile.tempdir = saved


def start_worker_server() -> None:
    """Start the server in the background now, where a pool is likely: with more than one CPU,
    WORKERS' default.  A run that ends up with no pool leaves it to exit with the command."""
    if available_cpus() > 1:
        worker_context()
        multiprocessing.forkserver.ensure_running()


def fill_closed_streams() -> None:
    """Give a standard stream that the command was started without (``>&-``) the null device.

    Otherwise the next file or pipe opened takes its number, and output meant for stderr (the
    workers' too) would go into it; and Python's ``sys.stderr`` would be None.
    """
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one, as those below are open
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115 - lives as long as the process
