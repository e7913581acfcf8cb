"""Issue 19, settings: a typo never reaches data, a refresh cannot shrink a table by accident,
the database URL can come from a file, and no output shows a secret of DEST_SQL or NOTIFY_URL."""

from __future__ import annotations

import base64
import http.server
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SERVERS, Database, load, need_server, user_env, write

from processor.errors import ConfigError
from processor.executors import TaskContext, WorkerSetup, make_executor
from processor.settings import OPTIONS, load_settings, parse_url
from processor.target import staging_name

SETTINGS = [option.env for option in OPTIONS]
NOTHING = " (nothing was imported)"
MISSPELT = "is not a setting; did you mean"


# ---- a typo never reaches data ----------------------------------------------------------------


def one_edit(name: str) -> set[str]:
    """Every spelling of ``name`` one edit away: a letter deleted, inserted, replaced, swapped
    with its neighbour, or in the other case.  (The test's own generator, not the importer's.)"""
    inserted = "X_1e"
    found = {name[:i] + name[i + 1 :] for i in range(len(name))}
    found |= {name[:i] + c + name[i:] for i in range(len(name) + 1) for c in inserted}
    found |= {name[:i] + c + name[i + 1 :] for i in range(len(name)) for c in "Q0_"}
    found |= {name[:i] + name[i + 1] + name[i] + name[i + 2 :] for i in range(len(name) - 1)}
    found |= {name[:i] + name[i].swapcase() + name[i + 1 :] for i in range(len(name))}
    return found - set(SETTINGS) - {""}


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """A TRANSFORM whose module leaves a file when it is imported: proof of whether settings were read."""
    write(tmp_path, "mark.py", f"open({str(tmp_path / 'read')!r}, 'w').close()\ndef f(df):\n    return df\n")
    return tmp_path / "read"


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_misspelt_by_one_edit_is_exit_2_naming_it(name, cli, tmp_path, marker):
    write(tmp_path / "src", "t.csv", "a\n1\n")
    database = tmp_path / "out.db"
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": f"sqlite:///{database}",
        "TRANSFORM": f"{tmp_path / 'mark.py'}:f",
    }
    variants = sorted(one_edit(name))
    assert len(variants) > 4 * len(name)
    for variant in variants:  # the settings as the command line reads them (ConfigError: exit 2)
        with pytest.raises(ConfigError) as refused:
            load_settings([], {**env, variant: "x"})
        assert (refused.value.exit_code, str(refused.value)) == (2, f"{variant} {MISSPELT} {name}?{NOTHING}")
    for variant in variants[:: len(variants) // 3]:  # and a few through the whole command
        code, out, err = cli([], {**env, variant: "x"})
        assert (code, out, err) == (2, "", f"error: {variant} {MISSPELT} {name}?{NOTHING}\n")
    assert not database.exists()
    assert not marker.exists()


def test_without_a_typo_the_same_settings_are_read(cli, tmp_path, marker):
    """The oracle of the test above: its settings, as they are, import its TRANSFORM and load."""
    write(tmp_path / "src", "t.csv", "a\n1\n")
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": f"sqlite:///{tmp_path / 'out.db'}",
        "TRANSFORM": f"{tmp_path / 'mark.py'}:f",
    }
    assert cli([], env)[0] == 0
    assert marker.exists()
    assert _count(tmp_path / "out.db", "t") == 1


@pytest.mark.parametrize(
    ("variable", "nearest"),
    [
        ("SRC_DATA_FOLDR", "SRC_DATA_FOLDER"),
        ("DEST_SQl", "DEST_SQL"),
        ("IF_EXIST", "IF_EXISTS"),
        ("dest_sql", "DEST_SQL"),  # a whole name in the other case
        ("src_data_folder", "SRC_DATA_FOLDER"),
        ("WROKRES", "WORKERS"),  # two edits
        ("LOGLEVEL", "LOG_LEVEL"),
        ("SRC_DATA_DIR", "SRC_DATA_FOLDER"),  # the importer's own prefixes, however far from a name
        ("DEST_DATABASE", "DEST_TABLE"),
        ("IF_MISSING", "IF_EXISTS"),
        ("if_exists_mode", "IF_EXISTS"),
    ],
)
def test_a_lookalike_variable_is_exit_2_naming_the_nearest_setting(variable, nearest, cli, tmp_path):
    env = {"SRC_DATA_FOLDER": str(tmp_path), "DEST_SQL": f"sqlite:///{tmp_path / 'out.db'}", variable: "1"}
    code, out, err = cli([], env)
    assert (code, out, err) == (
        2,
        "",
        f"error: {variable} is not a setting; did you mean {nearest}?{NOTHING}\n",
    )
    assert not (tmp_path / "out.db").exists()


