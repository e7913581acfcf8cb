"""Issue 19, the run's lifecycle: user code cannot end a run silently, side outputs are part of
the run, no "unexpected error", hints that lead somewhere."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from subprocess import PIPE

import pytest
from conftest import ROOT, SERVERS, Database, load, need_server, user_env, write

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


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
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


def _leftovers(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("setting", ["REPORT_PATH", "REJECTS_PATH"])
@pytest.mark.parametrize("where", ["below a file", "a directory", "in /proc"])
def test_a_side_output_that_cannot_be_written_fails_before_any_work(tmp_path, cli, setting, where):
    write(tmp_path / "src", "a.csv", "n\n1\nx\n")
    blocker = write(tmp_path, "blocker", "a file where a folder should be")
    (tmp_path / "folder").mkdir()
    path = {
        "below a file": blocker / "new" / "out.csv",
        "a directory": tmp_path / "folder",
        "in /proc": Path("/proc/no-such-folder/out.csv"),
    }[where]
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    before = _leftovers(tmp_path)
    code, out, err = cli([], _env(tmp_path, database, **{setting: str(path)}))
    assert (code, out) == (2, "")
    if where == "below a file":
        assert err == f"error: {setting} cannot be written: {path}: {blocker} is not a directory\n"
    elif where == "a directory":
        assert err == f"error: {setting} cannot be written: {path} is a directory\n"
    else:
        assert err.startswith(f"error: {setting} cannot be written: {path}: ")
    assert _leftovers(tmp_path) == before  # nothing created, the database file neither


def _full_disk(link: Path) -> Path:
    """``link`` leads to /dev/full: every write there fails "No space left on device"."""
    link.symlink_to("/dev/full")
    return link


def test_rejects_the_disk_cannot_hold_fail_the_run_with_the_target_as_it_was(db, table, tmp_path, cli):
    db.execute(f"CREATE TABLE {db.quote(table)} (n INTEGER)")
    db.execute(f"INSERT INTO {db.quote(table)} VALUES (7)")
    write(tmp_path / "src", "a.csv", "n\n1\n2,extra\n3\n")
    rejects = _full_disk(tmp_path / "rejects.csv")
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": db.url,
        "DEST_TABLE": table,
        "IF_EXISTS": "replace",
        "MAX_ERRORS": "5",
        "REJECTS_PATH": str(rejects),
        "REPORT_PATH": str(tmp_path / "report.json"),
    }
    code, out, err = cli([], env)
    assert (code, out) == (12, "")
    assert err == (
        f"error: REJECTS_PATH cannot be written: {rejects}: No space left on device (1 row rejected); "
        "nothing was published\n"
    )
    assert [int(r[0]) for r in db.rows(table)] == [7]
    report = _report(tmp_path / "report.json")
    assert (report["status"], report["exit_code"], report["published"]) == ("failed", 12, False)
    assert report["error"] == err.removeprefix("error: ").rstrip("\n")


def test_rejects_are_on_disk_when_the_table_is_published(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "n\n1\n2,extra\n3\n")
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    env = _env(tmp_path, database, MAX_ERRORS="5", REJECTS_PATH=str(tmp_path / "r" / "rejects.csv"))
    code, _, err = cli([], env)
    assert (code, err) == (0, "")
    assert (tmp_path / "r" / "rejects.csv").read_bytes() == (
        b"file,line,reason,text\r\na.csv,3,\"expected 1 field, found 2\",\"2,extra\"\r\n"
    )


def test_a_report_the_disk_cannot_hold_at_the_start_is_exit_12(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    _full_disk(tmp_path / "report.json.partial")  # where the report is written before it replaces the old
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    code, out, err = cli([], _env(tmp_path, database, REPORT_PATH=str(tmp_path / "report.json")))
    assert (code, out) == (12, "")
    path = tmp_path / "report.json"
    assert err == f"error: REPORT_PATH cannot be written: {path}: No space left on device\n"
    assert not (tmp_path / "out.db").exists()


# Fills the disk under the report once the run has started (the sample is transformed after the
# report said "running"): the final report cannot be written.
FILL_DISK = """
import pathlib


