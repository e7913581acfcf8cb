"""Line-delimited JSON (``.jsonl``, ``.ndjson``): one object per line, read as text columns.

The rest of the pipeline sees what it sees for CSV: batches of nullable text columns and record
numbers, so types are planned and checked by the same rules.  Values keep the spelling they
have in the file: a number is its literal text (``1.10`` stays ``1.10``, a 30-digit integer
stays whole: Python's json module is asked not to turn them into floats), ``true``/``false``
their words, a nested object or array its JSON text (compact, keys in their order), ``null``
and a missing key NULL.  The columns are the keys of the files' first records, in the order
first met; a later record with another key, a line that is not a JSON object, an object that
gives a key twice and a string no encoding holds (a lone surrogate escape) are rejected rows.  A
blank line is no record; every other line is one (JSON strings hold no line breaks), so record
numbers count non-blank lines and a file splits at any line break.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa

from processor.sources.parts import WHOLE
from processor.sources.text import (
    DAMAGED,
    InvalidRow,
    ReadRequest,
    TextFormat,
    bounded_lines,
    open_text,
    reading_error,
)

if TYPE_CHECKING:
    from processor.records import SourceFile
    from processor.sources.parts import Part

#: Records parsed into one batch.
BATCH_ROWS = 4096
#: A surrogate's escape: only such a string can hold a lone one (a pair is one character).
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: Why a key can be no column, for the rejects file.
UNKNOWN_KEY = "the columns are the keys of each file's first SAMPLE_ROWS objects; SAMPLE_ROWS=0 reads all"


class RawNumber(str):
    """A JSON number exactly as written."""


class NotARecord(ValueError):
    """A line that is not a JSON object; the message says why, for the rejects file."""


def parse_record(line: str) -> dict[str, Any]:
    """The object on one line, numbers kept as ``RawNumber``.

    What a column could not hold as written is no record: a key given twice in an object (one
    value would be lost), and a string with a lone surrogate escape (``"\\ud800"``, no
    character of any encoding)."""
    try:
        value = json.loads(
            line,
            parse_float=RawNumber,
            parse_int=RawNumber,
            parse_constant=_no_constant,
            object_pairs_hook=_unique_keys,
        )
    except NotARecord:
        raise
    except ValueError as error:
        raise NotARecord(f"not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise NotARecord(f"a JSON {type(value).__name__}, not an object")
    if SURROGATE_ESCAPE.search(line):
        _check_encodable(value)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise NotARecord(f"key {key!r} appears more than once in an object (one value would be lost)")
            seen.add(key)
    return value


def _check_encodable(value: Any) -> None:
    """Raise NotARecord where a string (key or value, at any depth) holds a lone surrogate."""
    if isinstance(value, str) and not isinstance(value, RawNumber):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise NotARecord(f"the string {value!r} holds a lone surrogate escape: no character") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_encodable(key)
            _check_encodable(item)
    elif isinstance(value, list):
        for item in value:
            _check_encodable(item)


def as_text(value: Any) -> str | None:
    """A JSON value as the text of its column (see the module's docstring)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, str):
        return value
    return _json_text(value)


def _json_text(value: Any) -> str:
    """Compact JSON of a nested value, its numbers as written."""
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json_text(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    if isinstance(value, RawNumber):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def read_keys(lines: Iterator[str], records: int) -> list[str]:
    """The keys of the first ``records`` objects (0: all), in the order first met; lines that
    are not objects are passed over (the load rejects them)."""
    keys: dict[str, None] = {}
    objects = (line for line in lines if line.strip())
    for line in objects if records == 0 else itertools.islice(objects, records):
        try:
            keys.update(dict.fromkeys(parse_record(line)))
        except NotARecord:
            continue
    return list(keys)


def read_json_batches(
    lines: Iterable[str],
    keys: Sequence[str],
    include: Sequence[int] | None,
    on_invalid: Callable[[int, str], None],
) -> Iterator[pa.RecordBatch]:
    """Batches of the fields ``include`` (default: all keys), named by their index, as
    ``read_batches`` gives them; ``on_invalid(record, reason)`` for the rest (records number
    the non-blank lines from 1)."""
    fields = list(range(len(keys))) if include is None else list(include)
    wanted = {keys[i]: position for position, i in enumerate(fields)}
    known = set(keys)
    schema = pa.schema([(str(i), pa.string()) for i in fields])
    columns: list[list[str | None]] = [[] for _ in fields]
    record = 0
    for line in lines:
        if not line.strip():
            continue
        record += 1
        try:
            values = parse_record(line)
        except NotARecord as error:
            on_invalid(record, str(error))
            continue
        unknown = [k for k in values if k not in known]
        if unknown:
            on_invalid(record, f"key {unknown[0]!r} is not a column ({UNKNOWN_KEY})")
            continue
        for column in columns:
            column.append(None)
        for key, value in values.items():
            position = wanted.get(key)
            if position is not None:
                columns[position][-1] = as_text(value)
        if len(columns[0] if columns else ()) >= BATCH_ROWS:
            yield pa.record_batch([pa.array(c, pa.string()) for c in columns], schema=schema)
            columns = [[] for _ in fields]
    if columns and columns[0]:
        yield pa.record_batch([pa.array(c, pa.string()) for c in columns], schema=schema)


def locate_json_records(stream: IO[str], first_line: int, records: set[int]) -> dict[int, tuple[int, str]]:
    """Map record numbers (non-blank lines from 1) to (physical line, text)."""
    found: dict[int, tuple[int, str]] = {}
    record = 0
    last = max(records)
    for number, line in enumerate(stream, start=first_line):
        if not line.strip():
            continue
        record += 1
        if record in records:
            found[record] = (number, line.rstrip("\r\n"))
        if record >= last:
            break
    return found


class NdjsonFormat:
    """One JSON object per line: keyed, no header line, no delimiter; any line break ends a record."""

    name = "ndjson"
    suffixes: tuple[str, ...] = (".jsonl", ".ndjson")
    header_line = False
    keyed = True
    delimited = False
    splittable = True
    no_columns = "no JSON object with a key"
    typed = False
    parted = False

    def default_delimiter(self, suffix: str) -> str:
        return ","  # unused: no field is split on it

    def boundary_quoting(self, fmt: TextFormat) -> str:
        return "none"  # JSON strings hold no line break: every line is one record

    def parts(self, source: SourceFile, split_bytes: int) -> tuple[Part, ...]:
        return (WHOLE,)  # cut at record boundaries of its text instead (``split.py``)

    def row_count(self, source: SourceFile) -> int | None:
        return None  # counted only by reading it all

    def read_header(self, source: SourceFile, fmt: TextFormat, records: int) -> list[str] | None:
        try:
            with open_text(source, fmt) as stream:
                return read_keys(bounded_lines(stream, source), records) or None
        except (UnicodeDecodeError, *DAMAGED, pa.ArrowException) as exc:
            raise reading_error(source, fmt, exc) from exc

    def read_batches(
        self, source: SourceFile, fmt: TextFormat, request: ReadRequest
    ) -> Iterator[pa.RecordBatch]:
        def invalid(record: int, reason: str) -> None:
            request.on_invalid(InvalidRow(record=record, fields=0, reason=reason))

        part = request.part
        try:
            with open_text(source, fmt, part, digest=request.digest) as stream:
                lines = bounded_lines(stream, source, part.first_line)
                yield from read_json_batches(lines, request.keys, request.include, invalid)
        except (UnicodeDecodeError, *DAMAGED) as exc:
            raise reading_error(source, fmt, exc) from exc

    def locate_records(
        self, source: SourceFile, fmt: TextFormat, records: set[int], part: Part
    ) -> dict[int, tuple[int, str]]:
        with open_text(source, fmt, part) as stream:
            return locate_json_records(stream, part.first_line, records)


NDJSON = NdjsonFormat()
