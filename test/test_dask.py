"""EXECUTOR=dask on real clusters on loopback: a scheduler and workers started as separate
processes with the ``dask scheduler`` / ``dask worker`` commands, and the LocalCluster the importer
starts itself without DASK_SCHEDULER.  The pool's table is the oracle, read back by the driver.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import distributed
import pytest
import sqlalchemy as sa
from conftest import ROOT, Database, load, need_server, write

from processor.backends.postgresql import WRITER_APPLICATION
from processor.load.cpu import STAGES
from processor.publish.target import staging_name
from processor.settings import parse_url

WORKERS = 2


def start_cluster(
    folder: Path, scheduler_env: dict[str, str] | None = None, worker_env: dict[str, str] | None = None
) -> tuple[list[subprocess.Popen[bytes]], str]:
    """``dask scheduler`` and ``dask worker`` (two worker processes, each under its nanny) on
    127.0.0.1, in a folder of their own (not the tests' working directory); the checkout on
    their PYTHONPATH, unless given their environments."""
    scheduler_file = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    common: dict[str, Any] = {"cwd": folder, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    dask_cli = [sys.executable, "-m", "dask"]
    where = ["--host", "127.0.0.1", "--no-dashboard", "--scheduler-file", str(scheduler_file)]
    scheduler = subprocess.Popen(
        [*dask_cli, "scheduler", "--port", "0", *where], env=scheduler_env or env, **common
    )
    workers = subprocess.Popen(
        [*dask_cli, "worker", "--nworkers", str(WORKERS), "--nthreads", "1", *where],
        env=worker_env or env,
        **common,
    )
    deadline = time.monotonic() + 60
    while not scheduler_file.exists():
        assert time.monotonic() < deadline, "the scheduler did not start"
        time.sleep(0.1)
    with distributed.Client(scheduler_file=str(scheduler_file)) as client:
        client.wait_for_workers(WORKERS, timeout=60)
        address = client.scheduler.address
    return [workers, scheduler], address


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A cluster for this module's tests; its address."""
    processes, address = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield address
    finally:
        stop_cluster(processes)


def stop_cluster(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process (workers first), killed if it does not end within 20 s."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# The importer's writing sessions in the test's own database (other test runs may share the server).
SESSIONS = "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()"


@pytest.fixture
def private_postgres() -> Iterator[Database]:
    """A PostgreSQL database of this test's own, so that the sessions counted on the server are
    this test's, whatever else uses the server at the time."""
    need_server("postgresql")
    server = Database(
        "postgresql", os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    name = f"importer_sessions_{uuid.uuid4().hex[:10]}"
    admin = server.engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        yield Database("postgresql", str(parse_url(server.url).set(database=name).render_as_string(False)))
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        admin.dispose()


def wait_for_workers(address: str) -> None:
    with distributed.Client(address) as client:
        client.wait_for_workers(WORKERS, timeout=60)


def source(folder: Path, files: int = 3, rows: int = 200) -> None:
    """CSV files with quoted line breaks, multi-byte text, CRLF, and one ragged row each."""
    for n in range(files):
        lines = [f'{n * rows + i},"text {i}\r\nü {"漢" * (i % 4)}",{i}.25\r\n' for i in range(rows)]
        lines.insert(5, "ragged\r\n")
        write(folder, f"part{n}.csv", "id,text,value\r\n" + "".join(lines))


@pytest.mark.slow
def test_a_cluster_loads_what_the_pool_loads(db, table, tmp_path, scheduler):
    """Split files on the dask CLI's cluster and on the importer's own LocalCluster: the same
    table, the same rejected rows and lines as the pool's, on every database."""
    source(tmp_path / "src")
    options = {"max_errors": 10, "chunk_size": 100, "split_bytes": 4000, "workers": WORKERS}
    runs = {}
    for name, executor in [
        ("pool", {}),
        ("cluster", {"executor": "dask", "dask_scheduler": scheduler}),
        ("local", {"executor": "dask"}),
    ]:
        report = load(tmp_path / "src", db, table, if_exists="replace", **options, **executor)
        assert report.error is None, (name, report.error)
        # Every executor's tasks account for their CPU by stage (the report's ``cpu``).
        cpu = report.cpu_account
        assert list(cpu) == ["sample", *STAGES], (name, cpu)
        assert cpu["sample"] > 0, (name, cpu)
        assert cpu["read"] > 0, (name, cpu)
        rejects = sorted((r.file, r.line, r.text) for r in report.rejects)
        runs[name] = (db.rows(table, order_by="id"), sorted((f.name, f.rows) for f in report.files), rejects)
    assert runs["cluster"] == runs["pool"]
    assert runs["local"] == runs["pool"]
    rows, files, rejects = runs["pool"]
    assert len(rows) == 600
    assert files == [(f"part{n}.csv", 200) for n in range(3)]
    assert rejects == [(f"part{n}.csv", 12, "ragged") for n in range(3)]
    assert [t for t in db.tables() if t.startswith(staging_name(table, ""))] == []


def receipts(db: Database, table: str) -> dict[int, int]:
    """Chunks committed so far per task, from the run's receipts table (none yet: empty)."""
    prefix = staging_name(table, "")
    names = [t for t in db.tables() if t.startswith(prefix) and t.endswith("_chunks")]
    if not names:
        return {}
    try:
        rows = db._query(f'SELECT task, count(*) FROM "{names[0]}" GROUP BY task').rows_list
    except sa.exc.DBAPIError:  # dropped meanwhile: the run has published
        return {}
    return dict(rows)


@pytest.mark.slow
def test_a_killed_worker_s_task_runs_again_without_counting_twice(table, tmp_path, scheduler, caplog):
    """kill -9 of a Dask worker process mid-task: the scheduler gives its task to another worker,
    which passes over the chunks already committed; the table holds every row exactly once."""
    need_server("postgresql")
    db = Database(
        "postgresql", os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    source(tmp_path / "src", files=4, rows=20_000)
    outcome: list = []
    run = threading.Thread(
        target=lambda: outcome.append(
            load(
                tmp_path / "src",
                db,
                table,
                executor="dask",
                dask_scheduler=scheduler,
                chunk_size=400,
                max_errors=10,
            )
        )
    )
    with distributed.Client(scheduler) as client:
        pids = client.run(os.getpid)
        run.start()
        deadline = time.monotonic() + 60
        while len([n for n in receipts(db, table).values() if n >= 2]) < WORKERS:
            assert run.is_alive()
            assert time.monotonic() < deadline, "the load did not get under way"
            time.sleep(0.05)
        victim = sorted(pids)[0]
        os.kill(pids[victim], signal.SIGKILL)
    run.join(timeout=120)
    wait_for_workers(scheduler)
    (report,) = outcome
    assert report.error is None, report.error
    assert [r[0] for r in db.rows(table, order_by="id")] == list(range(80_000))
    assert sum(f.rows for f in report.files) == 80_000
    committed = r"\b(1 chunk was|[\d,]+ chunks were) committed by an earlier attempt of this task"
    assert re.search(committed, caplog.text)


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["pool", "dask"])
def test_max_connections_caps_the_writers_sessions(private_postgres, table, tmp_path, executor):
    """MAX_CONNECTIONS=2 with four workers: the server never sees more than two of the importer's
    writing sessions (pg_stat_activity, by their application_name), and does see two."""
    db = private_postgres
    # Files long enough (a second or so each) that two writers overlap even on a busy machine.
    source(tmp_path / "src", files=4, rows=20_000)
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        # A session the server still lists for a moment after its client hung up is not one that
        # holds a connection: a session counts when it is also there at the next look.
        engine = db.engine
        previous: set[int] = set()
        with engine.connect() as conn:
            while not done.is_set():
                now = {pid for (pid,) in conn.exec_driver_sql(SESSIONS, (WRITER_APPLICATION,))}
                conn.rollback()
                seen.append(len(previous & now))
                previous = now
                time.sleep(0.01)
        engine.dispose()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        report = load(
            tmp_path / "src",
            db,
            table,
            executor=executor,
            workers=4,
            max_connections=2,
            chunk_size=200,
            max_errors=10,
        )
    finally:
        done.set()
        watcher.join()
    assert report.error is None, report.error
    assert report.rows == 80_000
    assert max(seen) == 2


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["inline", "dask"])
def test_no_writer_session_outlives_its_run(private_postgres, table, tmp_path, scheduler, executor):
    """After a run, neither the run's own process (WORKERS=1) nor the long-lived workers of a
    cluster keep a writing session open on the server (pg_stat_activity, by application_name)."""
    db = private_postgres
    source(tmp_path / "src", files=2, rows=300)
    where = {"workers": 1} if executor == "inline" else {"executor": "dask", "dask_scheduler": scheduler}
    report = load(tmp_path / "src", db, table, max_errors=10, **where)
    assert report.error is None, report.error
    assert report.rows == 600
    deadline = time.monotonic() + 5  # a session the client closed ends a moment later
    with db.engine.connect() as conn:
        while (left := len(conn.exec_driver_sql(SESSIONS, (WRITER_APPLICATION,)).all())) and (
            time.monotonic() < deadline
        ):
            conn.rollback()
            time.sleep(0.1)
    assert left == 0


def test_an_unreachable_scheduler_is_one_error_and_nothing_is_written(cli, tmp_path):
    source(tmp_path / "src", files=1, rows=10)
    database = tmp_path / "out.db"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code, out, err = cli(
            [],
            {
                "SRC_DATA_FOLDER": str(tmp_path / "src"),
                "DEST_SQL": f"sqlite:///{database}",
                "EXECUTOR": "dask",
                "DASK_SCHEDULER": "tcp://127.0.0.1:9",
            },
        )
    assert code == 2
    assert out == ""
    assert err.startswith("error: DASK_SCHEDULER: no Dask scheduler answers at tcp://127.0.0.1:9 (")
    assert err.endswith("; nothing was written\n")
    assert len(err.splitlines()) == 1
    assert Database("sqlite", f"sqlite:///{database}").tables() == set()


def test_a_worker_that_cannot_see_a_file_names_itself_and_the_file(tmp_path, scheduler, monkeypatch):
    """The source is given relative to this process's folder, which the workers do not share:
    like a worker without the shared volume, they cannot see it."""
    monkeypatch.chdir(tmp_path)
    source(Path("src"), files=1, rows=10)
    db = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    report = load(Path("src"), db, "t", executor="dask", dask_scheduler=scheduler)
    assert report.error is not None
    assert report.error.exit_code == 3
    message = str(report.error)
    assert message.startswith("part0.csv: not found at src/part0.csv on Dask worker tcp://127.0.0.1:")
    assert message.endswith("; every worker must see the source files at the same path (a shared volume)")
    assert "t" not in db.tables()