def fill(frame):
    partial = pathlib.Path(__file__).with_name("report.json.partial")
    if not partial.is_symlink():
        partial.symlink_to("/dev/full")
    return frame
"""


@pytest.mark.parametrize("rows", ["1\n2\n", "1\nx\n"])
def test_a_final_report_the_disk_cannot_hold_is_exit_12_and_no_report_says_running(tmp_path, cli, rows):
    write(tmp_path / "src", "a.csv", "n\n" + rows)
    module = write(tmp_path, "fill.py", FILL_DISK)
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    report = tmp_path / "report.json"
    env = _env(tmp_path, database, REPORT_PATH=str(report), TRANSFORM=f"{module}:fill", SAMPLE_ROWS="1")
    code, out, err = cli([], env)
    problem = f"REPORT_PATH cannot be written: {report}: No space left on device"
    if rows == "1\n2\n":  # published, and the message says so
        assert (code, out) == (12, "")
        assert err.startswith(f"error: {problem}; table 't' was published (run_id '")
        assert [int(r[0]) for r in database.rows("t", "n")] == [1, 2]
    else:  # failed anyway (x is no integer): its own status, the report's failure added
        assert (code, out) == (5, "")
        assert err.startswith("error: a.csv: line 3: ")
        assert err.endswith(f"; and {problem}\n")
        assert "t" not in database.tables()
    assert not report.exists()  # not the report of the run's start, which said "running"
    assert not (tmp_path / "report.json.partial").exists()


MARKERS = ["NA", "N/A", "n/a", "NULL", "null", "None", "-", "--", "?", "NaN", "#N/A", "\\N", "nan", "."]


@pytest.mark.parametrize("marker", MARKERS)
def test_a_late_missing_value_marker_suggests_na_values(tmp_path, marker):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    write(tmp_path / "src", "a.csv", "n,v\n" + "".join(f"{i},{i}\n" for i in range(5)) + f"5,{marker}\n")
    report = load(tmp_path / "src", db, "t", sample_rows=3)
    assert report.exit_code == 5
    assert str(report.error).endswith(
        f"(1 row rejected so far, MAX_ERRORS=0; nothing was loaded); {marker!r} is a common spelling "
        f"of a missing value: NA_VALUES={marker} loads it as NULL"
    )
    # The hint leads somewhere: with it, the run loads the marker as NULL.
    assert load(tmp_path / "src", db, "t", sample_rows=3, na_values=(marker,)).error is None
    assert db.rows("t", "n")[-1] == (5, None)


@pytest.mark.parametrize("value", ["2.5", "12a", "NAN!", "na"])
def test_a_late_value_that_is_no_marker_suggests_planning_from_every_row(tmp_path, value):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    write(tmp_path / "src", "a.csv", "n,v\n" + "".join(f"{i},{i}\n" for i in range(5)) + f"5,{value}\n")
    report = load(tmp_path / "src", db, "t", sample_rows=3)
    assert str(report.error) == (
        f"a.csv: line 7: column 'v': {value!r} is not a 64-bit integer "
        "(1 row rejected so far, MAX_ERRORS=0; nothing was loaded); "
        "column types were planned from the first 3 rows of each file, "
        "SAMPLE_ROWS=0 plans them from every row"
    )
    assert load(tmp_path / "src", db, "t", sample_rows=0).error is None


# ---- no "unexpected error" ----------------------------------------------------------------------


def _source_with(tmp_path: Path, kind: str) -> str:
    """A source folder holding a.csv and a b.csv that is no file to read; b.csv's message."""
    write(tmp_path / "src", "a.csv", "n\n1\n")
    b = tmp_path / "src" / "b.csv"
    if kind == "broken symlink":
        b.symlink_to(tmp_path / "gone.csv")
        return f"b.csv: cannot be read: a symbolic link to {tmp_path / 'gone.csv'}, which leads to no file"
    if kind == "symlink loop":
        b.symlink_to("b.csv")
        return "b.csv: cannot be read: a symbolic link to b.csv, which leads to no file"
    os.mkfifo(b)
    return "b.csv: cannot be read: not a regular file (a named pipe, socket or device)"


