"""DEST_SQL_FILE (issue 19): the database URL from a file (as a mounted secret), with or without its
line ending, also through a real process; a file without a URL, or both settings, is exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from conftest import ROOT, SERVERS, Database, need_server, user_env, write
from test_max_shrink import numbers, stored
from test_setting_typos import _count

from processor.settings import parse_url


def postgres_url(password: str, query: str) -> str:
    """The test server's URL (TEST_POSTGRES_URL) with ``password`` and ``query`` as written."""
    need_server("postgresql")
    url = parse_url(SERVERS["postgresql"])
    return f"postgresql://{url.username}:{password}@{url.host}:{url.port or 5432}/{url.database}?{query}"


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_dest_sql_file_gives_the_url(ending, cli, tmp_path):
    write(tmp_path / "src", "t.csv", numbers(3))
    (tmp_path / "secret").write_bytes(f"sqlite:///{tmp_path / 'o.db'}{ending}".encode())
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "REPORT_PATH": str(tmp_path / "r.json")}
    code, out, err = cli(["--dest-sql-file", str(tmp_path / "secret")], env)
    assert code == 0, err
    assert out.startswith(f"imported 3 rows from 1 file into table 't' at sqlite:///{tmp_path / 'o.db'} in ")
    assert _count(tmp_path / "o.db", "t") == 3
    shown = json.loads((tmp_path / "r.json").read_text())["settings"]
    assert (shown["DEST_SQL_FILE"], shown["DEST_SQL"]) == (
        str(tmp_path / "secret"),
        f"sqlite:///{tmp_path / 'o.db'}",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "DEST_SQL_FILE cannot be read: {path}: No such file or directory"),
        ("", "DEST_SQL_FILE {path} is empty"),
        ("\n", "DEST_SQL_FILE {path} is empty"),
        ("sqlite:///o.db\n\n", "DEST_SQL_FILE {path} holds more than one line; it must hold the URL alone"),
        ("sqlite:///o.db\nx", "DEST_SQL_FILE {path} holds more than one line; it must hold the URL alone"),
        (
            "postgresql://u:Fz8pw@h:port/db\n",
            "DEST_SQL_FILE {path} is not a database URL: 'postgresql://u:***@h:port/db'",
        ),
        ("nosuch://h/db", "DEST_SQL_FILE {path} names an unknown database scheme: 'nosuch'"),
    ],
)
def test_a_dest_sql_file_that_holds_no_url_is_exit_2(content, message, cli, tmp_path):
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content)
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path), "DEST_SQL_FILE": str(path)})
    assert (code, out, err) == (2, "", f"error: {message.format(path=path)}\n")
    assert os.listdir(".") == []


def test_dest_sql_and_dest_sql_file_together_are_exit_2(cli, tmp_path):
    (tmp_path / "secret").write_text(f"sqlite:///{tmp_path / 'a.db'}\n")
    env = {"SRC_DATA_FOLDER": str(tmp_path), "DEST_SQL_FILE": str(tmp_path / "secret")}
    for argv, more in (([], {"DEST_SQL": "sqlite:///b.db"}), (["--dest-sql", "sqlite:///b.db"], {})):
        code, out, err = cli(argv, {**env, **more})
        assert (code, out, err) == (
            2,
            "",
            "error: DEST_SQL and DEST_SQL_FILE are both set; set only one of them\n",
        )
    assert os.listdir(".") == []
    assert not (tmp_path / "a.db").exists()


def test_dest_sql_file_through_a_real_process(tmp_path):
    """As a container runs it: the URL (with its password) only in a mounted file."""
    n = uuid.uuid4().hex[:8]
    url = postgres_url(f"Fz{n}%2Fx", "sslmode=disable")
    (tmp_path / "secret").write_text(url + "\n")
    write(tmp_path / "src", "t.csv", numbers(7))
    table = f"t_{uuid.uuid4().hex[:10]}"
    env = user_env(
        SRC_DATA_FOLDER=str(tmp_path / "src"),
        DEST_SQL_FILE=str(tmp_path / "secret"),
        DEST_TABLE=table,
        WORKERS="1",
        LOG_LEVEL="DEBUG",
        REPORT_PATH=str(tmp_path / "report.json"),
    )
    database = Database("postgresql", SERVERS["postgresql"])
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "index.py")], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert stored(database, table) == list(range(7))
    finally:
        database.drop(table)
    assert done.stdout.startswith(
        f"imported 7 rows from 1 file into table '{table}' at postgresql+psycopg2://"
    )
    for text in (done.stdout, done.stderr, (tmp_path / "report.json").read_text()):
        assert n not in text
