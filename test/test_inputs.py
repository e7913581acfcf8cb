"""The data as it is published (issue 11): archives as the source, chosen and renamed columns,
the path column, trailing delimiters, pandas transforms, schema files and line-delimited JSON.

Oracles are the source text itself (read with Python's csv and json modules) or the same rows
loaded from plain files; values are compared as text or decimals, never through the importer.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import sqlite3
import tarfile
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest
from conftest import Database, load, write

from processor.discover import discover_files
from processor.inflate import open_zip_member
from processor.schema_file import read_schema_file

# Two local authorities' folders, as the energy-certificate download holds them.
FOLDERS = {
    "domestic-E01-Leeds/certificates.csv": "LMK_KEY,POSTCODE,CURRENT_ENERGY_EFFICIENCY,TOTAL_FLOOR_AREA\n"
    "k1,LS1 4AP,72,80.50\nk2,LS6 2QT,65,102.25\n",
    "domestic-E02-York/certificates.csv": "LMK_KEY,POSTCODE,CURRENT_ENERGY_EFFICIENCY,TOTAL_FLOOR_AREA\n"
    "k3,YO1 7HH,81,55.00\n",
}


def text_rows(contents: dict[str, str]) -> list[list[str]]:
    """Every data row of the CSV texts, by Python's csv module."""
    return [row for text in contents.values() for row in list(csv.reader(io.StringIO(text)))[1:]]


def canonical(value: object) -> str:
    """A value as text, a number as its decimal without trailing zeros (``80.50`` == ``80.5``)."""
    try:
        return str(Decimal(str(value)).normalize())
    except ArithmeticError:
        return str(value)


def normalized(rows: list[tuple[object, ...]] | list[list[str]]) -> list[list[str]]:
    return sorted([canonical(v) for v in row] for row in rows)


def make_zip(path: Path, contents: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in contents.items():
            archive.writestr(name, text)
    return path


def make_tar(path: Path, contents: dict[str, str], mode: Literal["w", "w:gz"]) -> Path:
    with tarfile.open(path, mode) as archive:
        for name, text in contents.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_zip_of_folders_loads_the_rows_of_the_unpacked_folders_and_is_skipped_on_rerun(db, table, tmp_path):
    folder = tmp_path / "unpacked"
    for name, text in FOLDERS.items():
        write(folder, name, text)
    archive = make_zip(tmp_path / "epc.zip", FOLDERS)
    pattern = "**/certificates.csv"

    report = load(archive, db, table, src_file_name=pattern, if_exists="append")
    assert report.error is None, report.error
    assert normalized(db.rows(table)) == normalized(text_rows(FOLDERS))
    assert sorted(f.name for f in report.files) == [f"epc.zip!/{name}" for name in sorted(FOLDERS)]

    unpacked = load(folder, db, table + "_u", src_file_name=pattern)
    assert unpacked.error is None, unpacked.error
    assert normalized(db.rows(table + "_u")) == normalized(db.rows(table))
    db.drop(table + "_u")

    again = load(archive, db, table, src_file_name=pattern, if_exists="append")
    assert again.error is None, again.error
    assert sorted(again.skipped) == [f"epc.zip!/{name}" for name in sorted(FOLDERS)]
    assert len(db.rows(table)) == 3


def test_zip_members_read_back_as_written_whatever_their_compression(tmp_path):
    """Deflated members are inflated by ISA-L (processor/inflate.py), the others by zipfile."""
    text = b"".join(b"%d,%x,row %d\r\n" % (n, n * 7919, n) for n in range(200_000))  # several MiB
    members = {"big.csv": (text, zipfile.ZIP_DEFLATED), "empty.csv": (b"", zipfile.ZIP_DEFLATED)}
    members |= {"stored.csv": (text[:5000], zipfile.ZIP_STORED), "bz.csv": (text[:5000], zipfile.ZIP_BZIP2)}
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, method) in members.items():
            archive.writestr(name, data, compress_type=method)
    with zipfile.ZipFile(path) as archive:
        for name, (data, method) in members.items():
            with open_zip_member(str(path), archive, archive.getinfo(name)) as stream:
                assert isinstance(stream, zipfile.ZipExtFile) == (method != zipfile.ZIP_DEFLATED)
                pieces = [stream.read(size) for size in (1, 7, 65_536, 1 << 20)]
                assert b"".join(pieces) + stream.read() == data, name
                assert stream.read() == b""


