"""Issue 20, ``--help``: it imports nothing of the pipeline and starts no worker server, and it
ends with the exit statuses (the README's table, from one source) and examples that parse."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import pytest
from conftest import ROOT, user_env

from processor import errors
from processor.settings import build_parser

INDEX = ROOT / "index.py"
#: What --help must not import: the pipeline's libraries, the drivers, and the run's own modules.
HEAVY = {"pandas", "pyarrow", "numpy", "sqlalchemy", "psycopg2", "MySQLdb", "duckdb", "dask", "distributed"}
HEAVY_OWN = {
    "processor.run",
    "processor.load.worker",
    "processor.sources.read",
    "processor.kinds",
    "processor.backends",
}


@pytest.fixture(scope="module")
def help_run() -> subprocess.CompletedProcess[str]:
    """``python -X importtime index.py --help``, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-X", "importtime", str(INDEX), "--help"],
        cwd=ROOT,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_imports_nothing_of_the_pipeline(help_run):
    assert help_run.returncode == 0, help_run.stderr
    assert help_run.stdout.startswith("usage: python index.py")
    # "import time: self [us] | cumulative | imported package", one line per module imported
    imported = {line.rsplit("|", 1)[1].strip() for line in help_run.stderr.splitlines() if "|" in line}
    assert {"processor.settings", "argparse"} <= imported  # the listing was read
    assert {name.split(".")[0] for name in imported} & HEAVY == set()
    assert imported & HEAVY_OWN == set()


def test_help_starts_no_worker_server_and_loads_nothing_heavy():
    """index.py run as the command runs it (``__main__``), asked for --help: it exits 0 with no
    heavy module loaded and the forkserver not started; the check sees a server once one starts."""
    code = f"""
import json, runpy, sys
import multiprocessing.forkserver as forkserver
sys.argv = [{str(INDEX)!r}, "--help"]
try:
    runpy.run_path({str(INDEX)!r}, run_name="__main__")
except SystemExit as exit:
    status = exit.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {sorted(HEAVY)!r} or m in {sorted(HEAVY_OWN)!r})
before = forkserver._forkserver._forkserver_pid
from processor.cpus import available_cpus
from processor.prestart import start_worker_server
start_worker_server()
after = forkserver._forkserver._forkserver_pid
print(json.dumps([status, loaded, before, after, available_cpus()]))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=user_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    status, loaded, before, after, cpus = json.loads(result.stdout.splitlines()[-1])
    assert status in (0, None)
    assert loaded == []
    assert before is None
    assert (after is not None) == (cpus > 1)  # the server this test looks for, once started


def _section(text: str, title: str) -> list[str]:
    """The lines of --help's section ``title:`` up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def test_help_ends_with_the_exit_statuses_of_the_readme_table(help_run):
    listed = [re.fullmatch(r" +(\d+)  (.+)", line) for line in _section(help_run.stdout, "exit statuses:")]
    assert all(listed), listed
    in_help = [(int(m[1]), m[2]) for m in listed if m]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit statuses", 1)[1].split("\n\n", 2)[1]
    rows = [row.split(" | ") for row in table.splitlines()[2:]]
    in_readme = [(int(row[0].strip("| ")), row[1].replace("`", "")) for row in rows]
    assert [status for status, _ in in_help] == [status for status, _ in in_readme]
    for (status, meaning), (_, text) in zip(in_help, in_readme, strict=True):
        assert text.startswith(meaning), (status, meaning, text)


def test_every_error_s_exit_status_is_listed():
    def kinds(cls: type[errors.ImporterError]) -> set[type[errors.ImporterError]]:
        return {cls}.union(*(kinds(sub) for sub in cls.__subclasses__()))

    statuses = {kind.exit_code for kind in kinds(errors.ImporterError)}
    assert set(errors.EXIT_STATUSES) == statuses | {0}  # a new kind of error is a new line in --help


def test_help_s_examples_are_commands_the_parser_takes(help_run):
    section = _section(help_run.stdout, "examples:")
    commands = [line.strip() for line in section if not line.strip().startswith("#")]
    assert len(commands) == 3
    assert len(section) == 6  # each after a line that says what it does
    parser = build_parser()
    for command in commands:
        words = shlex.split(command)
        assert words[:2] == ["python", "index.py"]
        parser.parse_args(words[2:])  # a ConfigError would fail the test
    assert any("--env-file" in command for command in commands)
