"""One large file split into record-aligned parts (SPLIT_BYTES): exact rows, exact line numbers.

The oracle is Python's csv module reading the whole file (not the scanner's quote counting):
the records of the parts, read one by one, must be the whole file's records, and every rejected
row must carry the line that a plain reading of the whole file gives it.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import re

import pytest
from conftest import load, write

from processor.sources.discover import discover_files
from processor.sources.parts import WHOLE, file_parts
from processor.sources.quotes import BoundaryScanner
from processor.sources.read import locate_records, read_batches
from processor.sources.split import stream_blocks
from processor.sources.text import InvalidRow, ReadRequest, TextFormat

# Every trap at once: a BOM, CRLF and LF, a lone CR inside quotes, quoted line breaks, doubled
# quotes (some right where a split may fall), multi-byte characters, blank lines, ragged rows,
# and one record far longer than the tiny parts.
TRAPS = (
    "\ufeffid,text,n\r\n"
    '1,"two\r\nlines",10\r\n'
    '2,"""quoted"" at the start",20\n'
    "3,plain é ü 漢字 😀,30\n"
    "\n"
    '4,"a,b ""c""\nd\re",40\r\n'
    "5,ragged\n"
    f'6,"{"long " * 400}\n{"x" * 300}",60\n'
    '7,"",70\r\n'
    "8,tail 🙂,80\n"
    "9,too,many,fields\n"
    '10,"ends with ""\n""",100\n'
)


def records(data: bytes, quoting: str = "csv") -> list[list[str]]:
    """Python's csv module's records of ``data`` (blank lines are none)."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    if quoting == "none":
        return [row for row in csv.reader(text, quoting=csv.QUOTE_NONE) if row]
    return [row for row in csv.reader(text) if row]


def scanned(data: bytes, step: int, quoting: str, seed: int) -> BoundaryScanner:
    """The scanner fed ``data`` in random pieces, as blocks arrive."""
    scanner = BoundaryScanner(step, quoting, ",")
    rng, at = random.Random(seed), 0
    while at < len(data):
        size = rng.randint(1, 64)
        scanner.feed(data[at : at + size])
        at += size
    scanner.finish()
    return scanner


@pytest.mark.parametrize("quoting", ["csv", pytest.param("none", marks=pytest.mark.slow)])
def test_every_split_point_gives_the_whole_files_records_and_lines(tmp_path, quoting):
    """With every part size from 1 byte up, the parts' rows are the file's rows in order, and
    their rejected rows' lines are the file's lines."""
    data = TRAPS.encode()
    source = discover_files(write(tmp_path, "a.csv", data).parent, "a.csv", None)[0]
    fmt = TextFormat(quoting=quoting)
    whole = records(data, quoting)
    splits = 0
    for step in range(1, len(data) + 2, 7):
        parts = file_parts(scanned(data, step, quoting, step).boundaries)
        splits += len(parts) - 1
        rows: list[list[str | None]] = []
        lines: list[tuple[int, str]] = []
        for part in parts:
            invalid: list[InvalidRow] = []
            for batch in read_batches(source, fmt, ReadRequest(3, invalid.append, part)):
                rows += [list(r.values()) for r in batch.to_pylist()]
            found = locate_records(source, fmt, [row.record for row in invalid], part)
            lines += [found[row.record] for row in invalid]
        expected = [[v or None for v in row] for row in whole[1:] if len(row) == 3]
        assert rows == expected, step
        assert lines == _ragged_lines(data, quoting), step
    assert splits > 100  # the parts were many, and fell everywhere


def _ragged_lines(data: bytes, quoting: str) -> list[tuple[int, str]]:
    """The physical line and text of each record without 3 fields, counted by csv's reader."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    found, line = [], 1
    lines = text.read().splitlines(keepends=True)
    reader = csv.reader(lines, quoting=csv.QUOTE_NONE) if quoting == "none" else csv.reader(lines)
    for row in reader:
        first = line
        line = reader.line_num + 1
        if row and len(row) != 3:
            found.append((first, "".join(lines[first - 1 : line - 1]).rstrip("\r\n")))
    return found


