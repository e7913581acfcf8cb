"""The report's account of the CPU a run's files took, by stage (issue 22): every stage timed, and
no more CPU claimed than the processes used, as the kernel counts it."""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
import threading

import pytest
from conftest import ROOT, Database, load, user_env, write

from processor.executors import TaskContext, make_executor
from processor.executors.context import WorkerSetup
from processor.load.ahead import WriteAhead
from processor.load.cpu import STAGES, StageClock, summed
from processor.settings import parse_url


def _kernel_cpu(who: int) -> float:
    """User and system CPU seconds of this process (RUSAGE_SELF) or its waited-for children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _burn(seconds: float, who: int = resource.RUSAGE_SELF) -> float:
    """Spend about ``seconds`` of CPU; the CPU the kernel counted for it, for the process or
    (RUSAGE_THREAD) the calling thread (hashing lets go of the GIL: two threads burn at once)."""
    before = _kernel_cpu(who)
    block = b"x" * 65536
    while _kernel_cpu(who) - before < seconds:
        for _ in range(50):
            block = hashlib.sha256(block).digest() * 2048
    return _kernel_cpu(who) - before


def test_a_stage_gets_the_cpu_spent_while_it_ran_and_producing_items_counts_to_theirs():
    clock = StageClock()
    produced = 0.0

    def items():
        nonlocal produced
        for _ in range(2):
            produced += _burn(0.1)
            yield 1

    assert sum(clock.timed("read", items())) == 2
    with clock.stage("check"):
        checked = _burn(0.1)
    account = clock.account()
    assert list(account) == list(STAGES)
    assert account["read"] == pytest.approx(produced, abs=0.03)
    assert account["check"] == pytest.approx(checked, abs=0.03)
    assert account["write"] == 0.0
    assert account["other"] < 0.05


def test_the_writer_threads_cpu_is_the_writes_not_the_stage_running_beside_it():
    """A chunk written on the task's writer thread while the next is checked: each stage gets
    its own thread's CPU, as the kernel counts each thread's."""
    ahead: WriteAhead[float] = WriteAhead()
    clock = StageClock(others=ahead.cpu)

    def write() -> float:
        with clock.own("write"):
            return _burn(0.4, resource.RUSAGE_THREAD)

    with ahead:
        assert ahead.submit(write) is None  # nothing was in flight
        with clock.stage("check"):
            checked = _burn(0.2, resource.RUSAGE_THREAD)  # while the write burns beside it
        wrote = ahead.wait()
    assert wrote is not None
    account = clock.account()
    assert account["check"] == pytest.approx(checked, abs=0.04)
    assert account["write"] == pytest.approx(wrote, abs=0.04)
    assert account["check"] + account["write"] + account["other"] == pytest.approx(checked + wrote, abs=0.08)


def test_one_write_in_flight_in_order_its_error_at_the_next_step_and_finished_before_leaving():
    ahead: WriteAhead[int] = WriteAhead()
    order: list[int] = []

    def write(n: int) -> int:
        order.append(n)
        if n == 2:
            raise ValueError("refused")
        return n

    with ahead:
        assert ahead.submit(lambda: write(0)) is None
        assert ahead.submit(lambda: write(1)) == 0  # the one before, once it is done
        assert ahead.submit(lambda: write(2)) == 1
        with pytest.raises(ValueError, match="refused"):
            ahead.wait()
        assert ahead.wait() is None
    finished: list[bool] = []

    def slow() -> int:
        _burn(0.2, resource.RUSAGE_THREAD)
        finished.append(True)
        return 3

    def leave_while_writing() -> None:
        another: WriteAhead[int] = WriteAhead()
        with another:
            another.submit(slow)
            raise KeyError("stop")

    with pytest.raises(KeyError):  # the task leaves with its own error ...
        leave_while_writing()
    assert finished == [True]  # ... once the write in flight is done
    assert order == [0, 1, 2]

    def refused() -> int:
        _burn(0.1, resource.RUSAGE_THREAD)
        raise ValueError("chunk 0 refused")

    def fail_while_a_refused_write_is_in_flight() -> None:
        another: WriteAhead[int] = WriteAhead()
        with another:
            another.submit(refused)
            raise KeyError("chunk 1 unreadable")

    # The earlier chunk's error, as without the thread (its write would have failed first),
    # with the later one as its context.
    with pytest.raises(ValueError, match="chunk 0 refused") as raised:
        fail_while_a_refused_write_is_in_flight()
    assert isinstance(raised.value.__context__, KeyError)


def test_without_the_thread_each_write_is_done_when_submitted_and_its_error_is_at_once():
    """A Dask task's writes: on the task's own thread, one after the other."""
    threads: list[int] = []

    def write(n: int) -> int:
        threads.append(threading.get_ident())
        if n == 2:
            raise ValueError("refused")
        return n

    ahead: WriteAhead[int] = WriteAhead(threaded=False)
    with ahead:
        assert ahead.submit(lambda: write(0)) is None
        assert threads == [threading.get_ident()]  # done already, here
        assert ahead.submit(lambda: write(1)) == 0
        with pytest.raises(ValueError, match="refused"):
            ahead.submit(lambda: write(2))
        assert ahead.wait() is None  # the refused write is no result
    assert ahead.cpu() == 0.0


def _writes_ahead(task: int, context: TaskContext) -> bool:
    return context.write_ahead


@pytest.mark.parametrize("workers", [1, 2], ids=["inline", "pool"])
@pytest.mark.parametrize(("url", "ahead"), [("postgresql+psycopg2://h/d", True), ("sqlite:///o.db", False)])
def test_a_task_writes_ahead_into_a_server_not_into_an_embedded_database(workers, url, ahead):
    """Into SQLite or DuckDB, whose inserts or one writer are the load's critical path, parsing
    beside them slowed the load; a Dask task writes its own (``test_dask.py`` runs those)."""
    setup = WorkerSetup(parse_url(url), "INFO", "text", single_writer=url.startswith("sqlite"))
    executor = make_executor("pool", workers, setup)
    try:
        assert list(executor.map_unordered(_writes_ahead, [0])) == [ahead]
    finally:
        executor.close()


def test_accounts_add_up_stage_by_stage():
    total = summed([{"read": 1.5, "write": 0.25}, {"read": 0.5, "check": 2.0, "other": 0.125}])
    assert total == {"read": 2.0, "check": 2.0, "write": 0.25, "other": 0.125}


def test_the_report_accounts_for_the_workers_cpu_by_stage(db, table, tmp_path):
    """A run of two files in a pool of two: the sampling and every load stage took CPU, and
    together no more than the run's processes used (the kernel's count of the children this
    test waited for: the run's process, and through it its workers)."""
    src = tmp_path / "src"
    for name, start in (("a.csv", 0), ("b.csv", 40_000)):
        numbers = range(start, start + 40_000)
        rows = "".join(f"{i},name {i},{i}.25,2024-01-{1 + i % 28:02d}\n" for i in numbers)
        write(src, name, "id,name,amount,day\n" + rows)
    report_path = tmp_path / "report.json"
    env = user_env(
        SRC_DATA_FOLDER=str(src),
        SRC_FILE_NAME="*.csv",
        DEST_SQL=db.url,
        DEST_TABLE=table,
        WORKERS="2",
        REPORT_PATH=str(report_path),
    )
    before = _kernel_cpu(resource.RUSAGE_CHILDREN)
    run = subprocess.run([sys.executable, str(ROOT / "index.py")], cwd=tmp_path, env=env, capture_output=True)
    used = _kernel_cpu(resource.RUSAGE_CHILDREN) - before
    assert run.returncode == 0, run.stderr.decode()
    report = json.loads(report_path.read_text())
    assert report["rows"] == 80_000
    cpu = report["cpu"]
    assert list(cpu) == ["sample", *STAGES]
    assert all(cpu[stage] > 0 for stage in ("sample", "read", "check", "write")), cpu
    assert cpu["other"] >= 0
    # The stages' seconds are rounded to milliseconds, and the kernel counts in clock ticks.
    assert sum(cpu.values()) <= used + 0.05, (cpu, used)


