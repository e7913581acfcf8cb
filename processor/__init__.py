"""Bulk CSV -> SQL importer: plan one table from a folder of CSV files and load it in parallel.

The Python API (README, "Python API"): ``import_folder(source, dest, table, **settings)``
returns the ``RunReport`` or raises an ``ImporterError`` subclass carrying ``exit_code`` and
``report``; ``plan_import`` is the dry run, ``clean_up`` the ``--cleanup``.

The names below are imported on first use, so that a worker process, which imports
``processor.load.worker`` only, does not pay for the run's own modules.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "clean_up": "processor.api",
    "import_folder": "processor.api",
    "import_with": "processor.api",
    "plan_import": "processor.api",
    "DryRun": "processor.ops.dryrun",
    "ConfigError": "processor.errors",
    "DatabaseError": "processor.errors",
    "ImporterError": "processor.errors",
    "Interrupted": "processor.errors",
    "LockError": "processor.errors",
    "RejectLimitError": "processor.errors",
    "SchemaError": "processor.errors",
    "ShrinkError": "processor.errors",
    "SideOutputError": "processor.errors",
    "SourceError": "processor.errors",
    "TargetExistsError": "processor.errors",
    "TransformError": "processor.errors",
    "WorkerCrashed": "processor.errors",
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
