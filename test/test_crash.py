"""Crash safety with real processes and real servers (issue 4, "Trustworthy under faults").

Every test runs ``python index.py`` as a user does, in a subprocess, kills something at a
(seeded) random moment with SIGKILL, or drops its database connection from the server side,
and then reads the table back: it must hold exactly its previous rows or exactly the new ones,
never a part.  CRASH_SEED=<n> replays one sequence of kill moments; the seed is in every message.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import ROOT, load, write

from processor.errors import DatabaseError
from processor.executors import TaskContext, WorkerSetup
from processor.kinds import FLOAT, INTEGER, TEXT
from processor.load.worker import LoadTask, load_file
from processor.plan.columns import map_columns
from processor.publish.ledger import LEDGER_TABLE
from processor.publish.target import staging_name
from processor.records import TablePlan
from processor.settings import parse_url
from processor.sources.discover import discover_files
from processor.sources.text import TextFormat

FILES = 6
# Per file: two workers load for a second or two.  Small chunks stretch the load, so that a kill
# 0.2-0.8 s in still meets it under way with the bulk writers (COPY, LOAD DATA, Arrow scans).
ROWS = 20_000
CHUNK_SIZE = {"duckdb": "400", "postgresql": "500", "mariadb": "500", "sqlite": "1000"}
OLD_IDS = range(1_000_000, 1_000_500)
NEW_IDS = range(FILES * ROWS)
SEED = int(os.environ.get("CRASH_SEED", random.randrange(1_000_000)))


def rows_of(ids: range) -> list[tuple[int, str, float]]:
    return [(i, f"name {i}, x", i * 0.5) for i in ids]


def write_source(folder: Path, ids: range, files: int) -> None:
    """``files`` CSV files that hold the rows of ``ids`` between them."""
    per_file = len(ids) // files
    for n in range(files):
        part = ids[n * per_file : (n + 1) * per_file]
        write(
            folder,
            f"part{n}.csv",
            "id,name,value\n" + "".join(f'{i},"name {i}, x",{i * 0.5}\n' for i in part),
        )


def wait_for_duckdb_file(db, timeout: float = 10) -> None:
    """Wait until no other process holds the DuckDB file.

    DuckDB allows one process at a time per file; seen here, a killed run's lock on it can
    outlast the moment its processes stop showing in /proc, for a fraction of a second.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.tables()
            return
        except sa.exc.OperationalError as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def staging_tables(db, table: str) -> set[str]:
    return {t for t in db.tables() if t.startswith(staging_name(table, ""))}


def content(db, table: str) -> str:
    """'old', 'new', or a description of what else the table holds (a failure)."""
    if db.name == "duckdb":
        wait_for_duckdb_file(db)
    if not db.exists(table):
        return "no table"
    rows = db.rows(table, order_by="id")
    if rows == rows_of(OLD_IDS):
        return "old"
    if rows == rows_of(NEW_IDS):
        return "new"
    return f"{len(rows)} rows, neither old nor new"


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def worker_processes(pid: int) -> tuple[list[int], list[int]]:
    """The worker server that ``pid`` started, and the pool's workers that this server forked."""
    servers = [child for child in children(pid) if b"multiprocessing.forkserver" in command_line(child)]
    return servers, [worker for server in servers for worker in children(server)]


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