def test_a_quote_that_breaks_the_rule_stops_the_splitting_there():
    """``12" pipe`` in an unquoted field is read literally: past it the quote count proves
    nothing, so no boundary comes after it."""
    data = b'a,b\n1,x\n2,12" pipe\n3,y\n4,"z"\n'
    scanner = scanned(data, 1, "csv", 0)
    assert scanner.unsafe_at == data.index(b'"')
    assert [offset for offset, _ in scanner.boundaries] == [4, 8]
    # A quote that would close a field but is followed by more of it: the same.
    data = b'a,b\n1,x\n2,"a,"c\n3,y\n'
    scanner = scanned(data, 1, "csv", 0)
    assert scanner.unsafe_at == data.index(b'"c')
    assert [offset for offset, _ in scanner.boundaries] == [4, 8]


def test_compressed_blocks_are_the_files_records(tmp_path):
    """A .gz file cut into decompressed blocks as it is read: each block's records, read alone."""
    data = TRAPS.encode()
    path = write(tmp_path, "a.csv.gz", gzip.compress(data))
    source = discover_files(path.parent, "a.csv.gz", None)[0]
    blocks = list(stream_blocks(source, TextFormat(), 20))
    assert len(blocks) > 5
    assert [b.last for b in blocks] == [False] * (len(blocks) - 1) + [True]
    assert b"".join(b.data or b"" for b in blocks) == data
    read = [row for b in blocks for row in records(b.data or b"")[b.header :]]
    assert read == records(data)[1:]
    assert blocks[0].first_line == 1
    line_breaks = re.findall(rb"\r\n|\r|\n", data[: blocks[-2].start])
    assert blocks[-2].first_line == 1 + len(line_breaks)


def test_a_compressed_file_goes_out_in_blocks_of_at_most_4_mib(tmp_path):
    """With the default SPLIT_BYTES, each block a task carries (and the run and its worker hold
    whole) is at most 4 MiB and a record, as the README says: the memory of every process."""
    line = b"1234567890," * 9 + b"end\n"  # 103 bytes
    data = b"a,b,c,d,e,f,g,h,i,j\n" + line * (9 * (1 << 20) // len(line))
    path = write(tmp_path, "big.csv.gz", gzip.compress(data, compresslevel=1))
    source = discover_files(path.parent, "big.csv.gz", None)[0]
    blocks = list(stream_blocks(source, TextFormat(), 128 << 20))
    sizes = [len(b.data or b"") for b in blocks]
    assert all(size <= (4 << 20) + len(line) for size in sizes), sizes
    assert all(size > (4 << 20) - len(line) for size in sizes[:-1]), sizes
    assert len(blocks) == 3  # 9 MiB of text
    assert b"".join(b.data or b"" for b in blocks) == data


def test_a_file_no_larger_than_a_part_is_whole():
    assert file_parts([]) == (WHOLE,)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["a.csv", "a.csv.gz"])
def test_a_split_file_loads_as_the_whole_file_does(db, table, tmp_path, name):
    """Tiny parts in a pool of two against one worker reading the file whole: the same rows and
    the same rejected lines, on every database; the report and rejects name the whole file."""
    data = ("id,text,n\n" + "".join(f'{i},"row {i}\n{"é" * (i % 5)}",{i}\n' for i in range(300))).encode()
    data = data.replace(b"\n7,", b"\n7,ragged\n7,", 1)
    write(tmp_path / "src", name, gzip.compress(data) if name.endswith(".gz") else data)
    options = {"src_file_name": name, "max_errors": 5, "chunk_size": 40}
    whole = load(tmp_path / "src", db, table, split_bytes=1 << 30, **options)
    assert whole.error is None, whole.error
    expected = db.rows(table, order_by="id")
    db.drop(table)
    split = load(tmp_path / "src", db, table, split_bytes=1500, workers=2, **options)
    assert split.error is None, split.error
    assert db.rows(table, order_by="id") == expected
    assert len(expected) == 300
    assert [(f.name, f.rows) for f in split.files] == [(name, 300)]
    assert [(r.file, r.line, r.text) for r in split.rejects] == [(name, 16, "7,ragged")]
