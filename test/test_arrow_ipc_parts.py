"""A large Arrow IPC (Feather v2) file is loaded in parts of whole record batches, as a Parquet
file is in parts of whole row groups: every row exactly once whatever the workers, rejected rows
with their file and row number; a compressed one, and a small one, stay whole.

Oracles: the ids and values the files are written from, read back with plain SQL; the rejects
file as CSV.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from conftest import Database, load, parts_read
from test_quotes import rejects_of

from processor.sources.discover import discover_files
from processor.sources.formats import format_of
from processor.sources.formats.arrow_ipc import ArrowIpcFormat
from processor.sources.read import read_batches
from processor.sources.text import ReadRequest, TextFormat


def write_ipc(path: Path, table: pa.Table, batch_rows: int) -> Path:
    """An IPC file of record batches of ``batch_rows`` rows each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with ipc.new_file(path, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=batch_rows):
            writer.write_batch(batch)
    return path


def test_the_parts_of_an_ipc_file_are_runs_of_its_record_batches(tmp_path):
    names = pa.array(["a", "b", "c", "d"] * 125).dictionary_encode()  # dictionary batches first
    table = pa.table({"id": pa.array(range(1, 501)), "name": names})
    path = write_ipc(tmp_path / "src" / "g.arrow", table, 100)
    (source,) = discover_files(path.parent, "*.arrow", None)

    parts = format_of(source).parts(source, 1)  # every record batch is a part

    assert [p.first_line for p in parts] == [1, 101, 201, 301, 401]
    assert parts[0].start == 0
    assert [p.last for p in parts] == [False, False, False, False, True]
    read = [
        [
            tuple(row)
            for b in read_batches(source, TextFormat(), ReadRequest(1, lambda row: None, part))
            for row in zip(b.column(0).to_pylist(), b.column(1).to_pylist(), strict=True)
        ]
        for part in parts
    ]
    expected = list(zip(range(1, 501), ["a", "b", "c", "d"] * 125, strict=True))
    assert read == [expected[start : start + 100] for start in range(0, 500, 100)]
    # Larger parts hold several whole batches; one part is the whole file.
    larger = format_of(source).parts(source, path.stat().st_size // 3)
    assert len(larger) in (2, 3)
    assert [p.first_line for p in larger] == sorted(p.first_line for p in larger)
    assert format_of(source).parts(source, path.stat().st_size * 2)[0].whole


@pytest.mark.parametrize("workers", [1, 3])
def test_a_large_ipc_file_loads_every_row_once_in_parts(tmp_path, table, workers, monkeypatch):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'g.db'}")
    read_parts = parts_read(monkeypatch, ArrowIpcFormat)
    ids = list(range(1, 2001))
    values = [math.nan if i in (7, 1950) else i / 4 for i in ids]  # rejects in the first and the last part
    write_ipc(tmp_path / "src" / "big.arrow", pa.table({"id": pa.array(ids), "v": pa.array(values)}), 100)

    report = load(
        tmp_path / "src",
        db,
        table,
        src_file_name="*.arrow",
        split_bytes=4000,
        workers=workers,
        max_errors=5,
    )

    assert report.error is None, report.error
    rows = db.rows(table)
    assert sorted(i for i, _ in rows) == [i for i in ids if i not in (7, 1950)]  # each once
    assert all(v == i / 4 for i, v in rows)
    rejects = rejects_of(tmp_path, table)
    assert [(r[0], int(r[1]), json.loads(r[3])["id"]) for r in rejects] == [
        ("big.arrow", 7, 7),
        ("big.arrow", 1950, 1950),
    ]
    if workers == 1:  # loaded inline: the sample's reading (part 0), then one per part
        assert len(set(read_parts)) > 3, read_parts


def test_a_large_ipc_file_loads_in_parts_on_every_database(db, table, tmp_path):
    ids = list(range(1, 1201))
    text = [f"row {i} é" for i in ids]
    write_ipc(tmp_path / "src" / "t.feather", pa.table({"id": pa.array(ids), "s": pa.array(text)}), 50)

    report = load(tmp_path / "src", db, table, src_file_name="*.feather", split_bytes=2000, workers=2)

    assert report.error is None, report.error
    assert sorted(db.rows(table)) == list(zip(ids, text, strict=True))


def test_a_compressed_ipc_file_is_loaded_whole(tmp_path, table):
    import gzip

    db = Database("sqlite", f"sqlite:///{tmp_path / 'c.db'}")
    path = write_ipc(tmp_path / "plain" / "c.arrow", pa.table({"id": pa.array(range(1, 1001))}), 100)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "c.arrow.gz").write_bytes(gzip.compress(path.read_bytes()))
    (source,) = discover_files(tmp_path / "src", "*.arrow.gz", None)
    from processor.sources.split import splits

    assert not splits(source, TextFormat(), 100)  # no seeking into a compressed file

    report = load(tmp_path / "src", db, table, src_file_name="*.arrow.gz", split_bytes=100, workers=2)

    assert report.error is None, report.error
    assert sorted(i for (i,) in db.rows(table)) == list(range(1, 1001))