def test_a_run_in_its_own_process_accounts_too(tmp_path):
    """WORKERS=1: the tasks run in the run's process, and account for their stages there."""
    src = tmp_path / "src"
    write(src, "a.csv", "id,name\n" + "".join(f"{i},name {i}\n" for i in range(20_000)))
    report = load(src, Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}"), "t", workers=1)
    assert report.error is None, report.error
    cpu = report.cpu_account
    assert list(cpu) == ["sample", *STAGES]
    assert all(cpu[stage] > 0 for stage in ("sample", "read", "check", "write")), cpu


def test_a_file_in_parts_is_accounted_once_with_its_parts_together(tmp_path):
    """Split into parts (SPLIT_BYTES), a file's stages are its parts' added; the report's are the
    file's, whatever the parts."""
    src = tmp_path / "src"
    rows = "".join(f"{i},name {i}\n" for i in range(60_000))
    write(src, "a.csv", "id,name\n" + rows)
    report_path = tmp_path / "report.json"
    env = user_env(
        SRC_DATA_FOLDER=str(src),
        SRC_FILE_NAME="*.csv",
        DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}",
        DEST_TABLE="t",
        WORKERS="2",
        SPLIT_BYTES="262144",
        REPORT_PATH=str(report_path),
    )
    run = subprocess.run([sys.executable, str(ROOT / "index.py")], cwd=tmp_path, env=env, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    report = json.loads(report_path.read_text())
    (only,) = report["files"]
    assert only["rows"] == 60_000
    assert all(report["cpu"][stage] > 0 for stage in ("read", "check", "write")), report["cpu"]
