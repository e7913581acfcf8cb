"""Issue 19, user code cannot end a run silently: whatever a TRANSFORM raises (SystemExit, Ctrl-C,
GeneratorExit, an error), in the sample or the load, in workers or on Dask, is exit 10 with a final
report; a real signal during a transform stays exit 130."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from subprocess import PIPE

import pytest
from conftest import ROOT, Database, user_env, write

# Each raises, in a chunk that holds the value "boom", what a user's function may raise.
RAISING = """
import sys


def _boom(frame):
    return bool((frame["v"] == "boom").any())


def exit_0(frame):
    if _boom(frame):
        sys.exit(0)
    return frame


def exit_none(frame):
    if _boom(frame):
        sys.exit()
    return frame


def exit_3(frame):
    if _boom(frame):
        sys.exit(3)
    return frame


def ctrl_c(frame):
    if _boom(frame):
        raise KeyboardInterrupt
    return frame


def generator_exit(frame):
    if _boom(frame):
        raise GeneratorExit("closed")
    return frame


def value_error(frame):
    if _boom(frame):
        raise ValueError("bad value")
    return frame
"""

RAISED = {
    "exit_0": "SystemExit: 0",
    "exit_none": "SystemExit",
    "exit_3": "SystemExit: 3",
    "ctrl_c": "KeyboardInterrupt",
    "generator_exit": "GeneratorExit: closed",
    "value_error": "ValueError: bad value",
}


def _report(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("phase", ["sample", "load"])
@pytest.mark.parametrize("function", sorted(RAISED))
def test_whatever_a_transform_raises_is_exit_10_with_a_final_report(tmp_path, cli, function, phase, workers):
    # "boom" in the first data row: the sample meets it; on line 6, past SAMPLE_ROWS=2: the load.
    values = ["boom", "b", "c", "d", "e"] if phase == "sample" else ["a", "b", "c", "d", "boom"]
    write(tmp_path / "src", "a.csv", "k,v\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    write(tmp_path / "src", "b.csv", "k,v\n1,x\n2,y\n")  # two files: WORKERS=2 runs a pool
    module = write(tmp_path, "user.py", RAISING)
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": database.url,
        "DEST_TABLE": "t",
        "SAMPLE_ROWS": "2",
        "TRANSFORM": f"{module}:{function}",
        "REPORT_PATH": str(tmp_path / "report.json"),
        "WORKERS": workers,
    }
    code, out, err = cli([], env)
    lines = "2-3" if phase == "sample" else "2-6"
    assert (code, out) == (10, "")
    assert err == f"error: a.csv: lines {lines}: TRANSFORM {module}:{function}: {RAISED[function]}\n"
    report = _report(tmp_path / "report.json")
    assert (report["status"], report["exit_code"], report["published"]) == ("failed", 10, False)
    assert report["error"] == err.removeprefix("error: ").rstrip("\n")
    assert "t" not in database.tables()


SLOW = """
import pathlib
import time


def slow(frame):
    if (frame["v"] == "slow").any():
        pathlib.Path(__file__).with_name("started").touch()
        time.sleep(60)
    return frame
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)])
def test_a_real_signal_during_a_transform_stays_exit_130(tmp_path, signum):
    write(tmp_path / "src", "a.csv", "k,v\n1,slow\n")
    module = write(tmp_path, "user.py", SLOW)
    env = user_env(
        SRC_DATA_FOLDER=str(tmp_path / "src"),
        DEST_SQL=f"sqlite:///{tmp_path / 'out.db'}",
        TRANSFORM=f"{module}:slow",
        REPORT_PATH=str(tmp_path / "report.json"),
        WORKERS="1",
        LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "index.py")], cwd=tmp_path, env=env, stdout=PIPE, stderr=PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the transform did not start"
        time.sleep(0.05)
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out) == (130, "")
    assert err == "error: interrupted; the target table was left as it was\n"
    report = _report(tmp_path / "report.json")
    assert (report["status"], report["exit_code"], report["published"]) == ("failed", 130, False)


@pytest.mark.slow
@pytest.mark.parametrize("function", ["exit_0", "ctrl_c"])
def test_whatever_a_transform_raises_on_dask_is_exit_10(tmp_path, cli, function):
    write(tmp_path / "src", "a.csv", "k,v\n1,a\n2,boom\n")
    write(tmp_path / "src", "b.csv", "k,v\n1,x\n")
    module = write(tmp_path, "user.py", RAISING)
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": database.url,
        "DEST_TABLE": "t",
        "SAMPLE_ROWS": "1",
        "TRANSFORM": f"{module}:{function}",
        "EXECUTOR": "dask",
        "WORKERS": "2",
    }
    code, out, err = cli([], env)
    assert (code, out) == (10, "")
    assert err == f"error: a.csv: lines 2-3: TRANSFORM {module}:{function}: {RAISED[function]}\n"
    assert "t" not in database.tables()


def _env(tmp_path: Path, database: Database, **settings: str) -> dict[str, str]:
    return {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": database.url, "DEST_TABLE": "t", **settings}
