"""Issue 20, settings from a file: ``--env-file PATH`` with ``NAME=value`` lines as Docker's
``--env-file`` reads them, refused where python-dotenv would read a line otherwise; the flags and
the environment win over it; its names are checked like the environment's; its secrets are shown
masked in the dry run and in errors, like every other setting's."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import ROOT, SERVERS, Database, user_env, write
from test_secrets_in_output import SPELLINGS, hook, postgres_url  # noqa: F401  (hook: a fixture)

from processor.errors import ConfigError
from processor.settings import load_settings


def env_file(tmp_path: Path, content: str | bytes, name: str = "job.env") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def refused(path: Path, *flags: str, environ: dict[str, str] | None = None) -> str:
    """The message of the ConfigError (exit 2) that reading ``path`` raises."""
    with pytest.raises(ConfigError) as raised:
        load_settings(["--env-file", str(path), *flags], environ or {})
    assert raised.value.exit_code == 2
    return str(raised.value)


# ---- precedence and the syntax read ----------------------------------------------------------


def test_flags_win_over_the_environment_which_wins_over_the_file(tmp_path):
    path = env_file(
        tmp_path,
        "WORKERS=3\nDEST_TABLE=from_file\nCHUNK_SIZE=7\nSAMPLE_ROWS=11\nNA_VALUES=\\N\nIF_EXISTS=append\n",
    )
    environ = {"WORKERS": "5", "DEST_TABLE": "from_env", "SAMPLE_ROWS": "", "NA_VALUES": ""}
    settings = load_settings(["--env-file", str(path), "--dest-table", "from_flag"], environ)
    assert settings.workers == 5  # the environment over the file
    assert settings.dest_table == "from_flag"  # the flag over both
    assert settings.chunk_size == 7  # the file alone
    assert settings.sample_rows == 11  # an empty variable is not set: the file's value
    assert settings.na_values == ()  # but NA_VALUES= says "no marker", as it does alone
    assert settings.if_exists == "append"
    assert settings.env_file is not None
    assert settings.env_file.used == {"CHUNK_SIZE", "SAMPLE_ROWS", "IF_EXISTS"}
    assert settings.shown()["ENV_FILE"] == str(path)
    # Without the file, the same flags and environment give the defaults where the file gave values.
    plain = load_settings(["--dest-table", "from_flag"], environ)
    assert (plain.chunk_size, plain.sample_rows, plain.if_exists) == (5000, 10000, "fail")
    assert "ENV_FILE" not in plain.shown()


def test_docker_syntax_comments_blank_lines_bom_crlf_and_values_as_written(tmp_path):
    content = (
        "\ufeff# a job's settings\r\n"
        "\r\n"
        "   # an indented comment\r\n"
        "\tSRC_FILE_NAME=**/a=b#c.csv\r\n"  # "=" and "#" in a value, leading tab of the line ignored
        "NA_VALUES=#N/A,a b\r\n"  # a space inside a value, not at its ends
        "DEST_TABLE\r\n"  # a name alone: Docker's "from the environment"; sets nothing here
        "MAX_ERRORS=\r\n"  # empty: sets nothing
        "SRC_DELIMITER=;"  # no newline at the end
    )
    settings = load_settings(["--env-file", str(env_file(tmp_path, content))], {})
    assert settings.src_file_name == "**/a=b#c.csv"
    assert settings.na_values == ("#N/A", "a b")
    assert settings.dest_table is None
    assert settings.max_errors == 0
    assert settings.src_delimiter == ";"
    assert settings.env_file is not None
    assert [(e.name, e.value, e.line) for e in settings.env_file.lines] == [
        ("SRC_FILE_NAME", "**/a=b#c.csv", 4),
        ("NA_VALUES", "#N/A,a b", 5),
        ("DEST_TABLE", None, 6),
        ("MAX_ERRORS", "", 7),
        ("SRC_DELIMITER", ";", 8),
    ]


# ---- every line that is refused --------------------------------------------------------------

WHERE = "--env-file {path}: line {line}: "
LINE_ERRORS = {
    "export": (
        "export WORKERS=2",
        1,
        "write WORKERS=value without 'export' (Docker's --env-file refuses it)",
    ),
    "space before =": (
        "WORKERS =2",
        1,
        "a space before the '=' after WORKERS; write NAME=value without spaces",
    ),
    "double quotes": (
        'WORKERS="2"',
        1,
        "the value of WORKERS begins with a quote, which Docker's --env-file keeps as part of the value "
        "(docker/cli#3630) and python-dotenv removes; write the value without quotes",
    ),
    "single quotes": (
        "SRC_ENCODING='latin-1'",
        1,
        "the value of SRC_ENCODING begins with a quote, which Docker's --env-file keeps as part of the "
        "value (docker/cli#3630) and python-dotenv removes; write the value without quotes",
    ),
    "space after =": (
        "WORKERS= 2",
        1,
        "the value of WORKERS begins or ends with a space or tab, which Docker's --env-file keeps and "
        "python-dotenv drops; remove it",
    ),
    "trailing tab": (
        "# x\nWORKERS=2\t",
        2,
        "the value of WORKERS begins or ends with a space or tab, which Docker's --env-file keeps and "
        "python-dotenv drops; remove it",
    ),
    "comment after a value": (
        "WORKERS=2 # two CPUs",
        1,
        "the value of WORKERS holds ' #', which python-dotenv reads as the start of a comment and "
        "Docker's --env-file as part of the value; put comments on lines of their own",
    ),
    "interpolation": (
        "SRC_DATA_FOLDER=${HOME}/data",
        1,
        "the value of SRC_DATA_FOLDER holds '${', which python-dotenv replaces by a variable's value "
        "and Docker's --env-file keeps as written",
    ),
    "a carriage return inside": (
        "WORKERS=2\r2",
        1,
        "the value of WORKERS holds a control character (a carriage return, a NUL, ...)",
    ),
    "a NUL": (
        "WORKERS=2\x00",
        1,
        "the value of WORKERS holds a control character (a carriage return, a NUL, ...)",
    ),
    "no name": ("\n=2", 2, "no name before the '='"),
    "no name at all": (
        "WORKERS=2\nnot a line",
        2,
        "not NAME=value (a name of letters, digits and _, then '=' and the value)",
    ),
    "a name with a dash": (
        "SRC-DATA-FOLDER=x",
        1,
        "not NAME=value (a name of letters, digits and _, then '=' and the value)",
    ),
    "twice": (
        "DEST_TABLE=a\nWORKERS=1\nDEST_TABLE=b",
        3,
        "DEST_TABLE is set again (first on line 1); set each setting once",
    ),
    "twice, once alone": (
        "DEST_TABLE\nDEST_TABLE=b",
        2,
        "DEST_TABLE is set again (first on line 1); set each setting once",
    ),
    "misspelt": (
        "# x\nSRC_DATA_FOLDR=/srv",
        2,
        "SRC_DATA_FOLDR is not a setting; did you mean SRC_DATA_FOLDER? (nothing was imported)",
    ),
    "own prefix": (
        "DEST_TABEL_NAME=t",
        1,
        "DEST_TABEL_NAME is not a setting; did you mean DEST_TABLE? (nothing was imported)",
    ),
    "another program's": (
        "WORKERS=1\nTZ=UTC",
        2,
        "TZ is not a setting; an env file holds the importer's settings only (other variables belong in "
        "the environment) (nothing was imported)",
    ),
    "a flag's name": (
        "VERBOSE=true",
        1,
        "VERBOSE is not a setting; an env file holds the importer's settings only (other variables belong "
        "in the environment) (nothing was imported)",
    ),
    "an invalid value": ("WORKERS=1\nCHUNK_SIZE=abc", 2, "CHUNK_SIZE must be a positive integer, got 'abc'"),
    "an invalid choice": (
        "IF_EXISTS=upsert",
        1,
        "IF_EXISTS must be one of fail, replace, append, merge, delete_rows; got 'upsert'",
    ),
}


@pytest.mark.parametrize("case", LINE_ERRORS)
def test_a_line_that_cannot_be_read_alike_is_exit_2_naming_the_file_and_line(case, tmp_path):
    content, line, problem = LINE_ERRORS[case]
    path = env_file(tmp_path, content)
    assert refused(path) == WHERE.format(path=path, line=line) + problem


def test_bytes_that_are_not_utf8_name_their_line(tmp_path):
    path = env_file(tmp_path, b"WORKERS=1\nDEST_TABLE=caf\xe9\n")
    assert refused(path) == f"--env-file {path}: line 2: is not UTF-8 text"


def test_a_file_that_cannot_be_read_and_a_second_file_are_exit_2(tmp_path):
    assert (
        refused(tmp_path / "missing.env")
        == f"--env-file {tmp_path / 'missing.env'} cannot be read: No such file or directory"
    )
    assert refused(tmp_path) == f"--env-file {tmp_path} cannot be read: Is a directory"
    path = env_file(tmp_path, "WORKERS=1\n")
    assert refused(path, "--env-file", str(path)) == "--env-file is given more than once; give one file"


def test_the_environment_is_checked_before_the_file_and_the_file_before_any_value(tmp_path):
    """A misspelt variable is the error even when the file has one too; a misspelt name in the
    file is the error although a value before it is invalid (nothing is parsed before the names)."""
    path = env_file(tmp_path, "WORKERS=abc\nDEST_SQl=sqlite:///x.db\n")
    assert refused(path, environ={"IF_EXIST": "replace"}) == (
        "IF_EXIST is not a setting; did you mean IF_EXISTS? (nothing was imported)"
    )
    assert refused(path) == (
        f"--env-file {path}: line 2: DEST_SQl is not a setting; did you mean DEST_SQL? (nothing was imported)"
    )


def test_the_sample_guard_and_dest_sql_file_hold_across_the_file_and_the_environment(tmp_path):
    path = env_file(tmp_path, "DEST_SQL=sqlite:///x.db\n")
    assert refused(path).startswith(
        "SRC_DATA_FOLDER is not set: the bundled sample (data/) is a demonstration"
    )
    (tmp_path / "url").write_text("sqlite:///y.db\n")
    both = refused(path, environ={"SRC_DATA_FOLDER": str(tmp_path), "DEST_SQL_FILE": str(tmp_path / "url")})
    assert both == "DEST_SQL and DEST_SQL_FILE are both set; set only one of them"


# ---- secrets: never in an error, masked in the dry run ----------------------------------------

#: Lines holding a password that are refused; the message must name the line, not repeat it.
SECRET_LINES = [
    "DEST_SQL = postgresql://u:{pw}@h/db",
    'DEST_SQL="postgresql://u:{pw}@h/db"',
    "DEST_SQL=postgresql://u:{pw}@h/db # production",
    "DEST_SQl=postgresql://u:{pw}@h/db",
    "export DEST_SQL=postgresql://u:{pw}@h/db",
    "postgresql://u:{pw}@h/db",
    "DEST_SQL postgresql://u:{pw}@h/db",
    "PGPASSWORD={pw}",
    "DEST_SQL=postgresql://u:{pw}@h/db\x00",
    "DEST_SQL=postgres://u:{pw}@h:port/db",
]


@pytest.mark.parametrize("line", SECRET_LINES)
def test_a_refused_line_never_shows_its_password(line, tmp_path):
    secret = f"Pw{uuid.uuid4().hex[:8]}"
    path = env_file(tmp_path, f"SRC_DATA_FOLDER=.\n{line.format(pw=secret)}\n")
    message = refused(path)
    assert message.startswith(f"--env-file {path}: line 2: "), message
    assert secret not in message


def test_secrets_from_the_file_are_masked_in_an_invalid_setting_s_message(cli, tmp_path):
    """The run's settings are invalid, so only what can be salvaged masks the message: the file's
    DEST_SQL is read for it (its password here is also the encoding asked for, which the message
    quotes), and the file's REPORT_PATH gets the report."""
    n = uuid.uuid4().hex[:8]
    report = tmp_path / "out.json"
    path = env_file(
        tmp_path,
        f"SRC_DATA_FOLDER={tmp_path}\nDEST_SQL=sqlite:///{tmp_path}/x.db?password=Se{n}\n"
        f"SRC_ENCODING=Se{n}\nREPORT_PATH={report}\n",
    )
    code, out, err = cli(["--env-file", str(path)], {})
    assert (code, out) == (2, "")
    assert err == f"error: --env-file {path}: line 3: SRC_ENCODING names an unknown encoding: '***'\n"
    data = json.loads(report.read_text())
    assert (data["status"], data["exit_code"]) == ("failed", 2)
    assert n not in report.read_text()


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_no_output_shows_a_secret_of_the_file_s_dest_sql_or_notify_url(spelling, table, tmp_path, cli, hook):  # noqa: F811
    """The secrets only in the file: a dry run lists its lines masked; a run that fails on the
    database (whose error quotes the password, the name of a database that does not exist) and a
    run with an invalid flag show none either, in any output."""
    n = uuid.uuid4().hex[:8]
    password, query = (part.format(n=n) for part in SPELLINGS[spelling])
    url = postgres_url(password, query)
    notify = f"http://hk:Hp{n}@127.0.0.1:{hook.port}/services/T0A{n}/B0B{n}/Xy{n}Zz?token=Tq{n}"
    write(tmp_path / "src", "t.csv", "n,t\n1,x\n")
    report = tmp_path / "out" / "report.json"
    path = env_file(
        tmp_path,
        f"SRC_DATA_FOLDER={tmp_path / 'src'}\nDEST_SQL={url}\nDEST_TABLE={table}\nNOTIFY_URL={notify}\n"
        f"REPORT_PATH={report}\nWORKERS=3\nIF_EXISTS=replace\n",
    )
    texts = []
    code, out, err = cli(["--env-file", str(path), "--dry-run"], {})
    assert code == 0, err
    texts += [out, err, report.read_text()]
    lines = out.splitlines()
    destination = lines[0].removeprefix("dry run: nothing was written to ")  # masked as every output masks it
    assert destination.startswith("postgresql+psycopg2://postgres:***@"), destination
    assert lines[1:9] == [
        f"settings from --env-file {path} (flags and the environment win over it):",
        f"  line 1: SRC_DATA_FOLDER={tmp_path / 'src'}",
        f"  line 2: DEST_SQL={destination}",
        f"  line 3: DEST_TABLE={table}",
        f"  line 4: NOTIFY_URL=http://hk:***@127.0.0.1:{hook.port}/***",
        f"  line 5: REPORT_PATH={report}",
        "  line 6: WORKERS: not used, a flag or the environment gives it",  # the cli fixture's WORKERS=1
        "  line 7: IF_EXISTS=replace",
    ]
    dry = json.loads(report.read_text())
    assert dry["settings"]["ENV_FILE"] == str(path)
    assert dry["dry_run"]["env_file"]["lines"][5] == {"line": 6, "name": "WORKERS", "used": False}
    # The password as the database's name: the server's "database ... does not exist" quotes it.
    missing = url.replace(f"/{parse_database(url)}?", f"/{parse_password(url)}?")
    path.write_text(path.read_text().replace(url, missing))
    code, out, err = cli(["--env-file", str(path), "--verbose"], {})
    assert code == 6, err
    assert "does not exist" in err
    assert '"***"' in err
    texts += [out, err, report.read_text()]
    code, out, err = cli(["--env-file", str(path), "--max-shrink", "x"], {})
    assert code == 2
    texts += [out, err, report.read_text()]
    texts += [body for _path, _authorization, body in hook.requests]
    assert len(hook.requests) == 3
    for text in texts:
        assert n not in text
    assert Database("postgresql", SERVERS["postgresql"]).tables().isdisjoint({table})


