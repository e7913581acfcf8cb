"""Names are data (issue 19): any name a database allows loads on every write path, byte for byte;
a header meets an existing table's columns as the database compares names; the importer's own
tables are no DEST_TABLE.

The oracles read each database's catalog through the driver, with the table name as a bound
parameter, and ask the database itself whether two spellings are one column or one table.
"""

from __future__ import annotations

import ast
import json
import sqlite3
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Database, csv_text, load, user_env, write

import processor.backends.mysql
from processor.backends.mysql import ServerLimits
from processor.plan.schema_file import read_schema_file
from processor.publish.ledger import LEDGER_TABLE

# Every kind of character a driver or a statement builder could read as syntax: pyformat's %,
# named and numbered placeholders, quotes of every database, backslash, whitespace, unicode.
NAMES = [
    "growth %",
    "%%",
    "%(x)s",
    "%s",
    ":name",
    "a:b",
    "?",
    "it's",
    'say "hi"',
    "back`tick",
    "back\\slash",
    "$1",
    "two  spaces",
    " lead",
    "new\nline",
    "é",
    "日本語",
    "ß",
]
# MySQL and MariaDB refuse a name ending with a space and characters beyond U+FFFF.
NOT_ON_MARIADB = ["trail ", " ", "😀"]
KEY = "id %(k)s"


def names_for(db: Database) -> list[str]:
    return NAMES if db.name == "mariadb" else NAMES + NOT_ON_MARIADB


