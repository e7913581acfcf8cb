"""Line-delimited JSON (issues 11 and 19): nested values kept as JSON text, missing keys NULL, lines
that are no object or bring a new key rejected with their line, values no column holds rejected.

Oracles are the source text read with Python's json module, and the rows as the file means them,
read back with plain SQL; rejects are read from the rejects file as CSV.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pytest
from conftest import Database, load, write
from test_quotes import rejects_of

NDJSON = (
    '{"id": 1, "price": 1.10, "tags": ["a", {"b": 2.50}], "name": "Zo\\u00eb"}\n'
    "\n"
    '{"id": 2, "price": 3.25, "name": null, "extra": {"k": [1, true, null]}}\n'
    '{"id": 3}\n'
)


def test_ndjson_keeps_nested_values_as_json_text_and_missing_keys_null(db, table, tmp_path):
    (tmp_path / "src").mkdir()
    with gzip.open(tmp_path / "src" / "items.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write(NDJSON)
    report = load(tmp_path / "src", db, table, src_file_name="*.jsonl.gz")
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "price", "tags", "name", "extra"]
    rows = {int(row[0]): row[1:] for row in db.rows(table)}
    # The oracle: each line's JSON as Python's json module reads it (numbers as decimals).
    records = [json.loads(line, parse_float=Decimal) for line in NDJSON.splitlines() if line]
    for record in records:
        price, tags, name, extra = rows[record["id"]]
        assert (None if price is None else Decimal(str(price))) == record.get("price")
        assert (None if tags is None else json.loads(tags, parse_float=Decimal)) == record.get("tags")
        assert name == record.get("name")
        assert (None if extra is None else json.loads(extra)) == record.get("extra")
    assert rows[1][1] == '["a",{"b":2.50}]'  # the nested value's text, its numbers as written


@pytest.mark.parametrize("split_bytes", [1 << 20, 16], ids=["whole", "in-parts"])
def test_ndjson_lines_that_are_no_object_or_bring_a_new_key_are_rejected_with_their_line(
    tmp_path, table, split_bytes
):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")  # reading, not the database's
    text = '{"id": 1}\n\nnot json\n[1, 2]\n{"id": 2, "late": "x"}\n{"id": 3}\n'
    write(tmp_path / "src", "a.ndjson", text)
    report = load(
        tmp_path / "src",
        db,
        table,
        src_file_name="*.ndjson",
        max_errors=3,
        sample_rows=1,
        split_bytes=split_bytes,
    )
    assert report.error is None, report.error
    assert [(r.line, r.text) for r in report.rejects] == [
        (3, "not json"),
        (4, "[1, 2]"),
        (5, '{"id": 2, "late": "x"}'),
    ]
    assert report.rejects[2].reason.startswith("key 'late' is not a column")
    assert sorted(db.rows(table)) == [(1,), (3,)]


def test_ndjson_values_no_column_holds_are_rejected_rows(db, table, tmp_path):
    lines = [
        '{"id":1,"dup":"one","n":123456789012345678901234567890}',
        '{"id":2,"dup":"first","dup":"second"}',  # line 2
        '{"id":3,"dup":{"x":1,"x":2}}',  # line 3: nested
        '{"id":4,"dup":"\\ud800"}',  # line 4: a lone surrogate
        '{"id":5,"dup":["a",{"b":2.50}],"n":-0.000}',
    ]
    write(tmp_path / "src", "a.jsonl", "\n".join(lines) + "\n")
    report = load(tmp_path / "src", db, table, src_file_name="*.jsonl", max_errors=3)
    assert report.error is None, report.error
    rows = db.rows(table, order_by="id")
    assert [(r[0], r[1]) for r in rows] == [(1, "one"), (5, '["a",{"b":2.50}]')]
    # the 30-digit number and -0.000 as written (an exact decimal or text, never a float)
    numbers = [Decimal("123456789012345678901234567890"), Decimal("-0.000")]
    assert [Decimal(str(r[2])) for r in rows] == numbers
    rejects = rejects_of(tmp_path, table)
    assert [(r[1], r[3]) for r in rejects] == [("2", lines[1]), ("3", lines[2]), ("4", lines[3])]
    assert rejects[0][2] == "key 'dup' appears more than once in an object (one value would be lost)"
    assert rejects[1][2] == "key 'x' appears more than once in an object (one value would be lost)"
    assert rejects[2][2] == "the string '\\ud800' holds a lone surrogate escape: no character"


def test_ndjson_nul_in_a_string_is_held_exactly_or_rejected(db, table, tmp_path):
    write(tmp_path / "src", "a.jsonl", '{"id":1,"s":"a\\u0000b"}\n{"id":2,"s":"ok"}\n')
    report = load(tmp_path / "src", db, table, src_file_name="*.jsonl", max_errors=1)
    assert report.error is None, report.error
    rows = db.rows(table, order_by="id")
    held = not (tmp_path / f"{table}.rejects.csv").exists()
    rejected = [] if held else [r[1] for r in rejects_of(tmp_path, table)]
    if rejected:
        assert (rejected, rows) == (["1"], [(2, "ok")])
    else:
        assert rows == [(1, "a\x00b"), (2, "ok")]


def test_src_columns_still_picks_ndjson_keys_with_src_header_false(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    write(tmp_path / "src", "a.jsonl", '{"id":1,"x":"a","y":"b"}\n')
    report = load(tmp_path / "src", db, "t", src_file_name="*.jsonl", src_header=False, src_columns=("y",))
    assert report.error is None, report.error
    assert db.columns("t") == ["y"]
    assert db.rows("t") == [("b",)]
