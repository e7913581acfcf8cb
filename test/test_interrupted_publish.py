"""A run interrupted around its publish (issue 7): a signal right after the publish committed reports
that it published, one before leaves the table; a connection lost at the publishing commit says
the outcome is unknown where a new connection cannot tell it (test_lost_publish_settled: where it can).

Faults at an exact moment are injected by wrapping the run's own step with one that sends the
signal or ends the session; the oracles read the table and the ledger back through the driver.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time

import pytest
import sqlalchemy as sa
from conftest import Database, load, write
from test_errors import stages
from test_secrets_in_output import SERVER_DATABASES

import processor.run
from processor.errors import Interrupted
from processor.publish.ledger import LEDGER_TABLE


def interrupt_around_publish(monkeypatch, when: str) -> None:
    """Send this process SIGTERM just before the publish starts, or just after it committed."""
    publish = processor.run.publish

    def publish_then_signal(*args, **kwargs):
        if when == "before":
            os.kill(os.getpid(), signal.SIGTERM)
        publish(*args, **kwargs)
        if when == "after":
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(processor.run, "publish", publish_then_signal)


def test_signal_after_the_publish_committed_reports_it_published(db, table, tmp_path, monkeypatch, caplog):
    write(tmp_path / "old", "a.csv", "n,t\n1,old\n")
    write(tmp_path / "new", "a.csv", "n,t\n2,new\n3,newer\n")
    assert load(tmp_path / "old", db, table).error is None
    interrupt_around_publish(monkeypatch, "after")
    report_path = tmp_path / "report.json"
    with caplog.at_level(logging.WARNING):
        report = load(tmp_path / "new", db, table, if_exists="replace", report_path=report_path)
    assert report.error is None, report.error
    assert (report.exit_code, report.published) == (0, True)
    warning = f"SIGTERM arrived after table {table!r} was published: the import is complete"
    assert report.warnings == [warning]
    assert warning in caplog.messages
    data = json.loads(report_path.read_text())
    assert (data["status"], data["exit_code"], data["published"], data["warnings"]) == (
        "ok",
        0,
        True,
        [warning],
    )
    assert db.rows(table, order_by="n") == [(2, "new"), (3, "newer")]
    assert stages(db, table) == []


def test_signal_before_the_publish_leaves_the_table(db, table, tmp_path, monkeypatch):
    write(tmp_path / "old", "a.csv", "n,t\n1,old\n")
    write(tmp_path / "new", "a.csv", "n,t\n2,new\n")
    assert load(tmp_path / "old", db, table).error is None
    interrupt_around_publish(monkeypatch, "before")
    report = load(tmp_path / "new", db, table, if_exists="replace", report_path=tmp_path / "r.json")
    assert isinstance(report.error, Interrupted)
    assert (report.exit_code, report.published) == (130, False)
    assert str(report.error) == "interrupted; the target table was left as it was"
    assert json.loads((tmp_path / "r.json").read_text())["published"] is False
    assert db.rows(table) == [(1, "old")]
    assert stages(db, table) == []


def end_session(db: Database, conn: sa.Connection) -> None:
    """End ``conn``'s server session from another connection, and wait until it is gone."""
    engine = db.engine
    try:
        with engine.connect() as other:
            if db.name == "postgresql":
                session = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(session)})")
                alive = f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(session)}"
            else:
                session = conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar_one()
                other.exec_driver_sql(f"KILL CONNECTION {int(session)}")
                alive = f"SELECT count(*) FROM information_schema.processlist WHERE id = {int(session)}"
            deadline = time.monotonic() + 30
            while other.exec_driver_sql(alive).scalar() and time.monotonic() < deadline:
                other.rollback()
                time.sleep(0.05)
    finally:
        engine.dispose()


@pytest.mark.parametrize("db", SERVER_DATABASES, indirect=True)
def test_connection_lost_at_the_publishing_commit_says_the_outcome_is_unknown(
    db, table, tmp_path, monkeypatch
):
    write(tmp_path / "old", "a.csv", "n,t\n1,old\n")
    write(tmp_path / "new", "a.csv", "n,t\n2,new\n")
    assert load(tmp_path / "old", db, table).error is None
    record_files = processor.run.record_files

    def record_then_lose_the_connection(conn, *args):
        record_files(conn, *args)
        end_session(db, conn)  # the COMMIT that follows meets a closed connection

    monkeypatch.setattr(processor.run, "record_files", record_then_lose_the_connection)
    report = load(tmp_path / "new", db, table, if_exists="replace")
    assert report.exit_code == 6
    message = str(report.error)
    assert message.startswith(f"publishing table {table!r} failed: ")
    if db.features.transactional_ddl:  # the ledger, on a new connection, has no rows of the run
        evidence = f"{LEDGER_TABLE} has rows with run_id '{report.run_id}'"
        assert message.endswith(
            "; the connection was lost while publishing, so whether the publish committed is unknown: "
            f"it did if {evidence}, else the table was left as it was"
        )
    else:  # the ledger commits before the RENAME, and the staging table still there says it did not run
        assert message.endswith(
            "; the connection was lost before the publish committed (checked on a new connection): "
            "the table was left as it was"
        )
    assert not report.published
    engine = db.engine
    try:
        with engine.connect() as conn:
            query = sa.text(f"SELECT count(*) FROM {LEDGER_TABLE} WHERE run_id = :run")
            assert conn.execute(query, {"run": report.run_id}).scalar() == 0
    finally:
        engine.dispose()
    assert db.rows(table) == [(1, "old")]  # consistent with what the ledger says
    assert stages(db, table) == []
