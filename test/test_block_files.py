"""A compressed file's blocks reach a pool's workers in files (``processor/load/blocks.py``).

Oracles: the bytes given, compared byte for byte; the folder's contents as the file system
lists them; a full disk as the kernel makes one (RLIMIT_FSIZE), and the rows the server holds.
"""

from __future__ import annotations

import gzip
import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SERVERS, Database, need_server, user_env, write

from processor.load.blocks import FOLDER_PREFIX, BlockFiles, take_block
from processor.sources.parts import Part


def test_a_block_goes_to_a_file_and_comes_back_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # TMPDIR read anew
    block = bytes(range(256)) * 1000 + b'"a\r\n,\x00'
    part = Part(index=3, start=4096, end=4096 + len(block), first_line=17, data=block, last=False)
    blocks = BlockFiles()
    assert Path(blocks.folder).parent == tmp_path
    assert Path(blocks.folder).name.startswith(FOLDER_PREFIX)

    sent = blocks.put("a.csv.gz", part)

    assert sent.data is None
    assert sent.spilled is not None
    assert Path(sent.spilled).read_bytes() == block
    assert not sent.whole
    taken = take_block(sent)
    assert taken == part  # every field as it was, the bytes among them
    assert not Path(sent.spilled).exists()  # the worker removed it
    blocks.close()
    assert list(tmp_path.iterdir()) == []


def test_a_part_without_a_block_is_left_as_it_is_and_close_removes_untaken_blocks(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    blocks = BlockFiles()
    ranged = Part(index=1, start=10, end=20, first_line=2)
    assert blocks.put("a.csv", ranged) is ranged
    assert take_block(ranged) is ranged
    untaken = [blocks.put("a.csv.gz", Part(index=i, start=i, data=b"x" * i, last=False)) for i in (1, 2)]
    assert sorted(Path(blocks.folder).iterdir()) == sorted(Path(p.spilled) for p in untaken if p.spilled)
    blocks.close()  # a failed load: its tasks never ran
    assert list(tmp_path.iterdir()) == []


def _gzip_source(folder: Path, rows: int) -> Path:
    text = "n,t\n" + "".join(f'{i},"row {i} {"y" * 60}"\n' for i in range(rows))
    return write(folder, "a.csv.gz", gzip.compress(text.encode(), compresslevel=1))


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_pool_loads_the_blocks_from_files_and_leaves_none(db, table, tmp_path):
    need_server("postgresql")
    _gzip_source(tmp_path / "src", 20_000)  # 1.4 MB of text: blocks of about 100 KB
    spool = tmp_path / "tmp"
    spool.mkdir()
    env = user_env(
        SRC_DATA_FOLDER=str(tmp_path / "src"),
        SRC_FILE_NAME="*.csv.gz",
        DEST_SQL=SERVERS["postgresql"],
        DEST_TABLE=table,
        WORKERS="2",
        SPLIT_BYTES="100000",
        LOG_LEVEL="WARNING",
        REPORT_PATH=str(tmp_path / "report.json"),
        TMPDIR=str(spool),
    )
    done = subprocess.run([sys.executable, str(ROOT / "index.py")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["files"][0]["rows"] == 20_000
    rows = (
        Database("postgresql", SERVERS["postgresql"])
        ._query(f'SELECT count(*), sum("n"), count(DISTINCT "t") FROM "{table}"')
        .rows_list
    )
    assert rows == [(20_000, sum(range(20_000)), 20_000)]
    assert [p.name for p in spool.iterdir() if p.name.startswith(FOLDER_PREFIX)] == []


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_block_the_disk_cannot_take_is_exit_12_naming_it(db, table, tmp_path):
    need_server("postgresql")
    _gzip_source(tmp_path / "src", 20_000)
    env = user_env(
        SRC_DATA_FOLDER=str(tmp_path / "src"),
        SRC_FILE_NAME="*.csv.gz",
        DEST_SQL=SERVERS["postgresql"],
        DEST_TABLE=table,
        WORKERS="2",
        SPLIT_BYTES="100000",
        LOG_LEVEL="WARNING",
        TMPDIR=str(tmp_path),
    )

    def small_disk() -> None:  # no file may grow past 64 KiB: a block's write fails as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    command = [sys.executable, str(ROOT / "index.py")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, preexec_fn=small_disk)

    assert (done.returncode, done.stdout) == (12, "")
    assert done.stderr.startswith(
        f"error: a.csv.gz: a block of its text cannot be written to {tmp_path}/{FOLDER_PREFIX}"
    )
    assert done.stderr.endswith(".block (TMPDIR says where): File too large\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(FOLDER_PREFIX)] == []
    assert table not in Database("postgresql", SERVERS["postgresql"]).tables()
