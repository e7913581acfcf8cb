"""Logging to stderr: plain lines for people, one JSON object per line for log shippers.

Every line is masked: the secrets of DEST_SQL never reach a log, whichever library logs them.
A JSON line always has the same keys (``FIELDS``): a record states its ``event``, ``file``,
``rows`` and ``seconds`` with ``extra=``, or they are null; the run's id is stamped on every
record once the run has one (``set_run_id``), in worker processes too.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from processor.masking import mask, mask_values

#: The keys a record may set with ``extra=`` that a JSON line carries (null when not set).
FIELDS = ("event", "file", "rows", "seconds")


class _RunId(logging.Filter):
    """Stamps each record with the id of the run this process works for (None before it has one)."""

    def __init__(self) -> None:
        super().__init__()
        self.run_id: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            record.run_id = self.run_id
        return True


_RUN_ID = _RunId()
#: What every log record has: the rest of its attributes were given with ``extra=``.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def set_run_id(run_id: str | None) -> None:
    """Name the run this process works for in every log record from now on."""
    _RUN_ID.run_id = run_id


def json_line(
    level: str, message: str, secrets: Sequence[str] = (), created: float | None = None, **fields: Any
) -> str:
    """One JSON log line, the shape every JSON line of the importer has: FIELDS (null unless
    given), then any other ``fields``; ``created``: when it happened (default now)."""
    when = dt.datetime.fromtimestamp(time.time() if created is None else created).astimezone()
    line: dict[str, Any] = {
        "time": when.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "level": level,
        "run_id": fields.pop("run_id", None) or _RUN_ID.run_id,
        "event": fields.pop("event", None) or "log",
    }
    line |= {name: fields.pop(name, None) for name in FIELDS if name != "event"}
    line["message"] = message
    line |= fields
    return json.dumps(mask_values(line, secrets), ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL message`` (with the traceback, if any), secrets masked."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record), self.secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, run id, event, file, rows, seconds, message,
    logger (secrets masked; a traceback, if any, in ``traceback``)."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        given = {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES}
        fields: dict[str, Any] = {"logger": record.name, **given}
        if record.exc_info:
            fields["traceback"] = self.formatException(record.exc_info)
        return json_line(record.levelname, record.getMessage(), self.secrets, record.created, **fields)


#: The object stores' libraries, whose INFO lines (``Found credentials in environment variables``,
#: the Azure SDK's every request with its headers) are shown only with LOG_LEVEL=DEBUG.
CHATTY = ("botocore", "aiobotocore", "s3fs", "fsspec", "gcsfs", "google", "adlfs", "azure")


def setup_logging(level: str, fmt: str, secrets: Sequence[str] = ()) -> None:
    """Send the importer's logs to stderr in the chosen format and level, ``secrets`` masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if fmt == "json" else TextFormatter(secrets))
    handler.addFilter(_RUN_ID)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in CHATTY:  # their INFO lines (where credentials were found) are noise beside the run's
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    logging.captureWarnings(True)  # a library's warning is a log line too (JSON with LOG_FORMAT=json)
