"""The command line: ``csv-sql-import`` (installed) and ``python index.py`` (a checkout) are this.

``main`` builds the settings from flags and environment, runs the import and turns its report
into one summary line or one error line and the exit status; ``run`` is the console script.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from processor.prestart import fill_closed_streams, start_worker_server
from processor.settings import answer_help

if TYPE_CHECKING:
    from processor import RunReport, Settings


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run one import; print a summary or one error line; return the exit status."""
    # Imported here: the console script starts the pool's worker server before these imports.
    from processor import (
        ConfigError,
        ImporterError,
        import_with,
        load_settings,
        report_invalid_settings,
        salvage_settings,
    )
    from processor.logs import setup_logging

    try:
        settings = load_settings(argv, environ)
    except ConfigError as error:
        # Report it as asked, as far as the settings can be read (REPORT_PATH, LOG_FORMAT).
        settings = salvage_settings(argv, environ)
        setup_logging(settings.log_level, settings.log_format, settings.secrets)
        return _show(settings, report_invalid_settings(settings, error))
    setup_logging(settings.log_level, settings.log_format, settings.secrets)
    try:  # the Python API's own path; the command handles Ctrl-C and SIGTERM
        report = import_with(settings, handle_signals=True)
    except ImporterError as error:
        if error.report is None:  # import_with raises the run's error with its report: never
            raise
        report = error.report
    return _show(settings, report)


def run() -> None:
    """The ``csv-sql-import`` console script: what ``python index.py`` does (the pool's worker
    server started first, so that its imports overlap the run's)."""
    fill_closed_streams()
    answer_help(sys.argv[1:])  # --help and --version exit here: no worker server, no pipeline
    start_worker_server()
    sys.exit(main(sys.argv[1:], os.environ))


def _show(settings: Settings, report: RunReport) -> int:
    """Print the summary, or the error (already masked); return the exit status.

    With LOG_FORMAT=json both are JSON lines too: the summary (event ``summary``, on stdout) with
    the run's totals, the error (event ``error``, on stderr) with its traceback under --verbose.
    """
    from processor.logs import json_line
    from processor.masking import mask

    json_lines = settings.log_format == "json"
    if report.error is None:
        if json_lines:
            print(json_line("INFO", report.summary(), settings.secrets, **_summary_fields(report)))
        else:
            print(mask(report.summary(), settings.secrets))
        return 0
    detail = report.error.detail if settings.verbose else None
    if json_lines:
        extra = {"traceback": detail} if detail else {}
        fields = {"event": "error", "run_id": report.run_id, "exit_code": report.exit_code, **extra}
        logging.getLogger("index").error("%s", report.error, extra=fields)
        return report.exit_code
    if detail:
        print(detail, file=sys.stderr, end="")
    print(f"error: {report.error}", file=sys.stderr)
    return report.exit_code


def _summary_fields(report: RunReport) -> dict[str, Any]:
    """The summary line's numbers, for a machine reading the JSON line."""
    return {
        "event": "summary",
        "run_id": report.run_id,
        "table": report.table,
        "files": len(report.files),
        "rows": report.rows,
        "rejected": len(report.rejects),
        "rejected_by_reason": report.rejected_by_reason(),
        "rejected_by_column": report.rejected_by_column(),
        "rejects_path": report.rejects_path,
        "skipped": len(report.skipped),
        "seconds": round(report.seconds, 3),
        "exit_code": 0,
        "version": report.version,
    }
