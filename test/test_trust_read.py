"""The file is read as it is, or not at all (issue 19): detected delimiters, text after a closing
quote, headerless files, byte-order marks, encoding hints, NDJSON values no column holds.

Every oracle is written out by hand (the rows as the file means them) and read back with plain
SQL through the driver; rejects are read from the rejects file as CSV.
"""

from __future__ import annotations

import codecs
import csv
import encodings
import encodings.aliases
import gzip
import json
import pkgutil
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import Database, load, write

from processor.schema_file import read_schema_file

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


# ---- delimiter detection --------------------------------------------------------------------


def test_each_file_delimiter_is_detected_and_reported(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a.csv", "id;name;note\n1;Ann;x\n2;Bob;y\n")  # ';' in a .csv
    write(src, "b.csv", "id\tname\tnote\n3\tCy\tz\n")  # tab in a .csv
    write(src, "c.csv", "id|name|note\n4|Di|w\n")
    write(src, "d.csv", 'id,name,note\n5,"E;1|2",v\n6,F,"a,b"\n')  # ';' '|' ',' inside quotes
    report_path = tmp_path / "report.json"
    report = load(src, db, table, report_path=report_path)
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "name", "note"]
    rows = [tuple(map(as_text, row)) for row in db.rows(table, order_by="id")]
    assert rows == [
        ("1", "Ann", "x"),
        ("2", "Bob", "y"),
        ("3", "Cy", "z"),
        ("4", "Di", "w"),
        ("5", "E;1|2", "v"),
        ("6", "F", "a,b"),
    ]
    files = json.loads(report_path.read_text(encoding="utf-8"))["files"]
    delimiters = {f["name"]: f["delimiter"] for f in files}
    assert delimiters == {"a.csv": ";", "b.csv": "\t", "c.csv": "|", "d.csv": ","}


def test_the_detected_delimiter_is_logged_and_in_the_dry_run(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "id;name\n1;Ann\n")
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": f"sqlite:///{tmp_path / 'out.db'}",
        "LOG_LEVEL": "INFO",
        "DRY_RUN": "true",
    }
    code, out, err = cli([], {**env, "REPORT_PATH": str(tmp_path / "plan.json")})
    assert code == 0, err
    assert "delimiter ';' detected in a.csv" in err
    assert "  a.csv  14 bytes  1 row  delimiter ';'" in out
    planned = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))["dry_run"]["files"]
    assert [(f["name"], f["delimiter"]) for f in planned] == [("a.csv", ";")]


def test_the_delimiter_is_detected_in_compressed_files_and_archive_members(tmp_path):
    import zipfile

    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    write(tmp_path / "gz", "a.csv.gz", gzip.compress(b"id|v\n1|x\n"))
    report = load(tmp_path / "gz", db, "g", src_file_name="*.csv.gz")
    assert report.error is None, report.error
    assert db.rows("g") == [(1, "x")]
    with zipfile.ZipFile(tmp_path / "epc.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("d1/certificates.csv", "id\tv\n2\ty\n")
        archive.writestr("d2/certificates.csv", "id;v\n3;z\n")
    report = load(tmp_path / "epc.zip", db, "z", src_file_name="**/certificates.csv")
    assert report.error is None, report.error
    assert db.rows("z", order_by="id") == [(2, "y"), (3, "z")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "a,b;c\n1,2;3\n4,5;6\n",
            "a.csv: the delimiter is ambiguous: ',' and ';' each split line 1 and 2 of the 2 records "
            "after it into the same number of fields; set SRC_DELIMITER",
        ),
        (
            "a|b\tc\n1|2\t3\n",
            "a.csv: the delimiter is ambiguous: tab and '|' each split line 1 and 1 of the 1 records "
            "after it into the same number of fields; set SRC_DELIMITER",
        ),
        (
            "a;b\n1\n2\n",
            "a.csv: line 1 holds ';', but the lines after it do not split on it into as many fields: set "
            "SRC_DELIMITER (for a one-column file, to a character it does not hold)",
        ),
    ],
)
def test_an_ambiguous_delimiter_is_exit_3_asking_for_src_delimiter(db, table, tmp_path, content, message):
    write(tmp_path / "src", "a.csv", content)
    report = load(tmp_path / "src", db, table)
    assert report.exit_code == 3
    assert str(report.error) == message
    assert nothing_written(db, table)


def test_src_delimiter_settles_an_ambiguous_file(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "a,b;c\n1,2;3\n")
    report = load(tmp_path / "src", db, table, src_delimiter=";")
    assert report.error is None, report.error
    assert db.columns(table) == ["a,b", "c"]
    assert [tuple(map(as_text, r)) for r in db.rows(table)] == [("1,2", "3")]


