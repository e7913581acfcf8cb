"""Issue 19, "A failed run cleans up after itself": its database file, its staging tables, and the
message of a publish whose connection was lost.

Oracles are plain: the file system (``Path.exists``), the database's catalog read through the
driver, and the tables' rows read back with plain SQL.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import ROOT, Database, load, user_env, write
from test_crash import client_ports, kill_connections

from processor.publish.ledger import LEDGER_TABLE
from processor.publish.target import staging_name
from processor.settings import parse_url

#: Called by the TRANSFORM file below with each chunk's number (from 1), in the run's process.
ON_CHUNK: list[Callable[[int], None]] = []
HOOK = """
import test_failed_run_cleanup

calls = 0


def hook(frame):
    global calls
    calls += 1
    for on_chunk in test_failed_run_cleanup.ON_CHUNK:
        on_chunk(calls)
    return frame
"""
ROWS = 200


def rows_csv(rows: int = ROWS, ragged_last: bool = False) -> str:
    body = "".join(f"{i},text {i}\n" for i in range(rows))
    return "id,t\n" + body + ("only one field\n" if ragged_last else "")


def hook_file(tmp_path: Path) -> str:
    path = tmp_path / "hook.py"
    path.write_text(HOOK)
    return f"{path}:hook"


@pytest.fixture
def on_chunk() -> Iterator[Callable[[Callable[[int], None]], None]]:
    def set_hook(function: Callable[[int], None]) -> None:
        ON_CHUNK.append(function)

    yield set_hook
    ON_CHUNK.clear()


def stages(db: Database, table: str) -> set[str]:
    return {t for t in db.tables() if t.startswith(staging_name(table, ""))}


# ---- a database file the run created ------------------------------------------------------------

FILES = {"sqlite": ("new.db", ("-journal", "-wal", "-shm")), "duckdb": ("new.duckdb", (".wal",))}


@pytest.mark.parametrize("kind", sorted(FILES))
@pytest.mark.parametrize("failure", ["late reject", "transform", "no such column"])
def test_a_failed_run_removes_the_database_file_it_created(cli, tmp_path, kind, failure):
    """An 88 MB file stayed where none existed: now the file and its companions go; only the
    import lock's small file stays (README: it is reused, and removing it would race)."""
    name, suffixes = FILES[kind]
    folder, out = tmp_path / "src", tmp_path / "out"
    out.mkdir()
    write(folder, "a.csv", rows_csv(ragged_last=failure == "late reject"))
    env = {"SRC_DATA_FOLDER": str(folder), "DEST_SQL": f"{kind}:///{out / name}", "CHUNK_SIZE": "20"}
    expected = 5
    if failure == "transform":
        (tmp_path / "bad.py").write_text("def hook(frame):\n    raise ValueError('no')\n")
        env["TRANSFORM"] = f"{tmp_path / 'bad.py'}:hook"
        expected = 10
    elif failure == "no such column":
        env["SRC_COLUMNS"] = "id,missing"
        expected = 4
    code, _, err = cli([], user_env(**env))
    assert code == expected, err
    assert not (out / name).exists(), err
    left = sorted(p.name for p in out.iterdir())
    assert all(n.endswith(".import-lock") for n in left), left
    assert not any((out / (name + s)).exists() for s in suffixes)


@pytest.mark.parametrize("kind", sorted(FILES))
def test_a_database_file_that_existed_is_never_removed(cli, tmp_path, kind):
    name, _ = FILES[kind]
    out = tmp_path / "out"
    out.mkdir()
    path = out / name
    if kind == "sqlite":
        sqlite3.connect(path).close()  # an empty database: a file of 0 bytes
    else:
        import duckdb

        duckdb.connect(str(path)).close()
    assert path.exists()
    write(tmp_path / "src", "a.csv", rows_csv(ragged_last=True))
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": f"{kind}:///{path}"}
    code, _, err = cli([], user_env(**env))
    assert code == 5, err
    assert path.exists()


