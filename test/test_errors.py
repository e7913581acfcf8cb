"""Bad input: one clear line on stderr, a distinct exit status, no traceback, nothing written.

CLI-level cases call ``index.main`` in-process (the subprocess run is in test_cli.py) and run on
SQLite; cases where the database matters run on every database through the ``db`` fixture.
Each checks the exit status, the exact message, and that the target is as it was before.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SERVERS, Database, load, need_server, user_env, write

from processor.publish.ledger import LEDGER_TABLE
from processor.publish.target import staging_name

#: What a header refusal adds (ON_MISSING_COLUMNS, ON_NEW_COLUMNS; test_columns_by_name.py).
HINT = (
    "(ON_MISSING_COLUMNS=null loads NULL for a missing column; "
    "ON_NEW_COLUMNS=add adds a new one, ignore leaves it out)"
)


def sqlite_tables(path: Path) -> set[str]:
    """The tables of a SQLite file, less the importer's ledger (asserted empty of failed runs)
    and SQLite's own (sqlite_stat1, made by the ANALYZE after a load)."""
    with sqlite3.connect(path) as conn:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        names = {name for (name,) in conn.execute(query)}
        if LEDGER_TABLE in names:
            assert conn.execute(f"SELECT count(*) FROM {LEDGER_TABLE} WHERE target != 't'").fetchone() == (0,)
    return names - {LEDGER_TABLE}


def stages(db: Database, table: str) -> list[str]:
    """This test's leftover staging tables (others may be running on the same server)."""
    return [t for t in db.tables() if t.startswith(staging_name(table, ""))]


def assert_nothing_written(db: Database, table: str) -> None:
    assert not db.exists(table)
    assert stages(db, table) == []


# ---- settings, source and connection: before any work ------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORKERS": "abc"}, "WORKERS must be a positive integer, got 'abc'"),
        (
            {"IF_EXISTS": "sometimes"},
            "IF_EXISTS must be one of fail, replace, append, merge, delete_rows; got 'sometimes'",
        ),
        ({"DEST_SQL": "nonsense"}, "DEST_SQL is not a database URL: 'nonsense'"),
        ({"DEST_SQL": "oracel://scott:tiger@db/orcl"}, "DEST_SQL names an unknown database scheme: 'oracel'"),
        (
            {"DEST_SQL": "postgresql://u:tiger@h:port/db"},
            "DEST_SQL is not a database URL: 'postgresql://u:***@h:port/db'",
        ),
    ],
)
def test_invalid_settings(cli, tmp_path, env, message):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_TABLE": "t", **env})
    assert (code, out, err) == (2, "", f"error: {message}\n")
    assert "tiger" not in err
    assert list(Path.cwd().iterdir()) == []  # no import.db, no rejects file


def test_invalid_flag_value(cli, tmp_path):
    code, _, err = cli(["--chunk-size", "0"], {"SRC_DATA_FOLDER": str(tmp_path)})
    assert (code, err) == (2, "error: CHUNK_SIZE must be a positive integer, got '0'\n")


def test_missing_folder(cli, tmp_path):
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "nope")})
    assert (code, out, err) == (3, "", f"error: SRC_DATA_FOLDER does not exist: {tmp_path / 'nope'}\n")
    assert list(Path.cwd().iterdir()) == []


def test_no_file_matched(cli, tmp_path):
    write(tmp_path / "src", "a.txt", "n\n1\n")
    code, out, err = cli(["--src-file-name", "*.csv"], {"SRC_DATA_FOLDER": str(tmp_path / "src")})
    assert (code, out) == (3, "")
    assert err == f"error: no file matches SRC_FILE_NAME='*.csv' in {tmp_path / 'src'}\n"
    assert list(Path.cwd().iterdir()) == []


def test_only_empty_files(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "")
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src")})
    assert code == 3
    assert [line.split(" ", 1)[1] for line in err.splitlines()] == [
        "WARNING a.csv: empty file (0 bytes), skipped",
        f"no file matches SRC_FILE_NAME='**/*.csv' in {tmp_path / 'src'} (only 1 empty file, skipped)",
    ]


def test_unreadable_file(tmp_path):
    """Run as a user runs it, in a subprocess.  Root reads files whatever their permissions, so
    as root the importer runs without the two capabilities that let it (``setpriv``, util-linux):
    root's Python lives below /root, which another user could not even reach."""
    path = write(tmp_path / "src", "a.csv", "n\n1\n")
    path.chmod(0)
    command = [sys.executable, str(ROOT / "index.py")]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]
    env = user_env(SRC_DATA_FOLDER=str(tmp_path / "src"), DEST_SQL=f"sqlite:///{tmp_path / 'o.db'}")
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == "error: a.csv: cannot be read (permission denied)\n"
    assert not (tmp_path / "o.db").exists()


