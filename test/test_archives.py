"""Archives as the source (issue 11): .zip and .tar members loaded as the unpacked folders would be,
checked against their CRC, named inside the archive (rejects, the path column), hashed for the ledger.

Oracles are the source text itself (read with Python's csv and json modules) or the same rows
loaded from plain files; values are compared as text or decimals, never through the importer.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import sqlite3
import tarfile
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest
from conftest import Database, load, write

from processor.sources.discover import discover_files
from processor.sources.inflate import open_zip_member

# Two local authorities' folders, as the energy-certificate download holds them.
FOLDERS = {
    "domestic-E01-Leeds/certificates.csv": "LMK_KEY,POSTCODE,CURRENT_ENERGY_EFFICIENCY,TOTAL_FLOOR_AREA\n"
    "k1,LS1 4AP,72,80.50\nk2,LS6 2QT,65,102.25\n",
    "domestic-E02-York/certificates.csv": "LMK_KEY,POSTCODE,CURRENT_ENERGY_EFFICIENCY,TOTAL_FLOOR_AREA\n"
    "k3,YO1 7HH,81,55.00\n",
}


def text_rows(contents: dict[str, str]) -> list[list[str]]:
    """Every data row of the CSV texts, by Python's csv module."""
    return [row for text in contents.values() for row in list(csv.reader(io.StringIO(text)))[1:]]


def canonical(value: object) -> str:
    """A value as text, a number as its decimal without trailing zeros (``80.50`` == ``80.5``)."""
    try:
        return str(Decimal(str(value)).normalize())
    except ArithmeticError:
        return str(value)


def normalized(rows: list[tuple[object, ...]] | list[list[str]]) -> list[list[str]]:
    return sorted([canonical(v) for v in row] for row in rows)


def make_zip(path: Path, contents: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in contents.items():
            archive.writestr(name, text)
    return path


def make_tar(path: Path, contents: dict[str, str], mode: Literal["w", "w:gz"]) -> Path:
    with tarfile.open(path, mode) as archive:
        for name, text in contents.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_zip_of_folders_loads_the_rows_of_the_unpacked_folders_and_is_skipped_on_rerun(db, table, tmp_path):
    folder = tmp_path / "unpacked"
    for name, text in FOLDERS.items():
        write(folder, name, text)
    archive = make_zip(tmp_path / "epc.zip", FOLDERS)
    pattern = "**/certificates.csv"

    report = load(archive, db, table, src_file_name=pattern, if_exists="append")
    assert report.error is None, report.error
    assert normalized(db.rows(table)) == normalized(text_rows(FOLDERS))
    assert sorted(f.name for f in report.files) == [f"epc.zip!/{name}" for name in sorted(FOLDERS)]

    unpacked = load(folder, db, table + "_u", src_file_name=pattern)
    assert unpacked.error is None, unpacked.error
    assert normalized(db.rows(table + "_u")) == normalized(db.rows(table))
    db.drop(table + "_u")

    again = load(archive, db, table, src_file_name=pattern, if_exists="append")
    assert again.error is None, again.error
    assert sorted(again.skipped) == [f"epc.zip!/{name}" for name in sorted(FOLDERS)]
    assert len(db.rows(table)) == 3


def test_zip_members_read_back_as_written_whatever_their_compression(tmp_path):
    """Deflated members are inflated by ISA-L (processor/inflate.py), the others by zipfile."""
    text = b"".join(b"%d,%x,row %d\r\n" % (n, n * 7919, n) for n in range(200_000))  # several MiB
    members = {"big.csv": (text, zipfile.ZIP_DEFLATED), "empty.csv": (b"", zipfile.ZIP_DEFLATED)}
    members |= {"stored.csv": (text[:5000], zipfile.ZIP_STORED), "bz.csv": (text[:5000], zipfile.ZIP_BZIP2)}
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, method) in members.items():
            archive.writestr(name, data, compress_type=method)
    with zipfile.ZipFile(path) as archive:
        for name, (data, method) in members.items():
            with open_zip_member(str(path), archive, archive.getinfo(name)) as stream:
                assert isinstance(stream, zipfile.ZipExtFile) == (method != zipfile.ZIP_DEFLATED)
                pieces = [stream.read(size) for size in (1, 7, 65_536, 1 << 20)]
                assert b"".join(pieces) + stream.read() == data, name
                assert stream.read() == b""