def catalog(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` run by the driver with bound parameters."""
    engine = db.engine
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, params)]
    finally:
        engine.dispose()


def column_names(db: Database, table: str) -> list[str]:
    """The table's column names as the database's catalog holds them, in order."""
    queries = {
        "postgresql": "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        "mariadb": "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = %s ORDER BY ordinal_position",
        "duckdb": "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        "sqlite": "SELECT name FROM pragma_table_info(?) ORDER BY cid",
    }
    return [name for (name,) in catalog(db, queries[db.name], table)]


def indexed_columns(db: Database, table: str) -> set[str]:
    """The columns the table's indexes (not its primary key) read, from the catalog."""
    queries = {
        "postgresql": "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(quote_ident(%s)) AND NOT i.indisprimary",
        "mariadb": "SELECT column_name FROM information_schema.statistics WHERE table_schema = DATABASE() "
        "AND table_name = %s AND index_name <> 'PRIMARY'",
        "sqlite": "SELECT i.name FROM pragma_index_list(?) l, pragma_index_info(l.name) i "
        "WHERE l.origin = 'c'",
        "duckdb": "SELECT expressions FROM duckdb_indexes() WHERE table_name = ?",
    }
    found = catalog(db, queries[db.name], table)
    if db.name == "duckdb":  # a list of the key expressions as Python writes one, each a quoted name
        items = (item for (expressions,) in found for item in ast.literal_eval(expressions))
        return {item[1:-1].replace('""', '"') for item in items}
    return {name for (name,) in found}


def reaches_column(db: Database, table: str, name: str) -> bool:
    """Whether a statement naming ``name`` reaches a column of ``table``, asked of
    the database with an INSERT that is rolled back.  (Not CREATE TABLE's clash: MariaDB refuses
    a table with both ``i`` and ``İ`` but finds neither by the other's name.)"""
    engine = db.engine
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"INSERT INTO {db.quote(table)} ({db.quote(name)}) VALUES (NULL)")
            conn.rollback()
    except sa.exc.DBAPIError:
        return False
    finally:
        engine.dispose()
    return True


def finds_table(db: Database, name: str) -> bool:
    """Whether the database finds a table by ``name`` (asked of the database)."""
    try:
        db.execute(f"SELECT count(*) FROM {db.quote(name)}")
    except sa.exc.DBAPIError:
        return False
    return True


def exit_code(report: Any) -> int:
    return 0 if report.error is None else report.error.exit_code


# -- every name on every write path ----------------------------------------------------------------

RUNS = [
    ("fail", 1),
    ("fail", 2),
    ("replace", 1),
    ("replace", 2),
    ("append", 1),
    ("append", 2),
    ("merge", 1),
    ("merge", 2),
    ("delete_rows", 1),
    ("delete_rows", 2),
]


@pytest.mark.slow
@pytest.mark.parametrize(("if_exists", "workers"), RUNS)
def test_every_name_loads_byte_exact(db, table, tmp_path, if_exists, workers):
    names = names_for(db)
    header = [KEY, *names]
    write(tmp_path / "one", "a.csv", csv_text(header, [["1", *(f"a{i}" for i in range(len(names)))]]))
    second = [["1", *(f"b{i}" for i in range(len(names)))], ["2", *(f"c{i}" for i in range(len(names)))]]
    write(tmp_path / "two", "b.csv", csv_text(header, second))
    key = (KEY,) if if_exists == "merge" else ()
    first = load(tmp_path / "one", db, table, workers=workers, primary_key=key)
    assert first.error is None, first.error
    if if_exists != "fail":
        again = load(tmp_path / "two", db, table, workers=workers, primary_key=key, if_exists=if_exists)
        assert again.error is None, again.error
    assert column_names(db, table) == header
    expected = {
        "fail": [("1", "a")],
        "replace": [("2", "c"), ("1", "b")],
        "append": [("1", "a"), ("1", "b"), ("2", "c")],
        "merge": [("1", "b"), ("2", "c")],
        "delete_rows": [("1", "b"), ("2", "c")],
    }[if_exists]
    rows = sorted(tuple(map(str, row)) for row in db.rows(table))
    wanted = sorted((k, *(f"{p}{i}" for i in range(len(names)))) for k, p in expected)
    assert rows == wanted


def test_names_from_renames_ndjson_keys_and_the_path_column(db, table, tmp_path):
    names = names_for(db)
    plain = [f"c{i}" for i in range(len(names))]
    write(tmp_path / "csv" / "x %s.csv", "", csv_text(["id", *plain], [["1", *names]]))
    renames = ("id", *(f"{p}:{n}" for p, n in zip(plain, names, strict=True) if ":" not in n))
    path_column = "path %(p)s :p ?"
    report = load(tmp_path / "csv", db, table, src_columns=renames, src_path_column=path_column)
    assert report.error is None, report.error
    renamed = [n for n in names if ":" not in n]
    assert column_names(db, table) == ["id", *renamed, path_column]
    assert [tuple(map(str, r)) for r in db.rows(table)] == [("1", *renamed, "x %s.csv")]

    records = json.dumps({"id": 1, **{n: n for n in names}}) + "\n"
    write(tmp_path / "ndjson", "a.jsonl", records)
    ndjson = load(tmp_path / "ndjson", db, table + "_j", src_file_name="*.jsonl")
    try:
        assert ndjson.error is None, ndjson.error
        assert column_names(db, table + "_j") == ["id", *names]
        assert [tuple(map(str, r)) for r in db.rows(table + "_j")] == [("1", *names)]
    finally:
        db.drop(table + "_j")


def test_indexes_and_schema_file_on_names_and_a_replace_keeps_them(db, table, tmp_path):
    # DuckDB's catalog describes an index on a column named with ' as one on the name without it
    # (duckdb_indexes(): ``its``, 2.0.0), so its indexes here avoid the character.
    quote = "it's" if db.name != "duckdb" else "it is"
    names = ["growth %", "%(x)s", quote, 'say "hi"', "back`tick", ":name"]
    write(tmp_path / "one", "a.csv", csv_text(names, [["1", "2", "3", "4", "5", "6"]]))
    write(tmp_path / "two", "b.csv", csv_text(names, [["7", "8", "9", "10", "11", "12"]]))
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"columns": {n: "integer" for n in names}, "primary_key": ["growth %"]}))
    indexes = (("%(x)s", quote), ('say "hi"',), ("back`tick", ":name"))
    options = {"schema_file": read_schema_file(schema), "indexes": indexes}
    report = load(tmp_path / "one", db, table, **options)
    assert report.error is None, report.error
    assert indexed_columns(db, table) == set(names[1:])
    assert db.rows(table) == [(1, 2, 3, 4, 5, 6)]  # the driver's integers: SCHEMA_FILE's types
    # The replace builds the old table's indexes again (PostgreSQL from its catalog's text).
    again = load(tmp_path / "two", db, table, if_exists="replace", schema_file=read_schema_file(schema))
    assert again.error is None, again.error
    assert indexed_columns(db, table) == set(names[1:])
    assert column_names(db, table) == names
    assert db.rows(table) == [(7, 8, 9, 10, 11, 12)]


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
def test_names_through_inserts_where_mariadb_refuses_load_data(db, table, tmp_path, monkeypatch):
    """A server without local_infile gets multi-row INSERTs, run with parameters."""
    names = names_for(db)
    monkeypatch.setattr(processor.backends.mysql, "_limits", {})
    limits = processor.backends.mysql._limits
    monkeypatch.setattr(
        processor.backends.mysql,
        "_server_limits",
        lambda conn: limits.setdefault("", ServerLimits(local_infile=False, max_packet=1 << 24)),
    )
    write(tmp_path / "src", "a.csv", csv_text(["id", *names], [["1", *names]]))
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    assert column_names(db, table) == ["id", *names]
    assert [tuple(map(str, r)) for r in db.rows(table)] == [("1", *names)]


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
@pytest.mark.parametrize("name", ["trail ", "😀"])
def test_names_mariadb_cannot_hold_are_refused_before_loading(db, table, tmp_path, name):
    write(tmp_path / "src", "a.csv", csv_text(["id", name], [["1", "x"]]))
    report = load(tmp_path / "src", db, table)
    assert exit_code(report) == 4
    assert f"column 2 ({name!r})" in str(report.error)
    assert not db.exists(table)


