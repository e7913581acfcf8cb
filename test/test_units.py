"""Pure unit tests of the planners and parsers: settings, kinds, chunking, line look-ups, discovery.

No database here; these pin the exact messages and edge cases the integration tests rely on.
"""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import write

from processor.cpus import available_cpus, cpu_quota
from processor.discover import SourceFile, common_stem, discover_files
from processor.errors import ConfigError, SourceError
from processor.masking import mask, shown_url, url_secrets
from processor.read import (
    InvalidRow,
    TextFormat,
    locate_records,
    read_batches,
    read_header,
    rechunk,
    sample_rows,
)
from processor.settings import OPTIONS, Settings, load_settings, parse_url, salvage_settings

# ---- settings -----------------------------------------------------------------------------


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


# ---- reading --------------------------------------------------------------------------------


def batch(start: int, rows: int) -> pa.RecordBatch:
    return pa.record_batch([pa.array(range(start, start + rows))], names=["n"])


def test_rechunk_gives_exact_sizes_and_keeps_order():
    batches = [batch(0, 3), batch(3, 5), batch(8, 0), batch(8, 2), batch(10, 9)]
    tables = list(rechunk(batches, 4))
    assert [t.num_rows for t in tables] == [4, 4, 4, 4, 3]
    assert [v for t in tables for v in t.column("n").to_pylist()] == list(range(19))


def test_rechunk_exact_multiple_and_nothing():
    assert [t.num_rows for t in rechunk([batch(0, 6)], 3)] == [3, 3]
    assert list(rechunk([], 3)) == []


def source_for(path, delimiter: str = ",", compression: str | None = None) -> SourceFile:
    return SourceFile(
        path=str(path), name=path.name, size=path.stat().st_size, compression=compression, delimiter=delimiter
    )


def test_locate_records_across_multiline_quoted_fields(tmp_path):
    text = 'a,b\r\n1,"one\r\ntwo\r\nthree"\r\n2,x\r\n\r\n3,"y\nz",extra\r\n4,w\r\n'
    path = write(tmp_path, "m.csv", text)
    found = locate_records(source_for(path), TextFormat(), [3, 4, 5])
    assert found == {3: (5, "2,x"), 4: (7, '3,"y\nz",extra'), 5: (9, "4,w")}


def test_locate_records_gzip_and_tsv(tmp_path):
    path = tmp_path / "m.tsv.gz"
    path.write_bytes(gzip.compress(b'a\tb\n1\t"x\ny"\n2\n'))
    found = locate_records(source_for(path, "\t", "gzip"), TextFormat(), [3])
    assert found == {3: (4, "2")}


def test_header_with_undecodable_bytes_later_names_their_line(tmp_path):
    path = write(tmp_path, "bad.csv", b"a,b\n1,2\n3,\xff\n")
    with pytest.raises(SourceError) as caught:
        read_header(source_for(path), TextFormat())
    assert str(caught.value) == (
        "bad.csv: line 3: bytes not valid utf-8; set SRC_ENCODING to the files' encoding "
        "(it looks like cp1252: SRC_ENCODING=cp1252)"
    )


def test_header_of_damaged_gzip(tmp_path):
    path = write(tmp_path, "bad.csv.gz", b"this is not gzip")
    with pytest.raises(SourceError) as caught:
        read_header(source_for(path, compression="gzip"), TextFormat())
    assert str(caught.value) == "bad.csv.gz: cannot be read: Not a gzipped file (b'th')"


# ---- discovery -------------------------------------------------------------------------------


def test_discover_order_recursion_and_formats(tmp_path):
    src = tmp_path / "src"
    for name in ["b/z.csv", "a.csv", "b/a.csv", "c.tsv", "d.csv.gz", "e.tsv.bz2", "f.csv.zst", "g.txt"]:
        write(src, name, "x\n1\n")
    files = discover_files(src, "**/*.*", None)
    assert [f.name for f in files] == [
        "a.csv",
        "b/a.csv",
        "b/z.csv",
        "c.tsv",
        "d.csv.gz",
        "e.tsv.bz2",
        "f.csv.zst",
        "g.txt",
    ]
    by_name = {f.name: f for f in files}
    assert by_name["c.tsv"].delimiter == "\t"
    assert by_name["e.tsv.bz2"].delimiter == "\t"
    assert (by_name["e.tsv.bz2"].compression, by_name["e.tsv.bz2"].stem) == ("bz2", "e")
    assert (by_name["d.csv.gz"].compression, by_name["d.csv.gz"].delimiter) == ("gzip", ",")
    assert by_name["f.csv.zst"].compression == "zstd"
    assert by_name["a.csv"].compression is None
    assert [f.name for f in discover_files(src, "*.csv", None)] == ["a.csv"]
    assert [f.name for f in discover_files(src, "**/*.csv", ";")] == ["a.csv", "b/a.csv", "b/z.csv"]
    assert {f.delimiter for f in discover_files(src, "**/*.*", ";")} == {";"}