def _overwritten(data: bytes, start: int, length: int) -> bytes:
    return data[:start] + b"\xff" * length + data[start + length :]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not gzip at all\n", "cannot be read: Not a gzipped file (b'no')"),
        (
            gzip.compress(b"n\n" + b"".join(b"%d\n" % i for i in range(20_000)))[:-40],
            "cannot be read: Compressed file ended before the end-of-stream marker was reached",
        ),
        (  # deflate blocks overwritten in the middle
            _overwritten(gzip.compress(b"n\n" + b"".join(b"%d\n" % i for i in range(20_000))), 20, 50),
            "cannot be read: Error -1 Invalid deflate block found",
        ),
    ],
    ids=["not-gzip", "truncated", "corrupt"],
)
def test_damaged_compressed_file(cli, tmp_path, content, message):
    write(tmp_path / "src", "a.csv.gz", content)
    db_path = tmp_path / "out.db"
    code, out, err = cli(
        [],
        {
            "SRC_DATA_FOLDER": str(tmp_path / "src"),
            "SRC_FILE_NAME": "*.gz",
            "DEST_SQL": f"sqlite:///{db_path}",
        },
    )
    assert (code, out, err) == (3, "", f"error: a.csv.gz: {message}\n")
    assert not db_path.exists() or sqlite_tables(db_path) == set()


