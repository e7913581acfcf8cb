"""PRIMARY_KEY names the header's columns as the database compares names: ``K`` is column ``k`` on
SQLite, DuckDB and MariaDB (which ignore the case of names), not on PostgreSQL (whose quoted
names keep it); a key name that no column matches, or two, is exit 4 with the names.

Oracles: each database's own catalogue of the table's primary key, read with plain SQL; the
rows read back; the exact error text.
"""

from __future__ import annotations

import json

import pytest
from conftest import Database, load, write

from processor.errors import SchemaError
from processor.plan.schema import key_columns
from processor.plan.schema_file import read_schema_file

#: Whether the database takes ``K`` and ``k`` for one column name (its documented rule).
IGNORES_CASE = {"sqlite": True, "duckdb": True, "mariadb": True, "postgresql": False}
#: How messages name each database (MariaDB is served by the MySQL backend).
CALLED = {"sqlite": "sqlite", "duckdb": "duckdb", "mariadb": "mysql", "postgresql": "postgresql"}


def primary_key(db: Database, table: str) -> list[str]:
    """The table's primary key columns as the catalogue names them, in key order."""
    if db.name == "sqlite":
        rows = db._query(f"PRAGMA table_info({db.quote(table)})").rows_list
        return [r[1] for r in sorted((r for r in rows if r[5]), key=lambda r: r[5])]
    if db.name == "duckdb":
        rows = db._query(
            "SELECT constraint_column_names FROM duckdb_constraints() "
            f"WHERE table_name = '{table}' AND constraint_type = 'PRIMARY KEY'"
        ).rows_list
        return list(rows[0][0]) if rows else []
    schema = "DATABASE()" if db.name == "mariadb" else "current_schema()"
    kind = "CONSTRAINT_NAME = 'PRIMARY'" if db.name == "mariadb" else "constraint_name LIKE '%%pkey'"
    rows = db._query(
        "SELECT column_name FROM information_schema.key_column_usage "
        f"WHERE table_name = '{table}' AND table_schema = {schema} AND {kind} ORDER BY ordinal_position"
    ).rows_list
    return [r[0] for r in rows]


def test_a_key_named_in_another_case_is_the_headers_column_where_the_database_ignores_case(
    db, table, tmp_path
):
    write(tmp_path / "one", "a.csv", "id,Part,v\n1,a,x\n1,b,y\n")
    first = load(tmp_path / "one", db, table, if_exists="merge", primary_key=("ID", "part"))
    if not IGNORES_CASE[db.name]:
        assert isinstance(first.error, SchemaError)
        assert str(first.error) == "PRIMARY_KEY names columns the header does not have: 'ID', 'part'"
        assert not db.exists(table)
        return
    assert first.error is None, first.error
    assert [c.lower() for c in primary_key(db, table)] == ["id", "part"]
    assert primary_key(db, table) == ["id", "Part"]  # created as the header spells them
    # Upserted on the key, as the database matches names.
    write(tmp_path / "two", "a.csv", "ID,part,v\n1,b,z\n2,a,w\n")
    second = load(tmp_path / "two", db, table, if_exists="merge", primary_key=("Id", "PART"))
    assert second.error is None, second.error
    assert sorted(db.rows(table)) == [(1, "a", "x"), (1, "b", "z"), (2, "a", "w")]


def test_a_key_found_twice_is_found_by_a_key_named_in_another_case(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "k,v\n1,x\n2,y\n1,z\n")
    report = load(tmp_path / "src", db, table, primary_key=("K",))
    assert report.error is not None
    assert not db.exists(table)
    if not IGNORES_CASE[db.name]:  # K is not column k
        assert str(report.error) == "PRIMARY_KEY names columns the header does not have: 'K'"
        return
    assert str(report.error).startswith("a.csv: line 4: PRIMARY_KEY k = 1 was found before, in a.csv: line 2")


def test_a_key_named_in_the_headers_own_case_works_everywhere(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "K,v\n1,x\n2,y\n")
    report = load(tmp_path / "src", db, table, primary_key=("K",))
    assert report.error is None, report.error
    assert primary_key(db, table) == ["K"]


def test_a_key_naming_no_column_says_how_the_database_compares_names(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "k,v\n1,x\n")
    report = load(tmp_path / "src", db, table, primary_key=("key",))
    how = f" ({CALLED[db.name]} compares names ignoring case)" if IGNORES_CASE[db.name] else ""
    assert str(report.error) == f"PRIMARY_KEY names columns the header does not have: 'key'{how}"


def test_one_column_named_twice_in_the_key_is_refused(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "k,v\n1,x\n")
    report = load(tmp_path / "src", db, table, primary_key=("k", "K"))
    if IGNORES_CASE[db.name]:
        assert str(report.error) == "PRIMARY_KEY names column 'k' twice"
    else:
        assert str(report.error) == "PRIMARY_KEY names columns the header does not have: 'K'"
    assert not db.exists(table)


def test_a_key_name_matching_two_columns_is_refused(db):
    """Two columns that fold alike never pass the header's checks; the key's own rule refuses
    them too, naming both."""
    backend = db.backend
    try:
        if IGNORES_CASE[db.name]:
            with pytest.raises(SchemaError) as raised:
                key_columns(["k", "K", "v"], ["K"], backend)
            assert str(raised.value) == (
                f"PRIMARY_KEY names 'K', which is more than one column to {CALLED[db.name]}: 'k', 'K'; "
                "rename one of them"
            )
        else:
            assert key_columns(["k", "K", "v"], ["K"], backend) == ("K",)
    finally:
        backend.engine.dispose()


def test_the_cli_refuses_an_unknown_key_with_exit_4(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "k,v\n1,x\n")
    code, _, err = cli(
        [],
        {
            "SRC_DATA_FOLDER": str(tmp_path / "src"),
            "DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}",
            "PRIMARY_KEY": "nope",
        },
    )
    assert code == 4
    assert err == (
        "error: PRIMARY_KEY names columns the header does not have: 'nope' "
        "(sqlite compares names ignoring case)\n"
    )


def test_a_schema_files_key_is_matched_as_primary_key_is(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "k,v\n1,x\n2,y\n")
    schema_path = write(tmp_path, "schema.json", json.dumps({"columns": {"v": "text"}, "primary_key": ["K"]}))
    report = load(tmp_path / "src", db, table, schema_file=read_schema_file(schema_path))
    if not IGNORES_CASE[db.name]:
        assert str(report.error) == "PRIMARY_KEY names columns the header does not have: 'K'"
        return
    assert report.error is None, report.error
    assert primary_key(db, table) == ["k"]
    assert sorted(db.rows(table)) == [(1, "x"), (2, "y")]