class Importer:
    """``python index.py`` in a subprocess; its stderr lines are collected as they come."""

    def __init__(self, folder: Path, db, table: str, *args: str, **env: str) -> None:
        environ = {
            **os.environ,
            "SRC_DATA_FOLDER": str(folder),
            "DEST_SQL": db.url,
            "DEST_TABLE": table,
            "IF_EXISTS": "replace",
            "WORKERS": "2",
            "CHUNK_SIZE": CHUNK_SIZE.get(db.name, "100"),
            "LOCK_TIMEOUT": "30",
            "REJECTS_PATH": str(folder.parent / f"{table}.rejects.csv"),
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "index.py"), *args],
            env=environ,
            cwd=folder.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self.workers: set[int] = set()
        self.closed = threading.Event()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                self.stderr.append(line)
                self.lines.put(line)
        self.lines.put("")
        self.closed.set()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Block until a stderr line contains ``text``; fail if the run ends first."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if text in line:
                return
            if line == "":
                raise AssertionError(f"the run ended before logging {text!r}:\n{''.join(self.stderr)}")

    def find_workers(self) -> list[int]:
        """The pool's workers alive now; they and their server are remembered for ``stop``."""
        servers, workers = worker_processes(self.process.pid)
        self.workers.update(servers + workers)
        return workers

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        self.process.wait(timeout=timeout)
        return self.process.returncode, self._stdout(), "".join(self.stderr)

    def _stdout(self) -> str:
        assert self.process.stdout is not None
        with self.process.stdout:
            stdout = self.process.stdout.read()
        self.closed.wait(10)  # the collecting thread has read stderr to its end
        return stdout

    def kill(self) -> None:
        self.find_workers()  # remember the workers, to check that they do not outlive their parent
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        # Not read: workers that outlive their parent would hold the pipe open.
        assert self.process.stdout is not None
        self.process.stdout.close()

    def wait_for_orphans(self, timeout: float = 10) -> list[int]:
        """The workers (and their server) still running ``timeout`` seconds after the parent's
        death (none, we assert)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(alive(pid) for pid in self.workers):
            time.sleep(0.05)
        return [pid for pid in self.workers if alive(pid)]

    def stop(self) -> None:
        """Test teardown: end this run and any worker of it that is still alive."""
        if self.process.poll() is None:
            self.kill()
        for pid in self.workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.closed.wait(10)
        assert self.process.stdout is not None
        self.process.stdout.close()  # a test that failed early did not read it


@pytest.fixture
def importers() -> Iterator[Callable[..., Importer]]:
    """Start importer subprocesses; whatever is left of them is killed after the test."""
    started: list[Importer] = []

    def start(*args, **kwargs) -> Importer:
        started.append(Importer(*args, **kwargs))
        return started[-1]

    yield start
    for importer in started:
        importer.stop()


@pytest.fixture
def previous(db, table, tmp_path) -> Path:
    """The target holds its previous content (OLD_IDS); the new source (NEW_IDS) is ready."""
    write_source(tmp_path / "old", OLD_IDS, 1)
    report = load(tmp_path / "old", db, table, chunk_size=1000)
    assert report.error is None, report.error
    assert content(db, table) == "old"
    write_source(tmp_path / "new", NEW_IDS, FILES)
    return tmp_path / "new"


def ledger(db, table: str) -> list[tuple[str, int]]:
    engine = db.engine
    try:
        with engine.connect() as conn:
            query = f"SELECT source, row_count FROM {LEDGER_TABLE} WHERE target = :t ORDER BY source"
            return [tuple(row) for row in conn.execute(sa.text(query), {"t": table})]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_kill_parent_at_a_random_moment_then_rerun(db, table, previous, importers):
    """kill -9 of the main process leaves old-or-new; its workers exit; a rerun gives exactly new."""
    rng = random.Random(f"{SEED}-{db.name}")
    delay = rng.uniform(0.0, 1.5)
    why = f"CRASH_SEED={SEED}, killed {delay:.2f} s after the load began"
    run = importers(previous, db, table)
    run.wait_for("into staging table")
    time.sleep(delay)
    run.kill()
    assert run.wait_for_orphans() == [], f"workers outlived their killed parent ({why})"
    assert content(db, table) in ("old", "new"), why
    leftovers = staging_tables(db, table)

    rerun = importers(previous, db, table)
    status, stdout, stderr = rerun.finish()
    assert status == 0, f"{why}\n{stderr}"
    assert content(db, table) == "new", why
    assert staging_tables(db, table) == set(), why
    if leftovers:
        assert f"removed {len(leftovers)} staging tables left by interrupted runs" in stdout, why
    assert ledger(db, table) == [(f"part{n}.csv", ROWS) for n in range(FILES)], why


@pytest.mark.slow
def test_cleanup_action_removes_what_a_killed_run_left(db, table, previous, importers):
    """A run killed mid-load leaves its staging table (and its receipts); ``--cleanup`` removes
    them, the target untouched."""
    run = importers(previous, db, table)
    run.wait_for("into staging table")
    run.kill()
    assert run.wait_for_orphans() == []
    assert content(db, table) == "old"
    (staging,) = {name for name in staging_tables(db, table) if not name.endswith("_chunks")}
    assert staging_tables(db, table) == {staging, f"{staging}_chunks"}

    status, stdout, stderr = importers(previous, db, table, "--cleanup").finish()
    assert status == 0, stderr
    assert "removed 2 staging tables left by interrupted runs" in stdout
    assert staging_tables(db, table) == set()
    assert content(db, table) == "old"


@pytest.mark.slow
def test_kill_a_loading_worker(db, table, previous, importers):
    """kill -9 of one pool worker: exit status 8, one error line, the target as it was, no staging."""
    rng = random.Random(f"{SEED}-{db.name}-worker")
    run = importers(previous, db, table)
    run.wait_for("into staging table")
    time.sleep(rng.uniform(0.0, 0.15))
    workers = run.find_workers()
    assert len(workers) == 2, workers
    os.kill(rng.choice(workers), signal.SIGKILL)
    status, _, stderr = run.finish()
    assert status == 8, stderr
    assert stderr.splitlines()[-1] == (
        "error: a worker process died unexpectedly (killed, or out of memory); nothing was published"
    )
    assert "Traceback" not in stderr
    assert content(db, table) == "old"
    assert staging_tables(db, table) == set()
    assert run.wait_for_orphans() == []


def client_ports(pids: list[int]) -> set[int]:
    """The local TCP ports of the sockets that processes ``pids`` hold open."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except FileNotFoundError:
            continue  # the process has already finished
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        # This network namespace's sockets: the same table as the importer's, whether or not it lives.
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def kill_connections(db, ports: set[int]) -> int:
    """Terminate the server sessions whose client port is one of ``ports``; return how many."""
    engine = db.engine
    try:
        with engine.connect() as conn:
            if db.name == "postgresql":
                found = conn.execute(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE client_addr = '127.0.0.1' AND client_port = ANY(:ports)"
                    ),
                    {"ports": sorted(ports)},
                ).scalars()
                pids = list(found)
                for pid in pids:
                    conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                return len(pids)
            found = conn.exec_driver_sql(
                "SELECT id, host FROM information_schema.processlist WHERE host LIKE '%%:%%'"
            )
            ids = [id_ for id_, host in found if int(host.rsplit(":", 1)[1]) in ports]
            for id_ in ids:
                conn.exec_driver_sql(f"KILL {int(id_)}")
            return len(ids)
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("db", ["postgresql", "mariadb"], indirect=True)
def test_lost_connection_of_a_writer(db, table, previous, importers):
    """The server drops a worker's session mid-load: a clean failure (or a complete run), never a part."""
    rng = random.Random(f"{SEED}-{db.name}-connection")
    delay = rng.uniform(0.2, 0.8)
    why = f"CRASH_SEED={SEED}, connection killed {delay:.2f} s after the load began"
    run = importers(previous, db, table)
    run.wait_for("into staging table")
    time.sleep(delay)
    workers = run.find_workers()
    # A load may already be over on a fast machine: then the run must simply have worked.
    killed = kill_connections(db, client_ports([rng.choice(workers)])) if workers else False
    status, _, stderr = run.finish()
    if status == 0:
        assert content(db, table) == "new", why
    else:
        assert killed, why
        assert status == 6, f"{why}\n{stderr}"
        last = stderr.splitlines()[-1]
        assert last.startswith("error: part"), f"{why}\n{stderr}"
        assert ": writing rows failed: " in last, f"{why}\n{stderr}"
        assert "Traceback" not in stderr, why
        assert content(db, table) == "old", why
    assert staging_tables(db, table) == set(), why


