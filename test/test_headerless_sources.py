"""Headerless files (SRC_HEADER=false) from every kind of local source (issue 21: "headerless files
work with every source above"): a gzip file, a zip archive's members, a tar.gz read from a pipe,
and a large file split into parts that two workers load, with the rejected rows' lines counted
from each file's first line.  (Object storage: test_object_storage; a plain pipe: test_pipe_source.)

Oracles: the rows the test wrote, read back with plain SQL; the rejects file as CSV.
"""

from __future__ import annotations

import gzip
import io
import zipfile

from conftest import Database, load, write
from test_pipe_archive import tarred
from test_pipe_source import pipe
from test_quotes import rejects_of

NAMES = ("k", "v")


def lines(first: int, count: int, bad: frozenset[int] = frozenset()) -> tuple[str, list[tuple[int, str]]]:
    """``count`` headerless lines ``k|v`` from ``first``; a line in ``bad`` has a k that is no number."""
    text, rows = [], []
    for k in range(first, first + count):
        if k in bad:
            text.append(f"x{k}|bad\n")
        else:
            text.append(f"{k}|v{k}\n")
            rows.append((k, f"v{k}"))
    return "".join(text), rows


def rows_of(db: Database, table: str) -> list[tuple[int, str]]:
    return [(int(k), v) for k, v in db.rows(table, order_by="k")]


def test_headerless_gzip_and_zip_members(db, table, tmp_path):
    first, first_rows = lines(1, 300, bad=frozenset({7}))
    second, second_rows = lines(301, 200)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.tbl.gz").write_bytes(gzip.compress(first.encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("q/b.tbl", second)
    (tmp_path / "src" / "more.zip").write_bytes(buffer.getvalue())
    report = load(
        tmp_path / "src",
        db,
        table,
        src_file_name="**/*.tbl*",
        src_header=False,
        src_columns=NAMES,
        src_delimiter="|",
        sample_rows=5,  # line 7 is past the sample: planned an integer, it is a rejected row
        max_errors=1,
    )
    report_zip = load(
        tmp_path / "src" / "more.zip",
        db,
        table,
        src_file_name="**/*.tbl",
        src_header=False,
        src_columns=NAMES,
        src_delimiter="|",
        if_exists="append",
    )
    assert (report.error, report_zip.error) == (None, None)
    assert rows_of(db, table) == sorted(first_rows + second_rows)
    assert [r[:2] for r in rejects_of(tmp_path, table)] == [["a.tbl.gz", "7"]]


def test_a_headerless_file_split_into_parts_counts_lines_from_its_first(db, table, tmp_path):
    text, rows = lines(1, 20_000, bad=frozenset({500, 12_345, 19_999}))
    write(tmp_path / "src", "big.tbl", text)
    report = load(
        tmp_path / "src",
        db,
        table,
        src_file_name="*.tbl",
        src_header=False,
        src_columns=NAMES,
        src_delimiter="|",
        split_bytes=20_000,
        sample_rows=100,
        workers=2,
        max_errors=3,
    )
    assert report.error is None, report.error
    assert rows_of(db, table) == rows
    assert sorted(int(r[1]) for r in rejects_of(tmp_path, table)) == [500, 12_345, 19_999]


def test_a_headerless_archive_from_a_pipe(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    first, first_rows = lines(1, 50)
    second, second_rows = lines(51, 50)
    archive = tarred({"2024/a.tbl": first, "2024/b.tbl": second}, "w:gz")
    result = pipe(
        tmp_path,
        archive,
        DEST_SQL=db.url,
        DEST_TABLE="t",
        SRC_FILE_NAME="data.tar.gz!/**/*.tbl",
        SRC_HEADER="false",
        SRC_COLUMNS="k,v",
        SRC_DELIMITER="|",
    )
    assert result.returncode == 0, result.stderr
    assert rows_of(db, "t") == first_rows + second_rows