def _with_wrong_crc(path: Path) -> None:
    """Change the CRC-32 that the archive's directory gives its first member."""
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02") + 16
    data[at : at + 4] = bytes(b ^ 0xFF for b in data[at : at + 4])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("kind", "inner", "pattern", "name"),
    [("member", "a/x.csv", "**/x.csv", "epc.zip!/a/x.csv"), ("zip file", "x.csv", "*.zip", "x.zip")],
)
def test_a_zip_member_not_matching_its_crc_is_exit_3_and_nothing_is_written(
    cli, tmp_path, kind, inner, pattern, name
):
    text = "n,t\n" + "".join(f"{n},row {n}\n" for n in range(50_000))
    (tmp_path / "src").mkdir()
    archive = make_zip(tmp_path / ("epc.zip" if kind == "member" else "src/x.zip"), {inner: text})
    _with_wrong_crc(archive)
    db_path = tmp_path / "out.db"
    source = archive if kind == "member" else archive.parent
    env = {"SRC_DATA_FOLDER": str(source), "SRC_FILE_NAME": pattern, "DEST_SQL": f"sqlite:///{db_path}"}
    code, out, err = cli([], env)
    assert (code, out, err) == (3, "", f"error: {name}: cannot be read: Bad CRC-32 for file {inner!r}\n")
    if db_path.exists():  # the ledger may be there; no table x
        with contextlib.closing(sqlite3.connect(db_path)) as conn:
            assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'x'").fetchall() == []


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_tar_members_are_found_by_glob_and_named_inside_the_archive(tmp_path, mode):
    suffix = ".tar" if mode == "w" else ".tar.gz"
    contents = {**FOLDERS, "README.txt": "not data\n"}
    archive = make_tar(tmp_path / f"epc{suffix}", contents, mode)
    found = discover_files(archive, "**/certificates.csv", None)
    assert [f.name for f in found] == [f"epc{suffix}!/{name}" for name in sorted(FOLDERS)]
    assert [f.relative_path for f in found] == sorted(FOLDERS)


def test_a_rejected_row_in_a_member_names_the_member_and_its_line(tmp_path, db, table):
    contents = {"a/x.csv": "id,n\n1,5\n2,6\n", "b/x.csv": "id,n\n3,7\n4,8,extra\n"}
    archive = make_tar(tmp_path / "data.tar.gz", contents, "w:gz")
    report = load(archive, db, table, src_file_name="**/x.csv", max_errors=5)
    assert report.error is None, report.error
    assert [(r.file, r.line, r.text) for r in report.rejects] == [("data.tar.gz!/b/x.csv", 3, "4,8,extra")]
    assert sorted(db.rows(table)) == [(1, 5), (2, 6), (3, 7)]


def test_the_path_column_holds_each_rows_path_inside_the_archive(db, table, tmp_path):
    archive = make_zip(tmp_path / "epc.zip", FOLDERS)
    report = load(archive, db, table, src_file_name="**/certificates.csv", src_path_column="source_path")
    assert report.error is None, report.error
    assert db.columns(table)[-1] == "source_path"
    found = sorted((str(row[0]), str(row[-1])) for row in db.rows(table))
    assert found == [
        ("k1", "domestic-E01-Leeds/certificates.csv"),
        ("k2", "domestic-E01-Leeds/certificates.csv"),
        ("k3", "domestic-E02-York/certificates.csv"),
    ]


def test_a_tar_member_is_hashed_while_read_skipped_unchanged_and_refused_changed(tmp_path, table):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")  # the ledger's bookkeeping
    contents = {"a/x.csv": "id\n1\n", "b/x.csv": "id\n2\n"}
    archive = make_tar(tmp_path / "d.tar.gz", contents, "w:gz")
    assert load(archive, db, table, src_file_name="**/x.csv", if_exists="append").error is None
    fingerprints = dict(db._query("SELECT source, fingerprint FROM _import_ledger").rows_list)
    assert fingerprints["d.tar.gz!/a/x.csv"] == "sha256:" + hashlib.sha256(b"id\n1\n").hexdigest()
    again = load(archive, db, table, src_file_name="**/x.csv", if_exists="append")
    assert sorted(again.skipped) == ["d.tar.gz!/a/x.csv", "d.tar.gz!/b/x.csv"]
    make_tar(archive, {**contents, "b/x.csv": "id\n3\n"}, "w:gz")  # same size, other bytes
    changed = load(archive, db, table, src_file_name="**/x.csv", if_exists="append")
    assert changed.error is not None
    assert changed.error.exit_code == 3
    assert str(changed.error).startswith("d.tar.gz!/b/x.csv: changed since it was loaded")
    assert sorted(db.rows(table)) == [(1,), (2,)]
