"""Fuzzing the reader (issue 4): random CSV bytes, checked against Python's csv module.

Every generated file is imported into a fresh SQLite file.  The run must either load exactly
the rows that the csv module reads from the same text (an empty field is NULL; integer columns
hold the exact integer, float columns ``float(text)``, every other column the text itself; rows
with the wrong number of fields are rejected, blank lines are no rows), or fail with one of the
importer's own errors (never the generic "unexpected error", never a traceback) and leave no
table behind.  Input that is plainly valid CSV must load.  FUZZ_EXAMPLES=<n> fuzzes longer.
Sets of valid files also go through two workers into every database, each value read back as
written (FUZZ_FILE_SETS=<n> examples per database).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import csv_text, load, write
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from processor import Settings, run_import
from processor.errors import ImporterError

TABLE = "fuzzed"
# Characters that CSV parsers treat specially, or that databases and encodings trip over.
SPECIAL = [",", '"', "\n", "\r", " ", "\t", "\\", "'", "\x00", "\ufeff", "é", "😀", "\u2028", "N"]
NUMBERS = [
    "0", "-0", "00", "007", "1.", ".5", "1e5", "1E+2", "-0.0", "0.0", "-0e3", "1e400", "-1e400",
    "1e-400", "-1e-400", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "123456789012345678901234567890", "0.1", "1.7976931348623157e308", "4.9e-324", "+5", " 1", "1 ",
    "1234567890123456.7", "99999999999999999.5", "0.1000000000000000055511151231257827", "1.50",
    "2021-02-28", "2021-02-29", "2020-02-29", "2021-01-05 10:11:12", "2021-01-05 24:00:00",
]  # fmt: skip


@dataclass(frozen=True)
class Document:
    """A generated source file, and whether it is plainly valid CSV (so the run must succeed)."""

    data: bytes
    valid: bool


def fields() -> st.SearchStrategy[str]:
    chars = st.one_of(st.sampled_from(SPECIAL), st.characters(codec="utf-8"))
    return st.one_of(
        st.text(chars, max_size=6),
        st.sampled_from(NUMBERS),
        st.integers(-(2**70), 2**70).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.just(""),
    )


@st.composite
def documents(draw: st.DrawFn) -> Document:
    columns = draw(st.integers(1, 4))
    header = draw(
        st.lists(
            st.text(st.characters(codec="utf-8"), min_size=1, max_size=5), min_size=columns, max_size=columns
        )
    )
    rows = draw(
        st.lists(
            st.lists(fields(), min_size=columns, max_size=columns)
            | st.lists(fields(), min_size=max(0, columns - 1), max_size=columns + 1),
            max_size=12,
        )
    )
    if draw(st.booleans()):
        # What a well-behaved writer produces: minimal quoting, one line ending throughout.
        text = csv_text(header, rows, draw(st.sampled_from(["\n", "\r\n"])))
        valid = _plain_header(header) and all(len(row) == columns for row in rows)
    else:
        # Fields joined as they are: stray quotes, delimiters and line breaks in unquoted fields.
        endings = st.sampled_from(["\n", "\r\n", "\r"])
        text = "".join(",".join(row) + draw(endings) for row in [header, *rows])
        valid = False
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0:
        position = draw(st.integers(0, len(data)))
        data = data[:position] + draw(st.binary(min_size=1, max_size=3)) + data[position:]
        valid = False
    if draw(st.integers(0, 19)) == 0:
        data = draw(st.binary(max_size=60))
        valid = False
    return Document(data, valid)


def _plain_header(names: list[str]) -> bool:
    """Names SQLite can hold as written: non-empty, no NUL, distinct ignoring case."""
    return all(n and "\x00" not in n for n in names) and len({n.lower() for n in names}) == len(names)


def expected_rows(data: bytes) -> tuple[list[str], list[list[str | None]], int] | None:
    """What the csv module reads: header, data rows (empty field: None), ragged row count.

    None when the bytes are not UTF-8 (or the csv module cannot read them), or when a row has a
    value under the header's unnamed last column: the run must fail.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.removeprefix("\ufeff")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return None
    if not records:
        return None
    header, rows, ragged = records[0], [], 0
    # A header ending with the delimiter (TPC-H's `.tbl` lines): its unnamed last column is no
    # column, and must be empty in every row, or the run fails (README, SRC_HEADER).
    unnamed = len(header) > 1 and header[-1] == ""
    for record in records[1:]:
        if not record:  # a blank line: no row, in a one-column file too (a quoted "" is a record)
            continue
        if len(record) != len(header):
            ragged += 1
            continue
        if unnamed and record[-1] != "":
            return None
        rows.append([value or None for value in record[: len(header) - 1 if unnamed else None]])
    return (header[:-1] if unnamed else header), rows, ragged


