"""A pipe as the source (issue 21): SRC_DATA_FOLDER=- reads one file from standard input, named
(and so compressed and formatted) by SRC_FILE_NAME, spooled to TMPDIR and removed however the
run ends.

Every run is ``python index.py`` as a user runs it, its standard input a real pipe the test
writes.  Oracles: the rows as the test wrote them, read back with each database's own SQL; the
ledger's fingerprint against hashlib's SHA-256 of the piped bytes; the spool's folder in TMPDIR.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import pty
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, Database, user_env

INDEX = ROOT / "index.py"
SPOOL_PREFIX = "csv-sql-importer-stdin-"  # how the spool's folder is named in TMPDIR (README)

# Text as it must come back: leading zeros, unicode, a comma, quotes, a newline, an empty field (NULL).
ROWS = [
    (1, "007", 'Zoë, "quoted"', "a"),
    (2, "0", "two\nlines", None),
    (3, "123456789012345678901234567890", "日本語 ", "c"),
]
HEADER = ["id", "code", "name", "tag"]


def _delimited(delimiter: str = ",") -> bytes:
    """The rows as a CSV (or TSV) writer writes them: a field holding the delimiter, a quote or
    a line break quoted."""

    def field(value: str) -> str:
        if any(c in value for c in delimiter + '"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [HEADER, *([str(i), c, n, t or ""] for i, c, n, t in ROWS)]
    return "".join(delimiter.join(map(field, line)) + "\n" for line in lines).encode()


def _ndjson() -> bytes:
    lines = [json.dumps(dict(zip(HEADER, (str(i), c, n, t), strict=True))) for i, c, n, t in ROWS]
    return ("\n".join(lines) + "\n").encode()


#: Each database's SQL for a text value's bytes in hexadecimal.
HEX = {
    "sqlite": "hex({})",
    "duckdb": "hex({})",
    "postgresql": "encode(convert_to({}, 'UTF8'), 'hex')",
    "mariadb": "HEX({})",
}

SOURCES = {
    "data.csv": _delimited(),
    "data.csv.gz": gzip.compress(_delimited()),
    "title.basics.tsv.gz": gzip.compress(_delimited("\t")),
    "items.ndjson": _ndjson(),
}


def pipe(tmp_path: Path, data: bytes, *flags: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """``printf data | python index.py --src-data-folder - flags``, TMPDIR below ``tmp_path``."""
    return pipe_limited(tmp_path, data, None, *flags, **settings)


def pipe_limited(
    tmp_path: Path, data: bytes, limit: int | None, *flags: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    """``pipe``, where no file the run writes may grow past ``limit`` bytes (as on a nearly full disk)."""
    spool = tmp_path / "tmp"
    spool.mkdir(exist_ok=True)
    env = user_env(
        **{"SRC_DATA_FOLDER": "-", "WORKERS": "1", "LOG_LEVEL": "WARNING", "TMPDIR": str(spool), **settings}
    )

    def limited() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run(
        [sys.executable, str(INDEX), *flags],
        input=data,  # through a pipe
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
        preexec_fn=limited,
    )
    return subprocess.CompletedProcess(run.args, run.returncode, run.stdout.decode(), run.stderr.decode())


def spools(tmp_path: Path) -> list[Path]:
    """The spools a run left in its TMPDIR."""
    return sorted((tmp_path / "tmp").glob(SPOOL_PREFIX + "*"))


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_piped_file_is_loaded_as_its_name_says_into_every_database(db: Database, table, tmp_path, name):
    result = pipe(tmp_path, SOURCES[name], DEST_SQL=db.url, DEST_TABLE=table, SRC_FILE_NAME=name)
    assert result.returncode == 0, result.stderr
    assert db.columns(table) == HEADER
    q = db.quote
    back = db._query(
        f"SELECT {q('id')}, {q('code')}, {q('name')}, {q('tag')} FROM {q(table)} ORDER BY {q('id')}"
    ).rows_list
    assert [(int(i), c, n, t) for i, c, n, t in back] == ROWS
    # Byte for byte, as the database itself spells the text's bytes (not as its driver decodes them).
    hexed = HEX[db.name].format(q("name"))
    back_hex = db._query(f"SELECT {q('id')}, {hexed} FROM {q(table)} ORDER BY {q('id')}").rows_list
    assert [str(h).lower() for _, h in back_hex] == [n.encode().hex() for _, _, n, _ in ROWS]
    assert spools(tmp_path) == []


def _ledger(db_path: Path) -> list[tuple]:
    database = Database("sqlite", f"sqlite:///{db_path}")
    return database._query("SELECT source, size, fingerprint, row_count FROM _import_ledger").rows_list


@pytest.mark.slow  # four runs
def test_the_same_content_piped_again_is_skipped_and_other_content_under_its_name_is_changed(tmp_path):
    db_path = tmp_path / "out.db"
    data = SOURCES["data.csv.gz"]
    settings = {
        "DEST_SQL": f"sqlite:///{db_path}",
        "DEST_TABLE": "t",
        "SRC_FILE_NAME": "data.csv.gz",
        "IF_EXISTS": "append",
        "REPORT_PATH": str(tmp_path / "report.json"),
    }
    first = pipe(tmp_path, data, **settings)
    assert first.returncode == 0, first.stderr
    # The ledger keys the pipe by its name and the SHA-256 of the bytes piped (as stored: compressed).
    assert _ledger(db_path) == [("data.csv.gz", len(data), "sha256:" + hashlib.sha256(data).hexdigest(), 3)]
    second = pipe(tmp_path, data, **settings)
    assert second.returncode == 0, second.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["skipped"] == ["data.csv.gz"]
    assert report["settings"]["SRC_DATA_FOLDER"] == "-"
    assert Database("sqlite", f"sqlite:///{db_path}")._query("SELECT COUNT(*) FROM t").rows_list == [(3,)]
    changed = pipe(tmp_path, gzip.compress(_delimited() + b"4,x,y,z\n"), **settings)
    assert changed.returncode == 3
    assert "error: data.csv.gz: changed since it was loaded into 't'" in changed.stderr
    reloaded = pipe(tmp_path, gzip.compress(_delimited() + b"4,x,y,z\n"), **settings, RELOAD_CHANGED="true")
    assert reloaded.returncode == 0, reloaded.stderr
    assert Database("sqlite", f"sqlite:///{db_path}")._query("SELECT COUNT(*) FROM t").rows_list == [(7,)]
    assert spools(tmp_path) == []


def test_the_dry_run_says_the_file_was_piped(tmp_path):
    data = SOURCES["data.csv.gz"]
    result = pipe(
        tmp_path,
        data,
        "--dry-run",
        DEST_SQL=f"sqlite:///{tmp_path / 'out.db'}",
        SRC_FILE_NAME="data.csv.gz",
        REPORT_PATH=str(tmp_path / "report.json"),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == f"files: 1 ({len(data):,} bytes, piped to standard input: -); rows to load: 3"
    assert lines[2].startswith(f"  data.csv.gz  {len(data):,} bytes  ")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["dry_run"]["from_stdin"] is True
    assert [f["name"] for f in report["dry_run"]["files"]] == ["data.csv.gz"]
    assert not (tmp_path / "out.db").exists()
    assert spools(tmp_path) == []


def test_a_headerless_piped_file_takes_src_columns(tmp_path):
    db_path = tmp_path / "out.db"
    data = b"1,007,a\n2,,b\n"
    result = pipe(
        tmp_path,
        data,
        DEST_SQL=f"sqlite:///{db_path}",
        SRC_FILE_NAME="rows.csv",
        SRC_HEADER="false",
        SRC_COLUMNS="n,code,tag",
    )
    assert result.returncode == 0, result.stderr
    database = Database("sqlite", f"sqlite:///{db_path}")
    assert database.columns("rows") == ["n", "code", "tag"]
    assert database._query("SELECT n, code, tag FROM rows ORDER BY n").rows_list == [
        (1, "007", "a"),
        (2, None, "b"),
    ]


def test_a_piped_file_is_read_in_parts_by_a_pool(tmp_path):
    """The spool is a local file: a pool's workers load its byte ranges side by side."""
    db_path = tmp_path / "out.db"
    data = ("n,t\n" + "".join(f"{i},{'x' * (i % 50)}\n" for i in range(20_000))).encode()
    result = pipe(
        tmp_path,
        data,
        DEST_SQL=f"sqlite:///{db_path}",
        SRC_FILE_NAME="big.csv",
        WORKERS="2",
        SPLIT_BYTES="64k",
        REPORT_PATH=str(tmp_path / "report.json"),
    )
    assert result.returncode == 0, result.stderr
    database = Database("sqlite", f"sqlite:///{db_path}")
    assert database._query(
        "SELECT COUNT(*), COUNT(DISTINCT n), SUM(n), SUM(LENGTH(t)) FROM big"
    ).rows_list == [(20_000, 20_000, sum(range(20_000)), sum(i % 50 for i in range(20_000)))]
    assert spools(tmp_path) == []


