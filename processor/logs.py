"""Logging to stderr: plain lines for people, one JSON object per line for log shippers.

Every line is masked: the secrets of DEST_SQL never reach a log, whichever library logs them.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence

from processor.masking import mask


class TextFormatter(logging.Formatter):
    """``time LEVEL message`` (with the traceback, if any), secrets masked."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record), self.secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (secrets masked)."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                "level": record.levelname,
                "logger": record.name,
                "message": mask(record.getMessage(), self.secrets),
            },
            ensure_ascii=False,
        )


def setup_logging(level: str, fmt: str, secrets: Sequence[str] = ()) -> None:
    """Send the importer's logs to stderr in the chosen format and level, ``secrets`` masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if fmt == "json" else TextFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
