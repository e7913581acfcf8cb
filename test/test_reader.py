"""Unit tests of the CSV reader: rechunking, line look-ups of records, the header, and no arbitrary limit
on a field, a record or a block.

No database here; these pin the exact messages and edge cases the integration tests rely on.
"""

from __future__ import annotations

import gzip

import pyarrow as pa
import pytest
from conftest import write

from processor.errors import SourceError
from processor.records import SourceFile
from processor.sources.read import locate_records, read_batches, read_header, rechunk, sample_rows
from processor.sources.text import InvalidRow, ReadRequest, TextFormat


def batch(start: int, rows: int) -> pa.RecordBatch:
    return pa.record_batch([pa.array(range(start, start + rows))], names=["n"])


def test_rechunk_gives_exact_sizes_and_keeps_order():
    batches = [batch(0, 3), batch(3, 5), batch(8, 0), batch(8, 2), batch(10, 9)]
    tables = list(rechunk(batches, 4))
    assert [t.num_rows for t in tables] == [4, 4, 4, 4, 3]
    assert [v for t in tables for v in t.column("n").to_pylist()] == list(range(19))


def test_rechunk_exact_multiple_and_nothing():
    assert [t.num_rows for t in rechunk([batch(0, 6)], 3)] == [3, 3]
    assert list(rechunk([], 3)) == []


def source_for(path, delimiter: str = ",", compression: str | None = None) -> SourceFile:
    return SourceFile(
        path=str(path), name=path.name, size=path.stat().st_size, compression=compression, delimiter=delimiter
    )


def test_locate_records_across_multiline_quoted_fields(tmp_path):
    text = 'a,b\r\n1,"one\r\ntwo\r\nthree"\r\n2,x\r\n\r\n3,"y\nz",extra\r\n4,w\r\n'
    path = write(tmp_path, "m.csv", text)
    found = locate_records(source_for(path), TextFormat(), [3, 4, 5])
    assert found == {3: (5, "2,x"), 4: (7, '3,"y\nz",extra'), 5: (9, "4,w")}


def test_locate_records_gzip_and_tsv(tmp_path):
    path = tmp_path / "m.tsv.gz"
    path.write_bytes(gzip.compress(b'a\tb\n1\t"x\ny"\n2\n'))
    found = locate_records(source_for(path, "\t", "gzip"), TextFormat(), [3])
    assert found == {3: (4, "2")}


def test_header_with_undecodable_bytes_later_names_their_line(tmp_path):
    path = write(tmp_path, "bad.csv", b"a,b\n1,2\n3,\xff\n")
    with pytest.raises(SourceError) as caught:
        read_header(source_for(path), TextFormat())
    assert str(caught.value) == (
        "bad.csv: line 3: bytes not valid utf-8; set SRC_ENCODING to the files' encoding "
        "(it looks like cp1252: SRC_ENCODING=cp1252)"
    )


def test_header_of_damaged_gzip(tmp_path):
    path = write(tmp_path, "bad.csv.gz", b"this is not gzip")
    with pytest.raises(SourceError) as caught:
        read_header(source_for(path, compression="gzip"), TextFormat())
    assert str(caught.value) == "bad.csv.gz: cannot be read: Not a gzipped file (b'th')"


def test_locate_records_with_fields_over_128_kib(tmp_path):
    field = "é" * 200_000
    path = write(tmp_path, "m.csv", f'a,b\n1,"{field}\n{field}"\n2,x,y\n')
    found = locate_records(source_for(path), TextFormat(), [2, 3])
    assert found == {2: (2, f'1,"{field}\n{field}"'), 3: (4, "2,x,y")}


def test_a_header_quote_never_closed_is_not_read_to_the_end(tmp_path):
    path = write(tmp_path, "m.csv", '"a,b\n' + "1,x\n" * 100_000)
    with pytest.raises(SourceError) as caught:
        read_header(source_for(path), TextFormat())
    assert str(caught.value) == "m.csv: line 1: unreadable header: field larger than field limit (131072)"


def test_a_record_over_a_block_keeps_every_row_and_number(tmp_path):
    big = "y" * (3 << 20)  # spans more than two of Arrow's 1 MiB blocks
    rows = [f"{i},r{i}\n" for i in range(50_000)]
    text = "a,b\n" + "".join(rows) + "bad\n\n" + f'big,"{big}"\n' + "x,y,z\n" + "".join(rows)
    invalid: list[InvalidRow] = []
    batches = list(
        read_batches(source_for(write(tmp_path, "m.csv", text)), TextFormat(), ReadRequest(2, invalid.append))
    )
    values = [
        (a, b) for batch in batches for a, b in zip(*(c.to_pylist() for c in batch.columns), strict=True)
    ]
    expected = [(str(i), f"r{i}") for i in range(50_000)]
    assert values == [*expected, ("big", big), *expected]
    assert invalid == [InvalidRow(record=50_002, fields=1), InvalidRow(record=50_004, fields=3)]


def test_a_quote_never_closed_fails_with_its_line(tmp_path, monkeypatch):
    import processor.sources.formats.csv

    monkeypatch.setattr(processor.sources.formats.csv, "MAX_BLOCK_BYTES", 4 << 20)
    text = 'a,b\n1,x\n2,"open\n' + "".join(f"{i},x\n" for i in range(1_000_000))
    source = source_for(write(tmp_path, "m.csv", text))
    with pytest.raises(SourceError) as caught:
        list(read_batches(source, TextFormat(), ReadRequest(2, lambda row: None)))
    assert (
        str(caught.value)
        == "m.csv: a record after line 2 is larger than 4 MiB, or a quote there is never closed"
    )


def test_a_sample_ends_early_in_a_file_read_with_larger_blocks(tmp_path):
    text = "a,b\n" + f'1,"{"y" * (3 << 20)}"\n' + "".join(f"{i},x\n" for i in range(500_000))
    sample = sample_rows(source_for(write(tmp_path, "m.csv", text)), TextFormat(), 2, 2)
    assert sample.column(0).to_pylist() == ["1", "0"]