def _with_wrong_crc(path: Path) -> None:
    """Change the CRC-32 that the archive's directory gives its first member."""
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02") + 16
    data[at : at + 4] = bytes(b ^ 0xFF for b in data[at : at + 4])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("kind", "inner", "pattern", "name"),
    [("member", "a/x.csv", "**/x.csv", "epc.zip!/a/x.csv"), ("zip file", "x.csv", "*.zip", "x.zip")],
)
def test_a_zip_member_not_matching_its_crc_is_exit_3_and_nothing_is_written(
    cli, tmp_path, kind, inner, pattern, name
):
    text = "n,t\n" + "".join(f"{n},row {n}\n" for n in range(50_000))
    (tmp_path / "src").mkdir()
    archive = make_zip(tmp_path / ("epc.zip" if kind == "member" else "src/x.zip"), {inner: text})
    _with_wrong_crc(archive)
    db_path = tmp_path / "out.db"
    source = archive if kind == "member" else archive.parent
    env = {"SRC_DATA_FOLDER": str(source), "SRC_FILE_NAME": pattern, "DEST_SQL": f"sqlite:///{db_path}"}
    code, out, err = cli([], env)
    assert (code, out, err) == (3, "", f"error: {name}: cannot be read: Bad CRC-32 for file {inner!r}\n")
    if db_path.exists():  # the ledger may be there; no table x
        with contextlib.closing(sqlite3.connect(db_path)) as conn:
            assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'x'").fetchall() == []


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_tar_members_are_found_by_glob_and_named_inside_the_archive(tmp_path, mode):
    suffix = ".tar" if mode == "w" else ".tar.gz"
    contents = {**FOLDERS, "README.txt": "not data\n"}
    archive = make_tar(tmp_path / f"epc{suffix}", contents, mode)
    found = discover_files(archive, "**/certificates.csv", None)
    assert [f.name for f in found] == [f"epc{suffix}!/{name}" for name in sorted(FOLDERS)]
    assert [f.relative_path for f in found] == sorted(FOLDERS)


def test_a_rejected_row_in_a_member_names_the_member_and_its_line(tmp_path, db, table):
    contents = {"a/x.csv": "id,n\n1,5\n2,6\n", "b/x.csv": "id,n\n3,7\n4,8,extra\n"}
    archive = make_tar(tmp_path / "data.tar.gz", contents, "w:gz")
    report = load(archive, db, table, src_file_name="**/x.csv", max_errors=5)
    assert report.error is None, report.error
    assert [(r.file, r.line, r.text) for r in report.rejects] == [("data.tar.gz!/b/x.csv", 3, "4,8,extra")]
    assert sorted(db.rows(table)) == [(1, 5), (2, 6), (3, 7)]


def test_the_path_column_holds_each_rows_path_inside_the_archive(db, table, tmp_path):
    archive = make_zip(tmp_path / "epc.zip", FOLDERS)
    report = load(archive, db, table, src_file_name="**/certificates.csv", src_path_column="source_path")
    assert report.error is None, report.error
    assert db.columns(table)[-1] == "source_path"
    found = sorted((str(row[0]), str(row[-1])) for row in db.rows(table))
    assert found == [
        ("k1", "domestic-E01-Leeds/certificates.csv"),
        ("k2", "domestic-E01-Leeds/certificates.csv"),
        ("k3", "domestic-E02-York/certificates.csv"),
    ]


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


TRANSFORMS = """
def add_postcode_area(frame):
    frame["postcode_area"] = frame["POSTCODE"].str.extract(r"^([A-Z]{1,2})", expand=False)
    return frame


def skip_york(frame):
    return frame[frame["POSTCODE"].str.startswith("YO") == False]  # noqa: E712


def explode(frame):
    raise KeyError("POSTCODE_TYPO")
"""


def test_a_transform_adds_a_column_typed_like_any_other(db, table, tmp_path):
    for name, text in FOLDERS.items():
        write(tmp_path / "src", name, text)
    module = write(tmp_path, "cleanup.py", TRANSFORMS)
    report = load(tmp_path / "src", db, table, transform=f"{module}:add_postcode_area")
    assert report.error is None, report.error
    assert db.columns(table)[-1] == "postcode_area"
    assert sorted((str(r[0]), str(r[-1])) for r in db.rows(table)) == [
        ("k1", "LS"),
        ("k2", "LS"),
        ("k3", "YO"),
    ]


