"""Input formats behind one small registry: discovery gives each file the format its suffix
names, and the stages ask that format (``base.Format``) instead of comparing names.  A new
format is one module here and one entry in ``FORMATS``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from processor.sources.formats.arrow_ipc import ARROW_IPC
from processor.sources.formats.base import Format
from processor.sources.formats.csv import CSV
from processor.sources.formats.ndjson import NDJSON
from processor.sources.formats.parquet import PARQUET

if TYPE_CHECKING:
    from processor.records import SourceFile

#: Every format by name.  A file whose data suffix no format lists is delimited text.
FORMATS: dict[str, Format] = {f.name: f for f in (CSV, NDJSON, PARQUET, ARROW_IPC)}
DEFAULT: Format = CSV


def format_named(name: str) -> Format:
    """The format called ``name`` (``SourceFile.data_format``)."""
    return FORMATS[name]


def format_for(suffix: str) -> Format:
    """The format of a file whose data suffix (after any compression suffix) is ``suffix``."""
    suffix = suffix.lower()
    return next((f for f in FORMATS.values() if suffix in f.suffixes), DEFAULT)


def format_of(source: SourceFile) -> Format:
    """The format that reads ``source`` (its name travels to the workers; the registry is the same there)."""
    return FORMATS[source.data_format]


def has_header(source: SourceFile) -> bool:
    """Whether the file's first record names the columns (a format with a header line, and
    SRC_HEADER not false), rather than being data (NDJSON, SRC_HEADER=false)."""
    return format_of(source).header_line and source.header