def test_a_created_file_that_came_to_hold_other_tables_is_kept(cli, tmp_path, on_chunk):
    """Another process wrote a table into the new file while the run loaded: it is not the run's."""
    out = tmp_path / "out"
    out.mkdir()
    path = out / "new.db"

    def other_writer(chunk: int) -> None:
        if chunk == 1:
            with sqlite3.connect(path) as conn:
                conn.execute("CREATE TABLE other (x)")
                conn.execute("INSERT INTO other VALUES (1)")

    on_chunk(other_writer)
    write(tmp_path / "src", "a.csv", rows_csv(ragged_last=True))
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": f"sqlite:///{path}",
        "TRANSFORM": hook_file(tmp_path),
        "CHUNK_SIZE": "20",
    }
    code, _, err = cli([], user_env(**env))
    assert code == 5, err
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT x FROM other").fetchall() == [(1,)]


def test_a_run_that_succeeds_keeps_the_file_it_created(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    write(tmp_path / "src", "a.csv", "id\n")  # no rows: an empty table is still the user's table
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": f"sqlite:///{out / 'new.db'}"}
    code, _, err = cli([], user_env(**env))
    assert code == 0, err
    with sqlite3.connect(out / "new.db") as conn:
        assert conn.execute("SELECT count(*) FROM a").fetchone() == (0,)


# ---- staging tables after the server ended the run's sessions -----------------------------------


@pytest.mark.parametrize("db", ["postgresql", "mariadb"], indirect=True)
def test_staging_dropped_on_a_fresh_connection_after_the_sessions_were_killed(db, table, tmp_path, on_chunk):
    """The server ends every session of the run (a restart, an administrator) at its 2nd chunk:
    the run fails, and drops its staging tables on new connections."""
    killed = []

    def kill_my_sessions(chunk: int) -> None:
        if chunk == 2:
            killed.append(kill_connections(db, client_ports([os.getpid()])))

    on_chunk(kill_my_sessions)
    write(tmp_path / "src", "a.csv", rows_csv())
    report = load(tmp_path / "src", db, table, transform=hook_file(tmp_path), chunk_size=20)
    assert killed
    assert killed[0] >= 1
    assert report.exit_code in (6, 9), report.error  # a chunk's write, or the import lock, was lost
    assert stages(db, table) == set()
    assert not report.warnings, report.warnings
    assert not db.exists(table)


# ---- a publish whose connection was lost ----------------------------------------------------------


class PublishKiller:
    """Holds a read lock on a table from the load's first chunk on, so that the publish waits for
    it; a thread ends the waiting publishing session from the server's side, then lets go."""

    def __init__(self, db: Database, table: str, if_exists: str) -> None:
        self.db, self.table, self.if_exists = db, table, if_exists
        self.engine = db.engine
        self.reader = self.engine.connect()
        self.killed: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._kill)

    def hold(self, chunk: int) -> None:
        """Once the staging table exists (the TRANSFORM also sees the samples, before): read the
        table the publish must lock (the target it replaces, or the staging table it renames),
        keeping the transaction open."""
        staging = {name for name in stages(self.db, self.table) if not name.endswith("_chunks")}
        if self.thread.ident is not None or not staging:  # started already, or no staging table yet
            return
        locked = self.table if self.if_exists == "replace" else staging.pop()
        self.reader.exec_driver_sql(f"SELECT * FROM {self.db.quote(locked)}").all()
        self.thread.start()

    def _kill(self) -> None:
        if self.db.name == "postgresql":
            waiting = (
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                f"AND query LIKE '{'DROP' if self.if_exists == 'replace' else 'ALTER'} TABLE %%' "
                "AND query LIKE %(t)s"
            )
            kill = "SELECT pg_terminate_backend(%s)"
        else:
            waiting = (
                "SELECT id FROM information_schema.processlist "
                "WHERE info LIKE 'RENAME TABLE %%' AND info LIKE %(t)s"
            )
            kill = "KILL CONNECTION %s"
        with self.engine.connect() as admin:
            while not self.stop.is_set():
                found = admin.exec_driver_sql(waiting, {"t": f"%{self.table}%"}).scalar()
                admin.rollback()
                if found is not None:
                    admin.exec_driver_sql(kill % int(found))
                    self.killed.append(int(found))
                    break
                time.sleep(0.02)
        self.reader.rollback()

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        self.reader.close()
        self.engine.dispose()