def test_rows_a_transform_filters_out_keep_rejected_rows_on_their_lines(tmp_path, table):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")  # bookkeeping, not the database's
    text = "LMK_KEY,POSTCODE,EFF\nk1,YO1 1AA,5\nk2,LS1 1AA,7\nk3,YO2 2BB,x\nk4,LS2 2BB,bad\n"
    write(tmp_path / "src", "a.csv", text)
    module = write(tmp_path, "cleanup.py", TRANSFORMS)
    report = load(tmp_path / "src", db, table, transform=f"{module}:skip_york", sample_rows=2, max_errors=1)
    assert report.error is None, report.error
    assert [(r.line, r.text) for r in report.rejects] == [(5, "k4,LS2 2BB,bad")]
    assert db.rows(table) == [("k2", "LS1 1AA", 7)]


def test_a_transform_that_raises_is_exit_10_naming_the_file_and_lines(tmp_path, cli):
    write(tmp_path / "src", "a.csv", 'LMK_KEY,POSTCODE\nk1,"LS1\n1AA"\nk2,YO1 1AA\n')
    module = write(tmp_path, "cleanup.py", TRANSFORMS)
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "TRANSFORM": f"{module}:explode"}
    code, _, err = cli([], env)
    assert code == 10
    assert err == f"error: a.csv: lines 2-4: TRANSFORM {module}:explode: KeyError: 'POSTCODE_TYPO'\n"
    code, _, err = cli(["--verbose"], env)
    assert code == 10
    assert 'raise KeyError("POSTCODE_TYPO")' in err
    assert "a" not in Database("sqlite", "sqlite:///import.db").tables()


def test_a_transform_that_cannot_be_loaded_is_exit_2(tmp_path, cli):
    module = write(tmp_path, "cleanup.py", TRANSFORMS)
    code, _, err = cli([], {"TRANSFORM": f"{module}:missing"})
    assert (code, err) == (2, f"error: TRANSFORM '{module}:missing': {module} has no function 'missing'\n")


CSVW = {
    "@context": "http://www.w3.org/ns/csvw",
    "url": "certificates.csv",
    "tableSchema": {
        "columns": [
            {"name": "lmk_key", "titles": "LMK_KEY", "datatype": "string", "required": True},
            {"name": "uprn", "titles": ["UPRN"], "datatype": "string"},
            {"name": "efficiency", "titles": "CURRENT_ENERGY_EFFICIENCY", "datatype": "integer"},
        ],
        "primaryKey": "lmk_key",
    },
}


def test_a_csvw_schema_keeps_a_numeric_looking_column_as_text_and_a_required_one_filled(db, table, tmp_path):
    # UPRN holds only digits, which the sample would plan as an integer; the schema says text.
    text = "LMK_KEY,UPRN,CURRENT_ENERGY_EFFICIENCY\nk1,123,72\nk2,456,65\n,789,50\n"
    write(tmp_path / "src", "certificates.csv", text)
    schema = read_schema_file(write(tmp_path, "schema.json", json.dumps(CSVW)))
    report = load(tmp_path / "src", db, table, schema_file=schema, max_errors=1)
    assert report.error is None, report.error
    assert [(r.line, r.reason) for r in report.rejects] == [
        (4, "column 'LMK_KEY': an empty value, but the column is NOT NULL")
    ]
    assert sorted(db.rows(table)) == [("k1", "123", 72), ("k2", "456", 65)]


def test_a_written_schema_is_reused_when_the_data_would_plan_otherwise(db, table, tmp_path):
    frozen = tmp_path / "frozen.json"
    write(tmp_path / "q1", "a.csv", "code,price\n12,1.5\n13,2.25\n")
    first = load(tmp_path / "q1", db, table, write_schema=frozen)
    assert first.error is None, first.error
    written = json.loads(frozen.read_text())
    assert written["columns"]["code"] == "integer"
    # Next quarter, "code" gains a letter: planned afresh it would be text; frozen, it is rejected.
    write(tmp_path / "q2", "a.csv", "code,price\n14,3.5\n15A,4.75\n")
    again = load(
        tmp_path / "q2", db, table, if_exists="replace", schema_file=read_schema_file(frozen), max_errors=1
    )
    assert again.error is None, again.error
    assert [(r.line, r.text) for r in again.rejects] == [(3, "15A,4.75")]
    assert [int(code) for code, _ in db.rows(table)] == [14]