def test_a_one_column_file_stays_one_column(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", 'name\nplain\n"x,y;z"\n')
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    assert db.columns(table) == ["name"]
    assert sorted(r[0] for r in db.rows(table)) == ["plain", "x,y;z"]


def test_a_tsv_file_keeps_tab_where_tab_is_consistent(db, table, tmp_path):
    write(tmp_path / "src", "a.tsv", "a,b\tc\n1,2\t3\n")  # ',' fits as well as tab
    report = load(tmp_path / "src", db, table, src_file_name="*.tsv")
    assert report.error is None, report.error
    assert db.columns(table) == ["a,b", "c"]


# ---- text after a closing quote -------------------------------------------------------------

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
    ],
    ids=["dry run", "past the sample", "every row sampled", "split"],
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


# ---- files without a header line ------------------------------------------------------------

REGION = (
    "0|AFRICA|lar deposits. blithely final packages cajole. regular waters are final requests. "
    "regular accounts are according to |\n"
    "1|AMERICA|hs use ironic, even requests. s|\n"
    "2|ASIA|ges. thinly even pinto beans ca|\n"
    "3|EUROPE|ly final courts cajole furiously final excuse|\n"
    "4|MIDDLE EAST|uickly special accounts cajole carefully blithely close requests. carefully final "
    "asymptotes haggle furiousl|\n"
)
REGION_ROWS = [
    (
        0,
        "AFRICA",
        "lar deposits. blithely final packages cajole. regular waters are final requests. "
        "regular accounts are according to ",
    ),
    (1, "AMERICA", "hs use ironic, even requests. s"),
    (2, "ASIA", "ges. thinly even pinto beans ca"),
    (3, "EUROPE", "ly final courts cajole furiously final excuse"),
    (
        4,
        "MIDDLE EAST",
        "uickly special accounts cajole carefully blithely close requests. carefully final "
        "asymptotes haggle furiousl",
    ),
]


def test_a_tpch_tbl_file_loads_with_src_header_false(db, table, tmp_path):
    write(tmp_path / "src", "region.tbl", REGION)
    report = load(
        tmp_path / "src",
        db,
        table,
        src_file_name="*.tbl",
        src_header=False,
        src_columns=("r_regionkey", "r_name", "r_comment"),
    )
    assert report.error is None, report.error
    assert db.columns(table) == ["r_regionkey", "r_name", "r_comment"]
    assert db.rows(table, order_by="r_regionkey") == REGION_ROWS


def test_a_headerless_file_takes_schema_file_names_and_counts_lines_from_its_first(db, table, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"columns": {"k": "integer", "v": "text"}}), encoding="utf-8")
    write(tmp_path / "src", "a.csv", "\ufeff1,one\n2,two\n3,x,extra\nnot a number,four\n5,five\n")
    fixed = read_schema_file(schema)
    report = load(tmp_path / "src", db, table, src_header=False, schema_file=fixed, max_errors=2)
    assert report.error is None, report.error
    assert db.columns(table) == ["k", "v"]
    assert db.rows(table, order_by="k") == [(1, "one"), (2, "two"), (5, "five")]
    assert [r[:2] for r in rejects_of(tmp_path, table)] == [["a.csv", "3"], ["a.csv", "4"]]


def test_src_header_false_without_names_is_exit_2(cli, tmp_path):
    write(tmp_path / "src", "a.tbl", "1|x|\n")
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "SRC_FILE_NAME": "*.tbl", "SRC_HEADER": "false"}
    code, out, err = cli([], {**env, "DEST_SQL": f"sqlite:///{tmp_path / 'out.db'}"})
    assert (code, out) == (2, "")
    assert err == (
        "error: SRC_HEADER=false needs the columns' names: SRC_COLUMNS (every column, in file order) "
        "or SCHEMA_FILE\n"
    )
    assert not (tmp_path / "out.db").exists()


def test_src_header_false_with_another_number_of_names_is_exit_4(db, table, tmp_path):
    write(tmp_path / "src", "region.tbl", REGION)
    report = load(
        tmp_path / "src", db, table, src_file_name="*.tbl", src_header=False, src_columns=("k", "name")
    )
    assert report.exit_code == 4
    assert str(report.error) == (
        "region.tbl: line 1 has 4 fields, but 2 columns are named (SRC_HEADER=false: SRC_COLUMNS, or "
        "SCHEMA_FILE, names every field in file order)"
    )
    assert nothing_written(db, table)


