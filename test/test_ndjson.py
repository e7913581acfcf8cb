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