@pytest.mark.slow
@pytest.mark.parametrize("db", ["postgresql", "mariadb"], indirect=True)
def test_lost_connections_of_the_main_process(db, table, previous, importers):
    """The server drops the parent's sessions, its import lock's among them: it must not publish."""
    rng = random.Random(f"{SEED}-{db.name}-parent-connection")
    delay = rng.uniform(0.0, 0.8)
    why = f"CRASH_SEED={SEED}, connections killed {delay:.2f} s after the load began"
    run = importers(previous, db, table)
    run.wait_for("into staging table")
    time.sleep(delay)
    kill_connections(db, client_ports([run.process.pid]))
    status, _, stderr = run.finish()
    if status == 0:
        assert content(db, table) == "new", why
    elif status == 9:  # found out before publishing
        assert stderr.splitlines()[-1].startswith(f"error: lost the import lock on table {table!r} ("), why
        assert stderr.splitlines()[-1].endswith("); nothing was published"), why
        assert content(db, table) == "old", why
    else:  # lost while publishing: whether the COMMIT landed is the server's to say
        assert status == 6, f"{why}\n{stderr}"
        assert stderr.splitlines()[-1].startswith(f"error: publishing table {table!r} failed: "), why
        assert content(db, table) in ("old", "new"), why
    assert "Traceback" not in stderr, why
    assert staging_tables(db, table) == set(), why