# -- a header meets an existing table as the database compares names ------------------------------

# Where the databases' foldings differ from one another and from Python's str.lower.
FOLDINGS = [
    ("k", "K"),
    ("Growth %", "GROWTH %"),
    ("é", "É"),
    ("ǅ", "ǆ"),
    ("ı", "i"),
    ("i", "İ"),
    ("ß", "ẞ"),
    ("ა", "Ა"),
    ("ß", "SS"),
]


@pytest.mark.parametrize(
    ("created", "header", "if_exists"),
    [(c, h, "append") for c, h in FOLDINGS] + [("k", "K", "delete_rows"), ("é", "É", "delete_rows")],
)
def test_a_header_matches_the_table_as_the_database_compares_names(
    db, table, tmp_path, created, header, if_exists
):
    write(tmp_path / "one", "a.csv", csv_text(["id", created], [["1", "x"]]))
    write(tmp_path / "two", "b.csv", csv_text(["id", header], [["2", "y"]]))
    assert load(tmp_path / "one", db, table).error is None
    same = reaches_column(db, table, header)
    report = load(tmp_path / "two", db, table, if_exists=if_exists)
    if same:
        assert report.error is None, report.error
        assert column_names(db, table) == ["id", created]  # the table keeps its spelling
        kept = [(1, "x")] if if_exists == "append" else []
        assert sorted(db.rows(table)) == [*kept, (2, "y")]
    else:
        assert exit_code(report) == 4
        assert f"missing {created!r}; unexpected {header!r}" in str(report.error)
        assert db.rows(table) == [(1, "x")]


def test_case_insensitive_databases_match_a_header_in_another_case(db, table, tmp_path):
    """The issue's row: on SQLite, DuckDB and MariaDB ``k`` is column ``K``; on PostgreSQL not."""
    write(tmp_path / "one", "a.csv", "id,K\n1,x\n")
    write(tmp_path / "two", "b.csv", "ID,k\n2,y\n")
    assert load(tmp_path / "one", db, table, primary_key=("id",)).error is None
    report = load(tmp_path / "two", db, table, if_exists="merge", primary_key=("ID",))
    if db.name == "postgresql":
        assert exit_code(report) == 4
        assert db.rows(table) == [(1, "x")]
    else:
        assert report.error is None, report.error
        assert column_names(db, table) == ["id", "K"]
        assert sorted(db.rows(table)) == [(1, "x"), (2, "y")]


# -- the importer's own tables ----------------------------------------------------------------------


