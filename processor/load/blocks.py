"""A compressed file's blocks reach a pool's workers in files, not inside their tasks.

The run decompresses a large compressed file once and hands its text out in blocks of 4 MiB
(``sources/split.py``).  A pool's task travels pickled through a pipe, 64 KiB at a time, and is
copied on each side: 480 MB of blocks that way cost the run 0.4 s and each worker 0.6 s of CPU,
against 0.1-0.2 s written to files and read back (measured apart); the benchmark's ``.gz`` file
loads into PostgreSQL with 8.3-8.7 s of the client's CPU instead of 9.2-9.9 s, and DuckDB's
writer holds 350 MB instead of 365 MB.  So the run writes each block to a file in a folder of
its own under TMPDIR, the task names the file, and the worker reads it whole and removes it;
the folder goes when the run ends, whatever happens to it.  A cluster's tasks keep their
blocks: its workers may be on other machines.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from dataclasses import replace

from processor.errors import unwritable
from processor.sources.parts import Part

#: The folder's name in TMPDIR: ``csv-sql-importer-blocks-`` and a random part.
FOLDER_PREFIX = "csv-sql-importer-blocks-"


class BlockFiles:
    """The folder the run writes blocks into for its pool's workers, until ``close``."""

    def __init__(self) -> None:
        try:
            self.folder = tempfile.mkdtemp(prefix=FOLDER_PREFIX)
        except OSError as error:
            problem = f"no folder for the workers' blocks can be made in {tempfile.gettempdir()} (TMPDIR)"
            raise unwritable(problem, error) from None
        self._numbers = itertools.count()

    def put(self, name: str, part: Part) -> Part:
        """``part`` (of the file ``name``) with its block in a file of the folder, if it has one."""
        if part.data is None:
            return part
        path = os.path.join(self.folder, f"{next(self._numbers)}.block")
        try:
            with open(path, "wb") as file:
                file.write(part.data)
        except OSError as error:
            problem = f"{name}: a block of its text cannot be written to {path} (TMPDIR says where)"
            raise unwritable(problem, error) from None
        return replace(part, data=None, spilled=path)

    def close(self) -> None:
        """Remove the folder with the blocks no worker took (a failed or interrupted load)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def take_block(part: Part) -> Part:
    """In the worker: ``part`` with its block read back from its file, which is removed."""
    if part.spilled is None:
        return part
    with open(part.spilled, "rb") as file:
        data = file.read()
    os.unlink(part.spilled)
    return replace(part, data=data, spilled=None)
