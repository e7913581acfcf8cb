"""Bulk CSV -> SQL importer: plan one table from a folder of CSV files and load it in parallel."""

from processor.errors import ConfigError, ImporterError
from processor.report import RunReport
from processor.run import report_invalid_settings, run_import
from processor.settings import Settings, load_settings, salvage_settings

__all__ = [
    "ConfigError",
    "ImporterError",
    "RunReport",
    "Settings",
    "load_settings",
    "report_invalid_settings",
    "run_import",
    "salvage_settings",
]