def test_discover_skips_empty_files_with_a_warning(tmp_path, caplog):
    write(tmp_path, "a.csv", "x\n1\n")
    write(tmp_path, "sub/empty.csv", "")
    with caplog.at_level(logging.WARNING):
        files = discover_files(tmp_path, "**/*.csv", None)
    assert [f.name for f in files] == ["a.csv"]
    assert "sub/empty.csv: empty file (0 bytes), skipped" in caplog.text


def test_discover_only_empty_files(tmp_path):
    write(tmp_path, "a.csv", "")
    with pytest.raises(SourceError) as caught:
        discover_files(tmp_path, "*.csv", None)
    assert (
        str(caught.value)
        == f"no file matches SRC_FILE_NAME='*.csv' in {tmp_path} (only 1 empty file, skipped)"
    )


def test_discover_refuses_a_symlink_leading_outside(tmp_path):
    outside = write(tmp_path, "secret/passwd.csv", "x\n1\n")
    src = tmp_path / "src"
    write(src, "a.csv", "x\n1\n")
    os.symlink(outside, src / "b.csv")
    with pytest.raises(SourceError) as caught:
        discover_files(src, "*.csv", None)
    assert str(caught.value) == f"b.csv: refusing a file outside SRC_DATA_FOLDER ({outside})"


def test_discover_follows_a_symlink_inside(tmp_path):
    write(tmp_path, "a.csv", "x\n1\n")
    os.symlink(tmp_path / "a.csv", tmp_path / "b.csv")
    assert [f.name for f in discover_files(tmp_path, "*.csv", None)] == ["a.csv", "b.csv"]


def test_discover_missing_folder_and_no_match(tmp_path):
    with pytest.raises(SourceError, match=r"^SRC_DATA_FOLDER does not exist: .*nope$"):
        discover_files(tmp_path / "nope", "*.csv", None)
    write(tmp_path, "a.csv", "x\n1\n")
    with pytest.raises(SourceError, match=r"^SRC_DATA_FOLDER is not a folder: .*a\.csv$"):
        discover_files(tmp_path / "a.csv", "*.csv", None)
    with pytest.raises(SourceError) as caught:
        discover_files(tmp_path, "*.tsv", None)
    assert str(caught.value) == f"no file matches SRC_FILE_NAME='*.tsv' in {tmp_path}"


def test_common_stem(tmp_path):
    for folder in ["d1", "d2"]:
        write(tmp_path, f"{folder}/certificates.csv", "x\n1\n")
    write(tmp_path, "d3/certificates.csv.gz", gzip.compress(b"x\n1\n"))
    assert common_stem(discover_files(tmp_path, "**/*.csv*", None)) == "certificates"
    write(tmp_path, "title.basics.tsv.gz", gzip.compress(b"x\n1\n"))
    assert common_stem(discover_files(tmp_path, "*.tsv.gz", None)) == "title.basics"
    for name in ["recommendations.csv", "columns.csv", "extra.csv"]:
        write(tmp_path, f"d4/{name}", "x\n1\n")
    with pytest.raises(ConfigError) as caught:
        common_stem(discover_files(tmp_path, "**/*.csv", None))
    assert str(caught.value) == (
        "DEST_TABLE is required: the matched files have different names (certificates, columns, extra, ...)"
    )


def test_sqlite_folds_only_ascii_case_in_column_names():
    import sqlalchemy as sa

    from processor.backends import backend_for
    from processor.errors import SchemaError
    from processor.schema import check_identifiers

    sqlite = backend_for(sa.create_engine("sqlite://"))
    check_identifiers("t", ["É", "é"], (), sqlite, "a.csv")  # distinct columns to SQLite
    with pytest.raises(SchemaError, match=r"^a\.csv: column 2 .* repeats the name of column 1"):
        check_identifiers("t", ["Name", "name"], (), sqlite, "a.csv")


def test_mysql_error_pairs_are_described_as_text():
    from processor.errors import describe

    error = Exception(2013, "Lost connection to server during query")
    assert describe(error) == "Lost connection to server during query (error 2013)"


def test_readme_documents_every_setting():
    from processor.settings import OPTIONS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table_rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for option in OPTIONS:
        assert any(f"`{option.env}` `{option.flag}`" in row for row in table_rows), option.env


# ---- secrets ------------------------------------------------------------------------------------


def test_url_secrets_are_the_password_and_secret_parameters_as_written_and_encoded():
    url = parse_url("postgresql://u:p%40ss%3Aw@h/db?password=a+b&sslmode=require&api_key=K1&AuthToken=T2")
    assert set(url_secrets(url)) == {"p@ss:w", "p%40ss%3Aw", "a b", "a%20b", "a+b", "K1", "T2"}


def test_shown_url_masks_the_password_and_secret_parameters():
    url = parse_url("postgres://u:p%40ss@h:5/db?sslpassword=S1&sslmode=require&client_secret=S2")
    assert (
        shown_url(url)
        == "postgresql+psycopg2://u:***@h:5/db?client_secret=***&sslmode=require&sslpassword=***"
    )


