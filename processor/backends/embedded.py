"""Databases in a local file (SQLite, DuckDB): one writer at a time, a lock file beside them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from processor.backends.base import Backend, CreatedFiles
from processor.backends.features import Features
from processor.backends.locks import LockCheck, file_lock, lock_key
from processor.errors import describe

log = logging.getLogger(__name__)

ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ASCII_LOWER = str.maketrans(ASCII_UPPER, ASCII_UPPER.lower())


class Embedded(Backend):
    """A database file that one process writes at a time."""

    features = Features(single_writer=True)
    #: What the database's errors say when the disk under its file is full or failing.
    disk_failures: ClassVar[tuple[str, ...]] = ("No space left on device", "File too large")

    @classmethod
    def engine_arguments(cls, url: URL) -> dict[str, Any]:
        # Hold no file open between writes, so other processes can take their turn.
        return {"poolclass": NullPool}

    @classmethod
    def read_only(cls, url: URL) -> tuple[URL, dict[str, Any]]:
        """A database file that does not exist yet would be created by connecting: an empty
        in-memory database of the same kind stands in for it."""
        database = url.database
        if database not in (None, "", ":memory:") and not Path(database).exists():
            return url.set(database=":memory:"), {}
        return url, {}

    #: Files the database keeps beside its own, named by these suffixes (journal, WAL).
    companion_suffixes: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def created_files(cls, url: URL) -> CreatedFiles | None:
        database = url.database
        if database in (None, "", ":memory:") or Path(database).exists():
            return None
        path = Path(database)
        companions = (path.with_name(path.name + suffix) for suffix in cls.companion_suffixes)
        return CreatedFiles(path, tuple(p for p in companions if not p.exists()))

    @classmethod
    def remove_created(cls, created: CreatedFiles, ours: Callable[[str], bool], empty: str) -> bool:
        """A file that cannot be opened or read (another process holds it) is kept."""
        if not created.database.exists():
            return False
        try:
            names, empty_rows = cls._contents(created.database, empty)
        except Exception as error:  # any driver's error: keep the file
            log.debug("kept %s: %s", created.database, error)
            return False
        if empty_rows or not all(ours(name) or name == empty for name in names):
            return False
        for path in (created.database, *created.companions):
            path.unlink(missing_ok=True)
        log.info(
            "removed %s: this run created it, and left nothing in it but its own staging tables",
            created.database,
        )
        return True

    @classmethod
    def _contents(cls, database: Path, empty: str) -> tuple[list[str], int]:
        """The names of the tables and views in ``database`` and the rows of its table ``empty``
        (0 if it has none), read without creating the file."""
        raise NotImplementedError

    @classmethod
    def disk_failure(cls, error: BaseException, url: URL) -> str | None:
        text = describe(error)
        if not any(failure in text for failure in cls.disk_failures):
            return None
        return f"the disk under {url.database} is full or failing ({text})"

    def fold_name(self, name: str) -> str:
        # SQLite and DuckDB ignore the case of ASCII letters only: "É" and "é" are two columns.
        return name.translate(ASCII_LOWER)

    @contextlib.contextmanager
    def import_lock(self, table: str, timeout: int) -> Iterator[LockCheck]:
        """An ``flock`` on ``<database>.<hash>.import-lock`` beside the database file."""
        database = self.engine.url.database
        if database in (None, "", ":memory:"):
            with super().import_lock(table, timeout) as check:  # a private in-memory database
                yield check
            return
        with file_lock(Path(database), lock_key("", self.fold_table(table)), table, timeout) as check:
            yield check

    def refresh_statistics(self, table: str) -> None:
        """``ANALYZE table``, which SQLite and DuckDB both have."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {self.quote(table)}")
