"""Columns matched by name across files and onto an existing table (issue 21), on every database.

The oracle is each test's own data, written per file as dicts of column -> text: every row read
back must hold, in each named column, the text that file gave it (NULL where the file lacks the
column), compared as text, whatever order the files' headers have.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from conftest import Database, csv_text, load, write

Row = dict[str, str | None]


def write_rows(folder: Path, name: str, header: list[str], rows: list[Row]) -> None:
    """A CSV file of ``rows`` under ``header`` (a column a row lacks is an empty field)."""
    text = csv_text(header, [[row.get(c) or "" for c in header] for row in rows])
    if name.endswith(".gz"):
        write(folder, name, gzip.compress(text.encode()))
    else:
        write(folder, name, text)


def as_text(value: Any) -> str | None:
    """A value read back, as the text a file spells it (integers and exact decimals)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def table_rows(db: Database, table: str) -> list[Row]:
    """Every row of ``table`` as a dict of column -> text, sorted by column ``id``."""
    columns = db.columns(table)
    rows = [dict(zip(columns, map(as_text, row), strict=True)) for row in db.rows(table)]
    return sorted(rows, key=lambda r: int(r["id"] or 0))


def expected(columns: list[str], *files: list[Row]) -> list[Row]:
    """What the table must hold: each file's rows, a column the row lacks as NULL."""
    rows = [{c: row.get(c) for c in columns} for rows in files for row in rows]
    return sorted(rows, key=lambda r: int(r["id"] or 0))


def numbered(start: int, count: int, **columns: str) -> list[Row]:
    """``count`` rows from id ``start``, each other column ``template.format(i)``."""
    return [
        {"id": str(i), **{c: t.format(i) for c, t in columns.items()}} for i in range(start, start + count)
    ]


def test_same_names_in_another_order_load_into_one_table(db, table, tmp_path):
    a = numbered(1, 3, name="n{}, with a comma", code="0{}")
    b = numbered(4, 3, name="m{}", code="00{}")
    write_rows(tmp_path / "src", "a.csv", ["id", "name", "code"], a)
    write_rows(tmp_path / "src", "b.csv", ["code", "id", "name"], b)
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "name", "code"]  # the first file's order
    assert table_rows(db, table) == expected(["id", "name", "code"], a, b)


def test_src_columns_pick_by_name_in_each_file(db, table, tmp_path):
    a = numbered(1, 2, name="n{}", code="x{}", other="o{}")
    b = numbered(3, 2, name="m{}", code="y{}", other="p{}")
    write_rows(tmp_path / "src", "a.csv", ["id", "name", "code", "other"], a)
    write_rows(tmp_path / "src", "b.csv", ["other", "code", "name", "id"], b)
    report = load(tmp_path / "src", db, table, src_columns=("code:label", "id"))
    assert report.error is None, report.error
    assert db.columns(table) == ["label", "id"]
    rows = [{"label": r["code"], "id": r["id"]} for r in a + b]
    assert table_rows(db, table) == sorted(rows, key=lambda r: int(r["id"] or 0))


def test_split_and_compressed_files_read_their_own_header(db, table, tmp_path):
    """A large file split in parts, and a compressed one handed out in blocks: each part takes
    its file's header, not the first file's."""
    a = numbered(1, 300, name="first file row {}", code="A{}")
    b = numbered(1001, 300, name="second file row {}", code="B{}")
    c = numbered(2001, 300, name="third file row {}", code="C{}")
    write_rows(tmp_path / "src", "a.csv", ["id", "name", "code"], a)
    write_rows(tmp_path / "src", "b.csv", ["name", "code", "id"], b)
    write_rows(tmp_path / "src", "c.csv.gz", ["code", "id", "name"], c)
    report = load(tmp_path / "src", db, table, src_file_name="*.csv*", split_bytes=1500, workers=2)
    assert report.error is None, report.error
    assert table_rows(db, table) == expected(["id", "name", "code"], a, b, c)


