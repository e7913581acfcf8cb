"""Watching a run: the progress bar on a terminal, progress lines when not on one, and JSON logs of
every line the summary included (the report, the webhook and the runs table have files of their own)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import sqlite3
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import ROOT, user_env, write
from tqdm import tqdm

from processor.load.worker import text_bytes

INDEX = ROOT / "index.py"
HEADER = "id,name,amount\n"


def _rows(start: int, count: int) -> str:
    return "".join(f"{i},name {i},{i}.25\n" for i in range(start, start + count))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two small files of 300 rows each."""
    src = tmp_path / "src"
    write(src, "a/t.csv", HEADER + _rows(0, 300))
    write(src, "b/t.csv", HEADER + _rows(300, 300))
    return src


def _env(folder: Path, tmp_path: Path, **settings: str) -> dict[str, str]:
    return user_env(
        SRC_DATA_FOLDER=str(folder), DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}", WORKERS="1", **settings
    )


def _count(db_path: Path, table: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


# -- progress ----------------------------------------------------------------------------------


def test_progress_bar_on_a_terminal(folder, tmp_path):
    """stderr is a pseudo-terminal: tqdm draws the bar from 0/2 files to 2/2, 100%, 600 rows;
    the log lines are written above it."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    process = subprocess.Popen(
        [sys.executable, str(INDEX)],
        cwd=tmp_path,
        env=_env(folder, tmp_path, CHUNK_SIZE="50"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: every holder of the terminal's other end has closed it
            break
        if not data:
            break
        screen += data
    os.close(leader)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, screen.decode()
    text = screen.decode()
    size = sum(p.stat().st_size for p in folder.rglob("*.csv"))
    frames = [frame for frame in re.split(r"[\r\n]+", text) if re.match(r"\d/2 files: ", frame)]
    assert frames[0].startswith("0/2 files:   0%"), frames
    # Redrawn below each file's log line while the run goes: the first file done, not yet 100%.
    assert any(re.match(r"1/2 files:  *\d\d%", frame) for frame in frames), frames
    last = frames[-1]
    assert last.startswith("2/2 files: 100%|"), frames
    shown = tqdm.format_sizeof(size, divisor=1024)  # the files' bytes as tqdm writes a size
    assert f"| {shown}/{shown} [" in last
    assert "B/s, 600 rows]" in last
    assert out.decode().startswith("imported 600 rows from 2 files")


def test_progress_lines_when_not_a_terminal(folder, tmp_path):
    """stderr is a pipe: a log line every PROGRESS_SECONDS, its numbers never past the totals;
    --quiet: none."""
    env = _env(folder, tmp_path, CHUNK_SIZE="20", PROGRESS_SECONDS="0.001", LOG_FORMAT="json")
    result = subprocess.run(
        [sys.executable, str(INDEX)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    progress = [line for line in lines if line["event"] == "progress"]
    assert len(progress) >= 5
    size = sum(p.stat().st_size for p in folder.rglob("*.csv"))
    rows = [line["rows"] for line in progress]
    assert rows == sorted(rows)
    assert 0 < rows[-1] <= 600
    assert all(line["bytes"] == size and 0 < line["bytes_done"] <= size for line in progress)
    assert all(line["files"] == 2 and line["files_done"] <= 2 for line in progress)
    assert progress[0]["message"].startswith("progress: 0/2 files, 20 rows, ")
    assert re.fullmatch(
        r"progress: \d/2 files, [\d,]+ rows, [\d.]+ of 0\.0 MiB, [\d.]+ MiB/s, ETA (\d+ s|unknown)",
        progress[-1]["message"],
    )
    quiet = subprocess.run(
        [sys.executable, str(INDEX), "--quiet", "--if-exists", "replace"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert '"progress"' not in quiet.stderr


# -- JSON logs ----------------------------------------------------------------------------------


def test_json_logs_every_line_the_summary_included(folder, tmp_path):
    env = _env(folder, tmp_path, LOG_FORMAT="json", DEST_TABLE="t")
    ok = subprocess.run([sys.executable, str(INDEX)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    logs = [json.loads(line) for line in ok.stderr.splitlines()]
    summary = json.loads(ok.stdout)
    run_id = summary["run_id"]
    keys = {"time", "level", "run_id", "event", "file", "rows", "seconds", "message"}
    assert all(keys <= set(line) and line["run_id"] == run_id for line in [*logs, summary])
    loaded = {line["file"]: line["rows"] for line in logs if line["event"] == "file_loaded"}
    assert loaded == {"a/t.csv": 300, "b/t.csv": 300}
    assert (summary["event"], summary["level"], summary["files"]) == ("summary", "INFO", 2)
    assert summary["rows"] == _count(tmp_path / "o.db", "t") == 600
    # A failure (the table exists now) is one JSON line on stderr, with its exit status.
    failed = subprocess.run(
        [sys.executable, str(INDEX)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert (failed.returncode, failed.stdout) == (7, "")
    last = json.loads(failed.stderr.splitlines()[-1])
    assert (last["event"], last["level"], last["exit_code"]) == ("error", "ERROR", 7)
    # So is an invalid setting.
    invalid = subprocess.run(
        [sys.executable, str(INDEX), "--progress-seconds", "soon"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert invalid.returncode == 2
    [line] = [json.loads(line) for line in invalid.stderr.splitlines()]
    assert line["message"] == "PROGRESS_SECONDS must be a positive number of seconds, got 'soon'"


def test_a_chunks_text_bytes_are_its_values_bytes_and_a_separator_per_field():
    """The progress of a chunk: its text values' UTF-8 bytes (a sliced, two-chunk column with a
    null included), counted here in Python, and one byte per field."""
    words = ["ab", None, "cdé", "x", "", "fgh"]
    column = pa.chunked_array([pa.array(words[:3]), pa.array(words[3:])])
    chunk = pa.table({"word": column, "n": list(range(6))}).slice(1, 4)
    expected = sum(len(w.encode()) for w in words[1:5] if w is not None) + 4 * 2
    assert text_bytes(chunk) == expected