@pytest.mark.parametrize("kind", ["broken symlink", "symlink loop", "fifo"])
def test_a_matched_name_that_is_no_file_is_exit_3_not_skipped(tmp_path, cli, kind):
    message = _source_with(tmp_path, kind)
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    code, out, err = cli([], _env(tmp_path, database))
    assert (code, out, err) == (3, "", f"error: {message}\n")
    assert not (tmp_path / "out.db").exists()


def test_a_folder_that_loops_back_on_itself_is_exit_3(tmp_path, cli):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "self").symlink_to(tmp_path / "src")
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "SRC_FILE_NAME": "**/*.csv"})
    assert (code, err) == (3, f"error: no file matches SRC_FILE_NAME='**/*.csv' in {tmp_path / 'src'}\n")


# Deletes b.csv at the n-th chunk it is given: 1 is a.csv's sample, 3 is a.csv's load (WORKERS=1).
DELETE = """
import pathlib

calls = 0


def delete_b(frame):
    global calls
    calls += 1
    if calls == {at}:
        pathlib.Path(__file__).with_name("src").joinpath("b.csv").unlink()
    return frame
"""


@pytest.mark.parametrize("at", [1, 3])
def test_a_source_file_deleted_during_the_run_is_exit_3(tmp_path, cli, at):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    b = write(tmp_path / "src", "b.csv", "n\n2\n")
    module = write(tmp_path, "delete.py", DELETE.replace("{at}", str(at)))
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    code, out, err = cli([], _env(tmp_path, database, TRANSFORM=f"{module}:delete_b"))
    assert (code, out) == (3, "")
    assert err == f"error: b.csv: no longer found at {b}: deleted or moved during the run\n"
    assert "t" not in database.tables()


def test_a_schema_file_that_is_not_json_is_exit_2(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    schema = write(tmp_path, "schema.json", "{not json")
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "SCHEMA_FILE": str(schema)})
    assert code == 2
    assert err.startswith(f"error: SCHEMA_FILE is not JSON: {schema}: Expecting property name")


@pytest.mark.parametrize("encoding", ["base64", "rot13", "hex", "zlib"])
def test_a_bytes_codec_as_encoding_is_exit_2(tmp_path, cli, encoding):
    code, _, err = cli([], {"SRC_ENCODING": encoding})
    assert code == 2
    assert err == f"error: SRC_ENCODING names no text encoding: {encoding!r} (a bytes-to-bytes codec)\n"


@pytest.mark.parametrize(
    ("server", "option", "status", "message"),
    [
        ("mariadb", "bogus=1", 6, "'bogus' is an invalid keyword argument for connect()"),
        ("mariadb", "connect_timeout=abc", 2, "invalid literal for int() with base 10: 'abc'"),
        ("postgresql", "bogus=1", 6, 'invalid dsn: invalid connection option "bogus"'),
        ("sqlite", "timeout=abc", 2, "could not convert string to float: 'abc'"),
        ("duckdb", "bogus=1", 6, 'Catalog Error: unrecognized configuration parameter "bogus"'),
    ],
)
def test_a_bad_database_url_option_is_a_documented_status(tmp_path, cli, server, option, status, message):
    urls = {"sqlite": f"sqlite:///{tmp_path / 'o.db'}", "duckdb": f"duckdb:///{tmp_path / 'o.duckdb'}"}
    if server in SERVERS:
        need_server(server)
    url = f"{urls.get(server) or SERVERS[server]}?{option}"
    write(tmp_path / "src", "a.csv", "n\n1\n")
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": url})
    assert (code, out) == (status, "")
    assert message in err
    assert "unexpected error" not in err


