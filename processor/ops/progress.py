"""How far the load has come: a live bar on a terminal, else a log line every PROGRESS_SECONDS.

Workers send a ``ChunkWritten`` event for every chunk in the staging table; the run hands each to
``LoadProgress.chunk`` and each finished file to ``file_done``.  Bytes count the files as stored:
a chunk advances its file by the text it was read from (an estimate, never past the file's
size), a finished file counts its whole size, so the bar ends at 100%.  A compressed file's text
is larger than what is stored, so it advances only when it is done; its rows show at once.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator, Sequence

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from processor.counts import counted
from processor.records import SourceFile

log = logging.getLogger(__name__)

#: What shows progress: a live bar, log lines, or nothing (--quiet).
BAR, LINES, OFF = "bar", "lines", "off"
MIB = 1 << 20


def progress_mode(quiet: bool, log_format: str, bar: bool = True) -> str:
    """The bar on a terminal (if ``bar``); log lines when stderr is not one, the logs are JSON or
    no bar is wanted; --quiet: none."""
    if quiet:
        return OFF
    if log_format == "json" or not bar or not sys.stderr.isatty():
        return LINES
    return BAR


class LoadProgress:
    """The load's files done of all, rows and bytes written, rate and time left, shown as ``mode``."""

    def __init__(self, files: Sequence[SourceFile], mode: str, interval: float) -> None:
        self._sizes = {f.name: f.size for f in files}
        self._estimated = {f.name for f in files if f.compression is None}
        self._bytes: dict[str, int] = dict.fromkeys(self._sizes, 0)
        self._total = sum(self._sizes.values())
        self._done = 0
        self._rows = 0
        self._mode = mode
        self._interval = interval
        self._started = self._last_line = time.monotonic()
        self._bar: tqdm | None = None
        if mode == BAR:
            self._bar = tqdm(
                total=self._total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=self._files_text(),
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.5,
            )

    def chunk(self, name: str, rows: int, text_bytes: int) -> None:
        """A chunk of ``rows`` read from about ``text_bytes`` of ``name`` is written."""
        self._rows += rows
        if name in self._estimated:
            self._advance(name, min(self._sizes[name], self._bytes[name] + text_bytes))
        self._show()

    def file_done(self, name: str) -> None:
        """Every part of ``name`` is written."""
        self._done += 1
        self._advance(name, self._sizes[name])
        if self._bar is not None:
            self._bar.set_description_str(self._files_text(), refresh=False)
        self._show()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def _advance(self, name: str, to: int) -> None:
        step, self._bytes[name] = to - self._bytes[name], to
        if self._bar is not None:
            self._bar.update(step)

    def _files_text(self) -> str:
        return f"{self._done}/{counted(len(self._sizes), 'file')}"

    def _show(self) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(counted(self._rows, "row"), refresh=False)
            return
        now = time.monotonic()
        if self._mode == LINES and now - self._last_line >= self._interval:
            self._last_line = now
            self._log_line(now - self._started)

    def _log_line(self, seconds: float) -> None:
        written = sum(self._bytes.values())
        rate = written / seconds if seconds else 0.0
        eta = (self._total - written) / rate if rate else None
        log.info(
            "progress: %s, %s, %.1f of %.1f MiB, %.1f MiB/s, ETA %s",
            self._files_text(),
            counted(self._rows, "row"),
            written / MIB,
            self._total / MIB,
            rate / MIB,
            "unknown" if eta is None else f"{eta:.0f} s",
            extra={
                "event": "progress",
                "rows": self._rows,
                "seconds": round(seconds, 3),
                "files_done": self._done,
                "files": len(self._sizes),
                "bytes_done": written,
                "bytes": self._total,
                "mib_per_second": round(rate / MIB, 3),
                "eta_seconds": None if eta is None else round(eta, 1),
            },
        )


@contextlib.contextmanager
def load_progress(files: Sequence[SourceFile], mode: str, interval: float) -> Iterator[LoadProgress]:
    """Progress of loading ``files``; while a bar shows, log lines are written above it."""
    redirect = logging_redirect_tqdm() if mode == BAR else contextlib.nullcontext()
    with redirect:
        progress = LoadProgress(files, mode, interval)
        try:
            yield progress
        finally:
            progress.close()
