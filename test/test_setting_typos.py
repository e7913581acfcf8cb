"""Issue 19, settings: a typo never reaches data.  A misspelt setting or a lookalike variable is exit 2
naming the nearest setting, a flag is never abbreviated, other software's variables are no errors."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from conftest import ROOT, user_env, write

from processor.errors import ConfigError
from processor.settings import OPTIONS, load_settings


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


SETTINGS = [option.env for option in OPTIONS]
NOTHING = " (nothing was imported)"
MISSPELT = "is not a setting; did you mean"


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


@pytest.mark.slow
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


def test_the_kubernetes_recipe_makes_no_service_variables():
    """Kubernetes gives a pod a <SERVICE>_SERVICE_HOST variable per service of its namespace: one
    named dest-db would be DEST_DB_SERVICE_HOST, which starts with the importer's own prefix."""
    import yaml

    documents = yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "cronjob.yaml").read_text())
    (cronjob,) = [d for d in documents if d and d["kind"] == "CronJob"]
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["enableServiceLinks"] is False
    with pytest.raises(ConfigError, match="DEST_DB_SERVICE_HOST is not a setting"):
        load_settings([], {"DEST_DB_SERVICE_HOST": "10.0.0.7"})
