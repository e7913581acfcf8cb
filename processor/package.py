"""The importer as a package: its version, the optional parts of its install (the extras of
``pyproject.toml``), and where its bundled sample is.

The version has one source, ``pyproject.toml``: an installed importer reads it from the package
metadata that pip wrote from that file; a checkout (run as ``python index.py``, installed or
not) reads the file itself, as the metadata of another install in the same environment may be
of an older version than the code that runs.
"""

from __future__ import annotations

import argparse
import functools
import tomllib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

#: The distribution's name on ``pip install`` (pyproject.toml ``[project] name``).
DISTRIBUTION = "csv-sql-importer"
#: The module a missing import names, and the extra of ``pyproject.toml`` that installs it.
EXTRAS = {
    "psycopg2": "postgresql",
    "pgpq": "postgresql",
    "MySQLdb": "mysql",
    "duckdb": "duckdb",
    "duckdb_engine": "duckdb",
    "dask": "dask",
    "distributed": "dask",
    "s3fs": "s3",
    "gcsfs": "gcs",
    "adlfs": "azure",
    "aiohttp": "http",
}


@functools.cache
def version() -> str:
    """This importer's version: the checkout's ``pyproject.toml`` where the code runs from a
    checkout, else the installed package's metadata."""
    checkout = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if checkout.is_file():
        project = tomllib.loads(checkout.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == DISTRIBUTION and "version" in project:
            return str(project["version"])
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # neither: a copy of the code without its pyproject.toml
        return "unknown"


def sample_folder() -> Path:
    """The bundled sample: ``processor/sample_data/`` of an installed importer (package data),
    ``data/`` beside ``processor/`` in a checkout (SRC_DATA_FOLDER's default, ``data``, is the
    working folder's: a checkout's root, or the image's /app)."""
    here = Path(__file__).resolve().parent
    installed = here / "sample_data"
    return installed if installed.is_dir() else here.parent / "data"


def install_hint(module: str | None) -> str:
    """How to install the extra that brings ``module`` (the ``name`` of a ModuleNotFoundError),
    as a clause to append to the message that names it; empty for a module of no extra."""
    top = (module or "").split(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return ""
    return f"; install the importer's {extra!r} extra (pip install '.[{extra}]' in its checkout)"


class ShowVersion(argparse.Action):
    """``--version``: print ``csv-sql-importer 1.2.3`` on stdout and exit 0 (the version is
    read only when asked, so that ``--help`` and a run do not read it for the parser)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(f"{DISTRIBUTION} {version()}")
        parser.exit(0)
