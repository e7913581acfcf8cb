"""Transient database errors are retried, permanent ones are not: shown on a real SQLite file."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from processor.backends.retry import with_retries
from processor.backends.sqlite import SQLite

ERRORS = (sqlite3.Error,)


def test_busy_database_is_retried_until_it_frees(tmp_path):
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (n INTEGER)")
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the file
    threading.Timer(0.5, lambda: holder.execute("COMMIT")).start()
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    attempts = []

    def insert():
        attempts.append(time.monotonic())
        writer.execute("INSERT INTO t VALUES (1)")

    with_retries(insert, ERRORS, SQLite.is_transient, "test")
    assert len(attempts) > 1
    assert writer.execute("SELECT n FROM t").fetchall() == [(1,)]
    holder.close()
    writer.close()


def test_permanent_error_is_not_retried(tmp_path):
    connection = sqlite3.connect(tmp_path / "x.db")
    attempts = []

    def broken():
        attempts.append(1)
        connection.execute("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        with_retries(broken, ERRORS, SQLite.is_transient, "test")
    assert attempts == [1]
    connection.close()


def test_only_rolled_back_errors_are_transient():
    assert not SQLite.is_transient(sqlite3.OperationalError("disk I/O error"))
    assert SQLite.is_transient(sqlite3.OperationalError("database is locked"))
