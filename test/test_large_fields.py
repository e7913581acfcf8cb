"""Readers without arbitrary limits (issue 7): a 10 MB field and a 10 MB record load and are rejected
with their whole text; blank lines are no rows in a one-column file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import load, write


def read_rejects(path: Path) -> list[list[str]]:
    """The rejects CSV as written, fields of any size."""
    limit = csv.field_size_limit(1 << 30)
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            return list(csv.reader(stream))
    finally:
        csv.field_size_limit(limit)


def test_blank_lines_are_no_rows_in_a_one_column_file(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", 'n\n1\n\n""\n2\r\n\r\nx,y\n3\n\n')
    report = load(tmp_path / "src", db, table, max_errors=1)
    assert report.error is None, report.error
    rows = db.rows(table)
    assert sorted(rows, key=lambda row: (row[0] is None, row[0])) == [(1,), (2,), (3,), (None,)]
    assert [(r.line, r.text) for r in report.rejects] == [(7, "x,y")]


BIG = 10_000_000


def big_text(seed: str, size: int) -> str:
    """``size`` characters of text a CSV field must quote: commas, quotes, line breaks, unicode."""
    piece = f'{seed}, "q" é\nline\r\n'
    return (piece * (size // len(piece) + 1))[:size]


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@pytest.mark.slow
def test_a_10_mb_field_loads_and_is_rejected_with_its_text(db, table, tmp_path):
    huge, other = big_text("a", BIG), big_text("b", BIG)
    lines = [
        "id,note",
        f"1,{quoted(huge)}",  # line 2; spans many physical lines
        "2,short",
        f"3,{quoted(other)},extra",  # ragged: rejected whole, with its raw text
        "x4,past the sample",  # does not fit the id column planned from the first rows
        "5,last",
    ]
    write(tmp_path / "src", "a.csv", "\n".join(lines) + "\n")
    report = load(tmp_path / "src", db, table, max_errors=2, sample_rows=2, chunk_size=2)
    assert report.error is None, report.error
    rows = db.rows(table, order_by="id")
    assert [row[0] for row in rows] == [1, 2, 5]
    assert rows[0][1] == huge  # byte for byte, line breaks and all
    assert rows[1:] == [(2, "short"), (5, "last")]
    first = 2 + huge.count("\n") + 1  # the physical line of record 3
    rejects = read_rejects(tmp_path / f"{table}.rejects.csv")
    assert rejects[1:] == [
        ["a.csv", str(first + 1), "expected 2 fields, found 3", f"3,{quoted(other)},extra"],
        ["a.csv", str(first + 2 + other.count("\n")), "column 'id': 'x4' is not a 64-bit integer",
         "x4,past the sample"],
    ]  # fmt: skip


@pytest.mark.slow
def test_a_10_mb_record_loads_and_is_rejected_with_its_text(db, table, tmp_path):
    columns = 100
    fields = [big_text(str(i), BIG // columns) for i in range(columns)]
    record = ",".join(quoted(f) for f in fields)
    header = ",".join(f"c{i}" for i in range(columns))
    write(tmp_path / "src", "a.csv", f"{header}\n{record}\n{record},1\n{record}\n")
    report = load(tmp_path / "src", db, table, max_errors=1)
    assert report.error is None, report.error
    assert db.rows(table) == [tuple(fields), tuple(fields)]
    rejects = read_rejects(tmp_path / f"{table}.rejects.csv")
    line = 2 + record.count("\n") + 1
    assert rejects[1:] == [
        ["a.csv", str(line), f"expected {columns} fields, found {columns + 1}", f"{record},1"]
    ]
