"""The errors a user can meet, each with its own exit status and a one-line message.

Every error is raised with a message that names what the user can act on (the setting, the
file and line, the table).  They stay picklable, because workers raise them in another process
and the parent re-raises them (only plain string arguments cross that boundary).
"""

from __future__ import annotations

import errno
import traceback
from collections.abc import Iterable
from typing import Any

from processor.masking import mask


class ImporterError(Exception):
    """Base of every error the importer reports to the user; ``exit_code`` is the process status."""

    exit_code = 1
    #: The report (``processor.ops.report.RunReport``) of the run that failed so, where the Python
    #: API raised it (``api.import_with``); typed loosely, as errors sit below every stage.
    report: Any = None

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message, detail)
        self.message = message
        #: A traceback or longer explanation, shown only with ``--verbose``.
        self.detail = detail

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[ImporterError], tuple[str, str]]:
        # The current message and detail cross process boundaries, also when set after raising.
        return (type(self), (self.message, self.detail))


class ConfigError(ImporterError):
    """A setting is missing, malformed or out of range."""

    exit_code = 2


class SourceError(ImporterError):
    """The source files cannot be found, opened or decoded."""

    exit_code = 3


class SchemaError(ImporterError):
    """The files' headers disagree, or the database cannot hold the columns as named."""

    exit_code = 4


class RejectLimitError(ImporterError):
    """More rows were rejected (ragged, or not fitting their column's type) than MAX_ERRORS allows."""

    exit_code = 5


class DatabaseError(ImporterError):
    """The database is unreachable, refused the login, or failed while loading."""

    exit_code = 6


class TargetExistsError(ImporterError):
    """The target table exists and IF_EXISTS=fail."""

    exit_code = 7


class TransformError(ImporterError):
    """TRANSFORM raised, or returned something other than a DataFrame of the rows it was given."""

    exit_code = 10


class ShrinkError(ImporterError):
    """replace or delete_rows would leave the table with fewer rows than MAX_SHRINK allows (a
    truncated download must not replace a full table)."""

    exit_code = 11


class SideOutputError(ImporterError):
    """A side output of the run (the rejects file, the report) or a database file could not be
    written during the run: the disk is full, or the file failed; the message names the path."""

    exit_code = 12


#: What a write fails with when the disk (or the device under the file) is full or failing.
DISK_FAILED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def unwritable(problem: str, error: OSError) -> ImporterError:
    """A file the run must write that cannot be: a full or failing disk is exit 12, anything
    else (a path below a file, a read-only place) a setting to change, exit 2."""
    return (SideOutputError if error.errno in DISK_FAILED else ConfigError)(f"{problem}: {error.strerror}")


class Interrupted(ImporterError):
    """The run was interrupted (Ctrl-C or SIGTERM) and rolled back."""

    exit_code = 130


class WorkerCrashed(ImporterError):
    """A worker process died (killed, or out of memory); the run was rolled back."""

    exit_code = 8


class LockError(ImporterError):
    """Another import into the same table holds the import lock."""

    exit_code = 9


#: Every exit status and what it means: the end of ``--help`` and, word for word, the start of
#: each row's meaning in the README's "Exit statuses" table (a test holds them together).
EXIT_STATUSES: dict[int, str] = {
    0: "the import worked (or the dry run planned it)",
    ImporterError.exit_code: "unexpected internal error (a bug: rerun with --verbose and report it)",
    ConfigError.exit_code: "invalid setting",
    SourceError.exit_code: "source problem",
    SchemaError.exit_code: "schema problem",
    RejectLimitError.exit_code: "more rows rejected than MAX_ERRORS",
    DatabaseError.exit_code: "database problem",
    TargetExistsError.exit_code: (
        "the table exists and IF_EXISTS=fail, or is one that replace / delete_rows must not touch"
    ),
    WorkerCrashed.exit_code: "a worker process of the pool died (killed, out of memory)",
    LockError.exit_code: "another import into the same table holds the lock",
    TransformError.exit_code: "TRANSFORM failed",
    ShrinkError.exit_code: (
        "replace or delete_rows would leave the table with fewer rows than MAX_SHRINK of its own"
    ),
    SideOutputError.exit_code: "a side output or the disk failed during the run",
    Interrupted.exit_code: "interrupted (Ctrl-C, SIGTERM) before the publish committed",
}


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def driver_error(error: BaseException) -> BaseException:
    """The driver's own exception inside SQLAlchemy's or pandas' wrapper (or ``error`` itself)."""
    inner = getattr(error, "orig", None) or error.__cause__
    return driver_error(inner) if isinstance(inner, BaseException) and inner is not error else error


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` (or its cause) is SQLAlchemy's report of a lost database connection."""
    cause: BaseException | None = error
    while cause is not None:
        if getattr(cause, "connection_invalidated", False):
            return True
        cause = cause.__cause__
    return False


def describe(error: BaseException) -> str:
    """The first line of a driver's error message, without SQLAlchemy's SQL and links."""
    original = driver_error(error)
    args = original.args
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return first_line(Exception(f"{args[1]} (error {args[0]})"))  # MySQLdb's (code, message)
    return first_line(original)


def unexpected(error: BaseException) -> ImporterError:
    """An ImporterError (exit status 1) for a bug or an unforeseen failure, keeping its traceback."""
    return ImporterError(
        f"unexpected error: {type(error).__name__}: {first_line(error)}",
        "".join(traceback.format_exception(error)),
    )


def with_traceback(error: ImporterError) -> ImporterError:
    """``error`` with its own traceback (and its causes') as detail, for ``--verbose``."""
    if not error.detail:
        error.detail = "".join(traceback.format_exception(error))
    return error


def masked(error: ImporterError, secrets: Iterable[str]) -> ImporterError:
    """``error`` with every occurrence of each secret of DEST_SQL replaced by ``***``."""
    error.message = mask(error.message, secrets)
    error.detail = mask(error.detail, secrets)
    return error
