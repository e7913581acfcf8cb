"""Secrets never shown (issues 7 and 19): DEST_SQL's password and secret parameters, and NOTIFY_URL's
path, are in no output (stdout, stderr, the report, the rejects file, the webhook, worker processes'
logs), however they are spelled.

Each case runs on every database it concerns, on the real servers.
"""

from __future__ import annotations

import base64
import http.server
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from conftest import SERVERS, Database, write
from test_dest_sql_file import postgres_url

from processor.executors import TaskContext, WorkerSetup, make_executor
from processor.settings import load_settings, parse_url

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


class Hook:
    """A webhook on 127.0.0.1: records each request's path, credentials and body, answers ``status``."""

    def __init__(self) -> None:
        self.status = 204
        self.requests: list[tuple[str, str | None, str]] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                hook.requests.append((self.path, self.headers["Authorization"], body))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    yield server
    server.server.shutdown()
    server.server.server_close()


#: DEST_SQL's password and query as users write them (PostgreSQL trusts any password here);
#: ``{n}`` is a value no output may show, in any spelling.
SPELLINGS = {
    "@ and : encoded": ("Pw%40Zk{n}%3Aq", "sslpassword=Qs%21Tk{n}"),
    ": as written": ("Pw:Zk{n}:q", "application_name=app&sslpassword=Qs{n}Tk"),
    "letters encoded": ("%50w%5Ak{n}x", "sslpassword=T%6Fk{n}&sslmode=disable"),
    "space and plus": ("Pw+Zk{n}%20q", "sslpassword=Qs+Tk{n}"),
}


@pytest.mark.slow
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_no_output_shows_a_secret_of_dest_sql_or_notify_url(spelling, table, tmp_path, cli, hook):
    """A real import, its failure (with a traceback), its dry run and an invalid setting: the
    secrets are in no line of stdout or stderr, the report, the rejects file, the webhook's body."""
    n = uuid.uuid4().hex[:8]
    password, query = (part.format(n=n) for part in SPELLINGS[spelling])
    url = postgres_url(password, query)
    notify = f"http://hk:Hp{n}@127.0.0.1:{hook.port}/services/T0A{n}/B0B{n}/Xy{n}Zz?token=Tq{n}"
    # A rejected row holding the secrets as the database and the webhook take them.
    held = f"{parse_url(url).password} {parse_url(url).query['sslpassword']} /services/T0A{n}/B0B{n}/Xy{n}Zz"
    write(tmp_path / "src", "a/t.csv", f"n,t\n1,x\n2,{held},extra\n")
    write(tmp_path / "src", "b/t.csv", "n,t\n3,y\n")
    report = tmp_path / "out" / "report.json"
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": url,
        "DEST_TABLE": table,
        "NOTIFY_URL": notify,
        "MAX_ERRORS": "1",
        "WORKERS": "2",
        "LOG_LEVEL": "DEBUG",
        "REPORT_PATH": str(report),
    }
    texts, codes = [], []
    hook.status = 404  # the first run's webhook fails: its warning names the URL
    try:
        for argv in ([], ["--verbose"], ["--dry-run", "--if-exists", "replace"], ["--max-shrink", "x"]):
            code, out, err = cli(argv, env)
            hook.status = 204
            codes.append(code)
            texts += [out, err, report.read_text(), *(p.read_text() for p in report.parent.glob("*.csv"))]
            if not argv:
                assert out.startswith(f"imported 2 rows from 2 files into table '{table}' at postgresql"), err
                assert f"NOTIFY_URL http://hk:***@127.0.0.1:{hook.port}/***: the run report could not" in err
            if argv == ["--verbose"]:
                assert "Traceback (most recent call last)" in err
        assert Database("postgresql", url).rows(table, order_by="n") == [(1, "x"), (3, "y")]
    finally:
        Database("postgresql", SERVERS["postgresql"]).drop(table)
    assert codes == [0, 7, 0, 2]
    rejects = (report.parent / "report.rejects.csv").read_text().splitlines()
    assert rejects[1] == 'a/t.csv,3,"expected 2 fields, found 3","2,*** *** ***,extra"'
    assert len(hook.requests) == 5  # every run notified, the first one retried
    for path, authorization, body in hook.requests:
        assert path == f"/services/T0A{n}/B0B{n}/Xy{n}Zz?token=Tq{n}"  # sent as given
        assert authorization == "Basic " + base64.b64encode(f"hk:Hp{n}".encode()).decode()
        texts.append(body)
    assert json.loads(texts[-2])["settings"]["NOTIFY_URL"] == f"http://hk:***@127.0.0.1:{hook.port}/***"
    for text in texts:
        assert n not in text