def _max_rss_kib(tmp_path: Path, folder: str, data: bytes | None, **settings: str) -> int:
    """The largest resident set (KiB) of a run of SRC_DATA_FOLDER=``folder`` (``data`` piped
    in), measured in a process of its own: RUSAGE_CHILDREN is the maximum over every child the
    measuring process has waited for, and this test's process has had others."""
    script = (
        "import resource, subprocess, sys\n"
        "result = subprocess.run(sys.argv[1:], stdin=sys.stdin, check=False)\n"
        "print(result.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    spool = tmp_path / "tmp"
    spool.mkdir(exist_ok=True)
    env = user_env(
        **{
            "SRC_DATA_FOLDER": folder,
            "WORKERS": "1",
            "LOG_LEVEL": "WARNING",
            "TMPDIR": str(spool),
            **settings,
        }
    )
    measured = subprocess.run(
        [sys.executable, "-c", script, sys.executable, str(INDEX)],
        input=data,
        stdin=subprocess.DEVNULL if data is None else None,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    code, kib = measured.stdout.splitlines()[-1].split()  # after the run's summary
    assert int(code) == 0, measured.stderr
    return int(kib)


ROWS_BIG = 400_000


@pytest.mark.slow
def test_a_stream_larger_than_any_buffer_keeps_memory_bounded_and_leaves_no_spool(tmp_path):
    """SAMPLE_ROWS=0 reads the stream to its end to plan, and again to load: from the spool, not
    from memory.  Piped, a file of 24 MB takes no more memory than read from a folder (less than
    half its size more: holding it would take all of it)."""
    row = "{},{},some text that takes room,2024-01-{:02d},{}.25\n"
    big = ("id,n,t,d,x\n" + "".join(row.format(i, i * 7, i % 28 + 1, i) for i in range(ROWS_BIG))).encode()
    assert len(big) > 20_000_000
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "big.csv").write_bytes(big)
    settings = {"SRC_FILE_NAME": "big.csv", "SAMPLE_ROWS": "0"}
    read = _max_rss_kib(
        tmp_path, str(tmp_path / "src"), None, DEST_SQL=f"sqlite:///{tmp_path / 'a.db'}", **settings
    )
    piped = _max_rss_kib(tmp_path, "-", big, DEST_SQL=f"sqlite:///{tmp_path / 'big.db'}", **settings)
    assert piped - read < len(big) // 2 // 1024, (read, piped)
    database = Database("sqlite", f"sqlite:///{tmp_path / 'big.db'}")
    assert database._query("SELECT COUNT(*), SUM(n) FROM big").rows_list == [
        (ROWS_BIG, 7 * sum(range(ROWS_BIG)))
    ]
    assert spools(tmp_path) == []


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"a,b\n1,2\n3\n", 5, "error: bad.csv: line 3: expected 2 fields, found 1"),
        (b"a,b\n1,2\n\xff\xfe,3\n", 3, "error: bad.csv: "),
    ],
    ids=["ragged-row", "undecodable"],
)
def test_a_failed_run_removes_its_spool(tmp_path, data, status, message):
    result = pipe(tmp_path, data, DEST_SQL=f"sqlite:///{tmp_path / 'out.db'}", SRC_FILE_NAME="bad.csv")
    assert result.returncode == status, result.stderr
    assert message in result.stderr
    assert spools(tmp_path) == []