@pytest.mark.parametrize("if_exists", ["replace", "fail"])
@pytest.mark.parametrize("db", ["postgresql", "mariadb"], indirect=True)
def test_the_uncertain_publish_message_tells_the_truth(db, table, tmp_path, on_chunk, if_exists):
    """MariaDB's replace commits its ledger rows before the RENAME: a RENAME killed while it waits
    for a lock left the old table, while the ledger has the run's rows.  The message must say
    what holds: checked here against the database (on MariaDB the run finds out, on a new
    connection, that the RENAME did not happen)."""
    write(tmp_path / "old", "a.csv", "n,t\n1,old\n")
    write(tmp_path / "new", "a.csv", "n,t\n2,new\n")
    if if_exists == "replace":
        assert load(tmp_path / "old", db, table).error is None
    killer = PublishKiller(db, table, if_exists)
    on_chunk(killer.hold)
    try:
        report = load(tmp_path / "new", db, table, if_exists=if_exists, transform=hook_file(tmp_path))
    finally:
        killer.close()
    assert killer.killed, "the publish never waited for the lock"
    assert report.exit_code == 6, report.error
    message = str(report.error)
    engine = db.engine
    try:
        with engine.connect() as conn:
            query = sa.text(f"SELECT count(*) FROM {LEDGER_TABLE} WHERE run_id = :run")
            ledger_rows = conn.execute(query, {"run": report.run_id}).scalar()
    finally:
        engine.dispose()
    # Not published: the old table, or none.
    if if_exists == "replace":
        assert db.rows(table) == [(1, "old")]
    else:
        assert not db.exists(table)
    if db.features.transactional_ddl:  # the ledger commits with the publish: its rows tell
        evidence = f"{LEDGER_TABLE} has rows with run_id '{report.run_id}'"
        assert ledger_rows == 0
    else:  # the ledger committed before the RENAME: the staging table, still there, tells
        assert ledger_rows == 1  # the ledger alone would say it was published
        assert staging_name(table, report.run_id) + "_old" not in db.tables()
        assert message.endswith(
            "; the connection was lost before the publish committed (checked on a new connection): "
            "the table was left as it was"
        ), message
        assert stages(db, table) == set()
        return
    assert message.endswith(f"it did if {evidence}, else the table was left as it was"), message
    assert stages(db, table) == set()


# ---- a record larger than the record limit --------------------------------------------------------