def test_another_order_onto_an_existing_table(db, table, tmp_path):
    """append (and delete_rows) match the table's columns by name, folded as the database
    folds names: on PostgreSQL ``ID`` is another column than ``id``; elsewhere the same."""
    a = seeded(db, table, tmp_path)
    b = numbered(3, 2, name="m{}")
    write_rows(tmp_path / "two", "b.csv", ["name", "id"], b)
    report = load(tmp_path / "two", db, table, if_exists="append")
    assert report.error is None, report.error
    assert table_rows(db, table) == expected(["id", "name"], a, b)
    c = numbered(5, 2, name="k{}")
    write_rows(tmp_path / "three", "c.csv", ["NAME", "ID"], [{"NAME": r["name"], "ID": r["id"]} for r in c])
    report = load(tmp_path / "three", db, table, if_exists="delete_rows")
    if db.name == "postgresql":  # quoted names are exact there
        assert report.exit_code == 4
        assert str(report.error).startswith(
            f"c.csv: header does not match the columns of table {table!r}: missing 'id', 'name'; "
            "unexpected 'NAME', 'ID'"
        )
        assert table_rows(db, table) == expected(["id", "name"], a, b)
    else:
        assert report.error is None, report.error
        assert table_rows(db, table) == expected(["id", "name"], c)


def test_ndjson_keys_in_another_order_onto_an_existing_table(db, table, tmp_path):
    write(tmp_path / "one", "a.jsonl", '{"id": 1, "name": "x", "amount": 1.50}\n')
    assert load(tmp_path / "one", db, table, src_file_name="*.jsonl").error is None
    write(tmp_path / "two", "b.jsonl", '{"amount": 2.25, "name": "y", "id": 2}\n{"id": 3, "name": "z"}\n')
    report = load(tmp_path / "two", db, table, src_file_name="*.jsonl", if_exists="append")
    assert report.error is None, report.error
    rows = [(r["id"], r["name"], r["amount"]) for r in table_rows(db, table)]
    amounts = {"1.50", "1.5"}  # SQLite keeps a float where its column has REAL affinity
    assert rows[0][:2] == ("1", "x")
    assert rows[0][2] in amounts
    assert rows[1:] == [("2", "y", "2.25"), ("3", "z", None)]


# -- ON_MISSING_COLUMNS ---------------------------------------------------------------------------


def test_a_missing_column_fails_by_default_and_loads_null_when_told(db, table, tmp_path):
    a = numbered(1, 2, name="n{}", code="c{}")
    b = numbered(3, 2, code="d{}")
    write_rows(tmp_path / "src", "a.csv", ["id", "name", "code"], a)
    write_rows(tmp_path / "src", "b.csv", ["code", "id"], b)
    report = load(tmp_path / "src", db, table)
    assert report.exit_code == 4
    assert str(report.error) == (
        "b.csv: header differs from a.csv: missing 'name' "
        "(ON_MISSING_COLUMNS=null loads NULL for a missing column)"
    )
    assert not db.exists(table)
    report = load(tmp_path / "src", db, table, on_missing_columns="null")
    assert report.error is None, report.error
    assert table_rows(db, table) == expected(["id", "name", "code"], a, b)


def test_src_columns_missing_in_a_file(db, table, tmp_path):
    a = numbered(1, 2, name="n{}", code="c{}")
    b = numbered(3, 2, code="d{}")
    write_rows(tmp_path / "src", "a.csv", ["id", "name", "code"], a)
    write_rows(tmp_path / "src", "b.csv", ["code", "id"], b)
    report = load(tmp_path / "src", db, table, src_columns=("id", "name"))
    assert report.exit_code == 4
    assert str(report.error) == (
        "SRC_COLUMNS names 'name', which is not in the header of b.csv: 'code', 'id'; "
        "ON_MISSING_COLUMNS=null loads NULL for it"
    )
    report = load(tmp_path / "src", db, table, src_columns=("id", "name"), on_missing_columns="null")
    assert report.error is None, report.error
    assert table_rows(db, table) == expected(["id", "name"], a, b)


def test_a_column_of_the_table_missing_from_the_file_is_null(db, table, tmp_path):
    a = numbered(1, 2, name="n{}", code="c{}")
    write_rows(tmp_path / "one", "a.csv", ["id", "name", "code"], a)
    assert load(tmp_path / "one", db, table).error is None
    b = numbered(3, 2, code="d{}")
    write_rows(tmp_path / "two", "b.csv", ["code", "id"], b)
    report = load(tmp_path / "two", db, table, if_exists="append")
    assert report.exit_code == 4
    assert str(report.error) == (
        f"b.csv: header does not match the columns of table {table!r}: missing 'name' "
        "(ON_MISSING_COLUMNS=null loads NULL for a missing column)"
    )
    report = load(tmp_path / "two", db, table, if_exists="append", on_missing_columns="null")
    assert report.error is None, report.error
    assert table_rows(db, table) == expected(["id", "name", "code"], a, b)


# -- ON_NEW_COLUMNS -------------------------------------------------------------------------------