def test_a_headerless_file_read_with_a_header_names_the_file_in_the_error(db, table, tmp_path):
    lineitem = (
        "1|155190|7706|1|17|21168.23|0.04|0.02|N|O|1996-03-13|1996-02-12|1996-03-22|DELIVER IN PERSON|"
        "TRUCK|egular courts above the|\n"
        "1|67310|7311|2|36|45983.16|0.09|0.06|N|O|1996-04-12|1996-02-28|1996-04-20|TAKE BACK RETURN|"
        "MAIL|ly final dependencies: slyly bold |\n"
    )
    write(tmp_path / "src", "lineitem.tbl", lineitem)
    report = load(tmp_path / "src", db, table, src_file_name="*.tbl")
    assert report.exit_code == 4
    assert str(report.error) == "lineitem.tbl: column 4 ('1') repeats the name of column 1"
    assert nothing_written(db, table)


# ---- byte-order marks and encodings ---------------------------------------------------------

BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def codecs_with_a_bom() -> list[str]:
    """Every codec Python has whose U+FEFF is a byte-order mark (found, not listed by hand)."""
    modules = {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    names = set(encodings.aliases.aliases.values()) | modules
    found = set()
    for name in names:
        try:
            info = codecs.lookup(name)
            marked = codecs.encode("\ufeff", info.name)
        except (LookupError, UnicodeError, TypeError, ValueError):
            continue
        if isinstance(marked, bytes) and marked.startswith(BOMS):
            found.add(info.name)
    return sorted(found)


def with_bom(text: str, encoding: str) -> bytes:
    """``text`` in ``encoding``, led by its byte-order mark (once: some codecs write their own)."""
    plain = text.encode(encoding)
    return plain if plain.startswith(BOMS) else ("\ufeff" + text).encode(encoding)


def test_the_class_of_codecs_with_a_bom():
    assert codecs_with_a_bom() == [
        "utf-16",
        "utf-16-be",
        "utf-16-le",
        "utf-32",
        "utf-32-be",
        "utf-32-le",
        "utf-8",
        "utf-8-sig",
    ]


@pytest.mark.parametrize("encoding", codecs_with_a_bom())
@pytest.mark.parametrize("header", [True, False])
def test_every_byte_order_mark_is_dropped(tmp_path, encoding, header):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    text = ("name,v\n" if header else "") + "é1,x\nb,y\n"
    write(tmp_path / "src", "a.csv", with_bom(text, encoding))
    overrides: dict[str, object] = {"src_encoding": encoding}
    if not header:
        overrides |= {"src_header": False, "src_columns": ("name", "v")}
    report = load(tmp_path / "src", db, "t", **overrides)
    assert report.error is None, report.error
    assert db.columns("t") == ["name", "v"]
    assert db.rows("t", order_by="v") == [("é1", "x"), ("b", "y")]


def test_excel_unicode_text_with_its_bom_on_every_database(db, table, tmp_path):
    write(tmp_path / "src", "a.txt", with_bom("id\tname\n1\tÅsa\n", "utf-16-le"))
    report = load(tmp_path / "src", db, table, src_file_name="*.txt", src_encoding="utf-16-le")
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "name"]
    assert db.rows(table) == [(1, "Åsa")]


@pytest.mark.parametrize(
    ("content", "named", "likely"),
    [
        (with_bom("n,t\n1,café\n", "utf-16-le"), "utf-8", "utf-16"),  # its byte-order mark
        (with_bom("n,t\n1,café\n", "utf-32-be"), "utf-8", "utf-32"),
        ("n,t\n1,café\n".encode("utf-16-le"), "utf-8", "utf-16-le"),  # NUL every other byte
        ("n,t\n1,café\n".encode("utf-16-be"), "utf-8", "utf-16-be"),
        (b"n,t\n1,caf\xe9 \x80\n", "utf-8", "cp1252"),  # the euro sign of cp1252
        (b"n,t\n1,caf\xe9 \x81\n", "utf-8", "latin-1"),  # \x81: no character of cp1252
        ("n,t\n1,café\n".encode(), "ascii", "utf-8"),
    ],
)
def test_an_encoding_error_suggests_the_likely_encoding(tmp_path, content, named, likely):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    write(tmp_path / "src", "a.csv", content)
    report = load(tmp_path / "src", db, "t", src_encoding=named)
    assert report.exit_code == 3
    message = str(report.error)
    assert message.startswith("a.csv: ")
    assert f"bytes not valid {codecs.lookup(named).name}; set SRC_ENCODING to the files' encoding" in message
    assert message.endswith(f"(it looks like {likely}: SRC_ENCODING={likely})")
    assert nothing_written(db, "t")


# ---- NDJSON ---------------------------------------------------------------------------------


