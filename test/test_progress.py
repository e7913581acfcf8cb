"""Running unattended: the progress bar and progress lines, JSON logs, the report's numbers, the
NOTIFY_URL webhook (a real HTTP server on loopback) and RUNS_TABLE on every database."""

from __future__ import annotations

import base64
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
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, SERVERS, load, need_server, user_env, write
from tqdm import tqdm

from processor.settings import parse_url

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


# -- the report ---------------------------------------------------------------------------------


def test_report_numbers_match_the_table(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a/t.csv", HEADER + _rows(0, 40) + "40,ragged\n" + _rows(41, 9))
    write(src, "b/t.csv", HEADER + _rows(100, 25))
    report_path = tmp_path / "out" / "report.json"
    report = load(src, db, table, max_errors=1, report_path=report_path)
    assert report.error is None, report.error
    data = json.loads(report_path.read_text())
    stored = db.rows(table)
    files = {f["name"]: f for f in data["files"]}
    assert set(files) == {"a/t.csv", "b/t.csv"}
    for name, expected_written in (("a/t.csv", 49), ("b/t.csv", 25)):
        written = sum(1 for row in stored if (int(row[0]) < 100) == (name == "a/t.csv"))
        assert files[name]["rows"] == written == expected_written
        assert files[name]["bytes"] == (src / name).stat().st_size
        assert files[name]["rows_read"] == written + files[name]["rejected"]
        assert files[name]["write_path"] in data["write_path"]
    assert files["a/t.csv"]["rejected"] == data["rejected"] == 1
    assert data["rows"] == len(stored) == 74
    assert data["rows_read"] == 75
    assert sum(Decimal(str(row[2])) for row in stored) == sum(
        Decimal(i) + Decimal("0.25") for i in [*range(40), *range(41, 50), *range(100, 125)]
    )
    assert [c["name"] for c in data["plan"]] == ["id", "name", "amount"]
    assert data["plan"][0]["type"] in ("BIGINT", "INTEGER")
    assert set(data["phases"]) == {"discover", "sample", "load", "publish", "statistics"}
    assert all(seconds >= 0 for seconds in data["phases"].values())
    (path,) = data["write_path"]
    assert path.startswith(
        {
            "sqlite": "executemany INSERT",
            "duckdb": "INSERT ... SELECT from the Arrow chunk",
            "postgresql": "binary COPY from Arrow",
            "mariadb": "LOAD DATA LOCAL INFILE",
        }[db.name]
    ), path
    assert (data["settings"]["DEST_TABLE"], data["settings"]["MAX_ERRORS"]) == (table, 1)
    assert data["finished_at"] >= data["started_at"]


def test_report_settings_hide_the_password(tmp_path):
    from processor import Settings

    shown = Settings(
        dest_sql="postgresql://u:Pw9secret@h/db?sslpassword=Q7secret",
        notify_url="https://hook:Hk4secret@example.org/x",
    ).shown()
    text = json.dumps(shown)
    assert "secret" not in text
    assert shown["DEST_SQL"] == "postgresql+psycopg2://u:***@h/db?sslpassword=***"
    assert shown["NOTIFY_URL"] == "https://hook:***@example.org/***"


# -- NOTIFY_URL ---------------------------------------------------------------------------------


class _Hook:
    """A webhook on 127.0.0.1: records each POST's JSON body, answers with ``status``."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.bodies: list[dict] = []
        self.authorizations: list[str | None] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                hook.authorizations.append(self.headers["Authorization"])
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[_Hook]:
    server = _Hook(204)
    yield server
    server.close()


def test_webhook_gets_the_report_on_success_and_on_failure(folder, tmp_path, hook, cli):
    env = {"SRC_DATA_FOLDER": str(folder), "DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}", "DEST_TABLE": "t"}
    code, _, err = cli(["--notify-url", hook.url], env)
    assert code == 0, err
    code, _, _ = cli(["--notify-url", hook.url], env)  # the table exists
    assert code == 7
    ok, failed = hook.bodies
    assert (ok["status"], ok["exit_code"], ok["rows"]) == ("ok", 0, _count(tmp_path / "o.db", "t"))
    assert (failed["status"], failed["exit_code"]) == ("failed", 7)
    assert failed["error"] == "table 't' already exists; set IF_EXISTS=replace or IF_EXISTS=append"


def test_webhook_report_hides_the_password(folder, tmp_path, hook, cli):
    need_server("postgresql")
    url = parse_url(SERVERS["postgresql"]).set(password="Hookpw5x", host="127.0.0.1", port=1)
    env = {"SRC_DATA_FOLDER": str(folder), "DEST_SQL": url.render_as_string(hide_password=False)}
    with_user = hook.url.replace("http://", "http://hook%40user:Hk5%3Apw@")
    code, _, err = cli(["--notify-url", with_user], env)  # nothing listens on port 1
    assert code == 6
    [body] = hook.bodies
    # The URL's user and password are HTTP Basic credentials, and no output shows the password.
    assert hook.authorizations == ["Basic " + base64.b64encode(b"hook@user:Hk5:pw").decode()]
    assert "Hk5" not in json.dumps(body) + err
    # All after the host may be a token: shown as ***.
    address = hook.url.removesuffix("/hook").replace("http://", "http://hook%40user:***@")
    assert body["settings"]["NOTIFY_URL"] == address + "/***"
    assert "Hookpw5x" not in json.dumps(body)
    assert body["destination"] == f"postgresql+psycopg2://{url.username}:***@127.0.0.1:1/{url.database}"
    assert body["settings"]["DEST_SQL"] == body["destination"]


def test_failing_or_missing_webhook_is_a_warning(folder, tmp_path, cli):
    refusing = _Hook(500)
    try:
        env = {
            "SRC_DATA_FOLDER": str(folder),
            "DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}",
            "DEST_TABLE": "t",
        }
        code, out, err = cli(["--notify-url", refusing.url], env)
    finally:
        refusing.close()
    assert (code, out[:17]) == (0, "imported 600 rows"), err
    assert len(refusing.bodies) == 2  # tried, and retried once
    shown = refusing.url.replace("/hook", "/***")  # all after the host may be a token
    assert f"NOTIFY_URL {shown}: the run report could not be delivered (2 attempts): HTTP 500" in err
    # Nothing listens there any more: refused, retried, a warning, the exit status unchanged.
    code, _, err = cli(["--notify-url", refusing.url, "--if-exists", "replace"], env)
    assert code == 0
    assert "the run report could not be delivered (2 attempts): [Errno 111] Connection refused" in err


# -- RUNS_TABLE ---------------------------------------------------------------------------------


def test_runs_table_records_each_run(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a/t.csv", HEADER + _rows(0, 30))
    runs = f"{table}_runs"
    try:
        first = load(src, db, table, runs_table=runs)
        second = load(src, db, table, runs_table=runs)  # fails: the table exists
        recorded = db.rows(runs, order_by="started_at")
        columns = db.columns(runs)
    finally:
        db.drop(runs)
    assert (first.error, second.exit_code) == (None, 7)
    assert columns == [
        "run_id",
        "started_at",
        "finished_at",
        "status",
        "exit_code",
        "table_name",
        "files",
        "row_count",
        "rejected",
        "seconds",
    ]
    by_id = {row[0]: row for row in recorded}
    assert set(by_id) == {first.run_id, second.run_id}
    ok, failed = by_id[first.run_id], by_id[second.run_id]
    assert [ok[3], int(ok[4]), ok[5], int(ok[6]), int(ok[7]), int(ok[8])] == ["ok", 0, table, 1, 30, 0]
    assert len(db.rows(table)) == int(ok[7])
    assert [failed[3], int(failed[4]), int(failed[7])] == ["failed", 7, 0]
    assert Decimal(str(ok[9])) == Decimal(str(round(first.seconds, 3)))


def test_runs_table_failure_is_a_warning(folder, tmp_path, cli):
    db_path = tmp_path / "o.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE runs (something_else INTEGER NOT NULL)")
    report = tmp_path / "r.json"
    env = {"SRC_DATA_FOLDER": str(folder), "DEST_SQL": f"sqlite:///{db_path}", "DEST_TABLE": "t"}
    code, out, err = cli(["--runs-table", "runs", "--report-path", str(report)], env)
    assert (code, out[:17]) == (0, "imported 600 rows"), err
    [warning] = json.loads(report.read_text())["warnings"]
    assert warning.startswith(
        "RUNS_TABLE 'runs': this run's row could not be written: table runs has no column"
    )
    assert warning in err
    assert _count(db_path, "t") == 600