def test_ctrl_c_while_the_pipe_is_still_open_removes_the_spool(tmp_path):
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    env = user_env(
        SRC_DATA_FOLDER="-",
        SRC_FILE_NAME="slow.csv",
        DEST_SQL=f"sqlite:///{tmp_path / 'out.db'}",
        WORKERS="1",
        TMPDIR=str(spool_dir),
    )
    child = subprocess.Popen(
        [sys.executable, str(INDEX)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    assert child.stdin is not None
    child.stdin.write(b"a,b\n" + b"1,2\n" * 100_000)
    child.stdin.flush()
    deadline = time.monotonic() + 60
    while not (spools(tmp_path) and any(spools(tmp_path)[0].iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spools(tmp_path), "the run never started spooling"
    child.send_signal(signal.SIGINT)  # the writer is still there: the run is waiting for more
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert spools(tmp_path) == []


def test_a_spool_that_fills_the_disk_is_exit_12_and_removed(tmp_path):
    result = pipe_limited(
        tmp_path,
        b"a,b\n" + b"1,2\n" * 100_000,
        64 * 1024,  # as a disk with 64 KiB free: the write past it fails
        DEST_SQL=f"sqlite:///{tmp_path / 'out.db'}",
        SRC_FILE_NAME="a.csv",
    )
    assert result.returncode == 12, result.stderr
    spool_dir = tmp_path / "tmp"
    assert f"error: standard input cannot be spooled to {spool_dir}/{SPOOL_PREFIX}" in result.stderr
    assert "/a.csv (65,536 bytes written; TMPDIR says where): File too large" in result.stderr
    assert spools(tmp_path) == []


def test_an_empty_stream_is_an_empty_file(tmp_path):
    result = pipe(tmp_path, b"", DEST_SQL=f"sqlite:///{tmp_path / 'out.db'}", SRC_FILE_NAME="a.csv")
    assert result.returncode == 3
    assert "a.csv (standard input): empty file (0 bytes), skipped" in result.stderr
    assert result.stderr.endswith(
        "error: no file matches SRC_FILE_NAME='a.csv' in - (only 1 empty file, skipped)\n"
    )
    assert spools(tmp_path) == []


def test_nothing_piped_is_exit_2_rather_than_waiting(tmp_path):
    """Standard input a terminal: the run does not wait for someone to type a file."""
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, str(INDEX)],
            stdin=terminal,
            cwd=tmp_path,
            env=user_env(
                SRC_DATA_FOLDER="-", SRC_FILE_NAME="a.csv", DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}"
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(controller)
        os.close(terminal)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: SRC_DATA_FOLDER=- reads standard input, but nothing is piped to it (it is a terminal)"
    )
    assert not (tmp_path / "o.db").exists()


@pytest.mark.parametrize(
    "name",
    [
        "*.csv",
        "sub/a.csv",
        *(pytest.param(n, marks=pytest.mark.slow) for n in ("**/*.csv", "a?.csv", "[ab].csv", "..")),
    ],
)
def test_src_file_name_must_be_a_plain_name(tmp_path, name):
    result = pipe(tmp_path, b"a\n1\n", DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}", SRC_FILE_NAME=name)
    assert result.returncode == 2
    assert result.stderr == (
        "error: SRC_DATA_FOLDER=- reads one file from standard input: SRC_FILE_NAME must be its plain "
        f"name (no folder, no * ? [), as in title.basics.tsv.gz, got {name!r}\n"
    )


def test_src_file_name_is_required(tmp_path):
    result = pipe(tmp_path, b"a\n1\n", DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}")
    assert result.returncode == 2
    assert (
        "SRC_FILE_NAME must be its plain name (no folder, no * ? [), as in title.basics.tsv.gz, "
        "got '**/*.csv'" in result.stderr
    )


def test_a_dask_cluster_elsewhere_is_refused(tmp_path):
    result = pipe(
        tmp_path,
        b"a\n1\n",
        DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}",
        SRC_FILE_NAME="a.csv",
        EXECUTOR="dask",
        DASK_SCHEDULER="tcp://127.0.0.1:1",
    )
    assert result.returncode == 2
    assert "SRC_DATA_FOLDER=- cannot be read on a Dask cluster (DASK_SCHEDULER)" in result.stderr


def test_the_python_api_reads_standard_input_for_source_dash(tmp_path):
    db_path = tmp_path / "out.db"
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from processor import import_folder\n"
        f"report = import_folder('-', 'sqlite:///{db_path}', 'api', src_file_name='d.csv.gz', workers=1)\n"
        "print(report.rows)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=SOURCES["data.csv.gz"],
        cwd=tmp_path,
        env=user_env(TMPDIR=str(tmp_path)),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"3\n"
    database = Database("sqlite", f"sqlite:///{db_path}")
    assert database._query("SELECT code FROM api ORDER BY id").rows_list == [
        ("007",),
        ("0",),
        ("123456789012345678901234567890",),
    ]
    assert not list(tmp_path.glob(SPOOL_PREFIX + "*"))


def test_the_python_api_reads_a_binary_file_object_in_place_of_standard_input(tmp_path, monkeypatch):
    from processor import ConfigError, import_folder

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    db_path = tmp_path / "out.db"
    stream = io.BytesIO(SOURCES["title.basics.tsv.gz"])
    report = import_folder(stream, f"sqlite:///{db_path}", src_file_name="title.basics.tsv.gz", workers=1)
    assert (report.table, report.rows) == ("title.basics", 3)
    assert not stream.closed  # the caller's to close
    database = Database("sqlite", f"sqlite:///{db_path}")
    assert database._query('SELECT name FROM "title.basics" ORDER BY id').rows_list == [
        (n,) for _, _, n, _ in ROWS
    ]
    assert not list(tmp_path.glob(SPOOL_PREFIX + "*"))
    with pytest.raises(ConfigError, match="the source stream gives text, not bytes: open it in binary mode"):
        import_folder(io.StringIO("a\n1\n"), f"sqlite:///{db_path}", "t", src_file_name="a.csv", workers=1)
    assert not list(tmp_path.glob(SPOOL_PREFIX + "*"))


@pytest.mark.slow  # waits for the pipe on purpose
def test_a_non_blocking_pipe_with_nothing_yet_is_waited_for_not_taken_for_its_end(tmp_path):
    db_path = tmp_path / "out.db"

    def non_blocking() -> None:
        flags = fcntl.fcntl(0, fcntl.F_GETFL)
        fcntl.fcntl(0, fcntl.F_SETFL, flags | os.O_NONBLOCK)

    child = subprocess.Popen(
        [sys.executable, str(INDEX)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=user_env(
            SRC_DATA_FOLDER="-", SRC_FILE_NAME="late.csv", DEST_SQL=f"sqlite:///{db_path}", WORKERS="1"
        ),
        preexec_fn=non_blocking,
    )
    assert child.stdin is not None
    time.sleep(2)  # the run is reading by now, and finds nothing yet
    child.stdin.write(b"a,b\n1,x\n")
    child.stdin.flush()
    time.sleep(0.5)
    _, err = child.communicate(b"2,y\n", timeout=120)
    assert child.returncode == 0, err
    database = Database("sqlite", f"sqlite:///{db_path}")
    assert database._query("SELECT a, b FROM late ORDER BY a").rows_list == [(1, "x"), (2, "y")]