def test_ndjson_values_no_column_holds_are_rejected_rows(db, table, tmp_path):
    lines = [
        '{"id":1,"dup":"one","n":123456789012345678901234567890}',
        '{"id":2,"dup":"first","dup":"second"}',  # line 2
        '{"id":3,"dup":{"x":1,"x":2}}',  # line 3: nested
        '{"id":4,"dup":"\\ud800"}',  # line 4: a lone surrogate
        '{"id":5,"dup":["a",{"b":2.50}],"n":-0.000}',
    ]
    write(tmp_path / "src", "a.jsonl", "\n".join(lines) + "\n")
    report = load(tmp_path / "src", db, table, src_file_name="*.jsonl", max_errors=3)
    assert report.error is None, report.error
    rows = db.rows(table, order_by="id")
    assert [(r[0], r[1]) for r in rows] == [(1, "one"), (5, '["a",{"b":2.50}]')]
    # the 30-digit number and -0.000 as written (an exact decimal or text, never a float)
    numbers = [Decimal("123456789012345678901234567890"), Decimal("-0.000")]
    assert [Decimal(str(r[2])) for r in rows] == numbers
    rejects = rejects_of(tmp_path, table)
    assert [(r[1], r[3]) for r in rejects] == [("2", lines[1]), ("3", lines[2]), ("4", lines[3])]
    assert rejects[0][2] == "key 'dup' appears more than once in an object (one value would be lost)"
    assert rejects[1][2] == "key 'x' appears more than once in an object (one value would be lost)"
    assert rejects[2][2] == "the string '\\ud800' holds a lone surrogate escape: no character"


def test_ndjson_nul_in_a_string_is_held_exactly_or_rejected(db, table, tmp_path):
    write(tmp_path / "src", "a.jsonl", '{"id":1,"s":"a\\u0000b"}\n{"id":2,"s":"ok"}\n')
    report = load(tmp_path / "src", db, table, src_file_name="*.jsonl", max_errors=1)
    assert report.error is None, report.error
    rows = db.rows(table, order_by="id")
    held = not (tmp_path / f"{table}.rejects.csv").exists()
    rejected = [] if held else [r[1] for r in rejects_of(tmp_path, table)]
    if rejected:
        assert (rejected, rows) == (["1"], [(2, "ok")])
    else:
        assert rows == [(1, "a\x00b"), (2, "ok")]


def test_quote_faults_and_the_byte_check_agree_with_python_csv_in_strict_mode():
    """Every record of up to 7 characters of ``a , " space``: ``quote_fault`` says what Python's
    csv module in strict mode refuses (text after a closing quote: "',' expected after '\"'"; a
    quote never closed: "unexpected end of data"), and the vectorised check of the bytes never
    misses one (it may flag more: a quote inside an unquoted field)."""
    import itertools

    from processor.quotes import GLUED, UNCLOSED, QuoteCheck, quote_fault

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


def test_a_value_in_the_unnamed_last_field_of_a_headerless_file_names_its_line(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    write(tmp_path / "src", "region.tbl", "0|AFRICA|a|\n1|AMERICA|b|\n2|ASIA|c|oops\n")
    columns = ("r_regionkey", "r_name", "r_comment")
    report = load(tmp_path / "src", db, "t", src_file_name="*.tbl", src_header=False, src_columns=columns)
    assert report.exit_code == 4
    assert str(report.error) == (
        "region.tbl: line 3: a value in the last column, which has no name (SRC_HEADER=false, and line 1 "
        "ends with the delimiter); it is dropped only where it is empty in every row"
    )
    assert nothing_written(db, "t")


def test_src_columns_still_picks_ndjson_keys_with_src_header_false(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    write(tmp_path / "src", "a.jsonl", '{"id":1,"x":"a","y":"b"}\n')
    report = load(tmp_path / "src", db, "t", src_file_name="*.jsonl", src_header=False, src_columns=("y",))
    assert report.error is None, report.error
    assert db.columns("t") == ["y"]
    assert db.rows("t") == [("b",)]


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


def test_a_ragged_line_under_the_detected_delimiter_is_a_rejected_row(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "id;name;note\n1;Ann;x\n2;Bob\n3;Cy;z\n")
    report = load(tmp_path / "src", db, table, max_errors=1)
    assert report.error is None, report.error
    rows = [tuple(map(as_text, r)) for r in db.rows(table, order_by="id")]
    assert rows == [("1", "Ann", "x"), ("3", "Cy", "z")]
    assert rejects_of(tmp_path, table) == [["a.csv", "3", "expected 3 fields, found 2", "2;Bob"]]


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
