"""Issue 20, input formats behind one registry: discovery gives each file the format its data
suffix names, the readers ask that format, and no stage compares format names; a format added
to the registry is found and read with no other change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from conftest import ROOT, write

from processor.sources import formats
from processor.sources.discover import discover_files
from processor.sources.formats import format_of, has_header
from processor.sources.formats.base import Format
from processor.sources.parts import WHOLE, Part
from processor.sources.read import locate_records, read_batches, read_header
from processor.sources.text import ReadRequest, TextFormat


def test_discovery_gives_each_file_the_format_of_its_data_suffix(tmp_path):
    src = tmp_path / "src"
    for name in ["a.csv", "b.tsv.gz", "c.jsonl", "d.NDJSON", "e.ndjson.zst", "f.txt", "g.dat"]:
        write(src, name, "x\n1\n")
    found = {f.name: (f.data_format, f.delimiter) for f in discover_files(src, "*", None)}
    assert found == {
        "a.csv": ("csv", ","),
        "b.tsv.gz": ("csv", "\t"),
        "c.jsonl": ("ndjson", ","),
        "d.NDJSON": ("ndjson", ","),
        "e.ndjson.zst": ("ndjson", ","),
        "f.txt": ("csv", ","),  # a suffix no format lists: delimited text, as before the registry
        "g.dat": ("csv", ","),
    }


def test_each_format_says_what_its_files_are_like():
    csv, ndjson = formats.format_named("csv"), formats.format_named("ndjson")
    assert (csv.header_line, csv.keyed, csv.delimited, csv.splittable) == (True, False, True, True)
    assert (ndjson.header_line, ndjson.keyed, ndjson.delimited) == (False, True, False)
    assert ndjson.splittable
    assert csv.boundary_quoting(TextFormat(quoting="none")) == "none"
    assert ndjson.boundary_quoting(TextFormat(quoting="csv")) == "none"  # every line is one record


class _LinesFormat:
    """A format added as a new one would be: one module's class and one registry entry.  Each
    line is one value of the one column ``line``."""

    name = "lines"
    suffixes: tuple[str, ...] = (".lines",)
    header_line = False
    keyed = False
    delimited = False
    splittable = False
    no_columns = "no line"
    typed = False
    parted = False

    def default_delimiter(self, suffix: str) -> str:
        return ","

    def boundary_quoting(self, fmt: TextFormat) -> str:
        return "none"

    def parts(self, source, split_bytes) -> tuple[Part, ...]:
        return (Part(),)

    def row_count(self, source) -> int | None:
        return None

    def read_header(self, source, fmt, records) -> list[str] | None:
        return ["line"]

    def read_batches(self, source, fmt, request) -> Iterator[pa.RecordBatch]:
        lines = Path(source.path).read_text().splitlines()
        yield pa.record_batch([pa.array(lines, pa.string())], names=["0"])

    def locate_records(self, source, fmt, records, part: Part) -> dict[int, tuple[int, str]]:
        lines = Path(source.path).read_text().splitlines()
        return {r: (r, lines[r - 1]) for r in records}


def test_a_format_added_to_the_registry_is_discovered_and_read(tmp_path, monkeypatch):
    added: Format = _LinesFormat()
    monkeypatch.setitem(formats.FORMATS, added.name, added)
    src = tmp_path / "src"
    write(src, "a.lines", "first\nsecond\n")
    (source,) = discover_files(src, "*", None)
    assert format_of(source) is added
    assert not has_header(source)  # its format has no header line
    assert read_header(source, TextFormat()) == ["line"]
    batches = list(read_batches(source, TextFormat(), ReadRequest(1, lambda row: None)))
    assert batches[0].column(0).to_pylist() == ["first", "second"]
    assert locate_records(source, TextFormat(), [2], WHOLE) == {2: (2, "second")}


def test_no_stage_compares_format_names():
    """Only the formats' own modules know a format by name: the rest asks the format."""
    compared = re.compile(r"""data_format\s*(==|!=|in\b)|["']ndjson["']""")
    found = []
    for path in sorted((ROOT / "processor").rglob("*.py")):
        if "formats" in path.relative_to(ROOT / "processor").parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if compared.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
