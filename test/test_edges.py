"""Exact at the edges (issue 7): secrets never shown, reports that tell the truth, readers
without arbitrary limits, a header wider than the database allows.

Each case of the issue runs on every database it concerns, on the real servers.  Faults at an
exact moment (a signal right after the publish committed, a connection lost at the commit) are
injected by wrapping the run's own step with one that sends the signal or ends the session.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import Database, load, write

import processor.run
from processor.backends import backend_for
from processor.columns import map_columns
from processor.database import create_engine
from processor.discover import discover_files
from processor.errors import Interrupted
from processor.executors import TaskContext, WorkerSetup
from processor.ledger import LEDGER_TABLE
from processor.read import TextFormat
from processor.settings import parse_url
from processor.target import staging_name
from processor.worker import ProfileTask, profile

SERVER_DATABASES = ["postgresql", "mariadb"]


def stages(db: Database, table: str) -> list[str]:
    return [t for t in db.tables() if t.startswith(staging_name(table, ""))]


def read_rejects(path: Path) -> list[list[str]]:
    """The rejects CSV as written, fields of any size."""
    limit = csv.field_size_limit(1 << 30)
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            return list(csv.reader(stream))
    finally:
        csv.field_size_limit(limit)


# ---- secrets ----------------------------------------------------------------------------------

USER_PASSWORD = "Userpw7k2"
QUERY_SECRET = "Querypw3q9"


@pytest.fixture
def secret_url(db):
    """DEST_SQL for ``db`` with secrets in it, and those secrets.

    PostgreSQL trusts any password here: one in the userinfo, one in the query string.  On
    MariaDB a user is made whose password is in the query string (mysqlclient takes it there).
    """
    url = parse_url(db.url)
    if db.name == "postgresql":
        yield (
            url.set(password=USER_PASSWORD, query={"sslpassword": QUERY_SECRET}),
            [USER_PASSWORD, QUERY_SECRET],
        )
        return
    user = f"edges_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY '{QUERY_SECRET}'")
    try:
        db.execute(f"GRANT ALL ON `{url.database}`.* TO '{user}'@'%%'")
        yield url.set(username=user, password=None, query={"password": QUERY_SECRET}), [QUERY_SECRET]
    finally:
        db.execute(f"DROP USER '{user}'@'%%'")


@pytest.mark.parametrize("db", SERVER_DATABASES, indirect=True)
def test_secrets_of_dest_sql_are_in_no_output(db, table, tmp_path, cli, secret_url):
    url, secrets = secret_url
    target = f"{table}_{QUERY_SECRET}"  # a name holding a secret is masked as well
    # A rejected row holding the secrets: the rejects file masks them too.
    write(tmp_path / "src", "a/a.csv", f"n,t\n1,x\n2,{' '.join(secrets)},extra\n")
    write(tmp_path / "src", "b/a.csv", "n,t\n3,y\n")
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": url.render_as_string(hide_password=False),
        "DEST_TABLE": target,
        "MAX_ERRORS": "1",
        "WORKERS": "2",
        "LOG_LEVEL": "INFO",
        "REPORT_PATH": str(tmp_path / "out" / "report.json"),
    }
    try:
        code, out, err = cli([], env)
        assert code == 0, err
        report = (tmp_path / "out" / "report.json").read_text()
        rejects = (tmp_path / "out" / "report.rejects.csv").read_text()
        assert db.rows(target, order_by="n") == [(1, "x"), (3, "y")]
        # A second run fails (the table exists): the message and the traceback are masked too.
        failed, _, verbose = cli(["--verbose"], env)
        failure = (tmp_path / "out" / "report.json").read_text()
    finally:
        db.drop(target)
    assert failed == 7
    assert "Traceback (most recent call last)" in verbose
    assert verbose.splitlines()[-1] == (
        f"error: table '{table}_***' already exists; set IF_EXISTS=replace or IF_EXISTS=append"
    )
    for text in (out, err, report, rejects, verbose, failure):
        for secret in secrets:
            assert secret not in text
    assert out.startswith(f"imported 2 rows from 2 files into table '{table}_***' at ")
    assert json.loads(report)["destination"] == (
        f"postgresql+psycopg2://{url.username}:***@{url.host}:{url.port}/{url.database}?sslpassword=***"
        if db.name == "postgresql"
        else f"mysql+mysqldb://{url.username}@{url.host}:{url.port}/{url.database}?password=***"
    )
    masked_row = " ".join("***" for _ in secrets)
    assert rejects.splitlines()[1] == f'a/a.csv,3,"expected 2 fields, found 3","2,{masked_row},extra"'


def test_secret_query_parameters_masked_in_connection_errors(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    url = "postgresql://u:Pw9x@127.0.0.1:1/db?sslpassword=S3cr&auth_token=T0k&sslmode=disable"
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": url})
    assert (code, out) == (6, "")
    assert err.startswith(
        "error: cannot connect to postgresql+psycopg2://u:***@127.0.0.1:1/db"
        "?auth_token=***&sslmode=disable&sslpassword=***: "
    )
    for secret in ("Pw9x", "S3cr", "T0k"):
        assert secret not in err


def test_unparseable_url_masks_secret_parameters(cli, tmp_path):
    url = "postgresql://u:Pw9x@h:port/db?password=S3cr&sslmode=disable"
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path), "DEST_SQL": url})
    assert (code, err) == (
        2,
        "error: DEST_SQL is not a database URL: 'postgresql://u:***@h:port/db?password=***&sslmode=disable'\n",
    )


# ---- the report tells the truth ---------------------------------------------------------------


def old_report(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"status": "ok"}\n')
    return path


def test_invalid_settings_replace_the_report(cli, tmp_path):
    report = old_report(tmp_path / "report.json")
    code, out, err = cli([], {"WORKERS": "abc", "REPORT_PATH": str(report)})
    assert (code, out, err) == (2, "", "error: WORKERS must be a positive integer, got 'abc'\n")
    data = json.loads(report.read_text())
    assert {k: data[k] for k in ("status", "exit_code", "error", "published", "rows")} == {
        "status": "failed",
        "exit_code": 2,
        "error": "WORKERS must be a positive integer, got 'abc'",
        "published": False,
        "rows": 0,
    }
    assert list(Path.cwd().iterdir()) == []  # nothing else written


def test_invalid_settings_as_a_json_log_line_and_a_report_from_a_flag(cli, tmp_path):
    report = old_report(tmp_path / "report.json")
    code, out, err = cli(
        ["--report-path", str(report), "--if-exists", "sometimes"],
        {"LOG_FORMAT": "json", "DEST_SQL": "postgresql://u:Pw9x@h/db"},
    )
    assert (code, out) == (2, "")
    (line,) = err.splitlines()
    record = json.loads(line)
    message = "IF_EXISTS must be one of fail, replace, append, merge, delete_rows; got 'sometimes'"
    assert (record["level"], record["message"]) == ("ERROR", message)
    data = json.loads(report.read_text())
    assert (data["status"], data["exit_code"], data["error"], data["destination"]) == (
        "failed",
        2,
        message,
        None,
    )
    assert "Pw9x" not in report.read_text()


def test_unknown_flag_is_an_invalid_setting_with_a_report(cli, tmp_path):
    report = old_report(tmp_path / "report.json")
    code, out, err = cli(["--report-path", str(report), "--wokers", "2"], {})
    assert (code, out, err) == (2, "", "error: unrecognized arguments: --wokers 2\n")
    assert json.loads(report.read_text())["error"] == "unrecognized arguments: --wokers 2"


def test_report_path_that_cannot_be_written_fails_before_any_work(cli, tmp_path):
    blocker = write(tmp_path, "blocker", "a file where a folder should be")
    write(tmp_path / "src", "a.csv", "n\n1\n")
    db_path = tmp_path / "o.db"
    code, out, err = cli(
        [],
        {
            "SRC_DATA_FOLDER": str(tmp_path / "src"),
            "DEST_SQL": f"sqlite:///{db_path}",
            "REPORT_PATH": str(blocker / "report.json"),
        },
    )
    assert (code, out) == (2, "")
    path = blocker / "report.json"
    assert err == f"error: REPORT_PATH cannot be written: {path}: {blocker} is not a directory\n"
    assert not db_path.exists()


def test_report_says_running_until_the_run_ends(tmp_path):
    """A run waiting for the import lock: its report already replaced the last one."""
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    write(tmp_path / "src", "a.csv", "n\n1\n")
    report_path = old_report(tmp_path / "report.json")
    engine = create_engine(parse_url(db.url))
    finished = []
    with backend_for(engine).import_lock("t", timeout=0):
        run = threading.Thread(
            target=lambda: finished.append(
                load(tmp_path / "src", db, "t", lock_timeout=120, report_path=report_path)
            )
        )
        run.start()
        deadline = time.monotonic() + 60
        while json.loads(report_path.read_text())["status"] == "ok" and time.monotonic() < deadline:
            time.sleep(0.05)
        running = json.loads(report_path.read_text())
    run.join()
    engine.dispose()
    assert (running["status"], running["exit_code"], running["published"]) == ("running", None, False)
    assert finished[0].error is None, finished[0].error
    final = json.loads(report_path.read_text())
    assert (final["status"], final["exit_code"], final["published"], final["rows"]) == ("ok", 0, True, 1)
    assert final["run_id"] == running["run_id"]


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
    evidence = f"{LEDGER_TABLE} has rows with run_id '{report.run_id}'"
    if db.name == "mariadb":  # its ledger commits before the RENAME: the renamed tables tell
        retired = staging_name(table, report.run_id) + "_old"
        evidence = (
            f"table {retired!r} exists (the table it replaced, which the next run into {table!r}, "
            "or --cleanup, drops)"
        )
        assert retired not in db.tables()  # and indeed the publish did not commit
    assert message.endswith(
        "; the connection was lost while publishing, so whether the publish committed is unknown: "
        f"it did if {evidence}, else the table was left as it was"
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


# ---- readers without arbitrary limits ---------------------------------------------------------


def test_blank_lines_are_no_rows_in_a_one_column_file(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", 'n\n1\n\n""\n2\r\n\r\nx,y\n3\n\n')
    report = load(tmp_path / "src", db, table, max_errors=1)
    assert report.error is None, report.error
    rows = db.rows(table)
    assert sorted(rows, key=lambda row: (row[0] is None, row[0])) == [(1,), (2,), (3,), (None,)]
    assert [(r.line, r.text) for r in report.rejects] == [(7, "x,y")]


BIG = 10_000_000


def big_text(seed: str, size: int) -> str:
    """``size`` characters of text a CSV field must quote: commas, quotes, line breaks, unicode."""
    piece = f'{seed}, "q" é\nline\r\n'
    return (piece * (size // len(piece) + 1))[:size]


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def test_a_10_mb_field_loads_and_is_rejected_with_its_text(db, table, tmp_path):
    huge, other = big_text("a", BIG), big_text("b", BIG)
    lines = [
        "id,note",
        f"1,{quoted(huge)}",  # line 2; spans many physical lines
        "2,short",
        f"3,{quoted(other)},extra",  # ragged: rejected whole, with its raw text
        "x4,past the sample",  # does not fit the id column planned from the first rows
        "5,last",
    ]
    write(tmp_path / "src", "a.csv", "\n".join(lines) + "\n")
    report = load(tmp_path / "src", db, table, max_errors=2, sample_rows=2, chunk_size=2)
    assert report.error is None, report.error
    rows = db.rows(table, order_by="id")
    assert [row[0] for row in rows] == [1, 2, 5]
    assert rows[0][1] == huge  # byte for byte, line breaks and all
    assert rows[1:] == [(2, "short"), (5, "last")]
    first = 2 + huge.count("\n") + 1  # the physical line of record 3
    rejects = read_rejects(tmp_path / f"{table}.rejects.csv")
    assert rejects[1:] == [
        ["a.csv", str(first + 1), "expected 2 fields, found 3", f"3,{quoted(other)},extra"],
        ["a.csv", str(first + 2 + other.count("\n")), "column 'id': 'x4' is not a 64-bit integer",
         "x4,past the sample"],
    ]  # fmt: skip


def test_a_10_mb_record_loads_and_is_rejected_with_its_text(db, table, tmp_path):
    columns = 100
    fields = [big_text(str(i), BIG // columns) for i in range(columns)]
    record = ",".join(quoted(f) for f in fields)
    header = ",".join(f"c{i}" for i in range(columns))
    write(tmp_path / "src", "a.csv", f"{header}\n{record}\n{record},1\n{record}\n")
    report = load(tmp_path / "src", db, table, max_errors=1)
    assert report.error is None, report.error
    assert db.rows(table) == [tuple(fields), tuple(fields)]
    rejects = read_rejects(tmp_path / f"{table}.rejects.csv")
    line = 2 + record.count("\n") + 1
    assert rejects[1:] == [
        ["a.csv", str(line), f"expected {columns} fields, found {columns + 1}", f"{record},1"]
    ]


LIMITS = {"sqlite": 2000, "postgresql": 1600, "mariadb": 1017}


def test_a_header_wider_than_the_database_allows(db, table, tmp_path):
    """A schema error before any row is read: a row with bytes that are not UTF-8, far past the
    header, would otherwise fail the sampling (exit 3)."""
    limit = LIMITS.get(db.name)
    columns = 9074 if db.name in ("sqlite", "duckdb") or limit is None else limit + 1
    header = ",".join(f"column_{i}" for i in range(columns))
    rows = "".join(",".join(str(i) for _ in range(columns)) + "\n" for i in range(20))
    bad = b"\xff" + b",1" * (columns - 1) + b"\n"
    write(tmp_path / "src", "a.csv", header.encode() + b"\n" + rows.encode() + bad)
    report = load(tmp_path / "src", db, table)
    if limit is None:  # DuckDB has no column limit: the run gets as far as the bad bytes
        assert str(report.error) == (
            "a.csv: line 22: bytes not valid utf-8; set SRC_ENCODING to the files' encoding "
            "(it looks like cp1252: SRC_ENCODING=cp1252)"
        )
        return
    dialect = "mysql" if db.name == "mariadb" else db.name
    assert report.exit_code == 4
    assert str(report.error) == (
        f"a.csv: table {table!r} cannot hold the header's {columns:,} columns: "
        f"{dialect} allows at most {limit:,}"
    )
    assert not db.exists(table)
    assert stages(db, table) == []


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)  # InnoDB's row of at most 8,126 bytes
def test_more_text_columns_than_a_mariadb_row_holds(db, table, tmp_path):
    """500 text columns are within MariaDB's column limit, not its row size: a schema error that
    names the table, with nothing created."""
    header = ",".join(f"c{i}" for i in range(500))
    write(tmp_path / "src", "a.csv", header + "\n" + ",".join("x" for _ in range(500)) + "\n")
    report = load(tmp_path / "src", db, table)
    assert report.exit_code == 4
    message = str(report.error)
    assert message.startswith(
        f"table {table!r} cannot be created with the planned 500 columns: mysql refuses"
    )
    assert "(error 1118)" in message
    assert message.endswith("load fewer columns (SRC_COLUMNS)")
    assert not db.exists(table)
    assert stages(db, table) == []


# ---- planned from samples -----------------------------------------------------------------------


def test_a_misfit_past_the_sample_says_how_to_plan_from_every_row(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n,v\n" + "".join(f"{i},{i}\n" for i in range(30)) + "30,N/A\n")
    report = load(tmp_path / "src", db, table, sample_rows=10)
    assert report.exit_code == 5
    assert str(report.error) == (
        "a.csv: line 32: column 'v': 'N/A' is not a 64-bit integer "
        "(1 row rejected so far, MAX_ERRORS=0; nothing was loaded); "
        "'N/A' is a common spelling of a missing value: NA_VALUES=N/A loads it as NULL"
    )


def test_a_misfit_against_an_existing_table_does_not_blame_the_sample(db, table, tmp_path):
    write(tmp_path / "old", "a.csv", "n,v\n1,1\n")
    write(tmp_path / "new", "b.csv", "n,v\n2,N/A\n")
    assert load(tmp_path / "old", db, table).error is None
    report = load(tmp_path / "new", db, table, if_exists="append")
    assert str(report.error) == (
        "b.csv: line 2: column 'v': 'N/A' is not a 64-bit integer "
        "(1 row rejected so far, MAX_ERRORS=0; nothing was loaded); "
        "'N/A' is a common spelling of a missing value: NA_VALUES=N/A loads it as NULL"
    )
    assert db.rows(table) == [(1, 1)]


def test_ragged_rows_do_not_blame_the_sample(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    write(tmp_path / "src", "a.csv", "n,v\n1,1\n2\n")
    report = load(tmp_path / "src", db, "t")
    assert str(report.error) == (
        "a.csv: line 3: expected 2 fields, found 1 (1 row rejected so far, MAX_ERRORS=0; nothing was loaded)"
    )


# ---- profiling stops with the run ----------------------------------------------------------------


def test_profiling_stops_when_the_run_fails(tmp_path):
    """The stop event the parent sets when a task fails: a profile task sees it, like a load."""
    path = write(tmp_path / "src", "a.csv", "n\n" + "".join(f"{i}\n" for i in range(1000)))
    (source,) = discover_files(path.parent, "*.csv", None)
    stop = threading.Event()
    setup = WorkerSetup(parse_url(f"sqlite:///{tmp_path / 'o.db'}"), "INFO", "text", single_writer=True)
    context = TaskContext(setup.backend(), isolated=False, stopped=stop.is_set)
    task = ProfileTask(source, TextFormat(), map_columns(("n",), (), None, source.name), 0)
    assert profile(task, context).profile  # it runs while the run is well
    stop.set()
    with pytest.raises(Interrupted, match=r"^a\.csv: stopped because the run is failing or was interrupted$"):
        profile(task, context)