def ledger_rows(db: Database, table: str) -> list[tuple[Any, ...]]:
    """The ledger's rows of ``table`` (other tests on the same server write rows of their own)."""
    placeholder = "?" if db.name in ("sqlite", "duckdb") else "%s"
    return catalog(db, f"SELECT * FROM {LEDGER_TABLE} WHERE target = {placeholder}", table)


@pytest.fixture
def ledger(db, table, tmp_path):
    """A database whose ledger holds the rows of a run into ``table``; a source that fails when
    it is read.  A run that replaced or appended to the ledger would lose or change them."""
    write(tmp_path / "first", "a.csv", "n\n1\n")
    assert load(tmp_path / "first", db, table).error is None
    write(tmp_path / "src", "b.csv", "a,a\n1,2\n")  # a header the run refuses once it reads it (exit 4)
    rows = ledger_rows(db, table)
    assert len(rows) == 1
    return rows


@pytest.mark.parametrize(
    "name", [LEDGER_TABLE, "_import_stage_0123abcd_01234567", "_import_stage_0123abcd_01234567_chunks"]
)
def test_an_own_table_is_no_dest_table(db, table, tmp_path, ledger, name, cli):
    for if_exists in ("replace", "append", "fail"):
        code, _out, err = cli(
            [],
            user_env(
                SRC_DATA_FOLDER=str(tmp_path / "src"),
                DEST_SQL=db.url,
                DEST_TABLE=name,
                IF_EXISTS=if_exists,
            ),
        )
        assert code == 2, err
        assert f"DEST_TABLE {name!r}: names beginning with '_import_' are the importer's own tables" in err
    assert ledger_rows(db, table) == ledger


def test_the_ledger_in_another_case_is_no_dest_table_where_it_is_the_ledger(db, table, tmp_path, ledger):
    name = LEDGER_TABLE.upper()
    report = load(tmp_path / "src", db, name, if_exists="replace")
    if finds_table(db, name):
        assert exit_code(report) == 2
        assert "the importer's own tables" in str(report.error)
    else:  # PostgreSQL: another table; its header is read and refused
        assert exit_code(report) == 4
        assert not db.exists(name)
    assert ledger_rows(db, table) == ledger


@pytest.mark.parametrize("runs_table", ["{table}", LEDGER_TABLE, "_import_runs"])
def test_runs_table_is_neither_dest_table_nor_an_own_table(db, table, tmp_path, ledger, runs_table):
    runs_table = runs_table.format(table=table)
    write(tmp_path / "good", "c.csv", "n\n2\n")
    report = load(tmp_path / "good", db, table, if_exists="replace", runs_table=runs_table)
    assert exit_code(report) == 2
    assert f"RUNS_TABLE {runs_table!r}" in str(report.error)
    assert db.rows(table) == [(1,)]  # neither loaded nor given a runs row
    assert ledger_rows(db, table) == ledger


