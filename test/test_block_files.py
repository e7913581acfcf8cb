"""A compressed file's blocks reach a pool's workers in files (``processor/load/blocks.py``).

Oracles: the bytes given, compared byte for byte; the folder's contents as the file system
lists them; a full disk as the kernel makes one (RLIMIT_FSIZE), and the rows the server holds.
"""

from __future__ import annotations

import gzip
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Database, user_env, write

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


def _import(
    db: Database, table: str, tmp_path: Path, spool: Path, limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``python index.py`` with two workers loading a .gz file of 20,000 rows (1.4 MB of text) in
    blocks of about 100 KB into ``db``, TMPDIR at ``spool``; ``limit``: no file the run writes
    may grow past it (RLIMIT_FSIZE: a write beyond fails as on a full disk)."""
    text = "n,t\n" + "".join(f'{i},"row {i} {"y" * 60}"\n' for i in range(20_000))
    write(tmp_path / "src", "a.csv.gz", gzip.compress(text.encode(), compresslevel=1))
    env = user_env(
        SRC_DATA_FOLDER=str(tmp_path / "src"),
        SRC_FILE_NAME="*.csv.gz",
        DEST_SQL=db.url,
        DEST_TABLE=table,
        WORKERS="2",
        SPLIT_BYTES="100000",
        LOG_LEVEL="WARNING",
        TMPDIR=str(spool),
    )

    def small_disk() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, str(ROOT / "index.py")]
    return subprocess.run(command, env=env, capture_output=True, text=True, preexec_fn=small_disk)


def _block_folders(spool: Path) -> list[str]:
    return [p.name for p in spool.iterdir() if p.name.startswith(FOLDER_PREFIX)]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_pool_loads_the_blocks_from_files_and_leaves_none(db, table, tmp_path):
    spool = tmp_path / "tmp"
    spool.mkdir()

    done = _import(db, table, tmp_path, spool)

    assert done.returncode == 0, done.stderr
    rows = db._query(f'SELECT count(*), sum("n"), count(DISTINCT "t") FROM "{table}"').rows_list
    assert rows == [(20_000, sum(range(20_000)), 20_000)]
    assert _block_folders(spool) == []


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_block_the_disk_cannot_take_is_exit_12_naming_it(db, table, tmp_path):
    done = _import(db, table, tmp_path, tmp_path, limit=64 * 1024)  # a block is about 100 KB

    assert (done.returncode, done.stdout) == (12, "")
    assert done.stderr.startswith(
        f"error: a.csv.gz: a block of its text cannot be written to {tmp_path}/{FOLDER_PREFIX}"
    )
    assert done.stderr.endswith(".block (TMPDIR says where): File too large\n")
    assert _block_folders(tmp_path) == []
    assert table not in db.tables()
