"""MAX_SHRINK (issue 19): a refresh (replace, delete_rows) that would shrink the table by more than the
fraction is refused, exactly at the fraction, in the dry run too; append and merge never are.
"""

from __future__ import annotations

import json

import pytest
from conftest import load, write
from test_setting_typos import _count

from processor.publish.target import staging_name


def numbers(count: int) -> str:
    return "n\n" + "".join(f"{i}\n" for i in range(count))


def stored(db, table: str) -> list[int]:
    return sorted(int(row[0]) for row in db.rows(table))


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


@pytest.mark.slow
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