def test_a_schema_file_that_is_not_understood_is_exit_2(tmp_path, cli):
    bad = write(tmp_path, "s.json", '{"columns": {"code": "int8"}}')
    code, _, err = cli([], {"SCHEMA_FILE": str(bad)})
    assert code == 2
    assert err.startswith(f"error: SCHEMA_FILE {bad}: column 'code' has type 'int8'; known types: integer,")


NDJSON = (
    '{"id": 1, "price": 1.10, "tags": ["a", {"b": 2.50}], "name": "Zo\\u00eb"}\n'
    "\n"
    '{"id": 2, "price": 3.25, "name": null, "extra": {"k": [1, true, null]}}\n'
    '{"id": 3}\n'
)


def test_ndjson_keeps_nested_values_as_json_text_and_missing_keys_null(db, table, tmp_path):
    (tmp_path / "src").mkdir()
    with gzip.open(tmp_path / "src" / "items.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write(NDJSON)
    report = load(tmp_path / "src", db, table, src_file_name="*.jsonl.gz")
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "price", "tags", "name", "extra"]
    rows = {int(row[0]): row[1:] for row in db.rows(table)}
    # The oracle: each line's JSON as Python's json module reads it (numbers as decimals).
    records = [json.loads(line, parse_float=Decimal) for line in NDJSON.splitlines() if line]
    for record in records:
        price, tags, name, extra = rows[record["id"]]
        assert (None if price is None else Decimal(str(price))) == record.get("price")
        assert (None if tags is None else json.loads(tags, parse_float=Decimal)) == record.get("tags")
        assert name == record.get("name")
        assert (None if extra is None else json.loads(extra)) == record.get("extra")
    assert rows[1][1] == '["a",{"b":2.50}]'  # the nested value's text, its numbers as written


@pytest.mark.parametrize("split_bytes", [1 << 20, 16], ids=["whole", "in-parts"])
def test_ndjson_lines_that_are_no_object_or_bring_a_new_key_are_rejected_with_their_line(
    tmp_path, table, split_bytes
):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")  # reading, not the database's
    text = '{"id": 1}\n\nnot json\n[1, 2]\n{"id": 2, "late": "x"}\n{"id": 3}\n'
    write(tmp_path / "src", "a.ndjson", text)
    report = load(
        tmp_path / "src",
        db,
        table,
        src_file_name="*.ndjson",
        max_errors=3,
        sample_rows=1,
        split_bytes=split_bytes,
    )
    assert report.error is None, report.error
    assert [(r.line, r.text) for r in report.rejects] == [
        (3, "not json"),
        (4, "[1, 2]"),
        (5, '{"id": 2, "late": "x"}'),
    ]
    assert report.rejects[2].reason.startswith("key 'late' is not a column")
    assert sorted(db.rows(table)) == [(1,), (3,)]


def test_a_tar_member_is_hashed_while_read_skipped_unchanged_and_refused_changed(tmp_path, table):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")  # the ledger's bookkeeping
    contents = {"a/x.csv": "id\n1\n", "b/x.csv": "id\n2\n"}
    archive = make_tar(tmp_path / "d.tar.gz", contents, "w:gz")
    assert load(archive, db, table, src_file_name="**/x.csv", if_exists="append").error is None
    fingerprints = dict(db._query("SELECT source, fingerprint FROM _import_ledger").rows_list)
    assert fingerprints["d.tar.gz!/a/x.csv"] == "sha256:" + hashlib.sha256(b"id\n1\n").hexdigest()
    again = load(archive, db, table, src_file_name="**/x.csv", if_exists="append")
    assert sorted(again.skipped) == ["d.tar.gz!/a/x.csv", "d.tar.gz!/b/x.csv"]
    make_tar(archive, {**contents, "b/x.csv": "id\n3\n"}, "w:gz")  # same size, other bytes
    changed = load(archive, db, table, src_file_name="**/x.csv", if_exists="append")
    assert changed.error is not None
    assert changed.error.exit_code == 3
    assert str(changed.error).startswith("d.tar.gz!/b/x.csv: changed since it was loaded")
    assert sorted(db.rows(table)) == [(1,), (2,)]
