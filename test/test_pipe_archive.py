"""A piped archive (SRC_DATA_FOLDER=-, SRC_FILE_NAME=data.zip, data.tar.gz, ...) is spooled and
read as SRC_DATA_FOLDER naming the same archive on disk is: its members matching a glob (given
after ``!/``, else ``**/*.csv``) are the files, named ``data.zip!/member``; a ``.zip`` whose name
says the file it compresses (``data.csv.zip``) stays that one file.

Every run is ``python index.py`` with a real pipe on its standard input.  Oracles: the rows the
test wrote into the archive, read back with plain SQL; the rejects file and the report as JSON;
the ledger's rows.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Literal

import pytest
from conftest import Database
from test_pipe_source import pipe, spools

#: Member -> its text: two CSV files in folders, one not matched by the default glob.
MEMBERS = {
    "2023/q1.csv": 'id,name\n1,Zoë\n2,"a, b"\n',
    "2024/q2.csv": "id,name\n3,007\n4,\n",
    "README.txt": "not data\n",
}
ROWS = [(1, "Zoë"), (2, "a, b"), (3, "007"), (4, None)]


def zipped(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text.encode())
    return buffer.getvalue()


def tarred(members: dict[str, str], mode: Literal["w", "w:gz", "w:bz2", "w:xz"]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


ARCHIVES = {
    "data.zip": zipped(MEMBERS),
    "data.tar": tarred(MEMBERS, "w"),
    "data.tar.gz": tarred(MEMBERS, "w:gz"),
    "data.tgz": tarred(MEMBERS, "w:gz"),
    "data.tar.bz2": tarred(MEMBERS, "w:bz2"),
    "data.tar.xz": tarred(MEMBERS, "w:xz"),
}


def table_rows(db: Database, table: str) -> list[tuple[int, str | None]]:
    q = db.quote
    rows = db._query(f"SELECT {q('id')}, {q('name')} FROM {q(table)} ORDER BY {q('id')}").rows_list
    return [(int(i), n) for i, n in rows]


@pytest.mark.parametrize(
    "name",
    [
        n if n in ("data.zip", "data.tar.gz") else pytest.param(n, marks=pytest.mark.slow)
        for n in sorted(ARCHIVES)
    ],
)
def test_a_piped_archives_members_are_loaded_as_a_local_archives(tmp_path, name):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    report = tmp_path / "report.json"
    result = pipe(
        tmp_path,
        ARCHIVES[name],
        DEST_SQL=db.url,
        DEST_TABLE="t",
        SRC_FILE_NAME=name,
        REPORT_PATH=str(report),
        WORKERS="2",
    )
    assert result.returncode == 0, result.stderr
    assert table_rows(db, "t") == ROWS
    files = [f["name"] if isinstance(f, dict) else f for f in json.loads(report.read_text())["files"]]
    assert sorted(files) == [f"{name}!/2023/q1.csv", f"{name}!/2024/q2.csv"]  # README.txt is no match
    assert spools(tmp_path) == []


def test_a_piped_archive_loads_into_every_database(db, table, tmp_path):
    result = pipe(tmp_path, ARCHIVES["data.zip"], DEST_SQL=db.url, DEST_TABLE=table, SRC_FILE_NAME="data.zip")
    assert result.returncode == 0, result.stderr
    assert table_rows(db, table) == ROWS


def test_a_glob_after_the_archives_name_picks_its_members(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    members = {**MEMBERS, "2024/extra.tsv": "id\tname\n5\tfive\n"}
    for glob, expected in [("2024/*", [(3, "007"), (4, None), (5, "five")]), ("**/*.tsv", [(5, "five")])]:
        result = pipe(
            tmp_path,
            zipped(members),
            DEST_SQL=db.url,
            DEST_TABLE="t",
            IF_EXISTS="replace",
            MAX_SHRINK="0",
            SRC_FILE_NAME=f"data.zip!/{glob}",
        )
        assert result.returncode == 0, result.stderr
        assert table_rows(db, "t") == expected, glob


def test_a_rejected_row_names_its_member_and_line(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    members = {"a.csv": "id,n\n1,5\n2,6\n", "b.csv": "id,n\n3,7\n4,x\n5,8\n"}
    rejects = tmp_path / "rejects.csv"
    result = pipe(
        tmp_path,
        tarred(members, "w:gz"),
        DEST_SQL=db.url,
        DEST_TABLE="t",
        SRC_FILE_NAME="d.tar.gz",
        SCHEMA_FILE=str(write_schema(tmp_path)),
        MAX_ERRORS="1",
        REJECTS_PATH=str(rejects),
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8"))))
    assert [(r[0], r[1]) for r in rows[1:]] == [("d.tar.gz!/b.csv", "3")]
    assert db._query("SELECT id, n FROM t ORDER BY id").rows_list == [(1, 5), (2, 6), (3, 7), (5, 8)]


def write_schema(tmp_path: Path) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"columns": {"id": "integer", "n": "integer"}}))
    return path


@pytest.mark.slow  # three runs
def test_a_piped_zip_rerun_skips_its_members_by_their_crc(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    settings = {"DEST_SQL": db.url, "DEST_TABLE": "t", "SRC_FILE_NAME": "data.zip", "IF_EXISTS": "append"}
    assert pipe(tmp_path, ARCHIVES["data.zip"], **settings).returncode == 0
    again = pipe(tmp_path, ARCHIVES["data.zip"], **settings, REPORT_PATH=str(tmp_path / "r.json"))
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "r.json").read_text())["skipped"] == [
        "data.zip!/2023/q1.csv",
        "data.zip!/2024/q2.csv",
    ]
    assert table_rows(db, "t") == ROWS
    ledger = db._query("SELECT source, fingerprint FROM _import_ledger ORDER BY source").rows_list
    assert [(s, f.split(":")[0]) for s, f in ledger] == [
        ("data.zip!/2023/q1.csv", "crc32"),
        ("data.zip!/2024/q2.csv", "crc32"),
    ]


def test_a_zip_named_for_the_file_it_compresses_stays_one_compressed_file(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    result = pipe(
        tmp_path, zipped({"inner-name.txt": "id,name\n1,x\n"}), DEST_SQL=db.url, SRC_FILE_NAME="one.csv.zip"
    )
    assert result.returncode == 0, result.stderr
    assert db._query("SELECT id, name FROM one").rows_list == [(1, "x")]


def test_an_archive_without_a_matching_member_is_exit_3(tmp_path):
    result = pipe(
        tmp_path,
        zipped({"README.txt": "x\n"}),
        DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}",
        SRC_FILE_NAME="d.zip",
    )
    assert result.returncode == 3
    assert result.stderr == "error: no file matches SRC_FILE_NAME='**/*.csv' in d.zip (standard input)\n"
    assert spools(tmp_path) == []


@pytest.mark.parametrize("name", ["data.zip!/", "sub/data.zip!/*.csv", "d*.zip!/*.csv"])
def test_a_piped_archives_name_must_be_plain_and_its_glob_given(tmp_path, name):
    result = pipe(tmp_path, b"x", DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}", SRC_FILE_NAME=name)
    assert result.returncode == 2
    assert result.stderr.startswith("error: SRC_DATA_FOLDER=- reads one file") or result.stderr.startswith(
        f"error: SRC_FILE_NAME={name!r}: a glob of the archive's members must follow '!/'"
    ), result.stderr