def parse_password(url: str) -> str:
    """The password as the URL writes it (the test's own reading: between the user's ':' and '@')."""
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def parse_database(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


# ---- a real import configured by the file alone ----------------------------------------------


def test_a_real_import_into_sqlite_driven_only_by_an_env_file(tmp_path):
    src = tmp_path / "src"
    write(src, "2024/q1/sales.csv", 'id,name,amount\n1,"Smith, Jo",10.5\n2,Zoë,\n')
    write(src, "2024/q2/sales.csv", "id,name,amount\n3,00123,7\n")
    db_path = tmp_path / "out.db"
    report = tmp_path / "report.json"
    path = env_file(
        tmp_path,
        "# the quarterly sales job\n"
        f"SRC_DATA_FOLDER={src}\n"
        f"DEST_SQL=sqlite:///{db_path}\n"
        "DEST_TABLE=sales_by_file\n"
        "WORKERS=2\n"
        "IF_EXISTS=replace\n"
        f"REPORT_PATH={report}\n",
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "index.py"), "--env-file", str(path)],
        cwd=tmp_path,
        env=user_env(),  # none of the importer's variables: the file alone
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"imported 3 rows from 2 files into table 'sales_by_file' at sqlite:///{db_path}"
    )
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT * FROM sales_by_file ORDER BY id").fetchall() == [
            (1, "Smith, Jo", 10.5),
            (2, "Zoë", None),
            (3, "00123", 7.0),
        ]
    data = json.loads(report.read_text())
    assert data["settings"]["ENV_FILE"] == str(path)
    assert (data["settings"]["WORKERS"], data["settings"]["IF_EXISTS"]) == (2, "replace")
