"""Command line: ``python index.py`` imports CSV files into SQL, configured by env and flags."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence

from processor import (
    ConfigError,
    RunReport,
    Settings,
    load_settings,
    report_invalid_settings,
    run_import,
    salvage_settings,
)
from processor.logs import setup_logging
from processor.masking import mask


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run one import; print a summary or one error line; return the exit status."""
    try:
        settings = load_settings(argv, environ)
    except ConfigError as error:
        # Report it as asked, as far as the settings can be read (REPORT_PATH, LOG_FORMAT).
        settings = salvage_settings(argv, environ)
        setup_logging(settings.log_level, settings.log_format, settings.secrets)
        return _show(settings, report_invalid_settings(settings, error))
    setup_logging(settings.log_level, settings.log_format, settings.secrets)
    return _show(settings, run_import(settings))


def _show(settings: Settings, report: RunReport) -> int:
    """Print the summary, or the error (already masked); return the exit status."""
    if report.error is None:
        print(mask(report.summary(), settings.secrets))
        return 0
    if settings.verbose and report.error.detail:
        print(report.error.detail, file=sys.stderr, end="")
    if settings.log_format == "json":
        logging.getLogger("index").error("%s", report.error)
    else:
        print(f"error: {report.error}", file=sys.stderr)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
