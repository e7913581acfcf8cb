"""The data as it is published (issue 11): archives as the source, chosen and renamed columns,
the path column, trailing delimiters, pandas transforms, schema files and line-delimited JSON.

Oracles are the source text itself (read with Python's csv and json modules) or the same rows
loaded from plain files; values are compared as text or decimals, never through the importer.
"""

from __future__ import annotations

import csv
import io
import tarfile
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import load, write

from processor.discover import discover_files

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


def make_tar(path: Path, contents: dict[str, str], mode: str) -> Path:
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
