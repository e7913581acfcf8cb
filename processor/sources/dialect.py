"""How each file's text is laid out: its delimiter, detected where SRC_DELIMITER is not set.

A file is read as it is or not at all: a `;`-separated file read with `,` would load as a
one-column table without an error.  So each CSV file's delimiter is chosen among ``, ; tab |``
by splitting its first line and the lines after it with Python's csv module once per
candidate (a delimiter inside a quoted field does not count): a candidate fits a line that it
splits into as many fields as the first line, and the one that fits the most lines is the
file's (lines it does not fit are rejected rows, as they would be with SRC_DELIMITER).  Two
that fit as many lines, or a first line that a candidate splits while it splits none of the
lines below (a one-column file whose name holds it?), make the file ambiguous: SourceError,
asking for SRC_DELIMITER.  A first line that no candidate splits is a one-column file.  Each
file has its own delimiter (files exported by different tools still load into one table); their
headers must still agree.
"""

from __future__ import annotations

import contextlib
import csv
import logging
from collections.abc import Sequence
from dataclasses import replace

from processor.errors import SourceError
from processor.records import SourceFile
from processor.sources.formats import format_of
from processor.sources.text import DAMAGED, TextFormat, open_text, reading_error

log = logging.getLogger(__name__)

#: The delimiters a file's own is chosen among, in the order a tie is named.
CANDIDATES = (",", ";", "\t", "|")
#: Physical lines read to detect a file's delimiter (its first line and those after it).
SNIFF_LINES = 200
#: At most this much text is read to detect it (a quote never closed would otherwise read on).
SNIFF_CHARS = 1 << 20


def settle_dialects(
    files: Sequence[SourceFile], fmt: TextFormat, detect: bool, header: bool
) -> list[SourceFile]:
    """The files with their delimiter (detected, where ``detect``: SRC_DELIMITER is not set) and
    whether their first line is a header (SRC_HEADER); the detected delimiters are logged."""
    settled = [
        replace(f, delimiter=detect_delimiter(f, fmt) if detect and format_of(f).delimited else f.delimiter)
        for f in files
    ]
    if detect:
        _log_detected([f for f in settled if format_of(f).delimited])
    return settled if header else [replace(f, header=False) for f in settled]


def shown_delimiter(delimiter: str) -> str:
    """A delimiter as messages show it: ``tab`` for a tab, else the character quoted."""
    return "tab" if delimiter == "\t" else repr(delimiter)


def detect_delimiter(source: SourceFile, fmt: TextFormat) -> str:
    """The delimiter of one file (see the module's docstring); SourceError where ambiguous."""
    default = source.delimiter  # from its name: tab for .tsv, else ','
    lines, whole = _first_lines(source, fmt)
    counts = {c: _field_counts(lines, c, fmt, whole) for c in CANDIDATES}
    # The lines each candidate that splits the first line fits, below the first.
    fits = {c: sum(n == found[0] for n in found[1:]) for c, found in counts.items() if found and found[0] > 1}
    if not fits:
        return default  # one column
    if default == "\t" and default in fits and fits[default] == len(counts[default]) - 1:
        return default  # a .tsv file that tab splits consistently
    best = max(fits.values())
    tied = [c for c in CANDIDATES if fits.get(c) == best]
    if len(tied) > 1:
        both = " and ".join(shown_delimiter(c) for c in tied)
        raise SourceError(
            f"{source.name}: the delimiter is ambiguous: {both} each split line 1 and {best} of the "
            f"{len(counts[tied[0]]) - 1} records after it into the same number of fields; set SRC_DELIMITER"
        )
    chosen = tied[0]
    if best == 0 and len(counts[chosen]) > 1 and all(n == 1 for n in counts[chosen][1:]):
        raise SourceError(
            f"{source.name}: line 1 holds {shown_delimiter(chosen)}, but the lines after it do not split "
            "on it into as many fields: set SRC_DELIMITER (for a one-column file, to a character it "
            "does not hold)"
        )
    return chosen


def _first_lines(source: SourceFile, fmt: TextFormat) -> tuple[list[str], bool]:
    """The file's first SNIFF_LINES physical lines (at most SNIFF_CHARS of text), and whether
    they are all of it.  Bytes that do not decode are replaced here: the readers report them
    with their line."""
    lines: list[str] = []
    read = 0
    try:
        with open_text(source, fmt, errors="replace") as stream:
            while len(lines) < SNIFF_LINES and read < SNIFF_CHARS:
                line = stream.readline(SNIFF_CHARS - read)  # never more: a line may be 1 GiB
                if not line:
                    return lines, True
                lines.append(line)
                read += len(line)
    except DAMAGED as exc:
        raise reading_error(source, fmt, exc) from exc
    return lines, False


def _field_counts(lines: list[str], delimiter: str, fmt: TextFormat, whole: bool) -> list[int]:
    """How many fields ``delimiter`` splits each record of ``lines`` into (blank lines are no
    records); where the lines are not the ``whole`` file, the last record may be cut short and
    is not counted (nor one with a field over the csv module's limit, and those after it)."""
    unquoted = fmt.quoting == "none"
    counts: list[int] = []
    reader = csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_NONE if unquoted else csv.QUOTE_MINIMAL)
    with contextlib.suppress(csv.Error):
        for row in reader:
            if row:
                counts.append(len(row))
    return counts if whole or len(counts) < 2 else counts[:-1]


def _log_detected(files: Sequence[SourceFile]) -> None:
    by_delimiter: dict[str, list[str]] = {}
    for f in files:
        by_delimiter.setdefault(f.delimiter, []).append(f.name)
    for delimiter, names in by_delimiter.items():
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        log.info(
            "delimiter %s detected in %s (set SRC_DELIMITER to choose another)",
            shown_delimiter(delimiter),
            shown,
        )
