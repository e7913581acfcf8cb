"""Unit tests of the settings: every variable and flag validated once, with exact messages; URL aliases;
defaults; the README documents every setting.

No database here; these pin the exact messages and edge cases the integration tests rely on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.errors import ConfigError
from processor.settings import OPTIONS, Settings, load_settings, salvage_settings


def config_error(env: dict[str, str], argv: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(list(argv), env)
    assert caught.value.exit_code == 2
    return str(caught.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORKERS": "abc"}, "WORKERS must be a positive integer, got 'abc'"),
        ({"WORKERS": "0"}, "WORKERS must be a positive integer, got '0'"),
        ({"CHUNK_SIZE": "-5"}, "CHUNK_SIZE must be a positive integer, got '-5'"),
        ({"MAX_ERRORS": "many"}, "MAX_ERRORS must be a whole number, 0 or more, got 'many'"),
        (
            {"IF_EXISTS": "sometimes"},
            "IF_EXISTS must be one of fail, replace, append, merge, delete_rows; got 'sometimes'",
        ),
        ({"SRC_QUOTING": "maybe"}, "SRC_QUOTING must be one of csv, none; got 'maybe'"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of text, json; got 'xml'"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR; got 'loud'"),
        ({"SRC_DELIMITER": ";;"}, "SRC_DELIMITER must be one character (or \\t for tab), got ';;'"),
        ({"SRC_DELIMITER": '"'}, "SRC_DELIMITER must be one character (or \\t for tab), got '\"'"),
        ({"SRC_ENCODING": "klingon"}, "SRC_ENCODING names an unknown encoding: 'klingon'"),
        ({"DEST_TABLE": "  "}, "DEST_TABLE must not be empty"),
        ({"DEST_SQL": "notaurl"}, "DEST_SQL is not a database URL: 'notaurl'"),
        ({"DEST_SQL": "foo://h/db"}, "DEST_SQL names an unknown database scheme: 'foo'"),
        (
            {"DEST_SQL": "mssql+pyodbc://h/db"},
            "DEST_SQL scheme 'mssql+pyodbc' needs the Python package 'pyodbc', which is not installed",
        ),
    ],
)
def test_invalid_setting_messages(env, message):
    assert config_error(env) == message


def test_unparseable_url_masks_the_password():
    message = config_error({"DEST_SQL": "postgresql://me:s3:cr@t@db.example:port/x"})
    assert message == "DEST_SQL is not a database URL: 'postgresql://me:***@db.example:port/x'"
    assert "s3" not in message
    assert "cr@t" not in message


def test_flag_is_validated_like_its_variable():
    assert config_error({}, ("--workers", "x")) == "WORKERS must be a positive integer, got 'x'"


def test_flags_override_environment():
    settings = load_settings(["--workers", "3", "--if-exists", "append"], {"WORKERS": "7", "CHUNK_SIZE": "9"})
    assert (settings.workers, settings.if_exists, settings.chunk_size) == (3, "append", 9)


def test_values_are_normalised():
    settings = load_settings(
        [],
        {
            "SRC_DELIMITER": "\\t",
            "SRC_ENCODING": "Latin-1",
            "IF_EXISTS": "REPLACE",
            "LOG_LEVEL": "debug",
            "NA_VALUES": "\\N,NA,",
            "CHUNK_SIZE": "10_000",
            "MAX_ERRORS": "0",
        },
    )
    assert settings.src_delimiter == "\t"
    assert settings.src_encoding == "iso8859-1"
    assert settings.if_exists == "replace"
    assert settings.log_level == "DEBUG"
    assert settings.na_values == ("\\N", "NA")
    assert settings.chunk_size == 10_000
    assert settings.max_errors == 0
    assert load_settings([], {"SRC_DELIMITER": "tab"}).src_delimiter == "\t"


def test_empty_variables_mean_the_default():
    settings = load_settings([], {"WORKERS": "", "DEST_TABLE": "", "IF_EXISTS": ""})
    assert settings.workers == Settings().workers
    assert settings.dest_table is None
    assert settings.if_exists == "fail"


def test_every_option_has_a_flag_and_a_settings_field():
    fields = set(Settings.__dataclass_fields__)
    for option in OPTIONS:
        assert option.attr in fields
        assert option.flag == "--" + option.env.lower().replace("_", "-")


@pytest.mark.parametrize(
    ("written", "driver"),
    [
        ("postgres://u:pw@h/db", "postgresql+psycopg2"),
        ("postgresql://u:pw@h/db", "postgresql+psycopg2"),
        ("mysql://u:pw@h/db", "mysql+mysqldb"),
        ("mariadb://u:pw@h/db", "mariadb+mysqldb"),
        ("postgresql+psycopg2://u:pw@h/db", "postgresql+psycopg2"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_url_aliases(written, driver):
    settings = load_settings([], {"DEST_SQL": written, "SRC_DATA_FOLDER": "."})  # not the bundled sample
    assert settings.url.drivername == driver


def test_masked_url_hides_the_password():
    settings = Settings(dest_sql="postgres://alice:hunter2@db.example:5432/prod")
    assert settings.masked_url == "postgresql+psycopg2://alice:***@db.example:5432/prod"
    assert settings.url.password == "hunter2"


def test_rejects_path_defaults(tmp_path):
    assert Settings().resolved_rejects_path("t").name == "t.rejects.csv"
    report = tmp_path / "run.json"
    assert Settings(report_path=report).resolved_rejects_path("t") == tmp_path / "run.rejects.csv"
    assert Settings(rejects_path=tmp_path / "r.csv").resolved_rejects_path("t") == tmp_path / "r.csv"


def test_readme_documents_every_setting():
    from processor.settings import OPTIONS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table_rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for option in OPTIONS:
        assert any(f"`{option.env}` `{option.flag}`" in row for row in table_rows), option.env


def test_salvaged_settings_keep_what_is_valid():
    settings = salvage_settings(
        ["--report-path", "r.json", "--nonsense"],
        {"WORKERS": "abc", "LOG_FORMAT": "json", "DEST_SQL": "postgresql://u:pw@h/db", "LOG_LEVEL": "loud"},
    )
    assert (settings.report_path, settings.log_format, settings.log_level) == (Path("r.json"), "json", "INFO")
    assert settings.secrets == ("pw",)
    assert settings.workers == Settings().workers


def test_unknown_flag_is_a_config_error():
    assert config_error({}, ("--wokers", "2")) == "unrecognized arguments: --wokers 2"
    assert config_error({}, ("--workers",)) == "argument --workers: expected one argument"
