"""SCHEMA_FILE (issue 11): a CSVW or written schema decides the column types where the data would
plan otherwise; a file that is not understood is exit 2.
"""

from __future__ import annotations

import json

from conftest import load, write

from processor.plan.schema_file import read_schema_file

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


def test_a_schema_file_that_is_not_json_is_exit_2(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    schema = write(tmp_path, "schema.json", "{not json")
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "SCHEMA_FILE": str(schema)})
    assert code == 2
    assert err.startswith(f"error: SCHEMA_FILE is not JSON: {schema}: Expecting property name")
