"""The columns as loaded (issue 11): SRC_COLUMNS chosen and renamed, later samples that leave
settled columns unread, and the unnamed empty last column of a file that ends every line with
its delimiter.

Oracles are the rows as written in the source, read back with plain SQL.
"""

from __future__ import annotations

from decimal import Decimal

from conftest import Database, load, write


def test_chosen_columns_load_in_the_given_order_and_names_and_a_dropped_bad_column_rejects_nothing(
    db, table, tmp_path
):
    # "count" is an integer in the sample of one row, then "many": it would be a rejected row.
    write(tmp_path / "src", "a.csv", "id,count,city,note\n1,5,Leeds,x\n2,many,York,y\n")
    report = load(tmp_path / "src", db, table, src_columns=("city:town", "id"), sample_rows=1)
    assert report.error is None, report.error
    assert report.rejects == []
    assert db.columns(table) == ["town", "id"]
    assert sorted((str(town), int(key)) for town, key in db.rows(table)) == [("Leeds", 1), ("York", 2)]


def test_later_samples_leave_the_settled_columns_unread_and_still_widen_the_others(db, table, tmp_path):
    # a.csv (sampled first, in full) settles "code" (leading zeros) and the path column as text;
    # the samples of b.csv and c.csv read only "amount" and "id", and c.csv's 2.5 widens amount.
    for name, row in (("a.csv", "1,007,5,x"), ("b.csv", "2,12,6,y"), ("c.csv", "3,13,2.5,z")):
        write(tmp_path / "src", name, f"id,code,amount,note\n{row}\n")
    chosen = ("amount", "code:zip", "id")
    report = load(tmp_path / "src", db, table, src_columns=chosen, src_path_column="source")
    assert report.error is None, report.error
    assert db.columns(table) == ["amount", "zip", "id", "source"]
    assert sorted(db.rows(table), key=lambda row: row[2]) == [
        (5.0, "007", 1, "a.csv"),
        (6.0, "12", 2, "b.csv"),
        (2.5, "13", 3, "c.csv"),
    ]


def test_an_unknown_chosen_column_is_exit_4_listing_the_header(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "id,city\n1,Leeds\n")
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "SRC_COLUMNS": "id,town"})
    assert code == 4
    assert err == "error: SRC_COLUMNS names 'town', which is not in the header of a.csv: 'id', 'city'\n"


TBL = "id|name|price|\n1|bolt|0.25|\n2|nut|0.10|\n"


def test_a_file_ending_every_line_with_the_delimiter_loads_without_its_empty_last_column(db, table, tmp_path):
    write(tmp_path / "src", "part.tbl", TBL)
    report = load(tmp_path / "src", db, table, src_file_name="*.tbl", src_delimiter="|")
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "name", "price"]
    rows = sorted((int(i), str(n), Decimal(str(p))) for i, n, p in db.rows(table))
    assert rows == [(1, "bolt", Decimal("0.25")), (2, "nut", Decimal("0.10"))]


def test_a_value_in_the_unnamed_last_column_is_exit_4_with_its_line(tmp_path, cli):
    write(tmp_path / "src", "part.tbl", TBL + "3|washer|0.05|oops\n")
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "SRC_FILE_NAME": "*.tbl", "SRC_DELIMITER": "|"}
    code, _, err = cli([], {**env, "SAMPLE_ROWS": "1"})
    assert code == 4
    assert err.startswith("error: part.tbl: line 4: a value in the last column, which has no name")
    assert "part" not in Database("sqlite", "sqlite:///import.db").tables()