#: Peak memory allowed to any process of a run that meets a record over the limit (README: Memory):
#: Arrow's reading finds it with a scan in small pieces; Python's csv and json modules (a header,
#: an NDJSON line) hold up to the limit of it in 1 MiB pieces.
ARROW_RSS = 256 << 20
LINES_RSS = 400 << 20  # README: every process under 400 MB
MEASURED = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, *sys.argv[1:]], capture_output=True, text=True)
sys.stderr.write(done.stderr)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def write_record(path: Path, before: bytes, record: int, after: bytes) -> None:
    """``before``, then a record of ``record`` bytes of ``x``, then ``after``; for ``.gz`` as
    gzip members, the record's compressed once and repeated (a reader decompresses them as one)."""
    piece = b"x" * (1 << 24)
    pack = gzip.compress if path.suffix == ".gz" else bytes
    with path.open("wb") as out:
        out.write(pack(before))
        packed = pack(piece)
        for _ in range(record // len(piece)):
            out.write(packed)
        out.write(pack(after))


#: A header and rows past the sample (SAMPLE_ROWS=100) and past the first blocks: the load meets the record.
ROWS_BEFORE = b"a\n" + b"".join(b"%d\n" % i for i in range(300_000))
TOO_LARGE = "a record after line {line} is larger than 256 MiB, or a quote there is never closed"
LINE_2 = "line 2 is longer than 256 MiB"
TOO_LARGE_LATE = TOO_LARGE.format(line=300_001)
LARGE, END = 300 << 20, b"\n1\n"  # a record over the limit, and the line after it


# Each case's id, and its file: name, the bytes before the record, the record's size, the bytes
# after it, SPLIT_BYTES, the message and the memory bound.  The fast subset runs the first.
RECORD_CASES = {
    # 1 MiB of gzip holding one record of 1 GiB
    "1 GiB in 1 MiB of gzip": (
        "one.csv.gz",
        b"a\n",
        1 << 30,
        END,
        "128MiB",
        TOO_LARGE.format(line=1),
        ARROW_RSS,
    ),
    # past the sample, in a .gz handed out in blocks
    "compressed, in blocks": ("late.csv.gz", ROWS_BEFORE, LARGE, END, "1MiB", TOO_LARGE_LATE, ARROW_RSS),
    # uncompressed, loaded in parts
    "plain, in parts": ("plain.csv", ROWS_BEFORE, LARGE, END, "128MiB", TOO_LARGE_LATE, ARROW_RSS),
    # the header
    "header": ("head.csv.gz", b"", LARGE, END, "128MiB", "line 1 is longer than 256 MiB", LINES_RSS),
    # an NDJSON line
    "ndjson": ("big.ndjson.gz", b'{"a": 1}\n{"a": "', LARGE, b'"}\n', "128MiB", LINE_2, LINES_RSS),
}


@pytest.mark.parametrize(
    ("name", "before", "record", "after", "split", "message", "bound"),
    [
        pytest.param(*case, id=name, marks=() if number == 0 else pytest.mark.slow)
        for number, (name, case) in enumerate(RECORD_CASES.items())
    ],
)
def test_a_record_over_the_limit_is_exit_3_with_bounded_memory(
    tmp_path, name, before, record, after, split, message, bound
):
    """One 1 GiB record in a 1 MiB .gz took a process to 3 GiB (and sometimes aborted, 134)."""
    folder = tmp_path / "src"
    folder.mkdir()
    write_record(folder / name, before, record, after)
    env = user_env(
        SRC_DATA_FOLDER=str(folder),
        SRC_FILE_NAME=name,
        DEST_SQL=f"sqlite:///{tmp_path / 'out.db'}",
        SPLIT_BYTES=split,
        SAMPLE_ROWS="100",
        WORKERS="2",
    )
    measured = tmp_path / "measured.py"
    measured.write_text(MEASURED)
    done = subprocess.run(
        [sys.executable, str(measured), str(ROOT / "index.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    status, peak = map(int, done.stdout.split())
    assert status == 3, done.stderr
    assert done.stderr.splitlines()[-1] == f"error: {name}: {message}"
    assert "Traceback" not in done.stderr
    assert peak < bound, f"a process of the run reached {peak >> 20} MiB"
    assert not (tmp_path / "out.db").exists()


# ---- staging tables that cannot be dropped -------------------------------------------------------


class LockableLogin:
    """A login of its own on the server, which the test can lock out and let in again."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.name = f"u_{uuid.uuid4().hex[:10]}"
        self.password = uuid.uuid4().hex
        database = parse_url(db.url).database
        if db.name == "postgresql":
            self._run(
                f"CREATE ROLE {self.name} LOGIN PASSWORD '{self.password}'",
                f"GRANT CREATE, USAGE ON SCHEMA public TO {self.name}",
            )
            if db.exists(LEDGER_TABLE):
                self._run(f"GRANT ALL ON {LEDGER_TABLE} TO {self.name}")
        else:
            self._run(
                f"CREATE USER '{self.name}'@'%%' IDENTIFIED BY '{self.password}'",
                f"GRANT ALL ON `{database}`.* TO '{self.name}'@'%%'",
            )
        self.url = parse_url(db.url).set(username=self.name, password=self.password)

    def _run(self, *statements: str) -> None:
        for statement in statements:
            self.db.execute(statement)

    def lock_out(self) -> None:
        """Refuse its new connections and end the ones it has."""
        if self.db.name == "postgresql":
            self._run(
                f"ALTER ROLE {self.name} NOLOGIN",
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{self.name}'",
            )
            return
        self._run(f"ALTER USER '{self.name}'@'%%' ACCOUNT LOCK")
        engine = self.db.engine
        try:
            with engine.connect() as conn:
                found = conn.exec_driver_sql(
                    "SELECT id FROM information_schema.processlist WHERE user = %s", (self.name,)
                ).scalars()
                for session in list(found):
                    conn.exec_driver_sql(f"KILL CONNECTION {int(session)}")
        finally:
            engine.dispose()

    def let_in(self) -> None:
        if self.db.name == "postgresql":
            self._run(f"ALTER ROLE {self.name} LOGIN")
        else:
            self._run(f"ALTER USER '{self.name}'@'%%' ACCOUNT UNLOCK")

    def drop(self) -> None:
        if self.db.name == "postgresql":
            self._run(f"REASSIGN OWNED BY {self.name} TO CURRENT_USER", f"DROP OWNED BY {self.name}")
            self._run(f"DROP ROLE {self.name}")
        else:
            self._run(f"DROP USER '{self.name}'@'%%'")


@pytest.fixture
def login(db: Database) -> Iterator[LockableLogin]:
    made = LockableLogin(db)
    yield made
    made.drop()


@pytest.mark.parametrize("db", ["postgresql", "mariadb"], indirect=True)
def test_staging_tables_that_cannot_be_dropped_are_named_in_a_warning(
    db, table, tmp_path, on_chunk, login, caplog
):
    """The server ends the run's sessions and refuses new ones: the run cannot drop its staging
    tables, and says which remain and what removes them; --cleanup then does."""
    on_chunk(lambda chunk: login.lock_out() if chunk == 2 else None)
    write(tmp_path / "src", "a.csv", rows_csv())
    as_login = Database(db.name, login.url.render_as_string(hide_password=False))
    path = tmp_path / "report.json"
    options = {"transform": hook_file(tmp_path), "chunk_size": 20, "report_path": path}
    with caplog.at_level(logging.WARNING):
        report = load(tmp_path / "src", as_login, table, **options)
    assert report.exit_code in (6, 9), report.error
    staging = staging_name(table, report.run_id)
    left = {staging, staging + "_chunks"}
    assert stages(db, table) == left  # read as the administrator
    warning = f"could not drop this run's staging tables {staging!r}, {staging + '_chunks'!r} ("
    ending = f"); the next run into {table!r}, or --cleanup, removes them"
    warnings = json.loads(path.read_text())["warnings"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(warning), warnings
    assert warnings[0].endswith(ending), warnings
    assert warnings[0] in caplog.text
    login.let_in()
    cleaned = load(tmp_path / "src", as_login, table, cleanup=True)
    assert cleaned.error is None, cleaned.error
    assert stages(db, table) == set()


# ---- a disk that fills during a load (SQLite) ------------------------------------------------------


@pytest.fixture
def sqlite_full_after() -> Iterator[list[int]]:
    """Once a number is in the list, every SQLite connection opened through SQLAlchemy finds its
    database full beyond that many pages (``PRAGMA max_page_count``), as a full disk would."""
    limit: list[int] = []

    def on_connect(dbapi_connection, _record) -> None:
        if limit and isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute(f"PRAGMA max_page_count = {limit[0]}")

    sa.event.listen(sa.engine.Engine, "connect", on_connect)
    yield limit
    sa.event.remove(sa.engine.Engine, "connect", on_connect)


@pytest.mark.parametrize("existing", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_a_database_that_fills_during_a_load_keeps_no_staging_table(
    tmp_path, on_chunk, sqlite_full_after, existing
):
    """On SQLite the staging table kept the space, and later runs failed "database or disk is full"."""
    path = tmp_path / "out.db"
    db = Database("sqlite", f"sqlite:///{path}")
    if existing:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE mine (x)")
            conn.execute("INSERT INTO mine VALUES (1)")
    on_chunk(lambda chunk: sqlite_full_after.append(40) if chunk == 2 else None)
    write(tmp_path / "src", "a.csv", rows_csv(20_000))
    report = load(tmp_path / "src", db, "t", transform=hook_file(tmp_path), chunk_size=2000)
    assert report.exit_code != 0
    assert "database or disk is full" in str(report.error)
    assert not report.warnings, report.warnings
    if not existing:
        assert not path.exists()
        return
    with sqlite3.connect(path) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert conn.execute("SELECT x FROM mine").fetchall() == [(1,)]
    assert names <= {"mine", LEDGER_TABLE}
    sqlite_full_after.clear()  # space again: the next run works
    ON_CHUNK.clear()
    assert load(tmp_path / "src", db, "t").error is None
    assert db.rows("t", order_by="id")[-1] == (19_999, "text 19999")