def test_mask_hides_the_longer_of_two_overlapping_secrets_whole():
    assert mask("pw=abc, key=abcdef", ["abc", "abcdef"]) == "pw=***, key=***"


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


# ---- CPUs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "membership", "quota"),
    [
        ({"cpu.max": "150000 100000\n"}, "0::/\n", 1.5),  # cgroup v2 in a container (--cpus 1.5)
        ({"cpu.max": "max 100000\n"}, "0::/\n", None),  # v2 without a quota
        (  # v2 on a host: the process's own cgroup sets it
            {"system.slice/app.service/cpu.max": "50000 100000\n", "system.slice/cpu.max": "max 100000\n"},
            "0::/system.slice/app.service\n",
            0.5,
        ),
        (  # a cgroup above the process's own one limits it too
            {"system.slice/cpu.max": "200000 100000\n", "system.slice/app.service/cpu.max": "max 100000\n"},
            "0::/system.slice/app.service\n",
            2.0,
        ),
        (  # v1, Docker without a cgroup namespace: the mount's root is the container's cgroup
            {"cpu,cpuacct/cpu.cfs_quota_us": "250000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
            "4:cpu,cpuacct:/docker/0123abcd\n1:name=systemd:/docker/0123abcd\n",
            2.5,
        ),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, "1:cpu:/\n", None),
        ({}, "", None),  # no cgroup files at all
    ],
)
def test_cpu_quota_from_cgroup_files(tmp_path, files, membership, quota):
    root = tmp_path / "cgroup"
    root.mkdir()
    for name, text in files.items():
        write(root, name, text)
    assert cpu_quota(root, write(tmp_path, "self-cgroup", membership)) == quota


def test_available_cpus_is_the_quota_rounded_up_within_the_cpuset(tmp_path):
    own = write(tmp_path, "self-cgroup", "0::/\n")
    write(tmp_path / "half", "cpu.max", "50000 100000\n")
    write(tmp_path / "plenty", "cpu.max", "100000000 100000\n")
    assert available_cpus(tmp_path / "half", own) == 1
    assert available_cpus(tmp_path / "plenty", own) == len(os.sched_getaffinity(0))


# ---- readers without arbitrary limits -----------------------------------------------------------


def test_locate_records_with_fields_over_128_kib(tmp_path):
    field = "é" * 200_000
    path = write(tmp_path, "m.csv", f'a,b\n1,"{field}\n{field}"\n2,x,y\n')
    found = locate_records(source_for(path), TextFormat(), [2, 3])
    assert found == {2: (2, f'1,"{field}\n{field}"'), 3: (4, "2,x,y")}


def test_a_header_quote_never_closed_is_not_read_to_the_end(tmp_path):
    path = write(tmp_path, "m.csv", '"a,b\n' + "1,x\n" * 100_000)
    with pytest.raises(SourceError) as caught:
        read_header(source_for(path), TextFormat())
    assert str(caught.value) == "m.csv: line 1: unreadable header: field larger than field limit (131072)"


def test_a_record_over_a_block_keeps_every_row_and_number(tmp_path):
    big = "y" * (3 << 20)  # spans more than two of Arrow's 1 MiB blocks
    rows = [f"{i},r{i}\n" for i in range(50_000)]
    text = "a,b\n" + "".join(rows) + "bad\n\n" + f'big,"{big}"\n' + "x,y,z\n" + "".join(rows)
    invalid: list[InvalidRow] = []
    batches = list(read_batches(source_for(write(tmp_path, "m.csv", text)), TextFormat(), 2, invalid.append))
    values = [
        (a, b) for batch in batches for a, b in zip(*(c.to_pylist() for c in batch.columns), strict=True)
    ]
    expected = [(str(i), f"r{i}") for i in range(50_000)]
    assert values == [*expected, ("big", big), *expected]
    assert invalid == [InvalidRow(record=50_002, fields=1), InvalidRow(record=50_004, fields=3)]


def test_a_quote_never_closed_fails_with_its_line(tmp_path, monkeypatch):
    import processor.read

    monkeypatch.setattr(processor.read, "MAX_BLOCK_BYTES", 4 << 20)
    text = 'a,b\n1,x\n2,"open\n' + "".join(f"{i},x\n" for i in range(1_000_000))
    source = source_for(write(tmp_path, "m.csv", text))
    with pytest.raises(SourceError) as caught:
        list(processor.read.read_batches(source, TextFormat(), 2, lambda row: None))
    assert (
        str(caught.value)
        == "m.csv: a record after line 2 is larger than 4 MiB, or a quote there is never closed"
    )


def test_a_sample_ends_early_in_a_file_read_with_larger_blocks(tmp_path):
    text = "a,b\n" + f'1,"{"y" * (3 << 20)}"\n' + "".join(f"{i},x\n" for i in range(500_000))
    sample = sample_rows(source_for(write(tmp_path, "m.csv", text)), TextFormat(), 2, 2)
    assert sample.column(0).to_pylist() == ["1", "0"]