def test_new_columns_added_to_a_new_table_typed_from_their_own_samples(db, table, tmp_path):
    a = numbered(1, 2, name="n{}")
    b = numbered(3, 2, name="m{}", score="{}0")
    write_rows(tmp_path / "src", "a.csv", ["id", "name"], a)
    write_rows(tmp_path / "src", "b.csv", ["score", "name", "id"], b)
    report = load(tmp_path / "src", db, table)
    assert report.exit_code == 4
    assert str(report.error) == (
        "b.csv: header differs from a.csv: unexpected 'score' "
        "(ON_NEW_COLUMNS=add adds a new one, ignore leaves it out)"
    )
    schema = tmp_path / "schema.json"
    report = load(tmp_path / "src", db, table, on_new_columns="add", write_schema=schema)
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "name", "score"]
    assert table_rows(db, table) == expected(["id", "name", "score"], a, b)
    assert isinstance(db.rows(table)[-1][2], int)  # an integer column, from b.csv's values
    assert report.columns_added == ["score"]
    assert report.columns_ignored == []
    assert json.loads(schema.read_text())["columns"]["score"] == "integer"


def test_new_columns_ignored_are_named_in_the_report(db, table, tmp_path):
    a = numbered(1, 2, name="n{}")
    b = numbered(3, 2, name="m{}", score="bad {}")
    write_rows(tmp_path / "src", "a.csv", ["id", "name"], a)
    write_rows(tmp_path / "src", "b.csv", ["score", "name", "id"], b)
    out = tmp_path / "report.json"
    report = load(tmp_path / "src", db, table, on_new_columns="ignore", report_path=out)
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "name"]
    assert table_rows(db, table) == expected(["id", "name"], a, b)
    written = json.loads(out.read_text())
    assert written["columns_ignored"] == ["score"]
    assert written["columns_added"] == []


def seeded(db: Database, table: str, tmp_path: Path, **settings: Any) -> list[Row]:
    """The table as last quarter's import left it: rows 1 and 2 of (id, name), from one file."""
    rows = numbered(1, 2, name="n{}")
    write_rows(tmp_path / "one", "a.csv", ["id", "name"], rows)
    assert load(tmp_path / "one", db, table, **settings).error is None
    return rows


def test_new_column_added_to_an_existing_table_in_the_publish(db, table, tmp_path):
    a = seeded(db, table, tmp_path)
    b = numbered(3, 2, name="m{}", score="{}5")
    write_rows(tmp_path / "two", "b.csv", ["score", "id", "name"], b)
    report = load(tmp_path / "two", db, table, if_exists="append")
    assert report.exit_code == 4
    report = load(tmp_path / "two", db, table, if_exists="append", on_new_columns="add")
    if not db.features.transactional_ddl:  # its ALTER TABLE commits by itself: refused before loading
        assert report.exit_code == 4
        assert str(report.error) == (
            f"ON_NEW_COLUMNS=add: table {table!r} would gain the columns 'score', but mysql commits "
            "ALTER TABLE on its own, outside the all-or-nothing publish; nothing was loaded. Add the "
            "columns to the table first, or load with IF_EXISTS=replace"
        )
        assert db.columns(table) == ["id", "name"]
        assert table_rows(db, table) == expected(["id", "name"], a)
        return
    assert report.error is None, report.error
    assert report.columns_added == ["score"]
    assert db.columns(table) == ["id", "name", "score"]
    assert table_rows(db, table) == expected(["id", "name", "score"], a, b)
    # The ledger keeps working: a rerun with a third file loads only that one, and b.csv, which
    # the table holds, is skipped without its header being held to anything.
    c = numbered(5, 1, name="k{}", score="7")
    write_rows(tmp_path / "two", "c.csv", ["id", "name", "score"], c)
    report = load(tmp_path / "two", db, table, if_exists="append")
    assert report.error is None, report.error
    assert report.skipped == ["b.csv"]
    assert table_rows(db, table) == expected(["id", "name", "score"], a, b, c)


def test_skipped_files_are_not_held_to_the_table(db, table, tmp_path):
    """A file the ledger says the table holds is skipped: a column it lacks is no missing one."""
    a = numbered(1, 2, name="n{}")
    write_rows(tmp_path / "src", "a.csv", ["id", "name"], a)
    assert load(tmp_path / "src", db, table, if_exists="append").error is None
    b = numbered(3, 2, name="m{}", score="{}")
    write_rows(tmp_path / "src", "b.csv", ["id", "name", "score"], b)
    if not db.features.transactional_ddl:  # ON_NEW_COLUMNS=add is refused there
        db.execute(f"ALTER TABLE {db.quote(table)} ADD COLUMN score BIGINT")
    report = load(tmp_path / "src", db, table, if_exists="append", on_new_columns="add")
    assert report.error is None, report.error
    assert report.skipped == ["a.csv"]
    assert table_rows(db, table) == expected(["id", "name", "score"], a, b)


