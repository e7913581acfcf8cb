"""Each source file is read once per run (issue 8): fingerprinted while it loads, sampled only
as far as the sample goes, and read in full before loading only when the ledger needs it.

Bytes read are counted by the kernel (``rchar`` in /proc/self/io); the fingerprints in the
ledger are checked against hashlib's SHA-256 of the stored bytes.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import Database, load, write

ROW = "{n},{text}\n"
TEXT = "x" * 190


def bytes_read() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def big_file(folder: Path, rows: int) -> Path:
    return write(folder, "big.csv", "n,text\n" + "".join(ROW.format(n=n, text=TEXT) for n in range(rows)))


def ledger(path: Path) -> dict[str, tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        found = conn.execute("SELECT source, size, fingerprint FROM _import_ledger").fetchall()
    return {source: (size, fingerprint) for source, size, fingerprint in found}


def test_a_run_reads_each_file_once(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    source = big_file(tmp_path / "src", 100_000)  # ~20 MB
    size = source.stat().st_size
    before = bytes_read()
    report = load(tmp_path / "src", db, "t", if_exists="append")
    loading = bytes_read() - before
    assert report.error is None, report.error
    # Once in full, and the sample (2 MB, and the few blocks Arrow reads ahead) a second time:
    # not twice in full (fingerprint, then load) as before.
    assert size <= loading < 1.5 * size, (loading, size)

    before = bytes_read()  # an append again: the ledger names the file with its size
    again = load(tmp_path / "src", db, "t", if_exists="append")
    checking = bytes_read() - before
    assert again.error is None
    assert again.skipped == ["big.csv"]
    assert size <= checking < 1.5 * size, (checking, size)  # one pass to compare its content

    with source.open("a") as grown:
        grown.write(ROW.format(n=-1, text=TEXT))
    before = bytes_read()  # another size: changed, whatever its content; only sampled
    refused = load(tmp_path / "src", db, "t", if_exists="append")
    assert refused.error is not None
    assert refused.error.exit_code == 3
    assert bytes_read() - before < 0.5 * size


def zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [("", bytes), (".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress), (".zst", zstd)],
)
def test_the_ledger_fingerprint_is_the_stored_bytes_sha256(tmp_path, suffix, compress):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    stored = compress(("n,text\n" + "".join(ROW.format(n=n, text=TEXT) for n in range(5000))).encode())
    write(tmp_path / "src", f"a.csv{suffix}", stored)
    report = load(tmp_path / "src", db, "t", src_file_name=f"*.csv{suffix}")
    assert report.error is None, report.error
    assert ledger(tmp_path / "o.db") == {
        f"a.csv{suffix}": (len(stored), "sha256:" + hashlib.sha256(stored).hexdigest())
    }
    again = load(tmp_path / "src", db, "t", src_file_name=f"*.csv{suffix}", if_exists="append")
    assert again.error is None
    assert again.skipped == [f"a.csv{suffix}"]
