"""Files without a header line (SRC_HEADER=false, issue 19): names from SRC_COLUMNS or SCHEMA_FILE,
lines counted from the first, a TPC-H .tbl file with its trailing delimiter.

Every oracle is written out by hand (the rows as the file means them) and read back with plain
SQL through the driver.
"""

from __future__ import annotations

import json

from conftest import Database, load, write
from test_quotes import nothing_written, rejects_of

from processor.plan.schema_file import read_schema_file

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
