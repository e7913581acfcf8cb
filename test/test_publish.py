"""Exact at the edges of publishing: one table is one table, replace fits real databases,
delete_rows refills in place, MySQL keys compare byte for byte (issue 7).

Every oracle reads the database through its driver and catalog, not through the importer."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from conftest import SERVERS, Database, load, write

from processor.errors import SchemaError, TargetExistsError
from processor.publish.ledger import LEDGER_TABLE
from processor.publish.target import staging_name
from processor.settings import parse_url


def staging_tables(db: Database, table: str) -> list[str]:
    return [t for t in db.tables() if t.startswith(staging_name(table, ""))]


def ledger(db: Database, target: str) -> list[tuple]:
    """The ledger's (source, row_count, table_id) rows for ``target``, read directly."""
    rows = db.rows(LEDGER_TABLE)
    columns = db.columns(LEDGER_TABLE)
    at = {name: columns.index(name) for name in ("target", "source", "row_count", "table_id")}
    return sorted(
        (r[at["source"]], r[at["row_count"]], r[at["table_id"]]) for r in rows if r[at["target"]] == target
    )


def catalog_identity(db: Database, table: str) -> str | None:
    """The table's oid (PostgreSQL) or InnoDB table id (MariaDB), read from the catalog."""
    if db.name == "postgresql":
        return str(db._query(f"SELECT oid FROM pg_class WHERE relname = '{table}'").rows_list[0][0])
    if db.name == "mariadb":
        sql = (
            "SELECT TABLE_ID FROM information_schema.INNODB_SYS_TABLES "
            f"WHERE NAME = CONCAT(DATABASE(), '/{table}')"
        )
        return str(db._query(sql).rows_list[0][0])
    return None


def index_catalog(db: Database, table: str) -> dict[str, tuple[bool, tuple[str, ...]]]:
    """Index name -> (unique, columns) of ``table``, from each database's own catalog."""
    if db.name == "postgresql":
        sql = (
            "SELECT c.relname, i.indisunique, array_agg(a.attname ORDER BY k.n) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            f"WHERE i.indrelid = '{table}'::regclass AND NOT i.indisprimary GROUP BY 1, 2"
        )
        return {name: (unique, tuple(columns)) for name, unique, columns in db._query(sql).rows_list}
    if db.name == "mariadb":
        sql = (
            "SELECT INDEX_NAME, NON_UNIQUE, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) "
            f"FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' "
            "AND INDEX_NAME <> 'PRIMARY' GROUP BY 1, 2"
        )
        return {
            name: (not non_unique, tuple(cols.split(",")))
            for name, non_unique, cols in db._query(sql).rows_list
        }
    if db.name == "sqlite":
        found = {}
        for _seq, name, unique, origin, _partial in db._query(f"PRAGMA index_list('{table}')").rows_list:
            if origin == "c":
                info = db._query(f"PRAGMA index_info('{name}')").rows_list
                found[name] = (bool(unique), tuple(column for _n, _cid, column in info))
        return found
    sql = f"SELECT index_name, is_unique, sql FROM duckdb_indexes() WHERE table_name = '{table}'"
    # DuckDB's catalog gives the columns only inside the index's SQL text.
    return {
        name: (unique, tuple(c.strip() for c in sql.split("(", 1)[1].rstrip(");").split(",")))
        for name, unique, sql in db._query(sql).rows_list
    }


# -- one table is one table ---------------------------------------------------------------------


