"""The import lock: a second import into the same table fails on it at once, or waits for it up to
LOCK_TIMEOUT.
"""

from __future__ import annotations

import threading
import time

from conftest import load, write

from processor.errors import LockError


def test_second_import_into_the_same_table_fails_on_the_lock(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    with db.import_lock(table):
        report = load(tmp_path / "src", db, table)
    assert isinstance(report.error, LockError)
    assert report.error.exit_code == 9
    assert str(report.error) == f"another import into table {table!r} is running (set LOCK_TIMEOUT to wait)"
    assert not db.exists(table)


def test_second_import_waits_for_the_lock_with_a_timeout(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    held = threading.Event()

    def hold_briefly():
        with db.import_lock(table):
            held.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    try:
        held.wait(10)
        report = load(tmp_path / "src", db, table, lock_timeout=20)
    finally:
        holder.join()
    assert report.error is None, report.error
    assert db.rows(table) == [(1,)]