def test_every_lookalike_is_named_in_one_line(cli, tmp_path):
    code, _, err = cli(
        [], {"SRC_DATA_FOLDR": "/srv/epc", "IF_EXIST": "replace", "DEST_SQl": "sqlite:///x.db"}
    )
    assert code == 2
    assert err == (
        "error: DEST_SQl is not a setting; did you mean DEST_SQL?; IF_EXIST is not a setting; did you "
        "mean IF_EXISTS?; SRC_DATA_FOLDR is not a setting; did you mean SRC_DATA_FOLDER?" + NOTHING + "\n"
    )
    assert os.listdir(".") == []  # not even the default database


#: Variables a container, a CI runner, a Dask cluster or a shell commonly has.
TYPICAL = """PATH HOME HOSTNAME TERM LANG LANGUAGE LC_ALL PWD OLDPWD SHLVL USER LOGNAME SHELL MAIL TZ _
PYTHONPATH PYTHONUNBUFFERED PYTHONDONTWRITEBYTECODE PYTHONHASHSEED PYTHONIOENCODING PYTHON_VERSION
PYTHON_SHA256 PIP_NO_CACHE_DIR PIP_DISABLE_PIP_VERSION_CHECK VIRTUAL_ENV GPG_KEY LD_LIBRARY_PATH
KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT KUBERNETES_PORT KUBERNETES_PORT_443_TCP HTTP_PROXY
HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy DASK_SCHEDULER_ADDRESS DASK_DISTRIBUTED__WORKER__DAEMON
DASK_TEMPORARY_DIRECTORY DASK_LOGGING__DISTRIBUTED LOG_DIR LOG_PATH LOG_FILE LOGS LOG_JSON LOG_OUTPUT DEBUG
ENV ENVIRONMENT NODE_ENV AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_REGION AWS_PROFILE
GOOGLE_APPLICATION_CREDENTIALS DATABASE_URL POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DB PGHOST PGUSER
PGPASSWORD PGDATABASE PGPORT MYSQL_PWD MYSQL_HOST SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE
CURL_CA_BUNDLE OMP_NUM_THREADS MKL_NUM_THREADS OPENBLAS_NUM_THREADS MALLOC_ARENA_MAX container HOST PORT
WORKDIR TMPDIR TEMP TMP EDITOR PAGER DISPLAY SSH_AUTH_SOCK XDG_RUNTIME_DIR CI GITHUB_ACTIONS
GITHUB_WORKSPACE RUNNER_OS WEB_CONCURRENCY WORKERS_PER_CORE MAX_WORKERS TIMEOUT VERBOSE QUIET COLUMNS
LINES INVOCATION_ID JOURNAL_STREAM CREDENTIALS_DIRECTORY NOTIFY_SOCKET TEST_POSTGRES_URL TEST_MARIADB_URL
PYTEST_CURRENT_TEST CONDA_PREFIX JAVA_HOME GOPATH NVIDIA_VISIBLE_DEVICES TINI_SUBREAPER HF_HOME
MPLBACKEND PIP_INDEX_URL EXECUTOR_NUMBER BUILD_NUMBER NODE_NAME JOB_NAME WORKSPACE""".split()  # noqa: SIM905


def test_other_softwares_variables_are_not_errors(tmp_path):
    environ = user_env(**dict.fromkeys(TYPICAL, "1"), SRC_DATA_FOLDER=str(tmp_path), IF_EXISTS="append")
    settings = load_settings([], environ)  # this machine's real environment, and the typical ones
    assert (settings.src_data_folder, settings.if_exists) == (tmp_path, "append")


def test_a_flag_is_never_abbreviated(cli, tmp_path):
    code, out, err = cli(["--src-data", str(tmp_path)], {})
    assert (code, out, err) == (2, "", f"error: unrecognized arguments: --src-data {tmp_path}\n")
    assert os.listdir(".") == []


# ---- the bundled sample is a demonstration ---------------------------------------------------

SAMPLE_REFUSED = (
    "error: SRC_DATA_FOLDER is not set: the bundled sample (data/) is a demonstration, loaded only "
    "into the default database (sqlite:///import.db), never into DEST_SQL's; set SRC_DATA_FOLDER to "
    "the folder (or archive) to import\n"
)