def test_an_import_lock_that_cannot_be_created_is_exit_2(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    url = f"sqlite:///file:{tmp_path / 'o.db'}?mode=rwc&uri=true"  # SQLite's URI form
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": url})
    assert (code, out) == (2, "")
    assert err.startswith("error: the import lock beside the database cannot be created: file:")
    assert err.endswith(".import-lock: No such file or directory\n")


# ---- a key found twice --------------------------------------------------------------------------


def _twice(err: str, key: str) -> tuple[str, str]:
    """The two places an error names for a key found twice: (where, found before)."""
    assert err.endswith("; each key may occur once (nothing was published)\n"), err
    where, _, rest = err.removeprefix("error: ").partition(f": PRIMARY_KEY {key} was found before, in ")
    return where, rest.partition(";")[0]


ONE_FILE = {"a.csv": "id,v\n1,a\n2,b\n1,c\n"}
TWO_FILES = {"a.csv": "id,v\n1,a\n2,b\n", "b.csv": "id,v\n3,c\n1,d\n"}


@pytest.mark.parametrize(
    ("files", "chunk_size", "workers", "places"),
    [
        (ONE_FILE, "1000", "1", {"a.csv: line 2", "a.csv: line 4"}),  # in one chunk
        (ONE_FILE, "1", "1", {"a.csv: line 2", "a.csv: line 4"}),  # the staging table holds the first
        (TWO_FILES, "1000", "1", {"a.csv: line 2", "b.csv: line 3"}),
        (TWO_FILES, "1000", "2", {"a.csv: line 2", "b.csv: line 3"}),  # either may be written first
    ],
)
def test_a_merge_key_found_twice_names_both_files_and_lines(
    db, table, tmp_path, cli, files, chunk_size, workers, places
):
    db.execute(f"CREATE TABLE {db.quote(table)} (id INTEGER PRIMARY KEY, v VARCHAR(10))")
    db.execute(f"INSERT INTO {db.quote(table)} VALUES (9, 'old')")
    for name, text in files.items():
        write(tmp_path / "src", name, text)
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": db.url,
        "DEST_TABLE": table,
        "IF_EXISTS": "merge",
        "PRIMARY_KEY": "id",
        "CHUNK_SIZE": chunk_size,
        "WORKERS": workers,
    }
    code, out, err = cli([], env)
    assert (code, out) == (4, "")
    assert set(_twice(err, "id = 1")) == places
    assert [(int(r[0]), r[1]) for r in db.rows(table)] == [(9, "old")]


def test_a_composite_key_found_twice_names_its_columns_and_values(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "id,part,v\n1,x,a\n1,y,b\n")
    write(tmp_path / "src", "b.csv", "id,part,v\n2,x,c\n1,y,d\n")
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    env = _env(tmp_path, database, IF_EXISTS="replace", PRIMARY_KEY="id,part")
    code, _, err = cli([], env)
    assert code == 4
    assert _twice(err, "(id, part) = (1, 'y')") == ("b.csv: line 3", "a.csv: line 3")
    assert "t" not in database.tables()


# ---- a database file whose disk fails -----------------------------------------------------------


def _run_on_a_small_disk(tmp_path: Path, url: str, table: str) -> subprocess.CompletedProcess[str]:
    """``python index.py`` whose files may not grow past 64 KiB (RLIMIT_FSIZE: their writes fail
    as on a full disk), loading a.csv of 225 KB into ``url``."""
    write(tmp_path / "src", "a.csv", "n,t\n" + "".join(f"{i},{'x' * 40}\n" for i in range(5000)))
    env = user_env(
        SRC_DATA_FOLDER=str(tmp_path / "src"),
        DEST_SQL=url,
        DEST_TABLE=table,
        WORKERS="1",
        LOG_LEVEL="WARNING",
        REPORT_PATH=str(tmp_path / "report.json"),
        TMPDIR=str(tmp_path),
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    command = [sys.executable, str(ROOT / "index.py")]
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, preexec_fn=limit)


