"""Bulk CSV -> SQL importer: plan one table from a folder of CSV files and load it in parallel.

The names below are imported on first use, so that a worker process, which imports
``processor.load.worker`` only, does not pay for the run's own modules.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ConfigError": "processor.errors",
    "ImporterError": "processor.errors",
    "RunReport": "processor.ops.report",
    "report_invalid_settings": "processor.run",
    "run_import": "processor.run",
    "Settings": "processor.settings",
    "load_settings": "processor.settings",
    "salvage_settings": "processor.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'processor' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