def test_a_failed_publish_adds_no_column(db, table, tmp_path):
    """The column is added on the publishing transaction: a publish that fails after it (a CHECK
    constraint the importer does not know of refuses a row) leaves the table as it was."""
    db.execute(f"CREATE TABLE {db.quote(table)} (id BIGINT, amount BIGINT CHECK (amount < 100))")
    db.execute(f"INSERT INTO {db.quote(table)} VALUES (1, 5)")
    refused: list[Row] = [{"id": "2", "amount": "500", "extra": "x"}]
    write_rows(tmp_path / "src", "b.csv", ["id", "amount", "extra"], refused)
    report = load(tmp_path / "src", db, table, if_exists="append", on_new_columns="add")
    # Without transactional DDL it is refused before loading
    # (test_new_column_added_to_an_existing_table_in_the_publish)
    assert report.exit_code == (6 if db.features.transactional_ddl else 4), report.error
    assert db.columns(table) == ["id", "amount"]
    assert db.rows(table) == [(1, 5)]


def test_dry_run_shows_each_files_columns(db, table, tmp_path):
    write_rows(tmp_path / "src", "a.csv", ["id", "name", "code"], numbered(1, 1, name="n", code="c"))
    write_rows(tmp_path / "src", "b.csv", ["code", "id", "score"], numbered(2, 1, code="d", score="1"))
    report = load(tmp_path / "src", db, table, dry_run=True, on_new_columns="add", on_missing_columns="null")
    assert report.error is None, report.error
    text = report.dry_run.text()
    assert "    columns: lacks 'score' (NULL)" in text
    assert "    columns: adds 'score'; lacks 'name' (NULL)" in text
    files = report.dry_run.to_json()["files"]
    assert files[1]["columns"] == {"added": ["score"], "missing": ["name"], "ignored": [], "widened": []}
    assert not db.exists(table)


def test_merge_adds_a_new_column_and_updates_by_key(db, table, tmp_path):
    a = seeded(db, table, tmp_path, primary_key=("id",))
    b: list[Row] = [{"id": "2", "name": "changed", "score": "9"}, {"id": "3", "name": "new", "score": "8"}]
    write_rows(tmp_path / "two", "b.csv", ["score", "name", "id"], b)
    report = load(tmp_path / "two", db, table, if_exists="merge", primary_key=("id",), on_new_columns="add")
    if not db.features.transactional_ddl:  # ON_NEW_COLUMNS=add is refused there
        assert report.exit_code == 4
        assert db.columns(table) == ["id", "name"]
        return
    assert report.error is None, report.error
    assert table_rows(db, table) == expected(["id", "name", "score"], a[:1], b)


def test_new_column_ignored_onto_an_existing_table(db, table, tmp_path):
    a = seeded(db, table, tmp_path)
    b = numbered(3, 2, name="m{}", extra="not {} a number")
    write_rows(tmp_path / "two", "b.csv", ["extra", "name", "id"], b)
    report = load(tmp_path / "two", db, table, if_exists="append", on_new_columns="ignore")
    assert report.error is None, report.error
    assert report.columns_ignored == ["extra"]
    assert db.columns(table) == ["id", "name"]
    assert table_rows(db, table) == expected(["id", "name"], a, b)


def test_transform_gets_the_columns_in_one_order_from_every_file(db, table, tmp_path):
    module = tmp_path / "shout.py"
    module.write_text(
        "def shout(frame):\n"
        "    frame['loud'] = frame['name'].str.upper() + '/' + frame['code']\n"
        "    return frame\n"
    )
    a = numbered(1, 2, name="n{}", code="c{}")
    b = numbered(3, 2, name="m{}", code="d{}")
    write_rows(tmp_path / "src", "a.csv", ["id", "name", "code"], a)
    write_rows(tmp_path / "src", "b.csv", ["code", "name", "id"], b)
    report = load(tmp_path / "src", db, table, transform=f"{module}:shout")
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "name", "code", "loud"]
    rows = [{**r, "loud": f"{r['name']}".upper() + f"/{r['code']}"} for r in a + b]
    assert table_rows(db, table) == sorted(rows, key=lambda r: int(r["id"] or 0))