def test_a_sqlite_file_whose_disk_fills_is_exit_12_naming_it(tmp_path):
    database = tmp_path / "out.db"
    result = _run_on_a_small_disk(tmp_path, f"sqlite:///{database}", "t")
    assert (result.returncode, result.stdout) == (12, "")
    failure = f"error: a.csv: writing rows failed: the disk under {database} is full or failing ("
    assert result.stderr.startswith(failure)
    report = _report(tmp_path / "report.json")
    assert (report["status"], report["exit_code"]) == ("failed", 12)
    assert "t" not in Database("sqlite", f"sqlite:///{database}").tables()


def test_a_mariadb_chunk_file_whose_disk_fills_is_exit_12_naming_it(tmp_path, table):
    need_server("mariadb")
    result = _run_on_a_small_disk(tmp_path, SERVERS["mariadb"], table)
    assert (result.returncode, result.stdout) == (12, "")
    failure = f"error: the chunk's file for LOAD DATA cannot be written: {tmp_path}/import-"
    assert result.stderr.startswith(failure)
    assert result.stderr.endswith(".csv: File too large\n")
    assert not list(tmp_path.glob("import-*.csv"))  # removed
    assert table not in Database("mariadb", SERVERS["mariadb"]).tables()


# Fills the disk under DuckDB's write-ahead log once the load has begun (the 2nd chunk given to
# the function: the 1st is a.csv's sample).
FILL_WAL = """
import pathlib

calls = 0


def fill(frame):
    global calls
    calls += 1
    wal = pathlib.Path(__file__).with_name("out.duckdb.wal")
    if calls == 2 and not wal.is_symlink():
        wal.symlink_to("/dev/full")
    return frame
"""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_duckdb_file_whose_disk_fills_is_exit_12_naming_it(tmp_path, cli, workers):
    write(tmp_path / "src", "a.csv", "n\n1\n2\n")
    module = write(tmp_path, "fill.py", FILL_WAL)
    database = Database("duckdb", f"duckdb:///{tmp_path / 'out.duckdb'}")
    report = tmp_path / "report.json"
    settings = {"TRANSFORM": f"{module}:fill", "WORKERS": workers, "SAMPLE_ROWS": "1"}
    env = _env(tmp_path, database, **settings, REPORT_PATH=str(report))
    if workers == "2":  # two tasks: one part of the file each
        env["SPLIT_BYTES"] = "4"
    code, out, err = cli([], env)
    assert (code, out) == (12, "")
    *warnings, error = err.splitlines()
    assert error.startswith(
        f"error: a.csv: writing rows failed: the disk under {tmp_path / 'out.duckdb'} is full or failing ("
    )
    assert "No space left on device" in error
    # The full disk keeps the staging table too: the run says so, and how it goes.
    assert all("WARNING could not drop this run's staging tables" in w and "--cleanup" in w for w in warnings)
    # The run created the database file: it removed it, with its write-ahead log.
    assert not (tmp_path / "out.duckdb").exists()
    assert not (tmp_path / "out.duckdb.wal").is_symlink()
    # ... and the staging tables in it: the report does not send the user to --cleanup.
    assert _report(report)["warnings"] == []


def test_a_setting_refused_after_the_report_started_leaves_it_final(tmp_path, cli):
    """REJECTS_PATH is checked once the table is known, after the report said "running"."""
    write(tmp_path / "src", "a.csv", "n\n1\n")
    blocker = write(tmp_path, "blocker", "a file")
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    report = tmp_path / "report.json"
    env = _env(tmp_path, database, REPORT_PATH=str(report), REJECTS_PATH=str(blocker / "r.csv"))
    code, _, err = cli([], env)
    assert code == 2
    path = blocker / "r.csv"
    assert err == f"error: REJECTS_PATH cannot be written: {path}: {blocker} is not a directory\n"
    assert (_report(report)["status"], _report(report)["exit_code"]) == ("failed", 2)
