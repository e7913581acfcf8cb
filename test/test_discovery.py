"""Unit tests of discovery: which files a folder gives, in what order, with what compression and
delimiter; empty files, symlinks, a missing folder, and the table name from the files' common stem.
"""

from __future__ import annotations

import gzip
import logging
import os

import pytest
from conftest import write

from processor.errors import ConfigError, SourceError
from processor.sources.discover import common_stem, discover_files


def test_discover_order_recursion_and_formats(tmp_path):
    src = tmp_path / "src"
    for name in ["b/z.csv", "a.csv", "b/a.csv", "c.tsv", "d.csv.gz", "e.tsv.bz2", "f.csv.zst", "g.txt"]:
        write(src, name, "x\n1\n")
    files = discover_files(src, "**/*.*", None)
    assert [f.name for f in files] == [
        "a.csv",
        "b/a.csv",
        "b/z.csv",
        "c.tsv",
        "d.csv.gz",
        "e.tsv.bz2",
        "f.csv.zst",
        "g.txt",
    ]
    by_name = {f.name: f for f in files}
    assert by_name["c.tsv"].delimiter == "\t"
    assert by_name["e.tsv.bz2"].delimiter == "\t"
    assert (by_name["e.tsv.bz2"].compression, by_name["e.tsv.bz2"].stem) == ("bz2", "e")
    assert (by_name["d.csv.gz"].compression, by_name["d.csv.gz"].delimiter) == ("gzip", ",")
    assert by_name["f.csv.zst"].compression == "zstd"
    assert by_name["a.csv"].compression is None
    assert [f.name for f in discover_files(src, "*.csv", None)] == ["a.csv"]
    assert [f.name for f in discover_files(src, "**/*.csv", ";")] == ["a.csv", "b/a.csv", "b/z.csv"]
    assert {f.delimiter for f in discover_files(src, "**/*.*", ";")} == {";"}


def test_discover_skips_empty_files_with_a_warning(tmp_path, caplog):
    write(tmp_path, "a.csv", "x\n1\n")
    write(tmp_path, "sub/empty.csv", "")
    with caplog.at_level(logging.WARNING):
        files = discover_files(tmp_path, "**/*.csv", None)
    assert [f.name for f in files] == ["a.csv"]
    assert "sub/empty.csv: empty file (0 bytes), skipped" in caplog.text


def test_discover_only_empty_files(tmp_path):
    write(tmp_path, "a.csv", "")
    with pytest.raises(SourceError) as caught:
        discover_files(tmp_path, "*.csv", None)
    assert (
        str(caught.value)
        == f"no file matches SRC_FILE_NAME='*.csv' in {tmp_path} (only 1 empty file, skipped)"
    )


def test_discover_refuses_a_symlink_leading_outside(tmp_path):
    outside = write(tmp_path, "secret/passwd.csv", "x\n1\n")
    src = tmp_path / "src"
    write(src, "a.csv", "x\n1\n")
    os.symlink(outside, src / "b.csv")
    with pytest.raises(SourceError) as caught:
        discover_files(src, "*.csv", None)
    assert str(caught.value) == f"b.csv: refusing a file outside SRC_DATA_FOLDER ({outside})"


def test_discover_follows_a_symlink_inside(tmp_path):
    write(tmp_path, "a.csv", "x\n1\n")
    os.symlink(tmp_path / "a.csv", tmp_path / "b.csv")
    assert [f.name for f in discover_files(tmp_path, "*.csv", None)] == ["a.csv", "b.csv"]


def test_discover_missing_folder_and_no_match(tmp_path):
    with pytest.raises(SourceError, match=r"^SRC_DATA_FOLDER does not exist: .*nope$"):
        discover_files(tmp_path / "nope", "*.csv", None)
    write(tmp_path, "a.csv", "x\n1\n")
    with pytest.raises(SourceError, match=r"^SRC_DATA_FOLDER is not a folder: .*a\.csv$"):
        discover_files(tmp_path / "a.csv", "*.csv", None)
    with pytest.raises(SourceError) as caught:
        discover_files(tmp_path, "*.tsv", None)
    assert str(caught.value) == f"no file matches SRC_FILE_NAME='*.tsv' in {tmp_path}"


def test_common_stem(tmp_path):
    for folder in ["d1", "d2"]:
        write(tmp_path, f"{folder}/certificates.csv", "x\n1\n")
    write(tmp_path, "d3/certificates.csv.gz", gzip.compress(b"x\n1\n"))
    assert common_stem(discover_files(tmp_path, "**/*.csv*", None)) == "certificates"
    write(tmp_path, "title.basics.tsv.gz", gzip.compress(b"x\n1\n"))
    assert common_stem(discover_files(tmp_path, "*.tsv.gz", None)) == "title.basics"
    for name in ["recommendations.csv", "columns.csv", "extra.csv"]:
        write(tmp_path, f"d4/{name}", "x\n1\n")
    with pytest.raises(ConfigError) as caught:
        common_stem(discover_files(tmp_path, "**/*.csv", None))
    assert str(caught.value) == (
        "DEST_TABLE is required: the matched files have different names (certificates, columns, extra, ...)"
    )