def test_database_unreachable(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    code, out, err = cli(
        [], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": "postgresql://postgres@127.0.0.1:1/test"}
    )
    assert (code, out) == (6, "")
    assert err == (
        "error: cannot connect to postgresql+psycopg2://postgres@127.0.0.1:1/test: "
        'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
    )


def test_sqlite_file_in_missing_folder(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    url = f"sqlite:///{tmp_path}/no/such/dir/x.db"
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": url})
    assert (code, err) == (6, f"error: cannot connect to {url}: unable to open database file\n")


@pytest.mark.parametrize("verbose", [[], ["--verbose"]], ids=["plain", "verbose"])
def test_login_refused_never_shows_the_password(cli, tmp_path, verbose):
    need_server("mariadb")
    write(tmp_path / "src", "a.csv", "n\n1\n")
    report = tmp_path / "report.json"
    code, out, err = cli(
        verbose,
        {
            "SRC_DATA_FOLDER": str(tmp_path / "src"),
            "DEST_SQL": "mysql://nosuchuser:secretpw@127.0.0.1/test",
            "REPORT_PATH": str(report),
        },
    )
    assert code == 6
    assert err.splitlines()[-1] == (
        "error: cannot connect to mysql+mysqldb://nosuchuser:***@127.0.0.1/test: "
        "Access denied for user 'nosuchuser'@'127.0.0.1' (using password: YES) (error 1045)"
    )
    assert ("Traceback" in err) == bool(verbose)
    document = report.read_text()
    assert json.loads(document)["error"] == err.splitlines()[-1].removeprefix("error: ")
    assert json.loads(document)["destination"] == "mysql+mysqldb://nosuchuser:***@127.0.0.1/test"
    for text in (out, err, document):
        assert "secretpw" not in text


def test_password_masked_where_the_server_repeats_it(cli, tmp_path):
    # Trust auth accepts any password; the database named like the password makes the server's
    # own message contain it, so this checks the masking of messages, not only of the URL.
    need_server("postgresql")
    write(tmp_path / "src", "a.csv", "n\n1\n")
    report = tmp_path / "report.json"
    code, out, err = cli(
        ["--verbose"],
        {
            "SRC_DATA_FOLDER": str(tmp_path / "src"),
            "DEST_SQL": "postgres://postgres:Secretpw9@127.0.0.1:5432/Secretpw9",
            "REPORT_PATH": str(report),
        },
    )
    assert code == 6
    assert err.splitlines()[-1] == (
        "error: cannot connect to postgresql+psycopg2://postgres:***@127.0.0.1:5432/***: "
        'connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "***" does not exist'
    )
    assert "Traceback" in err
    for text in (out, err, report.read_text()):
        assert "Secretpw9" not in text


# ---- the target: exists, header, names ---------------------------------------------------


def test_table_exists_with_if_exists_fail(db, table, tmp_path):
    write(tmp_path / "one", "a.csv", "n,t\n1,x\n")
    write(tmp_path / "two", "a.csv", "n,t\n2,y\n")
    assert load(tmp_path / "one", db, table).error is None
    report = load(tmp_path / "two", db, table)
    assert report.exit_code == 7
    assert str(report.error) == f"table {table!r} already exists; set IF_EXISTS=replace or IF_EXISTS=append"
    assert db.rows(table) == [(1, "x")]
    assert stages(db, table) == []


@pytest.mark.parametrize(
    ("second_header", "difference"),
    [
        ("id,label,size", "missing 'name'; unexpected 'label'"),
    ],
)
def test_header_mismatch(db, table, tmp_path, second_header, difference):
    write(tmp_path / "src", "a.csv", "id,name,size\n1,x,2\n")
    write(tmp_path / "src", "b.csv", f"{second_header}\n2,y,3\n")
    report = load(tmp_path / "src", db, table)
    assert report.exit_code == 4
    assert str(report.error) == f"b.csv: header differs from a.csv: {difference} {HINT}"
    assert_nothing_written(db, table)


def test_append_with_other_columns_leaves_target(db, table, tmp_path):
    write(tmp_path / "one", "a.csv", "id,name\n1,x\n")
    write(tmp_path / "two", "b.csv", "id,label\n2,y\n")
    assert load(tmp_path / "one", db, table).error is None
    report = load(tmp_path / "two", db, table, if_exists="append")
    assert report.exit_code == 4
    assert str(report.error) == (
        f"b.csv: header does not match the columns of table {table!r}: missing 'name'; unexpected 'label' "
        + HINT
    )
    assert db.rows(table) == [(1, "x")]
    assert stages(db, table) == []


def name_error(db: Database, table: str, folder: Path, header: str) -> str:
    write(folder, "a.csv", header + "\n" + ",".join("1" for _ in header.split(",")) + "\n")
    report = load(folder, db, table)
    assert report.exit_code == 4, report.error
    assert_nothing_written(db, table)
    return str(report.error)


def test_duplicate_and_empty_names(db, table, tmp_path):
    repeated = "a.csv: column 3 ('id') repeats the name of column 1"
    assert name_error(db, table, tmp_path / "a", "id,x,id") == repeated
    assert name_error(db, table, tmp_path / "b", "id,,x") == "a.csv: column 2 has an empty name in the header"


def test_names_differing_only_in_case(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "Name,name\nA,a\n")
    report = load(tmp_path / "src", db, table)
    if db.name == "postgresql":  # quoted identifiers are case-sensitive there
        assert report.error is None, report.error
        assert db.columns(table) == ["Name", "name"]
        return
    assert report.exit_code == 4
    dialect = "mysql" if db.name == "mariadb" else db.name
    assert str(report.error) == (
        f"a.csv: column 2 ('name') repeats the name of column 1 ({dialect} ignores case)"
    )
    assert_nothing_written(db, table)


LIMITS = {"postgresql": 63, "mariadb": 64}


def test_column_name_too_long(db, table, tmp_path):
    limit = LIMITS.get(db.name)
    in_bytes = db.features.names_in_bytes
    longest = "é" * 31 + "x" if in_bytes else "c" * (limit or 200)  # 63 bytes
    write(tmp_path / "ok", "a.csv", f"id,{longest}\n1,2\n")
    report = load(tmp_path / "ok", db, table)
    assert report.error is None, report.error
    assert db.columns(table) == ["id", longest]
    if limit is None:
        return  # SQLite and DuckDB hold any length
    too_long = "é" * 32 if in_bytes else "c" * 65
    length = 64 if in_bytes else 65
    dialect = "mysql" if db.name == "mariadb" else db.name
    message = name_error(db, table + "_2", tmp_path / "bad", f"id,{too_long}")
    assert message == f"a.csv: column 2 ({too_long!r}) is {length} long; {dialect} allows at most {limit}"


def test_table_name_too_long(db, table, tmp_path):
    limit = LIMITS.get(db.name)
    write(tmp_path / "src", "a.csv", "n\n1\n")
    if limit is None:  # SQLite and DuckDB hold long names
        name = table + "x" * 150
        assert load(tmp_path / "src", db, name).error is None
        assert db.rows(name) == [(1,)]
        return
    name = table + "x" * (limit + 1 - len(table))
    report = load(tmp_path / "src", db, name)
    assert report.exit_code == 4
    dialect = "mysql" if db.name == "mariadb" else db.name
    assert str(report.error) == f"table name is {limit + 1} long; {dialect} allows at most {limit}"
    assert_nothing_written(db, name)


# ---- bad rows and bad bytes ----------------------------------------------------------------


def test_undecodable_bytes(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", b'n,t\n1,ok\n2,"multi\nline"\n3,caf\xe9\n4,x\n')
    report = load(tmp_path / "src", db, table)
    assert report.exit_code == 3
    assert str(report.error) == (
        "a.csv: line 5: bytes not valid utf-8; set SRC_ENCODING to the files' encoding "
        "(it looks like cp1252: SRC_ENCODING=cp1252)"
    )
    assert_nothing_written(db, table)


def test_undecodable_bytes_late_in_a_big_file_leave_the_target(cli, tmp_path):
    # Past Arrow's first block and the type sample: the load, not the plan, meets the bytes.
    rows = b"".join(b"%d,v%d\n" % (i, i) for i in range(120_000))
    write(tmp_path / "src", "a.csv", b"n,t\n" + rows + b"120000,\xff\n")
    write(tmp_path / "old", "a.csv", "n,t\n-1,old\n")
    db_path = tmp_path / "out.db"
    env = {"DEST_SQL": f"sqlite:///{db_path}", "DEST_TABLE": "t", "CHUNK_SIZE": "50000"}
    assert cli([], {**env, "SRC_DATA_FOLDER": str(tmp_path / "old")})[0] == 0
    code, out, err = cli([], {**env, "SRC_DATA_FOLDER": str(tmp_path / "src"), "IF_EXISTS": "replace"})
    hint = "set SRC_ENCODING to the files' encoding (it looks like cp1252: SRC_ENCODING=cp1252)"
    assert (code, out, err) == (3, "", f"error: a.csv: line 120002: bytes not valid utf-8; {hint}\n")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT * FROM t").fetchall() == [(-1, "old")]
    assert sqlite_tables(db_path) == {"t"}


RAGGED = 'id,text\n1,"a\nb"\n2,x,extra\n3,y\n4\n5,"p\r\nq",more\n6,z\n'
REJECTS = [
    "file,line,reason,text",
    'a.csv,4,"expected 2 fields, found 3","2,x,extra"',
    'a.csv,6,"expected 2 fields, found 1",4',
    'a.csv,7,"expected 2 fields, found 3","5,""p',
    'q"",more"',
]


def test_ragged_rows_fail_the_run(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", RAGGED)
    report = load(tmp_path / "src", db, table, max_errors=2)
    assert report.exit_code == 5
    assert str(report.error) == (
        "a.csv: line 4: expected 2 fields, found 3 (3 rows rejected so far, MAX_ERRORS=2; nothing was loaded)"
    )
    assert_nothing_written(db, table)
    rejects = (tmp_path / f"{table}.rejects.csv").read_bytes().decode()
    assert rejects.replace("\r\n", "\n").split("\n")[:-1] == REJECTS


def test_ragged_rows_within_max_errors(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", RAGGED)
    report = load(tmp_path / "src", db, table, max_errors=3)
    assert report.error is None, report.error
    assert db.rows(table, order_by="id") == [(1, "a\nb"), (3, "y"), (6, "z")]
    assert (report.rows, len(report.rejects)) == (3, 3)
    assert [(r.line, r.text) for r in report.rejects] == [(4, "2,x,extra"), (6, "4"), (7, '5,"p\r\nq",more')]
    rejects = (tmp_path / f"{table}.rejects.csv").read_bytes().decode()
    assert rejects.replace("\r\n", "\n").split("\n")[:-1] == REJECTS


def test_max_errors_counts_across_files_and_leaves_target(db, table, tmp_path):
    write(tmp_path / "old", "a.csv", "id,v\n0,old\n")
    assert load(tmp_path / "old", db, table).error is None
    write(tmp_path / "src", "a/a.csv", "id,v\n1,x\n2,x,x\n")
    write(tmp_path / "src", "b/a.csv", "id,v\n3\n4,x\n")
    report = load(tmp_path / "src", db, table, max_errors=1, if_exists="append")
    assert report.exit_code == 5
    assert str(report.error).endswith("(2 rows rejected so far, MAX_ERRORS=1; nothing was loaded)")
    assert db.rows(table) == [(0, "old")]
    assert stages(db, table) == []
    report = load(tmp_path / "src", db, table, max_errors=2, if_exists="append")
    assert report.error is None, report.error
    assert db.rows(table, order_by="id") == [(0, "old"), (1, "x"), (4, "x")]
    assert [(r.file, r.line) for r in report.rejects] == [("a/a.csv", 3), ("b/a.csv", 2)]


def test_header_only_and_empty_files(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "n,t\n1,x\n")
    write(tmp_path / "src", "b.csv", "n,t\n")
    write(tmp_path / "src", "c.csv", "")
    db_path = tmp_path / "out.db"
    code, out, err = cli(
        ["--report-path", str(tmp_path / "r.json")],
        {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": f"sqlite:///{db_path}", "DEST_TABLE": "t"},
    )
    assert code == 0
    assert out.startswith("imported 1 row from 2 files into table 't'")
    assert [line.split(" ", 1)[1] for line in err.splitlines()] == [
        "WARNING c.csv: empty file (0 bytes), skipped"
    ]
    files = json.loads((tmp_path / "r.json").read_text())["files"]
    assert [(f["name"], f["rows"]) for f in files] == [("a.csv", 1), ("b.csv", 0)]


# ---- errors at write time ------------------------------------------------------------------


def test_write_error_is_a_database_error(table, tmp_path):
    # A value that fits its column's type but that the server refuses: a CHECK constraint.
    need_server("postgresql")
    db = Database("postgresql", SERVERS["postgresql"])
    db.execute(f"CREATE TABLE {table} (n bigint CONSTRAINT positive CHECK (n > 0), t text)")
    write(tmp_path / "src", "a.csv", "n,t\n1,a\n-1,b\n")
    report = load(tmp_path / "src", db, table, if_exists="append")
    assert report.exit_code == 6
    refused = f'new row for relation "{table}" violates check constraint "positive"'
    assert str(report.error) == f"publishing table {table!r} failed: {refused}"
    assert db.rows(table) == []


def test_verbose_traceback_only_with_verbose(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "n,t\n1,x\n2\n")
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}"}
    code, _, err = cli([], env)
    assert code == 5
    assert "Traceback" not in err
    assert err.splitlines() == [
        "error: a.csv: line 3: expected 2 fields, found 1 "
        "(1 row rejected so far, MAX_ERRORS=0; nothing was loaded)"
    ]
    code, _, err = cli(["--verbose"], env)
    assert code == 5
    assert "Traceback (most recent call last):" in err
    assert "processor.errors.RejectLimitError: a.csv: line 3" in err
    assert err.splitlines()[-1].startswith("error: a.csv: line 3: expected 2 fields, found 1")


def test_mysql_error_pairs_are_described_as_text():
    from processor.errors import describe

    error = Exception(2013, "Lost connection to server during query")
    assert describe(error) == "Lost connection to server during query (error 2013)"


@pytest.mark.parametrize("encoding", ["base64", "rot13", "hex", "zlib"])
def test_a_bytes_codec_as_encoding_is_exit_2(tmp_path, cli, encoding):
    code, _, err = cli([], {"SRC_ENCODING": encoding})
    assert code == 2
    assert err == f"error: SRC_ENCODING names no text encoding: {encoding!r} (a bytes-to-bytes codec)\n"


@pytest.mark.parametrize(
    ("server", "option", "status", "message"),
    [
        ("mariadb", "bogus=1", 6, "'bogus' is an invalid keyword argument for connect()"),
        ("mariadb", "connect_timeout=abc", 2, "invalid literal for int() with base 10: 'abc'"),
        ("postgresql", "bogus=1", 6, 'invalid dsn: invalid connection option "bogus"'),
        ("sqlite", "timeout=abc", 2, "could not convert string to float: 'abc'"),
        ("duckdb", "bogus=1", 6, 'Catalog Error: unrecognized configuration parameter "bogus"'),
    ],
)
def test_a_bad_database_url_option_is_a_documented_status(tmp_path, cli, server, option, status, message):
    urls = {"sqlite": f"sqlite:///{tmp_path / 'o.db'}", "duckdb": f"duckdb:///{tmp_path / 'o.duckdb'}"}
    if server in SERVERS:
        need_server(server)
    url = f"{urls.get(server) or SERVERS[server]}?{option}"
    write(tmp_path / "src", "a.csv", "n\n1\n")
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": url})
    assert (code, out) == (status, "")
    assert message in err
    assert "unexpected error" not in err


def test_an_import_lock_that_cannot_be_created_is_exit_2(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    url = f"sqlite:///file:{tmp_path / 'o.db'}?mode=rwc&uri=true"  # SQLite's URI form
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": url})
    assert (code, out) == (2, "")
    assert err.startswith("error: the import lock beside the database cannot be created: file:")
    assert err.endswith(".import-lock: No such file or directory\n")
