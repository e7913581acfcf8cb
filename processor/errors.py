"""The errors a user can meet, each with its own exit status and a one-line message.

Every error is raised with a message that names what the user can act on (the setting, the
file and line, the table).  They stay picklable, because workers raise them in another process
and the parent re-raises them (only plain string arguments cross that boundary).
"""

from __future__ import annotations


class ImporterError(Exception):
    """Base of every error the importer reports to the user; ``exit_code`` is the process status."""

    exit_code = 1

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message, detail)
        self.message = message
        #: A traceback or longer explanation, shown only with ``--verbose``.
        self.detail = detail

    def __str__(self) -> str:
        return self.message


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


class Interrupted(ImporterError):
    """The run was interrupted (Ctrl-C or SIGTERM) and rolled back."""

    exit_code = 130


class WorkerCrashed(ImporterError):
    """A worker process died (killed, or out of memory); the run was rolled back."""

    exit_code = 8


class LockError(ImporterError):
    """Another import into the same table holds the import lock."""

    exit_code = 9