def typed(value: str | None, column_type: str) -> Any:
    """The value the table must hold for ``value`` in a column of ``column_type``."""
    if value is None:
        return None
    if column_type == "BIGINT":
        assert str(int(value)) == value, f"{value!r} was loaded as an integer"
        return int(value)
    if column_type in ("FLOAT", "DOUBLE", "REAL"):
        number = float(value)
        assert math.isfinite(number), f"{value!r} was loaded as {number}"
        assert Decimal(repr(number)) == Decimal(value), f"{value!r} was loaded as {number!r}"
        return number
    if column_type in ("DATE", "DATETIME"):
        shape = "%Y-%m-%d" if column_type == "DATE" else "%Y-%m-%d %H:%M:%S"
        assert dt.datetime.strptime(value, shape).strftime(shape) == value, value
        return value  # SQLite keeps ISO dates as the text
    assert column_type == "TEXT", column_type
    return value


def key(value: Any) -> tuple[str, Any]:
    """Compare exactly: 1 is not 1.0, and -0.0 is not 0.0."""
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


def table_content(database: Path) -> tuple[list[str], list[str], list[tuple[Any, ...]]] | None:
    with sqlite3.connect(database) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not [t for t in tables if t.startswith("_import_stage_")], tables
        if TABLE not in tables:
            return None
        info = conn.execute(f'PRAGMA table_info("{TABLE}")').fetchall()
        rows = conn.execute(f'SELECT * FROM "{TABLE}"').fetchall()
    conn.close()
    return [c[1] for c in info], [c[2] for c in info], rows


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document=documents())
@example(document=Document(b'h\n"a\nb"\n\n1\n', valid=True))
@example(document=Document(b'"a\nb",c\n1,2\n', valid=True))
@example(document=Document(b"n,x\n1,-0.0\n2,1e400\n3,1e-400\n4,2.5\n", valid=True))
@example(document=Document(b'a,b\n"x"y,1\nz"w,2\n', valid=False))
@example(document=Document(b"0", valid=True))  # a header and no line break: no rows
@example(document=Document(b"0,\r,0,0\n,,,\n", valid=False))  # an unnamed last column, ragged rows
@example(document=Document(b"a,\n1,\n2,x\n", valid=False))  # a value in the unnamed column: exit 4
@example(document=Document(b"a,\n1,\n2,\n", valid=False))  # its empty values dropped
@example(document=Document(b"0|", valid=False))  # no ',' and a '|': one column named '0|'
def test_random_csv_loads_exactly_or_fails_cleanly(document: Document) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "src").mkdir()
        (root / "src" / "data.csv").write_bytes(document.data)
        database = root / "fuzz.db"
        report = run_import(
            Settings(
                src_data_folder=root / "src",
                dest_sql=f"sqlite:///{database}",
                dest_table=TABLE,
                # The oracle is the csv module's reading with ','; detecting another delimiter
                # (a document of fields holding '|' and no ',') is test_delimiter_detection's.
                src_delimiter=",",
                workers=1,
                chunk_size=3,
                max_errors=1_000_000,
                rejects_path=root / "rejects.csv",
            )
        )
        expected = expected_rows(document.data)
        loaded = table_content(database)
    if report.error is not None:
        assert isinstance(report.error, ImporterError)
        assert report.error.exit_code != 1, f"generic error: {report.error}\n{report.error.detail}"
        assert "\n" not in str(report.error).strip(), str(report.error)
        assert loaded is None, "a failed run left a table"
        assert not document.valid, f"valid CSV was refused: {report.error}"
        return
    assert expected is not None, "the run loaded bytes the csv module cannot read"
    header, rows, ragged = expected
    assert loaded is not None
    names, types, content = loaded
    assert names == header
    want = Counter(tuple(key(typed(v, t)) for v, t in zip(row, types, strict=True)) for row in rows)
    got = Counter(tuple(key(v) for v in row) for row in content)
    assert got == want
    assert report.rows == len(rows)
    assert len(report.rejects) == ragged


# What the fuzzer found, checked on every database.


