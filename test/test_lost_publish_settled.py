"""A connection lost while publishing, settled on a new connection (CI saw a run leave
``<staging>_old`` behind when the server dropped its sessions at the RENAME).

Where the publish committed before the connection went (the RENAME ran, or the publishing
COMMIT landed and only its answer was lost), the run asks the tables or the ledger on a new
connection, finishes (drops the table a replace retired) and exits 0.  Where it did not, the
error says that the table was left as it was.  A table retired by a replace whose DROP meets a
lost connection is dropped on a new one.  The faults are injected at the exact statement on the
real servers: the session is ended from another connection and the next statement on it fails.
"""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from conftest import Database, load, write
from test_errors import stages
from test_interrupted_publish import end_session
from test_secrets_in_output import SERVER_DATABASES

import processor.run
from processor.publish.ledger import LEDGER_TABLE
from processor.publish.target import staging_name

pytestmark = pytest.mark.parametrize("db", SERVER_DATABASES, indirect=True)


def lose_after(db: Database, monkeypatch, statement: str, times: int = 1) -> list[str]:
    """End the session right after a statement starting with ``statement`` ran (``times`` times),
    so that the run sees a lost connection where the server did the work.  Returns the
    statements that were cut, for the test to check the fault happened."""
    cut: list[str] = []
    execute = sa.engine.Connection.exec_driver_sql

    def exec_then_lose(conn, sql, *args, **kwargs):
        result = execute(conn, sql, *args, **kwargs)
        if sql.startswith(statement) and len(cut) < times:
            cut.append(sql)
            end_session(db, conn)
            execute(conn, "SELECT 1")  # the session is gone: a lost connection, as the run sees it
        return result

    monkeypatch.setattr(sa.engine.Connection, "exec_driver_sql", exec_then_lose)
    return cut


def lose_before(db: Database, monkeypatch, statement: str | tuple[str, ...]) -> list[str]:
    """End the session just before the first statement starting with ``statement`` runs: it
    meets a lost connection, and the server never saw it.  Returns the statement cut."""
    cut: list[str] = []
    execute = sa.engine.Connection.exec_driver_sql

    def lose_then_exec(conn, sql, *args, **kwargs):
        if sql.startswith(statement) and not cut:
            cut.append(sql)
            end_session(db, conn)
        return execute(conn, sql, *args, **kwargs)

    monkeypatch.setattr(sa.engine.Connection, "exec_driver_sql", lose_then_exec)
    return cut


def lose_after_the_publishing_commit(db: Database, monkeypatch) -> list[str]:
    """Where the ledger commits with the publish: end the session right after that COMMIT."""
    cut: list[str] = []
    record_files = processor.run.record_files
    commit = sa.engine.Connection._commit_impl  # where every way of committing ends
    publishing: list[sa.Connection] = []

    def record(conn, *args):
        record_files(conn, *args)
        publishing.append(conn)

    def commit_then_lose(conn):
        commit(conn)
        if conn in publishing and not cut:
            cut.append("COMMIT")
            end_session(db, conn)
            conn.exec_driver_sql("SELECT 1")

    monkeypatch.setattr(processor.run, "record_files", record)
    monkeypatch.setattr(sa.engine.Connection, "_commit_impl", commit_then_lose)
    return cut


def ledger_rows(db: Database, run_id: str) -> int:
    engine = db.engine
    try:
        with engine.connect() as conn:
            query = sa.text(f"SELECT count(*) FROM {LEDGER_TABLE} WHERE run_id = :run")
            return conn.execute(query, {"run": run_id}).scalar_one()
    finally:
        engine.dispose()


def lose_the_publish(db: Database, monkeypatch) -> list[str]:
    """The fault at the statement that publishes: the RENAME where DDL commits by itself (and
    the ledger before it), the publishing COMMIT where the ledger commits with the publish."""
    if db.features.transactional_ddl:
        return lose_after_the_publishing_commit(db, monkeypatch)
    return lose_after(db, monkeypatch, "RENAME TABLE")