def test_an_unencoded_at_in_the_password_is_exit_2_and_masked(cli, tmp_path):
    """``user:p@ss@host``: SQLAlchemy would take ``ss@host`` for the host and show ``ss``."""
    url = postgres_url("Pw@Zk7", "sslmode=disable")
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path), "DEST_SQL": url})
    masked = url.replace("Pw@Zk7", "***")
    assert (code, out, err) == (
        2,
        "",
        f"error: DEST_SQL: an @ in the password must be written %40: {masked!r}\n",
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXXsecret", "https://hooks.slack.com/***"),
        ("https://u:p%40ss@h.example:8443/x?token=abc", "https://u:***@h.example:8443/***"),
        ("https://user@h.example/path", "https://user@h.example/***"),
        ("https://h.example?key=abcdefgh", "https://h.example/***"),
        ("https://h.example/#fragment", "https://h.example/***"),
        ("https://h.example/", "https://h.example/"),
        ("http://h.example", "http://h.example"),
    ],
)
def test_notify_url_is_shown_without_what_follows_its_host(url, shown, tmp_path):
    settings = load_settings([], {"SRC_DATA_FOLDER": str(tmp_path), "NOTIFY_URL": url})
    assert settings.shown()["NOTIFY_URL"] == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ftp://hooks.example.org/services/T0/B0/XyzSecret123", "ftp://hooks.example.org/***"),
        ("hooks.example.org/services/T0/B0/XyzSecret123", "***"),
        ("https:/services/T0/B0/XyzSecret123", "***"),
    ],
)
def test_an_invalid_notify_url_is_shown_without_its_token(url, shown, cli, tmp_path):
    code, out, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path), "NOTIFY_URL": url})
    assert (code, out) == (2, "")
    assert err == f"error: NOTIFY_URL must be an http:// or https:// URL, got {shown!r}\n"


def say(text: str, context: TaskContext) -> int:
    """A pool task: log ``text`` as the retry module does when a write is retried."""
    logging.getLogger("processor.backends.retry").warning("retrying: %s", text)
    return os.getpid()


def test_worker_processes_mask_every_secret_the_run_masks(capfd, tmp_path):
    """Workers are processes of their own that set up their logging: it masks every secret the
    run masks, DEST_SQL's password and secret parameters and NOTIFY_URL's path."""
    notify = "https://hooks.example.org/services/T0/B0/Wk7token1"
    dest = "postgresql://loader:Userpw7k2@127.0.0.1/db?sslpassword=Querypw3q9"
    environ = {"SRC_DATA_FOLDER": str(tmp_path), "NOTIFY_URL": notify, "DEST_SQL": dest}
    settings = load_settings([], environ)
    setup = WorkerSetup(settings.url, "INFO", "text", single_writer=False, secrets=settings.secrets)
    executor = make_executor("pool", 2, setup)
    try:
        said = "Userpw7k2 and Querypw3q9 and /services/T0/B0/Wk7token1 failed"
        pids = set(executor.map_unordered(say, [said] * 4))
    finally:
        executor.close()
    assert os.getpid() not in pids  # the lines came from worker processes
    lines = [line for line in capfd.readouterr().err.splitlines() if "retrying:" in line]
    assert len(lines) == 4
    assert all(line.endswith(" WARNING retrying: *** and *** and *** failed") for line in lines), lines