def test_runs_table_in_another_case_is_dest_table_where_the_database_says_so(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    assert load(tmp_path / "src", db, table).error is None
    runs_table = table.upper()
    one_table = finds_table(db, runs_table)
    report = load(tmp_path / "src", db, table, if_exists="replace", runs_table=runs_table)
    if one_table:
        assert exit_code(report) == 2
        assert f"RUNS_TABLE {runs_table!r} is the table the run loads" in str(report.error)
    else:
        assert report.error is None, report.error
        assert [r[5:7] for r in db.rows(runs_table)] == [(table, 1)]  # table_name, files
        db.drop(runs_table)
    assert db.rows(table) == [(1,)]


def test_source_files_are_not_read_for_an_own_table(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "a,a\n1,2\n")
    report = load(tmp_path / "src", db, LEDGER_TABLE)
    assert exit_code(report) == 2


# -- DEST_SCHEMA ------------------------------------------------------------------------------------

TABLES_IN = {
    "postgresql": "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
    "mariadb": "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
    "duckdb": "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
}


@pytest.fixture
def schema(db):
    """A new schema (MariaDB: database) with a name to quote, dropped with its tables afterwards."""
    if db.name == "sqlite":
        pytest.fail("SQLite has no schema to create")
    name = f"s_{uuid.uuid4().hex[:8]}" + ("" if db.name == "mariadb" else " %x")
    kind = "DATABASE" if db.name == "mariadb" else "SCHEMA"
    db.execute(f"CREATE {kind} {db.quote(name)}")
    yield name
    db.execute(f"DROP {kind} {db.quote(name)}" + ("" if db.name == "mariadb" else " CASCADE"))


def default_schema(db: Database) -> str:
    current = "DATABASE()" if db.name == "mariadb" else "current_schema()"
    return catalog(db, f"SELECT {current}")[0][0]


def tables_in(db: Database, schema: str) -> set[str]:
    return {name for (name,) in catalog(db, TABLES_IN[db.name], schema)}


@pytest.mark.parametrize("db", ["postgresql", "mariadb", "duckdb"], indirect=True)
@pytest.mark.parametrize("workers", [1, 2])
def test_dest_schema_holds_the_table_its_staging_and_the_ledger(db, table, tmp_path, schema, workers):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    report = load(tmp_path / "src", db, table, dest_schema=schema, workers=workers)
    assert report.error is None, report.error
    assert tables_in(db, schema) == {table, LEDGER_TABLE}  # the staging tables are gone
    assert table not in tables_in(db, default_schema(db))
    where = f"{db.quote(schema)}.{db.quote(table)}"
    assert db._query(f"SELECT n FROM {where}").rows_list == [(1,)]
    # The schema's ledger knows the file: an append loads only the new one.
    write(tmp_path / "src", "b.csv", "n\n2\n")
    runs = f"{table}_runs"
    again = load(
        tmp_path / "src", db, table, dest_schema=schema, workers=workers, if_exists="append", runs_table=runs
    )
    assert again.error is None, again.error
    assert tables_in(db, schema) == {table, LEDGER_TABLE, runs}
    assert sorted(db._query(f"SELECT n FROM {where}").rows_list) == [(1,), (2,)]
    ledger = f"{db.quote(schema)}.{db.quote(LEDGER_TABLE)}"
    assert sorted(db._query(f"SELECT source FROM {ledger}").rows_list) == [("a.csv",), ("b.csv",)]


@pytest.mark.parametrize("db", ["postgresql", "mariadb", "duckdb"], indirect=True)
def test_a_dest_schema_that_does_not_exist_is_refused(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    missing = f"missing_{uuid.uuid4().hex[:8]}"
    report = load(tmp_path / "src", db, table, dest_schema=missing)
    assert exit_code(report) in (2, 6)
    assert missing in str(report.error)
    assert table not in tables_in(db, default_schema(db))
    assert tables_in(db, missing) == set()


def test_sqlite_has_only_the_schema_main(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    env = user_env(SRC_DATA_FOLDER=str(tmp_path / "src"), DEST_SQL=url, DEST_TABLE="t")
    code, _out, err = cli([], {**env, "DEST_SCHEMA": "other"})
    assert code == 2
    assert "DEST_SCHEMA 'other': a SQLite database has only the schema 'main'" in err
    code, _out, err = cli([], {**env, "DEST_SCHEMA": "main"})
    assert code == 0, err
    with sqlite3.connect(tmp_path / "x.db") as conn:
        assert conn.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_a_table_name_of_every_kind_of_character(db, table, tmp_path):
    """DEST_TABLE goes through the same statements: COPY, LOAD DATA, the publish, INDEXES (whose
    names include the table's), a replace that builds them again, merge and delete_rows."""
    name = table + " %s:x?'\"`\\"
    write(tmp_path / "a", "a.csv", "k,growth %\n1,2\n")
    write(tmp_path / "b", "b.csv", "k,growth %\n3,4\n")
    try:
        runs = [
            load(tmp_path / "a", db, name, indexes=(("growth %",),), primary_key=("k",)),
            load(tmp_path / "b", db, name, if_exists="replace", primary_key=("k",)),
            load(tmp_path / "a", db, name, if_exists="merge", primary_key=("k",)),
        ]
        assert [r.error for r in runs] == [None, None, None]
        assert sorted(db.rows(name)) == [(1, 2), (3, 4)]
        assert indexed_columns(db, name) == {"growth %"}
        assert load(tmp_path / "b", db, name, if_exists="delete_rows").error is None
        assert db.rows(name) == [(3, 4)]
    finally:
        db.drop(name)


def test_src_columns_picks_and_renames_names_with_colons(db, table, tmp_path, cli):
    write(tmp_path / "src", "a.csv", csv_text([":name", "a:", "b", "x%"], [["1", "2", "3", "4"]]))
    env = user_env(
        SRC_DATA_FOLDER=str(tmp_path / "src"),
        DEST_SQL=db.url,
        DEST_TABLE=table,
        SRC_COLUMNS=":name, a:, b:%(b)s, x%:it's y",
    )
    code, _out, err = cli([], env)
    assert code == 0, err
    assert column_names(db, table) == [":name", "a:", "%(b)s", "it's y"]
    assert [tuple(map(str, r)) for r in db.rows(table)] == [("1", "2", "3", "4")]
    code, _out, err = cli([], {**env, "SRC_COLUMNS": "b, :c", "IF_EXISTS": "replace"})
    assert code == 4
    assert "SRC_COLUMNS names ':c', which is not in the header of a.csv" in err


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@pytest.mark.parametrize("if_exists", ["append", "delete_rows"])
def test_a_column_of_a_type_named_with_percent(db, table, tmp_path, if_exists):
    """The staging column has the existing column's type, named as the catalogue writes it."""
    kind = f"mood %s {uuid.uuid4().hex[:6]}"
    db.execute(f"CREATE TYPE {db.quote(kind)} AS ENUM ('ok', 'bad')")
    try:
        db.execute(f"CREATE TABLE {db.quote(table)} (id int, {db.quote('m %')} {db.quote(kind)})")
        write(tmp_path / "src", "a.csv", "id,m %\n1,ok\n")
        report = load(tmp_path / "src", db, table, if_exists=if_exists)
        assert report.error is None, report.error
        assert db.rows(table) == [(1, "ok")]
    finally:
        db.drop(table)
        db.execute(f"DROP TYPE {db.quote(kind)}")


def test_sqlite_folds_only_ascii_case_in_column_names():
    import sqlalchemy as sa

    from processor.backends import backend_for
    from processor.errors import SchemaError
    from processor.plan.schema import check_identifiers

    sqlite = backend_for(sa.create_engine("sqlite://"))
    check_identifiers("t", ["É", "é"], (), sqlite, "a.csv")  # distinct columns to SQLite
    with pytest.raises(SchemaError, match=r"^a\.csv: column 2 .* repeats the name of column 1"):
        check_identifiers("t", ["Name", "name"], (), sqlite, "a.csv")


# -- names a CREATE takes for one another ----------------------------------------------------------

# Pairs that some database's CREATE TABLE compares by another rule than its statements find
# columns by (MariaDB: ``i`` and ``İ`` by sort weight); on the others they are two columns.
CLASHES = [("i", "İ"), ("e", "É"), ("ss", "ß"), ("ı", "I")]


def create_refuses(db: Database, table: str, names: tuple[str, str]) -> bool:
    """Whether the database itself refuses a table with both names (asked of it, then dropped)."""
    columns = ", ".join(f"{db.quote(n)} INTEGER" for n in names)
    try:
        db.execute(f"CREATE TABLE {db.quote(table)} ({columns})")
    except sa.exc.DBAPIError:
        return True
    db.execute(f"DROP TABLE {db.quote(table)}")
    return False


@pytest.mark.parametrize("names", CLASHES, ids=["-".join(pair) for pair in CLASHES])
def test_names_the_database_cannot_create_side_by_side_are_exit_4(db, table, tmp_path, names):
    """A header whose two names the database's CREATE takes for one is a schema error (exit 4)
    naming the table, before any row is loaded; where the database creates both, both load."""
    refused = create_refuses(db, f"{table}_probe", names)
    write(tmp_path / "src", "a.csv", csv_text(["id", *names], [["1", "x", "y"]]))
    report = load(tmp_path / "src", db, table)
    if refused:
        assert exit_code(report) == 4, report.error
        assert f"table {table!r} cannot be created" in str(report.error)
        assert not db.exists(table)
    else:
        assert report.error is None, report.error
        assert column_names(db, table) == ["id", *names]
        assert db.rows(table) == [(1, "x", "y")]