def test_floats_a_double_cannot_hold_stay_text(db, table, tmp_path):
    """Overflow to infinity, underflow to zero and a negative zero would change the value."""
    write(tmp_path / "src", "a.csv", "n,x\n1,-0.0\n2,1e400\n3,1e-400\n4,2.5\n")
    assert load(tmp_path / "src", db, table).error is None
    assert db.rows(table, order_by="n") == [(1, "-0.0"), (2, "1e400"), (3, "1e-400"), (4, "2.5")]
    write(tmp_path / "ok", "a.csv", "n,x\n1,0.0\n2,1e300\n3,5e-324\n4,-2.5\n")
    assert load(tmp_path / "ok", db, table, if_exists="replace").error is None
    assert db.rows(table, order_by="n") == [(1, 0.0), (2, 1e300), (3, 5e-324), (4, -2.5)]


def test_header_with_a_line_break_adds_no_row(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", '"first\nname",n\nAda,1\n')
    assert load(tmp_path / "src", db, table).error is None
    assert db.columns(table) == ["first\nname", "n"]
    assert db.rows(table) == [("Ada", 1)]


def test_header_without_a_line_break_is_an_empty_table(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "name,n")
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    assert db.columns(table) == ["name", "n"]
    assert db.rows(table) == []


# Several files through a pool of two workers, on every database: every value comes back.

WIDE = [
    *NUMBERS,
    "abc",
    "Zoë",
    "漢字",
    "😀",
    "a,b",
    'say "hi"',
    "two\nlines",
    "cr\r\nlf",
    " x ",
    "NA",
    "\\N",
    "",
]


@st.composite
def file_sets(draw: st.DrawFn) -> tuple[int, list[list[list[str]]]]:
    """Two to four files of the same header: an id column, then one to three columns of values
    mixed from numbers, long decimals, dates, short and wide text (no NUL: PostgreSQL rejects
    it, tested elsewhere)."""
    columns = draw(st.integers(1, 3))
    value = st.one_of(
        st.sampled_from(WIDE),
        st.integers(-(2**70), 2**70).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5),
        # long decimals (beyond a double, within and beyond DECIMAL(65)) and wide fields
        st.from_regex(r"-?[1-9][0-9]{0,45}\.[0-9]{1,30}", fullmatch=True),
        st.text(st.sampled_from('ab,"\n é漢'), min_size=200, max_size=3000),
    )
    files = draw(
        st.lists(
            st.lists(st.lists(value, min_size=columns, max_size=columns), max_size=8), min_size=2, max_size=4
        )
    )
    return columns, files


def given_back(stored: Any, text: str) -> bool:
    """Whether the database's value is the text as written: an integer spelled the same way, a
    number of the same decimal value and sign, a date or time printed the same, text byte for byte."""
    if stored is None:
        return text == ""
    if isinstance(stored, bool):
        return False  # nothing here is planned as a boolean
    if isinstance(stored, int):
        return str(stored) == text
    if isinstance(stored, float):
        same_sign = math.copysign(1, stored) == (-1 if text.lstrip().startswith("-") else 1)
        return same_sign and Decimal(repr(stored)) == Decimal(text)
    if isinstance(stored, Decimal):
        return stored == Decimal(text) and (stored != 0 or not text.startswith("-"))
    if isinstance(stored, dt.datetime):
        return stored.isoformat(sep=" ") == text
    if isinstance(stored, dt.date):
        return stored.isoformat() == text
    return isinstance(stored, str) and stored.encode() == text.encode()


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("FUZZ_FILE_SETS", "3")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(shape=file_sets())
@example(shape=(1, [[["a\rb"], [""]], [["\r"]]]))  # a bare CR, which csv.writer left unquoted
def test_several_files_through_two_workers_load_exactly(db, table, tmp_path_factory, shape):
    columns, files = shape
    src = tmp_path_factory.mktemp("files")
    expected: dict[int, list[str]] = {}
    for number, rows in enumerate(files):
        lines = []
        for row in rows:
            expected[len(expected)] = row
            lines.append([str(len(expected) - 1), *row])
        write(src, f"part{number}.csv", csv_text(["id", *(f"c{i}" for i in range(columns))], lines))
    # each example replaces the last one's table, whatever their sizes (MAX_SHRINK off)
    report = load(src, db, table, workers=2, chunk_size=2, if_exists="replace", max_shrink=0)
    assert report.error is None, report.error
    stored = {row[0]: list(row[1:]) for row in db.rows(table)}
    assert sorted(stored) == sorted(expected)
    for key_, values in expected.items():
        assert all(given_back(s, t) for s, t in zip(stored[key_], values, strict=True)), (
            stored[key_],
            values,
        )
