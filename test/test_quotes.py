"""Quotes are read as they are, or not at all (issue 19): text after a closing quote (exit 3 in the
sample, a rejected row past it, in parts, blocks and wide encodings), a quote never closed.

Every oracle is written out by hand (the rows as the file means them) and read back with plain
SQL through the driver; rejects are read from the rejects file as CSV.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest
from conftest import Database, load, write

# ---- helpers --------------------------------------------------------------------------------


def rejects_of(tmp_path: Path, table: str) -> list[list[str]]:
    """The rejects file's rows (without its header): file, line, reason, text."""
    path = tmp_path / f"{table}.rejects.csv"
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))[1:]


def nothing_written(db: Database, table: str) -> bool:
    return not db.exists(table)


def as_text(value: object) -> str:
    """A value read back, as text (integers come back as int, text as str)."""
    return str(value)


IMDB = (
    "tconst\ttitleType\tprimaryTitle\n"
    "tt0000001\tshort\tCarmencita\n"
    'tt0097962\tvideo\t"Weird Al" Yankovic: Live!\n'
    'tt0000003\tshort\t12" Pipe\n'
)


@pytest.mark.parametrize("name", ["title.basics.tsv", "title.basics.tsv.gz"])
def test_text_after_a_closing_quote_in_the_sample_is_exit_3(db, table, tmp_path, name):
    content = IMDB.encode()
    write(tmp_path / "src", name, gzip.compress(content) if name.endswith(".gz") else content)
    report = load(tmp_path / "src", db, table, src_file_name=name)
    assert report.exit_code == 3
    assert str(report.error) == (
        f'{name}: line 3: text after a closing quote (as in "abc"def) is not CSV; '
        "set SRC_QUOTING=none if quotes are ordinary characters in these files"
    )
    assert nothing_written(db, table)


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        ({"dry_run": True}, 3),  # the dry run reads only the sample: it looks at its quotes
        ({"sample_rows": 1}, None),  # line 3 is past a sample of one row: a rejected row
        ({"sample_rows": 0}, 3),  # the sample is every row
        ({"sample_rows": 1, "split_bytes": 64}, None),  # in a later part: a rejected row
        ({"sample_rows": 0, "split_bytes": 48}, 3),  # in the sample, but in a later part
        ({"sample_rows": 2, "split_bytes": 48}, 3),
    ],
    ids=["dry run", "past the sample", "every row sampled", "split", "split, all sampled", "split, sampled"],
)
def test_the_sample_is_the_records_sampling_reads_whatever_the_load_checks(tmp_path, settings, line):
    """The load looks at the sampled records' quotes (sampling leaves them to it): text after a
    closing quote among them fails the run as a sample would, one past them is a rejected row."""
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    write(tmp_path / "src", "title.basics.tsv", IMDB)
    report = load(tmp_path / "src", db, "t", src_file_name="*.tsv", max_errors=5, **settings)
    if line is None:
        assert report.error is None, report.error
        assert [(r.line, r.reason.startswith("text after a closing quote")) for r in report.rejects] == [
            (3, True)
        ]
        return
    assert report.exit_code == 3
    assert str(report.error).startswith(f"title.basics.tsv: line {line}: text after a closing quote")
    assert nothing_written(db, "t")


def test_a_dry_run_looks_only_at_its_samples_quotes(tmp_path):
    """The dry run's sample of one row ends at line 2: the glued line 3, which the reader took
    in the same block, is past it (the dry run reads no further, so it says nothing of it)."""
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    write(tmp_path / "src", "title.basics.tsv", IMDB)
    report = load(tmp_path / "src", db, "t", src_file_name="*.tsv", dry_run=True, sample_rows=1)
    assert report.error is None, report.error
    assert nothing_written(db, "t")


