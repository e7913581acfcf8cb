"""Databases in a local file (SQLite, DuckDB): one writer at a time, a lock file beside them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from processor.backends.base import Backend
from processor.backends.locks import LockCheck, file_lock, lock_key

ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ASCII_LOWER = str.maketrans(ASCII_UPPER, ASCII_UPPER.lower())


class Embedded(Backend):
    """A database file that one process writes at a time."""

    single_writer: ClassVar[bool] = True

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
