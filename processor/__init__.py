"""Bulk CSV -> SQL importer: plan one table from a folder of CSV files and load it in parallel."""

from processor.errors import ConfigError, ImporterError
from processor.report import RunReport
from processor.run import run_import
from processor.settings import Settings, load_settings

__all__ = ["ConfigError", "ImporterError", "RunReport", "Settings", "load_settings", "run_import"]
