"""The Python API: the importer as a library call, which the command (``index.py``) wraps.

``import_folder(source, dest, table, **settings)`` takes the settings of the environment as
keywords (the variable's name in lower case), parsed by the same code as the variables; it
returns the ``RunReport`` of a run that worked, or raises the run's ``ImporterError``, which
carries its ``exit_code`` and the ``report``.  It prints nothing, exits nothing, reads no
setting from the environment and, unless asked (``handle_signals=True``), leaves the process's signal
handlers alone, so it runs in any thread.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from processor.errors import ConfigError
from processor.settings import Settings, keyword_settings, salvage_keywords
from processor.sources.pipe import STDIN

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from processor.ops.dryrun import DryRun
    from processor.ops.report import RunReport

#: import_folder's arguments, and the setting each one is.
ARGUMENTS = {"src_data_folder": "source", "dest_sql": "dest", "dest_table": "table"}


def import_folder(
    source: str | Path | IO[bytes],
    dest: str | URL | None,
    table: str | None = None,
    *,
    handle_signals: bool = False,
    **settings: Any,
) -> RunReport:
    """Import the files of ``source`` (a folder, an archive) matching ``src_file_name`` into
    ``table`` (default: the files' common name stem) of database ``dest`` (a SQLAlchemy URL;
    None: ``dest_sql_file`` names the file holding it).

    ``settings``: any setting of the environment as a keyword, the variable's name in lower
    case (``if_exists="replace"``, ``workers=2``, ``max_errors=10``, ``na_values=["NA"]``).
    Returns the report of a run that worked; raises the ImporterError subclass of the failure
    (``exit_code`` as the command's, ``report`` the run's report; the target is as it was).
    ``handle_signals``: SIGINT and SIGTERM roll the run back as in the command (main thread).

    ``source`` ``"-"`` reads the process's standard input, and a binary file object (open for
    reading, left open) is read in its place: one file, named by ``src_file_name``.
    """
    stream = None
    if not isinstance(source, str | Path):
        stream, source = source, STDIN
    parsed = _settings(settings, "import_folder", src_data_folder=source, dest_sql=dest, dest_table=table)
    if stream is not None:
        parsed = dataclasses.replace(parsed, src_stream=stream)
    return import_with(parsed, handle_signals=handle_signals)


def plan_import(
    source: str | Path | IO[bytes], dest: str | URL | None, table: str | None = None, **settings: Any
) -> DryRun:
    """The dry run: what ``import_folder`` with the same arguments would do (types, DDL, write
    path, what ``if_exists`` would do); ``.text()`` as the command prints it, ``.to_json()``.
    It writes nothing to the database; errors are raised as import_folder raises them."""
    report = import_folder(source, dest, table, **settings, dry_run=True)
    assert report.dry_run is not None  # a dry run that worked has its plan
    return report.dry_run


def clean_up(dest: str | URL | None, table: str, **settings: Any) -> list[str]:
    """``--cleanup``: drop the staging tables that killed runs into ``table`` left behind;
    return their names.  Settings such as ``dest_schema`` and ``lock_timeout`` apply."""
    return import_with(_settings(settings, "clean_up", cleanup=True, dest_sql=dest, dest_table=table)).cleaned


def import_with(settings: Settings, *, handle_signals: bool = False) -> RunReport:
    """Run the import ``settings`` describe (built by ``load_settings``, ``keyword_settings``
    or by hand): the report of a run that worked, else its error raised with ``report`` set.
    The command calls this, with ``handle_signals=True``."""
    from processor.run import run_import  # the pipeline: imported on first use

    report = run_import(settings, handle_signals=handle_signals)
    if report.error is not None:
        report.error.report = report
        raise report.error
    return report


def _settings(settings: dict[str, Any], function: str, cleanup: bool = False, **arguments: Any) -> Settings:
    """Settings from the keywords and the function's arguments (each the setting named in
    ARGUMENTS); invalid ones are a ConfigError whose report is written as the command writes
    that of invalid variables (REPORT_PATH, NOTIFY_URL, as far as those can be read)."""
    values = {"progress_bar": False, **settings}  # a library draws no bar on its caller's terminal
    try:
        for name in arguments:
            if name in settings:
                raise ConfigError(f"{name} is {function}'s {ARGUMENTS[name]!r} argument: give it there")
        dest = arguments["dest_sql"]
        if dest is None and settings.get("dest_sql_file") is None:  # never the default database
            raise ConfigError(f"{function}'s 'dest' is None: give the database URL, or dest_sql_file")
        if dest is not None and not isinstance(dest, str):  # a SQLAlchemy URL: its password as written
            arguments["dest_sql"] = dest.render_as_string(hide_password=False)
        values |= arguments
        parsed = keyword_settings(values)
        return dataclasses.replace(parsed, cleanup=True) if cleanup else parsed
    except ConfigError as error:
        from processor.run import report_invalid_settings  # the pipeline: imported on first use

        error.report = report_invalid_settings(salvage_keywords(values), error)
        raise
