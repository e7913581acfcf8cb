"""Each file's delimiter, detected where SRC_DELIMITER is unset (issue 19): reported, logged, found in
compressed files and archive members; an ambiguous file is exit 3 asking for SRC_DELIMITER.

Every oracle is written out by hand (the rows as the file means them) and read back with plain
SQL through the driver; rejects are read from the rejects file as CSV.
"""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import Database, load, write
from test_quotes import as_text, nothing_written, rejects_of


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


def test_a_ragged_line_under_the_detected_delimiter_is_a_rejected_row(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "id;name;note\n1;Ann;x\n2;Bob\n3;Cy;z\n")
    report = load(tmp_path / "src", db, table, max_errors=1)
    assert report.error is None, report.error
    rows = [tuple(map(as_text, r)) for r in db.rows(table, order_by="id")]
    assert rows == [("1", "Ann", "x"), ("3", "Cy", "z")]
    assert rejects_of(tmp_path, table) == [["a.csv", "3", "expected 3 fields, found 2", "2;Bob"]]
