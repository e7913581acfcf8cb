"""Server and session settings never change data (issue 7): PostgreSQL's client_encoding, a MariaDB
server that is not strict, MariaDB columns of a narrow character set.

Every test reads the values back through the driver, text byte for byte.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import load, write

from processor.backends.database import create_engine
from processor.settings import parse_url


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_client_encoding_setting_does_not_garble_text(db, table, tmp_path, monkeypatch):
    monkeypatch.setenv("PGCLIENTENCODING", "LATIN1")
    write(tmp_path / "src", "a.csv", "n,t\n1,Zoë\n")
    write(tmp_path / "src", "b.csv", "n,t\n2,日本 😀\n")
    report = load(tmp_path / "src", db, table, workers=2)
    assert report.error is None, report.error
    stored = db._query(f"SELECT n, convert_to(t, 'UTF8') FROM {table} ORDER BY n").rows_list
    assert [(n, bytes(b)) for n, b in stored] == [(1, "Zoë".encode()), (2, "日本 😀".encode())]


@pytest.fixture
def lax_server(db):
    """MariaDB with a server default sql_mode that truncates instead of failing."""
    previous = db._query("SELECT @@GLOBAL.sql_mode").rows_list[0][0]
    db.execute("SET GLOBAL sql_mode = ''")
    try:
        yield db
    finally:
        db.execute(f"SET GLOBAL sql_mode = '{previous}'")


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
def test_non_strict_server_never_truncates(lax_server, table, tmp_path):
    db = lax_server
    db.execute(f"CREATE TABLE {table} (n INT, s VARCHAR(3))")
    write(tmp_path / "src", "a.csv", "n,s\n1,ABC\n2,ABCDEF\n")
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=1)
    assert report.error is None, report.error
    assert db.rows(table) == [(1, "ABC")]
    assert [(r.line, r.text) for r in report.rejects] == [(3, "2,ABCDEF")]
    # And the importer's own sessions are strict whatever the server's default.
    engine = create_engine(parse_url(db.url))
    try:
        with pytest.raises(sa.exc.DBAPIError, match="Data too long"), engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO {table} VALUES (3, 'ABCDEFG')")
    finally:
        engine.dispose()
    assert db.rows(table) == [(1, "ABC")]


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
def test_narrow_character_set_columns_reject_what_they_cannot_hold(db, table, tmp_path):
    db.execute(
        f"CREATE TABLE {table} (n INT, s VARCHAR(10) CHARACTER SET latin1, u TEXT CHARACTER SET utf8mb3)"
    )
    write(tmp_path / "src", "a.csv", "n,s,u\n1,Zoë €,ok\n2,日本,ok\n3,x,😀\n")
    report = load(tmp_path / "src", db, table, if_exists="append", max_errors=5)
    assert report.error is None, report.error
    assert db.rows(table) == [(1, "Zoë €", "ok")]
    assert [r.line for r in report.rejects] == [3, 4]
    assert "characters outside latin1" in report.rejects[0].reason
    assert "characters outside utf8mb3" in report.rejects[1].reason