@pytest.mark.parametrize("how", ["env", "flag", "file", "dry run"])
def test_the_bundled_sample_never_goes_into_a_named_database(how, cli, tmp_path):
    shutil.copytree(ROOT / "data", "data")  # the default folder, as in the checkout
    url = f"sqlite:///{tmp_path / 'named.db'}"
    (tmp_path / "url").write_text(url + "\n")
    argv, env = {
        "env": ([], {"DEST_SQL": url}),
        "flag": (["--dest-sql", url], {}),
        "file": ([], {"DEST_SQL_FILE": str(tmp_path / "url")}),
        "dry run": (["--dry-run"], {"DEST_SQL": url}),
    }[how]
    code, out, err = cli(argv, {**env, "IF_EXISTS": "replace"})
    assert (code, out, err) == (2, "", SAMPLE_REFUSED)
    assert not (tmp_path / "named.db").exists()
    # Named, the same folder loads: the rule is about the default, not about the files.
    code, out, _ = cli([*argv, "--src-data-folder", "data"], {**env, "IF_EXISTS": "replace"})
    assert code == 0
    if how != "dry run":
        assert _count(tmp_path / "named.db", "certificates") == 450


def test_readme_quick_start_and_its_replace_keep_working(tmp_path):
    """README "Quick start": ``python index.py``, then ``IF_EXISTS=replace python index.py``, on the
    default database, as a user runs them (the bundled sample in the working folder)."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    for env in (user_env(WORKERS="1"), user_env(WORKERS="1", IF_EXISTS="replace")):
        done = subprocess.run(
            [sys.executable, str(ROOT / "index.py")], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(
            "imported 450 rows from 3 files into table 'certificates' at sqlite:///"
        )
    assert _count(tmp_path / "import.db", "certificates") == 450


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


# ---- a refresh cannot shrink a table by accident ---------------------------------------------


def numbers(count: int) -> str:
    return "n\n" + "".join(f"{i}\n" for i in range(count))


def shrink_message(if_exists: str, table: str, old: str, new: str) -> str:
    verb = (
        f"replace table '{table}' of {old} rows by"
        if if_exists == "replace"
        else (f"refill table '{table}' of {old} rows with")
    )
    return (
        f"IF_EXISTS={if_exists} would {verb} {new} rows (less than MAX_SHRINK=0.5 of it); "
        "nothing was published; set MAX_SHRINK=0 to allow"
    )


def stored(db, table: str) -> list[int]:
    return sorted(int(row[0]) for row in db.rows(table))


@pytest.mark.parametrize("if_exists", ["replace", "delete_rows"])
def test_a_refresh_that_would_shrink_the_table_is_refused(db, table, tmp_path, if_exists):
    for count in (1000, 499, 500, 1):
        write(tmp_path / str(count), "t.csv", numbers(count))
    assert load(tmp_path / "1000", db, table).error is None
    report = load(tmp_path / "499", db, table, if_exists=if_exists)
    assert (report.exit_code, report.published) == (11, False)
    assert report.error.message == shrink_message(if_exists, table, "1,000", "499")
    assert stored(db, table) == list(range(1000))  # the target as it was
    assert [t for t in db.tables() if t.startswith(staging_name(table, ""))] == []  # dropped
    # Exactly the fraction is allowed; MAX_SHRINK=0 allows anything.
    assert load(tmp_path / "500", db, table, if_exists=if_exists).error is None
    assert stored(db, table) == list(range(500))
    assert load(tmp_path / "1", db, table, if_exists=if_exists, max_shrink=0).error is None
    assert stored(db, table) == [0]


def test_shrink_refusal_through_the_command_line(cli, tmp_path):
    write(tmp_path / "full", "t.csv", numbers(40_000))
    write(tmp_path / "cut", "t.csv", numbers(450))
    database = tmp_path / "o.db"
    env = {"DEST_SQL": f"sqlite:///{database}", "REPORT_PATH": str(tmp_path / "report.json")}
    assert cli([], {**env, "SRC_DATA_FOLDER": str(tmp_path / "full")})[0] == 0
    env |= {"SRC_DATA_FOLDER": str(tmp_path / "cut"), "IF_EXISTS": "replace"}
    code, out, err = cli([], env)
    assert (code, out, err) == (11, "", f"error: {shrink_message('replace', 't', '40,000', '450')}\n")
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["status"], report["exit_code"], report["published"]) == ("failed", 11, False)
    assert report["settings"]["MAX_SHRINK"] == 0.5
    assert _count(database, "t") == 40_000
    assert cli(["--max-shrink", "0.01"], env)[0] == 0  # 450 of 40,000 is more than 1 %
    assert _count(database, "t") == 450


def test_the_fraction_is_exact(db, table, tmp_path):
    """0.07 of 100 rows is 7 (the double product is 7.000000000000001): 7 rows publish, 6 do not."""
    assert 0.07 * 100 > 7  # the trap
    for count in (100, 7, 6):
        write(tmp_path / str(count), "t.csv", numbers(count))
    assert load(tmp_path / "100", db, table).error is None
    report = load(tmp_path / "6", db, table, if_exists="replace", max_shrink=0.07)
    assert (report.exit_code, stored(db, table)) == (11, list(range(100)))
    assert "of 100 rows by 6 rows (less than MAX_SHRINK=0.07 of it)" in report.error.message
    assert load(tmp_path / "7", db, table, if_exists="replace", max_shrink=0.07).error is None
    assert stored(db, table) == list(range(7))


@pytest.mark.parametrize("if_exists", ["replace", "delete_rows"])
def test_the_dry_run_says_how_few_rows_max_shrink_takes(if_exists, cli, tmp_path):
    write(tmp_path / "full", "t.csv", numbers(1001))
    env = {"DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}", "SRC_DATA_FOLDER": str(tmp_path / "full")}
    assert cli([], env)[0] == 0
    code, out, err = cli(["--dry-run", "--if-exists", if_exists], env)
    assert code == 0, err
    [line] = [line for line in out.splitlines() if line.startswith("IF_EXISTS=")]
    assert line.endswith("; it holds 1,001 rows: MAX_SHRINK=0.5 refuses to publish fewer than 501")
    code, out, _ = cli(["--dry-run", "--if-exists", if_exists, "--max-shrink", "0"], env)
    assert code == 0
    assert "MAX_SHRINK" not in out


@pytest.mark.parametrize("text", ["-0.1", "1.5", "half", "nan", "inf", "50%"])
def test_max_shrink_is_a_fraction(text, cli, tmp_path):
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path), "MAX_SHRINK": text})
    assert (code, err) == (
        2,
        f"error: MAX_SHRINK must be a fraction from 0 to 1 (0 turns the check off), got {text!r}\n",
    )


def test_append_and_merge_are_never_refused_for_size(tmp_path, cli):
    write(tmp_path / "full", "t.csv", numbers(100))
    write(tmp_path / "append", "u.csv", "n\n100\n")
    write(tmp_path / "merge", "v.csv", "n\n0\n101\n")
    env = {
        "DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}",
        "DEST_TABLE": "t",
        "PRIMARY_KEY": "n",
        "MAX_SHRINK": "1",
    }
    assert cli([], {**env, "SRC_DATA_FOLDER": str(tmp_path / "full")})[0] == 0
    for mode in ("append", "merge"):
        code, _, err = cli(["--if-exists", mode], {**env, "SRC_DATA_FOLDER": str(tmp_path / mode)})
        assert code == 0, err
    assert _count(tmp_path / "o.db", "t") == 102


# ---- DEST_SQL_FILE ---------------------------------------------------------------------------


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


# ---- secrets, wherever they sit --------------------------------------------------------------


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
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    yield server
    server.server.shutdown()
    server.server.server_close()


def postgres_url(password: str, query: str) -> str:
    """The test server's URL (TEST_POSTGRES_URL) with ``password`` and ``query`` as written."""
    need_server("postgresql")
    url = parse_url(SERVERS["postgresql"])
    return f"postgresql://{url.username}:{password}@{url.host}:{url.port or 5432}/{url.database}?{query}"


