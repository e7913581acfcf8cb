"""Command line: ``python index.py`` imports CSV files into SQL, configured by env and flags."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence

from processor import ImporterError, load_settings, run_import
from processor.logs import setup_logging


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run one import; print a summary or one error line; return the exit status."""
    try:
        settings = load_settings(argv, environ)
    except ImporterError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    setup_logging(settings.log_level, settings.log_format)
    report = run_import(settings)
    if report.error is None:
        print(report.summary())
        return 0
    # run_import has already masked the password in the error's message and detail.
    if settings.verbose and report.error.detail:
        print(report.error.detail, file=sys.stderr, end="")
    if settings.log_format == "json":
        logging.getLogger("index").error("%s", report.error)
    else:
        print(f"error: {report.error}", file=sys.stderr)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