def test_imdb_with_src_quoting_none_keeps_the_quotes(db, table, tmp_path):
    write(tmp_path / "src", "title.basics.tsv", IMDB)
    report = load(tmp_path / "src", db, table, src_file_name="*.tsv", src_quoting="none")
    assert report.error is None, report.error
    assert db.rows(table, order_by="tconst") == [
        ("tt0000001", "short", "Carmencita"),
        ("tt0000003", "short", '12" Pipe'),
        ("tt0097962", "video", '"Weird Al" Yankovic: Live!'),
    ]


def glued_file(rows: int) -> tuple[str, list[tuple[str, str]], dict[int, str]]:
    """A CSV file whose glued rows lie past a 2-row sample, late enough that a split file has
    parts before them: its text, the rows that load (id, text as the file means it) and the
    glued rows' lines with their text."""
    lines = ["id,note"]
    loaded: list[tuple[str, str]] = []
    glued: dict[int, str] = {}
    for i in range(rows):
        if i in (rows * 2 // 3, rows - 2):
            line = f'{i},"abc"def'
            glued[len(lines) + 1] = line
        elif i % 3 == 0:
            line = f'{i},"quoted, ""inner"" and\nline break"'
            loaded.append((str(i), 'quoted, "inner" and\nline break'))
        elif i % 3 == 1 and i > rows // 2:
            line = f'{i},12" pipe'  # a quote inside an unquoted field is a character
            loaded.append((str(i), '12" pipe'))
        else:
            line = f"{i},plain"
            loaded.append((str(i), "plain"))
        lines.append(line)
    return "\n".join(lines) + "\n", loaded, glued


def physical_lines(glued: dict[int, str], text: str) -> dict[int, str]:
    """The glued rows by their physical line in ``text`` (records before them span lines)."""
    found = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if line in glued.values():
            found[number] = line
    return found


def test_text_after_a_closing_quote_past_the_sample_is_a_rejected_row(db, table, tmp_path):
    text, loaded, glued = glued_file(40)
    write(tmp_path / "src", "a.csv", text)
    report = load(tmp_path / "src", db, table, sample_rows=2, max_errors=2, chunk_size=7)
    assert report.error is None, report.error
    rows = [(as_text(i), note) for i, note in db.rows(table, order_by="id")]
    assert rows == loaded
    reason = (
        'text after a closing quote (as in "abc"def) is not CSV; the reader would drop the quotes and '
        "glue the text on (SRC_QUOTING=none reads quotes as ordinary characters)"
    )
    expected = [["a.csv", str(line), reason, raw] for line, raw in physical_lines(glued, text).items()]
    assert rejects_of(tmp_path, table) == expected


@pytest.mark.parametrize("how", ["split", "gzip", "utf-16"])
def test_text_after_a_closing_quote_in_parts_blocks_and_wide_encodings(tmp_path, how):
    """Split files (byte ranges), compressed files (blocks) and encodings whose bytes are not
    scanned (every record is looked at) reject the same rows on the same lines."""
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    text, loaded, glued = glued_file(3000)
    overrides: dict[str, object] = {"sample_rows": 2, "max_errors": 2, "workers": 2}
    if how == "split":
        write(tmp_path / "src", "a.csv", text)
        overrides["split_bytes"] = 20_000
    elif how == "gzip":  # handed out in decompressed blocks of SPLIT_BYTES
        write(tmp_path / "src", "a.csv.gz", gzip.compress(text.encode()))
        overrides |= {"split_bytes": 2_000, "src_file_name": "*.csv.gz"}
    else:
        write(tmp_path / "src", "a.csv", text.encode("utf-16"))
        overrides["src_encoding"] = "utf-16"
    report = load(tmp_path / "src", db, "t", **overrides)
    assert report.error is None, report.error
    assert [(as_text(i), note) for i, note in db.rows("t", order_by="id")] == sorted(
        loaded, key=lambda row: int(row[0])
    )
    lines = [int(r[1]) for r in rejects_of(tmp_path, "t")]
    assert lines == list(physical_lines(glued, text))


def test_quote_faults_and_the_byte_check_agree_with_python_csv_in_strict_mode():
    """Every record of up to 7 characters of ``a , " space``: ``quote_fault`` says what Python's
    csv module in strict mode refuses (text after a closing quote: "',' expected after '\"'"; a
    quote never closed: "unexpected end of data"), and the vectorised check of the bytes never
    misses one (it may flag more: a quote inside an unquoted field)."""
    import itertools

    from processor.sources.quotes import GLUED, UNCLOSED, QuoteCheck, quote_fault

    for size in range(1, 8):
        for chars in itertools.product('a," ', repeat=size):
            text = "".join(chars) + "\n"
            try:
                list(csv.reader([text], strict=True))
                problem = ""
            except csv.Error as error:
                problem = str(error)
            refused = GLUED if "expected after" in problem else UNCLOSED if problem else None
            assert refused is not UNCLOSED or "unexpected end of data" in problem, (text, problem)
            assert quote_fault(text, ",") is refused, text
            check = QuoteCheck(",")
            check.feed(text.encode())
            check.finish()
            assert check.suspect or refused is None, text


def test_the_byte_check_says_the_same_however_the_bytes_are_fed():
    """Fed in two pieces split anywhere, or byte by byte (a piece ending in a quote or not, or
    one byte long), the check finds what it finds in the text fed whole, which the test above
    holds to Python's csv module."""
    import itertools

    from processor.sources.quotes import QuoteCheck

    def suspect(pieces: list[bytes]) -> bool:
        check = QuoteCheck(",")
        for piece in pieces:
            check.feed(piece)
        check.finish()
        return check.suspect

    for size in range(1, 7):
        for chars in itertools.product('a,"\n', repeat=size):
            data = "".join(chars).encode()
            whole = suspect([data])
            for at in range(1, len(data)):
                assert suspect([data[:at], data[at:]]) is whole, (data, at)
            assert suspect([data[i : i + 1] for i in range(len(data))]) is whole, data


def test_a_quote_never_closed_is_exit_3_naming_its_line(tmp_path):
    """Arrow's reader would make the rest of the file one field: two rows became one, exit 0."""
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    for name, text, line in [
        ("a.csv", 'a,b\n1,x\n2,"abc\n3,y\n4,z\n', 3),  # the file's only quote
        ("b.csv", 'a,b\n1,"x"\n2,12" pipe\n3,"abc\n4,z\n', 4),  # after a quote inside a field
    ]:
        folder = tmp_path / name
        write(folder, name, text)
        report = load(folder, db, "t")
        assert report.exit_code == 3, report.error
        assert str(report.error) == (
            f"{name}: line {line}: a quote opened here is never closed: the reader would make the rest "
            "of the file one field (SRC_QUOTING=none reads quotes as ordinary characters)"
        )
        assert nothing_written(db, "t")


def test_undecodable_bytes_after_text_after_a_closing_quote_are_exit_3(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    write(tmp_path / "src", "a.csv", b'n,t\n1,x\n2,"a"b\n3,y\n4,caf\xe9\n')
    report = load(tmp_path / "src", db, "t", sample_rows=1, max_errors=5)
    assert report.exit_code == 3
    assert str(report.error) == (
        "a.csv: line 5: bytes not valid utf-8; set SRC_ENCODING to the files' encoding "
        "(it looks like cp1252: SRC_ENCODING=cp1252)"
    )
    assert nothing_written(db, "t")


@pytest.mark.parametrize("name", ["big.csv", "big.csv.gz"])
def test_a_quote_never_closed_in_the_last_part_of_a_split_file_is_exit_3(tmp_path, name):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    rows = ["a,b", *(f"{i},x{i}" for i in range(20_000)), '20000,"abc', "20001,y"]
    data = ("\n".join(rows) + "\n").encode()
    write(tmp_path / "src", name, gzip.compress(data) if name.endswith(".gz") else data)
    report = load(tmp_path / "src", db, "t", src_file_name=name, split_bytes=64 << 10)
    assert report.exit_code == 3, report.error
    assert str(report.error).startswith(f"{name}: line 20002: a quote opened here is never closed")
    assert nothing_written(db, "t")
