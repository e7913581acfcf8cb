"""Ctrl-C and SIGTERM: they roll a run back, until its publish is committing.

Until then a signal raises KeyboardInterrupt, and the run drops its staging table and leaves
the target as it was.  From the moment the publishing transaction holds the ledger rows, the
outcome is the database's to decide; a signal then only waits for that outcome (and for the
report), so that the run can say truthfully whether the table was published.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Signalled(KeyboardInterrupt):
    """A real SIGINT or SIGTERM, as the run's handler raises it: told apart from a
    KeyboardInterrupt that a user's function (TRANSFORM) raises itself, which fails the run as
    that function's error (exit 10), not as an interruption."""


class Interrupts:
    """Turns SIGINT and SIGTERM into KeyboardInterrupt (``Signalled``), or only notes them while deferred."""

    def __init__(self) -> None:
        self.deferred = False
        #: The name of the last signal received while deferred (``SIGTERM``), else None.
        self.received: str | None = None

    def defer(self) -> None:
        """From now on a signal is noted, not raised: the outcome is decided or committing."""
        self.deferred = True

    def resume(self) -> None:
        """Signals interrupt again (a publish that failed has left the target as it was)."""
        self.deferred = False

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.deferred:
            raise Signalled
        self.received = signal.Signals(signum).name

    @contextlib.contextmanager
    def handled(self) -> Iterator[Interrupts]:
        """Handle the signals for the duration (only in the main thread; an ignored signal,
        such as SIGINT in a background job, stays ignored)."""
        previous: dict[signal.Signals, Any] = {}
        try:
            for signum in SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    previous[signum] = signal.signal(signum, self._handle)
        except ValueError:  # not the main thread: signals are not ours to handle
            pass
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