def test_a_table_recreated_empty_is_loaded_again(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a.csv", "n\n1\n2\n")
    assert load(src, db, table, if_exists="append").error is None
    db.drop(table)
    db.execute(f"CREATE TABLE {db.quote(table)} (n BIGINT)")
    report = load(src, db, table, if_exists="append")
    assert report.error is None, report.error
    assert report.skipped == []
    assert sorted(db.rows(table)) == [(1,), (2,)]
    assert [(source, rows) for source, rows, _id in ledger(db, table)] == [("a.csv", 2)]


def test_a_table_recreated_and_filled_by_hand(db, table, tmp_path, caplog):
    """Where the database has a table identity (PostgreSQL, MariaDB), a table dropped and created
    again is not the one the ledger describes, even when it holds rows; SQLite and DuckDB have
    none (README), so there the ledger still speaks for it."""
    src = tmp_path / "src"
    write(src, "a.csv", "n\n1\n")
    assert load(src, db, table, if_exists="append").error is None
    assert ledger(db, table) == [("a.csv", 1, catalog_identity(db, table))]
    db.drop(table)
    db.execute(f"CREATE TABLE {db.quote(table)} (n BIGINT)")
    db.execute(f"INSERT INTO {db.quote(table)} VALUES (99)")
    report = load(src, db, table, if_exists="append")
    assert report.error is None, report.error
    if db.name in SERVERS:
        assert report.skipped == []
        assert sorted(db.rows(table)) == [(1,), (99,)]
        assert "was dropped and created again since the ledger recorded it" in caplog.text
        assert ledger(db, table) == [("a.csv", 1, catalog_identity(db, table))]
    else:
        assert report.skipped == ["a.csv"]
        assert db.rows(table) == [(99,)]


def test_the_identity_survives_the_importers_own_replace(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a.csv", "n\n1\n")
    assert load(src, db, table).error is None
    assert load(src, db, table, if_exists="replace").error is None
    assert ledger(db, table) == [("a.csv", 1, catalog_identity(db, table))]
    again = load(src, db, table, if_exists="append")
    assert again.error is None, again.error
    assert again.skipped == ["a.csv"]
    assert db.rows(table) == [(1,)]


def test_names_that_differ_in_case(db, table, tmp_path):
    """SQLite and DuckDB fold table names: Certs and certs are one table and one ledger.
    PostgreSQL (quoted names) and MariaDB (lower_case_table_names=0) keep two tables."""
    upper = table.upper()
    src = tmp_path / "src"
    write(src, "a.csv", "n\n1\n")
    try:
        assert load(src, db, upper, if_exists="append").error is None
        second = load(src, db, table, if_exists="append")
        assert second.error is None, second.error
        same_name = sorted(t for t in db.tables() if t.lower() == table)
        if db.name in SERVERS:
            assert same_name == [upper, table]
            assert second.skipped == []
            assert db.rows(upper) == [(1,)]
            assert db.rows(table) == [(1,)]
            assert [r[:2] for r in ledger(db, upper)] == [("a.csv", 1)]
            assert [r[:2] for r in ledger(db, table)] == [("a.csv", 1)]
        else:
            assert same_name == [upper]
            assert second.skipped == ["a.csv"]
            assert db.rows(upper) == [(1,)]
    finally:
        if db.name in SERVERS:
            db.drop(upper)


@pytest.fixture
def other_db(db):
    """A MariaDB database of its own beside ``test``, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE DATABASE {name}")
    yield Database("mariadb", parse_url(db.url).set(database=name).render_as_string(hide_password=False))
    db.execute(f"DROP DATABASE {name}")


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)  # GET_LOCK is server-wide
def test_one_table_name_in_two_mariadb_databases_takes_two_locks(db, table, tmp_path, other_db):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    with db.import_lock(table):
        report = load(tmp_path / "src", other_db, table)
    assert report.error is None, report.error
    assert other_db.rows(table) == [(1,)]


OLD_LEDGER = {
    # The ledger as the previous version made it: no table_id, MariaDB keys compared ignoring case.
    "sqlite": "target TEXT, source TEXT, size BIGINT, fingerprint TEXT, row_count BIGINT, run_id TEXT, "
    "loaded_at DATETIME, PRIMARY KEY (target, source)",
    "mariadb": "target VARCHAR(64) NOT NULL, source VARCHAR(700) NOT NULL, size BIGINT, "
    "fingerprint VARCHAR(1024), row_count BIGINT, run_id VARCHAR(1024), loaded_at DATETIME, "
    "PRIMARY KEY (target, source)",
}


def check_upgrade(target: Database, tmp_path) -> None:
    target.execute(f"CREATE TABLE {LEDGER_TABLE} ({OLD_LEDGER[target.name]})")
    write(tmp_path / "src", "a.csv", "n\n1\n")
    first = load(tmp_path / "src", target, "t", if_exists="append")
    assert first.error is None, first.error
    assert "table_id" in target.columns(LEDGER_TABLE)
    second = load(tmp_path / "src", target, "t", if_exists="append")
    assert second.skipped == ["a.csv"]
    assert target.rows("t") == [(1,)]


def test_an_older_sqlite_ledger_is_brought_up_to_date(tmp_path):
    check_upgrade(Database("sqlite", f"sqlite:///{tmp_path / 'old.db'}"), tmp_path)


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
def test_an_older_mariadb_ledger_is_brought_up_to_date(db, tmp_path, other_db):
    check_upgrade(other_db, tmp_path)
    sql = (
        "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
        f"WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{LEDGER_TABLE}' "
        "AND COLUMN_NAME IN ('target', 'source')"
    )
    assert sorted(other_db._query(sql).rows_list) == [
        ("source", "utf8mb4_nopad_bin"),
        ("target", "utf8mb4_nopad_bin"),
    ]


# -- replace --------------------------------------------------------------------------------------


def test_replace_refuses_a_table_a_view_depends_on(db, table, tmp_path):
    view = f"{table}_v"
    write(tmp_path / "one", "a.csv", "id,v\n1,a\n")
    write(tmp_path / "two", "b.csv", "id,v\n2,b\n")
    assert load(tmp_path / "one", db, table).error is None
    db.execute(f"CREATE VIEW {db.quote(view)} AS SELECT v FROM {db.quote(table)}")
    try:
        report = load(tmp_path / "two", db, table, if_exists="replace")
        assert isinstance(report.error, TargetExistsError)
        assert report.error.exit_code == 7
        assert f"IF_EXISTS=replace would drop table {table!r}, and view " in str(report.error)
        assert view in str(report.error)
        assert "set IF_EXISTS=delete_rows" in str(report.error)
        assert report.files == []
        assert db.rows(table) == [(1, "a")]
        assert db.rows(view) == [("a",)]
        assert staging_tables(db, table) == []
    finally:
        db.execute(f"DROP VIEW {db.quote(view)}")


def test_replace_and_delete_rows_refuse_a_table_a_foreign_key_references(db, table, tmp_path):
    child = f"{table}_child"
    write(tmp_path / "one", "a.csv", "id,v\n1,a\n")
    write(tmp_path / "two", "b.csv", "id,v\n2,b\n")
    assert load(tmp_path / "one", db, table, if_exists="merge", primary_key=("id",)).error is None
    db.execute(f"CREATE TABLE {db.quote(child)} (x BIGINT REFERENCES {db.quote(table)} (id))")
    db.execute(f"INSERT INTO {db.quote(child)} VALUES (1)")
    try:
        for mode in ("replace", "delete_rows"):
            report = load(tmp_path / "two", db, table, if_exists=mode)
            assert isinstance(report.error, TargetExistsError), report.error
            assert report.error.exit_code == 7
            assert f"IF_EXISTS={mode} would " in str(report.error)
            assert "foreign key" in str(report.error)
            assert child in str(report.error)
            assert report.files == []
            assert db.rows(table) == [(1, "a")]
            assert db.rows(child) == [(1,)]
            assert staging_tables(db, table) == []
    finally:
        db.drop(child)


LOST = {
    "postgresql": ("ALTER TABLE {t} ADD CONSTRAINT positive CHECK (score > 0)", "constraint positive (CHECK"),
    "mariadb": ("ALTER TABLE {t} ADD CONSTRAINT positive CHECK (score > 0)", "check constraint positive"),
    "sqlite": ("CREATE TRIGGER positive AFTER INSERT ON {t} BEGIN SELECT 1; END", "trigger positive"),
    "duckdb": ("COMMENT ON TABLE {t} IS 'scores'", "comment on the table"),
}


def test_replace_keeps_indexes_and_names_what_it_cannot_keep(db, table, tmp_path, caplog):
    write(tmp_path / "one", "a.csv", "id,name,score\n1,ann,10\n2,bob,20\n")
    write(tmp_path / "two", "b.csv", "id,name,score\n3,cy,30\n4,dee,40\n")
    assert load(tmp_path / "one", db, table).error is None
    q = db.quote
    db.execute(f"CREATE UNIQUE INDEX {q(table + '_id')} ON {q(table)} (id)")
    db.execute(f"CREATE INDEX {q(table + '_score')} ON {q(table)} (score, id)")
    sql, named = LOST[db.name]
    db.execute(sql.format(t=q(table)))
    before = index_catalog(db, table)
    assert before == {table + "_id": (True, ("id",)), table + "_score": (False, ("score", "id"))}
    report = load(tmp_path / "two", db, table, if_exists="replace")
    assert report.error is None, report.error
    assert db.rows(table, order_by="id") == [(3, "cy", 30), (4, "dee", 40)]
    assert index_catalog(db, table) == before
    assert f"replacing table {table!r}: the new table will not have the old one's" in caplog.text
    assert named in caplog.text
    with pytest.raises(sa.exc.DBAPIError):  # the unique index holds on the new rows
        db.execute(f"INSERT INTO {q(table)} VALUES (3, 'again', 1)")


def test_replace_with_rows_that_break_a_kept_unique_index_fails(db, table, tmp_path):
    write(tmp_path / "one", "a.csv", "id,v\n1,a\n")
    write(tmp_path / "two", "b.csv", "id,v\n2,b\n2,c\n")
    assert load(tmp_path / "one", db, table).error is None
    db.execute(f"CREATE UNIQUE INDEX {db.quote(table + '_id')} ON {db.quote(table)} (id)")
    report = load(tmp_path / "two", db, table, if_exists="replace")
    assert report.error is not None
    assert report.error.exit_code == 6
    assert str(report.error).startswith(f"publishing table {table!r} failed: ")
    assert db.rows(table) == [(1, "a")]
    assert staging_tables(db, table) == []


@pytest.fixture
def reader(db):
    """A PostgreSQL role without privileges of its own, dropped afterwards."""
    role = f"reader_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {role}")
    yield role
    db.execute(f"DROP OWNED BY {role}")
    db.execute(f"DROP ROLE {role}")


def granted(db: Database, table: str, role: str) -> list[tuple]:
    sql = (
        "SELECT a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a "
        f"WHERE c.oid = '{table}'::regclass AND a.grantee = '{role}'::regrole ORDER BY 1"
    )
    return db._query(sql).rows_list


def read_as(db: Database, role: str, table: str) -> list[tuple]:
    engine = db.engine
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SET ROLE {role}")
            return sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table}"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # the only one with grants per table
def test_replace_keeps_postgresql_grants(db, table, tmp_path, reader):
    write(tmp_path / "one", "a.csv", "n\n1\n")
    write(tmp_path / "two", "b.csv", "n\n2\n")
    assert load(tmp_path / "one", db, table).error is None
    db.execute(f"GRANT SELECT ON {table} TO {reader}")
    db.execute(f"GRANT UPDATE ON {table} TO {reader} WITH GRANT OPTION")
    assert load(tmp_path / "two", db, table, if_exists="replace").error is None
    assert granted(db, table, reader) == [("SELECT", False), ("UPDATE", True)]
    assert read_as(db, reader, table) == [(2,)]


# -- delete_rows ----------------------------------------------------------------------------------


def test_delete_rows_refills_the_table_in_place(db, table, tmp_path):
    view, index = f"{table}_v", f"{table}_n"
    write(tmp_path / "one", "a.csv", "n,t\n1,a\n2,b\n")
    write(tmp_path / "two", "b.csv", "n,t\n3,c\n")
    assert load(tmp_path / "one", db, table).error is None
    identity = catalog_identity(db, table)
    db.execute(f"CREATE INDEX {db.quote(index)} ON {db.quote(table)} (n)")
    db.execute(f"CREATE VIEW {db.quote(view)} AS SELECT t FROM {db.quote(table)}")
    try:
        report = load(tmp_path / "two", db, table, if_exists="delete_rows")
        assert report.error is None, report.error
        assert db.rows(table) == [(3, "c")]
        assert db.rows(view) == [("c",)]
        assert index in index_catalog(db, table)
        assert catalog_identity(db, table) == identity  # the same table, not a new one
        assert ledger(db, table) == [("b.csv", 1, identity)]
        rerun = load(tmp_path / "two", db, table, if_exists="append")
        assert rerun.skipped == ["b.csv"]
    finally:
        db.execute(f"DROP VIEW {db.quote(view)}")


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_delete_rows_keeps_postgresql_grants(db, table, tmp_path, reader):
    write(tmp_path / "one", "a.csv", "n\n1\n")
    write(tmp_path / "two", "b.csv", "n\n2\n")
    assert load(tmp_path / "one", db, table).error is None
    db.execute(f"GRANT SELECT ON {table} TO {reader}")
    assert load(tmp_path / "two", db, table, if_exists="delete_rows").error is None
    assert read_as(db, reader, table) == [(2,)]


def test_delete_rows_creates_a_missing_table_and_needs_matching_columns(db, table, tmp_path):
    write(tmp_path / "one", "a.csv", "n\n1\n")
    write(tmp_path / "two", "b.csv", "m\n2\n")
    assert load(tmp_path / "one", db, table, if_exists="delete_rows").error is None
    assert db.rows(table) == [(1,)]
    report = load(tmp_path / "two", db, table, if_exists="delete_rows")
    assert isinstance(report.error, SchemaError)
    assert report.error.exit_code == 4
    assert db.rows(table) == [(1,)]


# -- keys compare byte for byte -------------------------------------------------------------------


def test_merge_keys_that_differ_only_in_case_accents_or_spaces_stay_apart(db, table, tmp_path):
    write(tmp_path / "one", "a.csv", 'id,v\nabc,1\n"a ",2\n')
    write(tmp_path / "two", "b.csv", 'id,v\nABC,3\n"a",4\náBC,5\n')
    assert load(tmp_path / "one", db, table, if_exists="merge", primary_key=("id",)).error is None
    report = load(tmp_path / "two", db, table, if_exists="merge", primary_key=("id",))
    assert report.error is None, report.error
    assert sorted(db.rows(table)) == sorted([("a", 4), ("a ", 2), ("ABC", 3), ("abc", 1), ("áBC", 5)])


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
def test_mariadb_keys_the_importer_creates_are_binary(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "id,v\nabc,1\n")
    assert load(tmp_path / "src", db, table, if_exists="merge", primary_key=("id",)).error is None
    sql = (
        "SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
        f"DATABASE() AND ((TABLE_NAME = '{table}' AND COLUMN_NAME = 'id') OR TABLE_NAME = '{LEDGER_TABLE}' "
        "AND COLUMN_NAME IN ('target', 'source'))"
    )
    assert sorted(db._query(sql).rows_list) == [
        (LEDGER_TABLE, "source", "utf8mb4_nopad_bin"),
        (LEDGER_TABLE, "target", "utf8mb4_nopad_bin"),
        (table, "id", "utf8mb4_nopad_bin"),
    ]


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
@pytest.mark.parametrize(
    ("content", "first", "second", "where"),
    [
        ("id,v\nABC,2\n", "'ABC'", "'abc'", "in the files and in the table"),
        ("id,v\nx,2\nX,3\n", "'X'", "'x'", "both in the files"),
    ],
)
def test_merge_into_a_case_insensitive_key_refuses_to_overwrite(
    db, table, tmp_path, content, first, second, where
):
    db.execute(f"CREATE TABLE {table} (id VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v BIGINT)")
    db.execute(f"INSERT INTO {table} VALUES ('abc', 1)")
    write(tmp_path / "src", "a.csv", content)
    report = load(tmp_path / "src", db, table, if_exists="merge", primary_key=("id",))
    assert isinstance(report.error, SchemaError), report.error
    assert report.error.exit_code == 4
    message = str(report.error)
    assert message.startswith(f"IF_EXISTS=merge: keys {first} and {second} ({where}) differ")
    assert "id (utf8mb4_general_ci)" in message
    assert message.endswith("nothing was published")
    assert db.rows(table) == [("abc", 1)]
    assert staging_tables(db, table) == []


# -- names ----------------------------------------------------------------------------------------


def primary_key_name(db: Database, table: str) -> str:
    sql = (
        f"SELECT conname FROM pg_constraint WHERE conrelid = '{db.quote(table)}'::regclass AND contype = 'p'"
    )
    return db._query(sql).rows_list[0][0]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # elsewhere the key has no name of the table
def test_the_primary_key_is_named_after_the_table_not_the_staging_table(db, table, tmp_path):
    write(tmp_path / "one", "a.csv", "id,v\n1,a\n")
    write(tmp_path / "two", "b.csv", "id,v\n2,b\n")
    for folder, mode in (("one", "fail"), ("two", "replace")):
        assert load(tmp_path / folder, db, table, if_exists=mode, primary_key=("id",)).error is None
        assert primary_key_name(db, table) == f"{table}_pkey"
    # 63 bytes, PostgreSQL's longest name: the table's part is cut on a character to fit.
    long = f"{table}_" + "é" * 25
    other = f"{table}_other"
    try:
        assert load(tmp_path / "one", db, long, primary_key=("id",)).error is None
        assert primary_key_name(db, long) == f"{table}_" + "é" * 22 + "_pkey"
        # The name taken by another table's index: the key keeps the name it was built with.
        db.drop(table)
        db.execute(f"CREATE TABLE {other} (n int)")
        db.execute(f"CREATE INDEX {table}_pkey ON {other} (n)")
        assert load(tmp_path / "one", db, table, primary_key=("id",)).error is None
        assert primary_key_name(db, table).startswith(staging_name(table, ""))
        assert db.rows(table) == [(1, "a")]
    finally:
        db.drop(long)
        db.drop(other)
