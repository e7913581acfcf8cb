"""What a run did, per file and in total: the summary line, the JSON report, the rejects CSV.

The JSON report is replaced when a run starts (status ``running``) and when it ends, so a
monitor never reads an earlier run's outcome.  Every output is masked with DEST_SQL's secrets.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from processor.counts import counted
from processor.errors import ConfigError, ImporterError
from processor.load.cpu import summed, timed_into
from processor.masking import mask, mask_values
from processor.package import version
from processor.records import FileResult, RejectedRow

if TYPE_CHECKING:
    from processor.ops.dryrun import DryRun

#: Why rows are rejected: the key each kind is counted under (JSON report, summary line) and
#: its words in the summary, in that order.
REJECT_KINDS = {
    "field_count": "with the wrong number of fields",
    "text_after_quote": "with text after a closing quote",
    "invalid_record": "not a JSON object of the columns",
    "value_misfit": "with a value that does not fit its column",
}


@dataclass
class RunReport:
    """The whole run: filled in as it goes, written out whether it worked or not."""

    table: str | None
    destination: str | None
    if_exists: str | None
    run_id: str
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    files: list[FileResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: ImporterError | None = None
    #: The publishing transaction committed: the target holds this run's rows.
    published: bool = False
    #: The run has ended (its outcome is known); until then its status is ``running``.
    finished: bool = False
    #: What went wrong without changing the outcome (a signal after the publish committed).
    warnings: list[str] = field(default_factory=list)
    #: DRY_RUN: the plan of the import that did not happen.
    dry_run: DryRun | None = None
    #: The run's settings as they may be shown (``Settings.shown``).
    settings: dict[str, Any] = field(default_factory=dict)
    #: The planned columns, ``{"name": ..., "type": ...}`` in the target's dialect.
    plan: list[dict[str, str]] = field(default_factory=list)
    #: Columns the table gained (ON_NEW_COLUMNS=add) and columns not loaded (ignore).
    columns_added: list[str] = field(default_factory=list)
    columns_ignored: list[str] = field(default_factory=list)
    #: The existing table's columns ON_TYPE_CHANGE=widen gave a wider type.
    columns_widened: list[str] = field(default_factory=list)
    #: Seconds spent in each phase that ran: discover, sample, load, publish.
    phases: dict[str, float] = field(default_factory=dict)
    #: CPU seconds the files' samples took, in the processes that sampled them.
    sample_cpu: float = 0.0
    finished_at: str | None = None
    #: The rejects file was written (before the publish), or writing it failed: not again at the end.
    rejects_saved: bool = False
    #: The importer's version that ran (``processor/package.py``).
    version: str = field(default_factory=version)
    #: Where the rejected rows were written (None: none were, or writing them failed).
    rejects_path: str | None = None
    #: --cleanup: the run only removed staging tables; its summary says what it removed.
    cleanup: bool = False

    def phase(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Time one phase of the run (also when it fails)."""
        return timed_into(self.phases, name, time.perf_counter)

    @property
    def rows(self) -> int:
        """The rows the run published: none unless the publish committed (the staging table of
        a failed run is dropped, whatever it held)."""
        return self.rows_staged if self.published else 0

    @property
    def rows_staged(self) -> int:
        """The rows written to the staging table (the published ones, if the publish committed)."""
        return sum(f.rows for f in self.files)

    def rejected_by_reason(self) -> dict[str, int]:
        """The rejected rows counted by kind (REJECT_KINDS' keys, in its order; none: absent)."""
        counts = {kind: 0 for kind in REJECT_KINDS}
        for row in self.rejects:
            counts[row.kind] = counts.get(row.kind, 0) + 1
        return {kind: count for kind, count in counts.items() if count}

    def rejected_by_column(self) -> dict[str, int]:
        """The rows rejected for a value that does not fit its column, counted by that column
        (most first)."""
        counts: dict[str, int] = {}
        for row in self.rejects:
            if row.column is not None:
                counts[row.column] = counts.get(row.column, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    @property
    def rejects(self) -> list[RejectedRow]:
        return [r for f in self.files for r in f.rejects]

    @property
    def status(self) -> str:
        if not self.finished:
            return "running"
        return "failed" if self.error else "ok"

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error else 0

    def summary(self) -> str:
        """The short human summary printed at the end of a successful run (a dry run's plan)."""
        if self.dry_run is not None:
            return self.dry_run.text()
        if self.cleanup:
            return self._cleanup_summary()
        rate = self.rows / self.seconds if self.seconds else 0.0
        text = (
            f"imported {counted(self.rows, 'row')} from {counted(len(self.files), 'file')} "
            f"into table {self.table!r} at {self.destination} in {self.seconds:.1f} s ({rate:,.0f} rows/s)"
        )
        if self.skipped:
            text += f"; {counted(len(self.skipped), 'file')} skipped (already loaded)"
        if self.rejects:
            text += f"; {self._rejects_summary()}"
        if self.cleaned:
            text += f"; removed {counted(len(self.cleaned), 'staging table')} left by interrupted runs"
        return text

    def _rejects_summary(self) -> str:
        """``3 rows rejected (1 with the wrong number of fields; 2 with a value that does not fit
        its column: 'price' 2), written to /out/t.rejects.csv``."""
        reasons = []
        for kind, count in self.rejected_by_reason().items():
            reason = f"{count:,} {REJECT_KINDS.get(kind, kind)}"
            if kind == "value_misfit":
                reason += ": " + ", ".join(f"{c!r} {n:,}" for c, n in self.rejected_by_column().items())
            reasons.append(reason)
        text = f"{counted(len(self.rejects), 'row')} rejected ({'; '.join(reasons)})"
        if self.rejects_path is not None:
            text += f", written to {self.rejects_path}"
        return text

    def _cleanup_summary(self) -> str:
        """--cleanup's summary: the staging tables it removed, by name, or that there were none."""
        where = f"table {self.table!r} at {self.destination}"
        if not self.cleaned:
            return f"cleanup: no staging tables left by interrupted runs into {where}; nothing removed"
        removed = f"{counted(len(self.cleaned), 'staging table')} left by interrupted runs into {where}"
        return f"cleanup: removed {removed}: {', '.join(map(repr, self.cleaned))}"

    @property
    def cpu_account(self) -> dict[str, float]:
        """CPU seconds of the processes that sampled and loaded the files, by stage: the
        sampling, then each load stage (``load/cpu.py``), every file's together."""
        loading = summed(f.cpu for f in self.files)
        return {stage: round(seconds, 3) for stage, seconds in {"sample": self.sample_cpu, **loading}.items()}

    @property
    def write_paths(self) -> list[str]:
        """The write paths the files' chunks took (one, unless processes differ: WORKERS=1 on
        SQLite binds through Python's sqlite3, pool workers through ADBC)."""
        return sorted({f.write_path for f in self.files if f.write_path})

    def to_json(self) -> dict[str, Any]:
        """The JSON report: status, totals, per file bytes and rows read, written, rejected,
        write path and seconds; the settings, the plan and the phases' timings."""
        return {
            "status": self.status,
            "exit_code": self.exit_code if self.finished else None,
            "error": str(self.error) if self.error else None,
            "published": self.published,
            "warnings": self.warnings,
            "table": self.table,
            "destination": self.destination,
            "if_exists": self.if_exists,
            "run_id": self.run_id,
            "version": self.version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": round(self.seconds, 3),
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
            "cpu": self.cpu_account,
            "rows": self.rows,
            "rows_staged": self.rows_staged,
            "rows_read": sum(f.read for f in self.files),
            "bytes": sum(f.bytes for f in self.files),
            "rejected": len(self.rejects),
            "rejected_by_reason": self.rejected_by_reason(),
            "rejected_by_column": self.rejected_by_column(),
            "rejects_path": self.rejects_path,
            "write_path": self.write_paths,
            "plan": self.plan,
            "columns_added": self.columns_added,
            "columns_ignored": self.columns_ignored,
            "columns_widened": self.columns_widened,
            "files": [
                {
                    "name": f.name,
                    "bytes": f.bytes,
                    "rows_read": f.read,
                    "rows": f.rows if self.published else 0,
                    "rows_staged": f.rows,
                    "rejected": len(f.rejects),
                    "delimiter": f.delimiter,
                    "write_path": f.write_path,
                    "seconds": round(f.seconds, 3),
                }
                for f in self.files
            ],
            "skipped": self.skipped,
            "cleaned_staging_tables": self.cleaned,
            "dry_run": self.dry_run.to_json() if self.dry_run is not None else None,
            "settings": self.settings,
        }


def write_report(report: RunReport, path: Path, secrets: Sequence[str]) -> None:
    """Write the JSON report, ``secrets`` masked, replacing the file only once it is complete
    (on disk: a crash or a full disk never leaves half of one); a failed write leaves no partial."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            out.write(json.dumps(mask_values(report.to_json(), secrets), indent=2) + "\n")
            _flush_to_disk(out)
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def write_rejects(rejects: list[RejectedRow], path: Path, secrets: Sequence[str]) -> None:
    """Write rejected rows as CSV: file, line, reason, and the raw text of the row (``secrets``
    masked even there: no output shows them); complete on disk when it returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "line", "reason", "text"])
        writer.writerows([mask(v, secrets) for v in (r.file, str(r.line), r.reason, r.text)] for r in rejects)
        _flush_to_disk(out)


def _flush_to_disk(out: IO[str]) -> None:
    """Write ``out``'s buffer and have the disk hold it: a full disk fails here, not after."""
    out.flush()
    with contextlib.suppress(OSError):  # not every file can be synced (a pipe, /dev/full)
        os.fsync(out.fileno())


def check_writable(path: Path, name: str) -> None:
    """ConfigError naming setting ``name`` unless ``path`` can be written, checked before any
    work.  It creates nothing that stays: an existing file is opened for appending and left as
    it is; else a file is created and removed in the nearest folder that exists (the missing
    ones are created when the file is written)."""
    if path.is_dir():
        raise ConfigError(f"{name} cannot be written: {path} is a directory")
    try:
        if path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
            return
        folder = next(parent for parent in path.absolute().parents if parent.exists())
        if not folder.is_dir():
            raise ConfigError(f"{name} cannot be written: {path}: {folder} is not a directory")
        with tempfile.TemporaryFile(dir=folder, prefix=f".{path.name}."):
            pass
    except OSError as error:
        raise ConfigError(f"{name} cannot be written: {path}: {error.strerror}") from None
