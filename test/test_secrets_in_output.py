"""Secrets never shown (issues 7 and 19): DEST_SQL's password and secret parameters, and NOTIFY_URL's
path, are in no output (stdout, stderr, the report, the rejects file, the webhook, worker processes'
logs), however they are spelled.

Each case runs on every database it concerns, on the real servers.
"""

from __future__ import annotations

import json
import uuid

import pytest
from conftest import write

from processor.settings import parse_url

SERVER_DATABASES = ["postgresql", "mariadb"]


USER_PASSWORD = "Userpw7k2"
QUERY_SECRET = "Querypw3q9"


@pytest.fixture
def secret_url(db):
    """DEST_SQL for ``db`` with secrets in it, and those secrets.

    PostgreSQL trusts any password here: one in the userinfo, one in the query string.  On
    MariaDB a user is made whose password is in the query string (mysqlclient takes it there).
    """
    url = parse_url(db.url)
    if db.name == "postgresql":
        yield (
            url.set(password=USER_PASSWORD, query={"sslpassword": QUERY_SECRET}),
            [USER_PASSWORD, QUERY_SECRET],
        )
        return
    user = f"edges_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY '{QUERY_SECRET}'")
    try:
        db.execute(f"GRANT ALL ON `{url.database}`.* TO '{user}'@'%%'")
        yield url.set(username=user, password=None, query={"password": QUERY_SECRET}), [QUERY_SECRET]
    finally:
        db.execute(f"DROP USER '{user}'@'%%'")


@pytest.mark.parametrize("db", SERVER_DATABASES, indirect=True)
def test_secrets_of_dest_sql_are_in_no_output(db, table, tmp_path, cli, secret_url):
    url, secrets = secret_url
    target = f"{table}_{QUERY_SECRET}"  # a name holding a secret is masked as well
    # A rejected row holding the secrets: the rejects file masks them too.
    write(tmp_path / "src", "a/a.csv", f"n,t\n1,x\n2,{' '.join(secrets)},extra\n")
    write(tmp_path / "src", "b/a.csv", "n,t\n3,y\n")
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": url.render_as_string(hide_password=False),
        "DEST_TABLE": target,
        "MAX_ERRORS": "1",
        "WORKERS": "2",
        "LOG_LEVEL": "INFO",
        "REPORT_PATH": str(tmp_path / "out" / "report.json"),
    }
    try:
        code, out, err = cli([], env)
        assert code == 0, err
        report = (tmp_path / "out" / "report.json").read_text()
        rejects = (tmp_path / "out" / "report.rejects.csv").read_text()
        assert db.rows(target, order_by="n") == [(1, "x"), (3, "y")]
        # A second run fails (the table exists): the message and the traceback are masked too.
        failed, _, verbose = cli(["--verbose"], env)
        failure = (tmp_path / "out" / "report.json").read_text()
    finally:
        db.drop(target)
    assert failed == 7
    assert "Traceback (most recent call last)" in verbose
    assert verbose.splitlines()[-1] == (
        f"error: table '{table}_***' already exists; set IF_EXISTS=replace or IF_EXISTS=append"
    )
    for text in (out, err, report, rejects, verbose, failure):
        for secret in secrets:
            assert secret not in text
    assert out.startswith(f"imported 2 rows from 2 files into table '{table}_***' at ")
    assert json.loads(report)["destination"] == (
        f"postgresql+psycopg2://{url.username}:***@{url.host}:{url.port}/{url.database}?sslpassword=***"
        if db.name == "postgresql"
        else f"mysql+mysqldb://{url.username}@{url.host}:{url.port}/{url.database}?password=***"
    )
    masked_row = " ".join("***" for _ in secrets)
    assert rejects.splitlines()[1] == f'a/a.csv,3,"expected 2 fields, found 3","2,{masked_row},extra"'


def test_secret_query_parameters_masked_in_connection_errors(cli, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    url = "postgresql://u:Pw9x@127.0.0.1:1/db?sslpassword=S3cr&auth_token=T0k&sslmode=disable"
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": url})
    assert (code, out) == (6, "")
    assert err.startswith(
        "error: cannot connect to postgresql+psycopg2://u:***@127.0.0.1:1/db"
        "?auth_token=***&sslmode=disable&sslpassword=***: "
    )
    for secret in ("Pw9x", "S3cr", "T0k"):
        assert secret not in err


def test_unparseable_url_masks_secret_parameters(cli, tmp_path):
    url = "postgresql://u:Pw9x@h:port/db?password=S3cr&sslmode=disable"
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path), "DEST_SQL": url})
    assert (code, err) == (
        2,
        "error: DEST_SQL is not a database URL: 'postgresql://u:***@h:port/db?password=***&sslmode=disable'\n",
    )