#: DEST_SQL's password and query as users write them (PostgreSQL trusts any password here);
#: ``{n}`` is a value no output may show, in any spelling.
SPELLINGS = {
    "@ and : encoded": ("Pw%40Zk{n}%3Aq", "sslpassword=Qs%21Tk{n}"),
    ": as written": ("Pw:Zk{n}:q", "application_name=app&sslpassword=Qs{n}Tk"),
    "letters encoded": ("%50w%5Ak{n}x", "sslpassword=T%6Fk{n}&sslmode=disable"),
    "space and plus": ("Pw+Zk{n}%20q", "sslpassword=Qs+Tk{n}"),
}


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


def test_the_kubernetes_recipe_makes_no_service_variables():
    """Kubernetes gives a pod a <SERVICE>_SERVICE_HOST variable per service of its namespace: one
    named dest-db would be DEST_DB_SERVICE_HOST, which starts with the importer's own prefix."""
    import yaml

    documents = yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "cronjob.yaml").read_text())
    (cronjob,) = [d for d in documents if d and d["kind"] == "CronJob"]
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["enableServiceLinks"] is False
    with pytest.raises(ConfigError, match="DEST_DB_SERVICE_HOST is not a setting"):
        load_settings([], {"DEST_DB_SERVICE_HOST": "10.0.0.7"})


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
    logging.getLogger("processor.retry").warning("retrying: %s", text)
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
