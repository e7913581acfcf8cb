"""The benchmark's CPU account: the importer's main process and its workers, and the database
server's CPU, read from /proc.  The oracle is what the processes report of their own CPU time
(``time.process_time``), and work that only the server does."""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import uuid

import pytest
import sqlalchemy as sa
from conftest import SERVERS, need_server, unavailable

from bench import run
from bench.rss import run_measured
from bench.servers import server_cpu
from processor.settings import parse_url

# Burns about 0.3 s of CPU in the main process, then 0.3 s in a forked child that it waits for;
# each prints the CPU time it used itself.
BURN = """
import json, os, time
def burn():
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    return time.process_time()
child = os.fork()
if child == 0:
    print(json.dumps({"worker": burn()}), flush=True)
    os._exit(0)
os.waitpid(child, 0)
print(json.dumps({"main": burn()}), flush=True)
"""


def test_run_measured_splits_main_and_workers():
    result = run_measured([sys.executable, "-c", BURN])
    assert result.returncode == 0, result.output
    reported = {k: v for line in result.output.splitlines() for k, v in json.loads(line).items()}
    tick = 0.02  # /proc counts in clock ticks (1/100 s)
    # The interpreter's start and exit cost some CPU on top of what each process reports.
    assert reported["main"] - tick <= result.main_cpu_seconds <= reported["main"] + 0.5
    assert reported["worker"] - tick <= result.workers_cpu_seconds <= reported["worker"] + 0.5
    assert result.cpu_seconds == pytest.approx(result.main_cpu_seconds + result.workers_cpu_seconds)
    assert result.processes >= 1


def test_in_process_databases_have_no_server_cpu(tmp_path):
    for url in (f"sqlite:///{tmp_path / 'a.db'}", f"duckdb:///{tmp_path / 'a.duckdb'}"):
        read = server_cpu(parse_url(url))
        assert read is not None
        assert read() == 0.0


# Work only the server does, about half a second of its CPU, in a session of its own that ends
# before the second reading (PostgreSQL: its backend has ended and been reaped by then).
SERVER_WORK = {
    "postgresql": "SELECT count(*) FROM generate_series(1, 3000000)",
    "mariadb": "SELECT BENCHMARK(1000000, MD5('x'))",
}


@pytest.mark.parametrize("name", ["postgresql", "mariadb"])
def test_server_cpu_counts_a_session_that_ended(name):
    need_server(name)
    read = server_cpu(parse_url(SERVERS[name]))
    if read is None:
        unavailable(f"the {name} server's processes are not on this machine")
    before = read()
    engine = sa.create_engine(parse_url(SERVERS[name]), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(SERVER_WORK[name]).all()
    finally:
        engine.dispose()
    assert read() - before >= 0.1


@pytest.mark.slow
def test_bench_accounts_for_the_servers_cpu(tmp_path, capsys, monkeypatch):
    """PostgreSQL and MariaDB on tiny data: each line has a server CPU figure, the loaders'
    ANALYZE is counted, and the printed ratios have both "vs loader" and "vs loader + ANALYZE"."""
    for name in ("postgresql", "mariadb"):
        need_server(name)
    if shutil.which("psql") is None or shutil.which("mariadb") is None:
        unavailable("psql and the mariadb client, the servers' yardsticks, are needed")
    # The test servers and databases, and tables of this test's own.
    monkeypatch.setattr(run, "SERVERS", dict(SERVERS))
    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setattr(run, "TOOL_TABLE", f"bench_tool_{suffix}")
    monkeypatch.setattr(run, "LOADER_TABLE", f"bench_loader_{suffix}")
    tiny = ["--rows", "3000", "--files", "3", "--repeat", "1", "--naive-files", "0"]
    run.main([*tiny, "--databases", "postgresql,mariadb", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "| psql \\copy |" in out
    assert "| LOAD DATA LOCAL INFILE |" in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert [(r["database"], r["rows"]) for r in results["lines"]] == [("postgresql", 3000), ("mariadb", 3000)]
    for line in results["lines"]:
        assert line["importer"]["server_cpu"] > 0
        assert line["importer"]["main_cpu"] > 0
        assert line["importer"]["workers_cpu"] >= 0
        assert line["loader"]["server_cpu"] >= 0
        assert line["loader_statistics"]["server_cpu"] >= 0
        assert line["loader_total"]["client_cpu"] + line["loader_total"]["server_cpu"] > 0
        # Both ratios: against the loader alone, and against the loader followed by ANALYZE.
        with_analyze = line["seconds"] / (line["loader_seconds"] + line["loader_statistics_seconds"])
        assert line["ratio_with_loader_statistics"] == pytest.approx(with_analyze)
        assert line["loader_statistics_seconds"] > 0
    # Each table was dropped once counted: nothing is left on the servers.
    for name in ("postgresql", "mariadb"):
        engine = sa.create_engine(parse_url(SERVERS[name]))
        try:
            left = set(sa.inspect(engine).get_table_names()) & {run.TOOL_TABLE, run.LOADER_TABLE}
        finally:
            engine.dispose()
        assert left == set()


@pytest.mark.slow
def test_the_decimals_case_loads_the_same_amounts_as_decimals_and_as_doubles(tmp_path, capsys, monkeypatch):
    """Issue 22's decimals goal has its case in the benchmark: one file of amounts, every one
    with two decimals, loaded typed both ways (the plans say so), and the ratio of the medians."""
    need_server("postgresql")
    monkeypatch.setattr(run, "SERVERS", dict(SERVERS))
    monkeypatch.setattr(run, "TOOL_TABLE", f"bench_tool_{uuid.uuid4().hex[:8]}")
    args = argparse.Namespace(out=tmp_path, repeat=1, extra=[])
    results = run.decimals_check("postgresql", 2_000, args)
    with (tmp_path / "amounts-2000" / "amounts" / "amounts.csv").open(newline="") as amounts:
        rows = list(csv.DictReader(amounts))
    assert len(rows) == 2_000
    values = [row[f"AMOUNT_{n}"] for row in rows for n in range(11)]
    assert all(re.fullmatch(r"-?(0|[1-9][0-9]{0,9})\.[0-9]{2}", v) for v in values)
    assert any(v.startswith("-") for v in values)
    assert results["types"] == {"decimal": ["NUMERIC"], "double": ["DOUBLE PRECISION"]}
    assert [len(found) for found in results["runs"].values()] == [1, 1]
    medians = results["medians"]
    assert results["ratio"] == pytest.approx(medians["decimal"]["seconds"] / medians["double"]["seconds"])
    assert all(m["server_cpu"] > 0 and m["write_cpu"] > 0 for m in medians.values())
    out = capsys.readouterr().out
    assert "decimals / doubles:" in out
    assert "(the loader, with its ANALYZE:" in out
    loaders = [m["loader_seconds"] for m in medians.values()]
    assert results["loader_ratio"] == pytest.approx(loaders[0] / loaders[1])