@pytest.mark.parametrize("if_exists", ["replace", "append"])
def test_connection_lost_after_the_publish_committed_settles_it(
    db, table, tmp_path, monkeypatch, caplog, if_exists
):
    write(tmp_path / "old", "a.csv", "n,t\n1,old\n")
    write(tmp_path / "new", "b.csv", "n,t\n2,new\n3,newer\n")
    assert load(tmp_path / "old", db, table).error is None
    if if_exists == "append" and not db.features.transactional_ddl:
        cut = lose_after_the_publishing_commit(db, monkeypatch)  # an INSERT: the ledger tells it
    else:
        cut = lose_the_publish(db, monkeypatch)
    with caplog.at_level(logging.WARNING):
        report = load(tmp_path / "new", db, table, if_exists=if_exists)
    monkeypatch.undo()
    assert cut, "the fault was not injected"
    assert report.error is None, report.error
    assert (report.exit_code, report.published) == (0, True)
    assert any(
        m.startswith(f"the connection was lost while publishing table {table!r}, but the publish committed")
        for m in caplog.messages
    ), caplog.messages
    expected = [(2, "new"), (3, "newer")]
    if if_exists == "append":
        expected = [(1, "old"), *expected]
    assert db.rows(table, order_by="n") == expected
    assert stages(db, table) == []
    assert ledger_rows(db, report.run_id) == 1


def test_connection_lost_into_a_new_table_after_the_rename_settles_it(db, table, tmp_path, monkeypatch):
    write(tmp_path, "a.csv", "n,t\n1,x\n")
    cut = lose_the_publish(db, monkeypatch)
    report = load(tmp_path, db, table)
    monkeypatch.undo()
    assert cut, "the fault was not injected"
    assert (report.exit_code, report.error) == (0, None)
    assert db.rows(table) == [(1, "x")]
    assert stages(db, table) == []


def test_connection_lost_before_the_rename_says_the_table_was_left(db, table, tmp_path, monkeypatch):
    """Where the tables tell it (a RENAME that commits by itself), a publish cut before it is
    known not to have happened; where only the ledger tells it, an empty ledger leaves it open."""
    write(tmp_path / "old", "a.csv", "n,t\n1,old\n")
    write(tmp_path / "new", "a.csv", "n,t\n2,new\n")
    assert load(tmp_path / "old", db, table).error is None
    cut = lose_before(db, monkeypatch, ("RENAME TABLE", "DROP TABLE"))
    report = load(tmp_path / "new", db, table, if_exists="replace")
    monkeypatch.undo()
    assert cut, "the fault was not injected"
    assert report.exit_code == 6
    message = str(report.error)
    assert message.startswith(f"publishing table {table!r} failed: ")
    if db.features.transactional_ddl:
        assert message.endswith(
            f"it did if {LEDGER_TABLE} has rows with run_id '{report.run_id}', "
            "else the table was left as it was"
        )
    else:
        assert message.endswith(
            "; the connection was lost before the publish committed (checked on a new connection): "
            "the table was left as it was"
        )
    assert db.rows(table) == [(1, "old")]
    assert stages(db, table) == []


def test_a_retired_table_whose_drop_lost_its_connection_is_dropped_on_a_new_one(
    db, table, tmp_path, monkeypatch, caplog
):
    """Every table the publish leaves behind (MariaDB's retired table, the receipts table) goes
    through the same DROP after the publish."""
    write(tmp_path / "old", "a.csv", "n,t\n1,old\n")
    write(tmp_path / "new", "a.csv", "n,t\n2,new\n")
    assert load(tmp_path / "old", db, table).error is None
    cut = lose_before(db, monkeypatch, f"DROP TABLE {db.backend.quote(staging_name(table, ''))[:-1]}")
    with caplog.at_level(logging.WARNING):
        report = load(tmp_path / "new", db, table, if_exists="replace")
    monkeypatch.undo()
    assert cut, "the fault was not injected"
    assert (report.exit_code, report.error) == (0, None)
    assert not [m for m in caplog.messages if m.startswith("could not drop")], caplog.messages
    assert db.rows(table) == [(2, "new")]
    assert stages(db, table) == []
