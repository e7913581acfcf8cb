"""Command line: ``python index.py`` imports CSV files into SQL, configured by env and flags.

A checkout's way to run ``csv-sql-import`` (``processor/cli.py``, where ``main`` lives).
"""

from __future__ import annotations

import os
import sys

from processor.prestart import fill_closed_streams, start_worker_server
from processor.settings import answer_help

if __name__ == "__main__":
    fill_closed_streams()
    answer_help(sys.argv[1:])  # --help exits here: no worker server, none of the pipeline imported
    start_worker_server()  # its imports overlap the ones below

from processor.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