def test_a_worker_never_recreates_a_dropped_staging_table(db, table, tmp_path):
    """A worker that outlives its run (or its run's failure) must not bring a dropped staging table back.

    Writing a chunk through pandas' ``to_sql(if_exists="append")`` creates the table when it is
    missing; a staging table that the parent, or the next run's cleanup, has just dropped must
    stay dropped and the worker must fail instead.
    """
    write_source(tmp_path / "src", range(10), 1)
    source = discover_files(tmp_path / "src", "*.csv", None)[0]
    plan = TablePlan(names=("id", "name", "value"), types=(INTEGER, TEXT, FLOAT))
    staging = staging_name(table, "gone")
    layout = map_columns(plan.names, (), None, source.name)
    task = LoadTask(source, TextFormat(), layout, plan, staging, chunk_size=4, max_errors=0)
    setup = WorkerSetup(parse_url(db.url), "INFO", "text", single_writer=False)
    with pytest.raises(DatabaseError, match=r"^part0\.csv: writing rows failed: "):
        load_file(task, TaskContext(setup.backend(), isolated=False))
    assert staging not in db.tables()


def reader_engine(db) -> sa.Engine:
    """A plain engine for a reader: SQLite's reads take no write lock but wait on a busy file."""
    if db.name == "sqlite":
        return sa.create_engine(db.url, connect_args={"timeout": 60})
    return db.engine


@pytest.mark.slow
def test_readers_see_old_or_new_rows_during_replaces(db, table, tmp_path):
    """A reader counting rows in a loop, on its own connection, during replaces between two contents.

    Every count is one of the two sizes: the table is never missing, empty or partly loaded.
    On PostgreSQL and MariaDB a reader may wait for the swap's lock; on SQLite for the busy file.
    """
    small, large = range(300), range(10_000, 11_000)
    write_source(tmp_path / "small", small, 1)
    write_source(tmp_path / "large", large, 2)
    assert load(tmp_path / "small", db, table).error is None
    counts: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        engine = reader_engine(db)
        sql = f"SELECT COUNT(*) FROM {db.quote(table)}"
        try:
            with engine.connect() as conn:
                while not stop.is_set():
                    counts.append(conn.exec_driver_sql(sql).scalar_one())
                    conn.rollback()  # each count in its own transaction, sees the latest commit
        except BaseException as error:
            failures.append(error)
        finally:
            engine.dispose()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(8):
            source = tmp_path / ("large" if n % 2 == 0 else "small")
            # 300 rows for 1,000: MAX_SHRINK (test_max_shrink.py) would refuse it
            report = load(source, db, table, if_exists="replace", chunk_size=100, max_shrink=0)
            assert report.error is None, report.error
    finally:
        stop.set()
        reader.join()
    assert failures == []
    assert set(counts) == {len(small), len(large)}, sorted(set(counts))
    assert db.rows(table, order_by="id") == rows_of(small)
